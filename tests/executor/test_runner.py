"""execute_jobs, prepare_workdir and load_workdir with fake bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskonomy.executor.runinfo import log_path
from taskonomy.executor.runner import (
    JobRunner,
    OutcomeState,
    WorkdirError,
    execute_jobs,
    load_workdir,
    prepare_workdir,
)
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner import JobState
from taskonomy.spec import LoadedSpec, loaded_from_python

from .conftest import OUT, FakeBodies, tiny_spec


def test_prepare_and_load_workdir_round_trip(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    assert workdir == loaded.workdir
    assert json.loads((workdir / "spec.json").read_text())["name"] == "tiny"
    assert json.loads((workdir / "plan.json").read_text())["plan_hash"] == plan.hash
    spec2, plan2 = load_workdir(workdir)
    assert spec2 == spec and plan2.hash == plan.hash and list(plan2.jobs) == list(plan.jobs)


def test_prepare_refuses_another_specs_workdir(loaded: LoadedSpec) -> None:
    prepare_workdir(loaded)
    before = (loaded.workdir / "spec.json").read_bytes()
    other = loaded_from_python(tiny_spec(name="other"), loaded.workdir)
    with pytest.raises(WorkdirError, match="holds the run of spec 'tiny', not 'other'"):
        prepare_workdir(other)
    assert (loaded.workdir / "spec.json").read_bytes() == before


def test_prepare_accepts_changed_spec_of_same_name(loaded: LoadedSpec) -> None:
    _, first, _ = prepare_workdir(loaded)
    changed = loaded_from_python(tiny_spec(seed=3), loaded.workdir)
    _, second, _ = prepare_workdir(changed)
    assert second.hash != first.hash
    assert load_workdir(loaded.workdir)[1].hash == second.hash


def test_load_workdir_errors(tmp_path: Path, loaded: LoadedSpec) -> None:
    with pytest.raises(WorkdirError, match="not a taskonomy work directory"):
        load_workdir(tmp_path / "nowhere")
    prepare_workdir(loaded)
    plan_file = loaded.workdir / "plan.json"
    doc = json.loads(plan_file.read_text())
    doc["plan_hash"] = "0" * 64
    plan_file.write_text(json.dumps(doc))
    with pytest.raises(WorkdirError, match="differs from the one recorded"):
        load_workdir(loaded.workdir)
    (loaded.workdir / "spec.json").write_text("{not json")
    with pytest.raises(WorkdirError, match="unreadable"):
        load_workdir(loaded.workdir)


def test_execute_jobs_runs_in_plan_order_and_records_metadata(
    loaded: LoadedSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    _, plan, workdir = prepare_workdir(loaded)
    fake = FakeBodies(batch=False)
    ids = list(plan.jobs)
    outcomes = execute_jobs(workdir, list(reversed(ids)), bodies=fake.resolver())
    assert fake.calls == ids
    assert [o.job_id for o in outcomes] == list(reversed(ids))
    assert {o.state for o in outcomes} == {OutcomeState.DONE}
    store = ArtifactStore(workdir)
    assert all(s is JobState.DONE for s in store.states(plan).values())
    manifest = store.manifest(plan.jobs["encoder/rgb2depth"].hash)
    assert manifest is not None
    meta = manifest["meta"]
    assert meta["fake"] is True and meta["path"] == "x"
    assert meta["slurm_job_id"] == "4242" and meta["slurm_array_task_id"] == "3"
    assert meta["version"] and meta["pid"] > 0 and meta["host"]
    assert meta["wall_seconds"] >= 0 and meta["batch_size"] == 1
    log = log_path(workdir, "encoder/rgb2depth")
    assert log.name == "encoder__rgb2depth.log" and "start encoder/rgb2depth" in log.read_text()
    assert (workdir / "scratch" / plan.jobs["dataset"].hash).is_dir()
    # Everything is done: a second call runs nothing.
    again = execute_jobs(workdir, ids, bodies=fake.resolver())
    assert {o.state for o in again} == {OutcomeState.SKIPPED} and len(fake.calls) == len(ids)


def test_slot_binding_reads_the_ranking(loaded: LoadedSpec) -> None:
    _, plan, workdir = prepare_workdir(loaded)
    fake = FakeBodies(batch=False)
    execute_jobs(workdir, list(plan.jobs), bodies=fake.resolver())
    store = ArtifactStore(workdir)
    art = store.path(plan.jobs["transfer/2/reshade/00"].hash)
    assert json.loads((art / OUT).read_text())["sources"] == ["rgb2mist", "rgb2depth"]
    first = store.path(plan.jobs["transfer/1/rgb2depth->reshade"].hash)
    assert json.loads((first / OUT).read_text())["sources"] == ["rgb2depth"]


def test_failure_is_an_outcome_with_log_and_no_leftovers(loaded: LoadedSpec) -> None:
    _, plan, workdir = prepare_workdir(loaded)
    fake = FakeBodies(fail={"encoder/rgb2mist"}, batch=False)
    ids = ["dataset", "encoder/rgb2mist", "features/rgb2mist", "encoder/reshade"]
    outcomes = {o.job_id: o for o in execute_jobs(workdir, ids, bodies=fake.resolver())}
    failed = outcomes["encoder/rgb2mist"]
    assert failed.state is OutcomeState.FAILED
    assert failed.reason == "RuntimeError: boom in encoder/rgb2mist"
    assert failed.log is not None
    text = failed.log.read_text()
    assert "about to fail" in text and "Traceback" in text and "second line" in text
    blocked = outcomes["features/rgb2mist"]
    assert blocked.state is OutcomeState.UPSTREAM_FAILED
    assert "encoder/rgb2mist" in blocked.reason
    assert outcomes["encoder/reshade"].state is OutcomeState.DONE
    assert not list((workdir / "store" / "tmp").iterdir())
    assert ArtifactStore(workdir).state(plan.jobs["encoder/rgb2mist"]) is JobState.NEW


def test_missing_dependency_is_not_run(loaded: LoadedSpec) -> None:
    _, _, workdir = prepare_workdir(loaded)
    fake = FakeBodies()
    [outcome] = execute_jobs(workdir, ["encoder/reshade"], bodies=fake.resolver())
    assert outcome.state is OutcomeState.UPSTREAM_FAILED
    assert "dependency dataset has no complete artifact" in outcome.reason
    assert fake.calls == []


def test_unknown_job_ids_are_an_error(loaded: LoadedSpec) -> None:
    _, _, workdir = prepare_workdir(loaded)
    with pytest.raises(WorkdirError, match="not in the plan"):
        execute_jobs(workdir, ["encoder/nope"], bodies=FakeBodies().resolver())


def test_interrupt_discards_the_attempt_and_propagates(loaded: LoadedSpec) -> None:
    _, plan, workdir = prepare_workdir(loaded)
    fake = FakeBodies(interrupt_at=2, batch=False)
    with pytest.raises(KeyboardInterrupt):
        execute_jobs(workdir, ["dataset", "encoder/reshade"], bodies=fake.resolver())
    store = ArtifactStore(workdir)
    assert store.state(plan.jobs["dataset"]) is JobState.DONE
    assert store.state(plan.jobs["encoder/reshade"]) is JobState.NEW
    assert not list((workdir / "store" / "tmp").iterdir())
    assert "interrupted" in log_path(workdir, "encoder/reshade").read_text()


def test_packed_jobs_share_one_batch_call(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    fake = FakeBodies()
    upstream = [j.id for j in plan if j.kind.value in ("dataset", "encoder", "features")]
    execute_jobs(workdir, upstream, bodies=fake.resolver())
    packed = [j.id for j in plan if j.order == 1 and j.kind.value == "transfer"]
    runner = JobRunner(spec, plan, workdir, bodies=fake.resolver())
    outcomes = runner.run(packed)
    assert fake.batches == [packed]
    assert {o.state for o in outcomes} == {OutcomeState.DONE}
    meta = ArtifactStore(workdir).manifest(plan.jobs[packed[0]].hash)
    assert meta is not None and meta["meta"]["batch_size"] == len(packed)


def test_a_failing_batch_reruns_its_jobs_one_by_one_and_only_the_bad_one_fails(
    loaded: LoadedSpec,
) -> None:
    _, plan, workdir = prepare_workdir(loaded)
    fake = FakeBodies()
    upstream = [j.id for j in plan if j.kind.value in ("dataset", "encoder", "features")]
    execute_jobs(workdir, upstream, bodies=fake.resolver())
    packed = [j.id for j in plan if j.order == 1 and j.kind.value == "transfer"]
    assert len(packed) > 2
    bad = packed[1]
    fake.fail = {bad}
    fake.calls.clear()
    outcomes = {o.job_id: o for o in execute_jobs(workdir, packed, bodies=fake.resolver())}
    assert fake.batches[-1] == packed  # the batch was tried first...
    # ...then each job on its own: the batch body stopped at the bad job
    assert fake.calls == [packed[0], bad, *packed]
    assert outcomes.pop(bad).state is OutcomeState.FAILED
    assert {o.state for o in outcomes.values()} == {OutcomeState.DONE}
    store = ArtifactStore(workdir)
    for job_id in outcomes:
        meta = store.manifest(plan.jobs[job_id].hash)
        assert meta is not None and meta["meta"]["batch_size"] == 1
    log = log_path(workdir, bad).read_text()
    assert f"the batch of {len(packed)} transfer jobs failed; running each on its own" in log
    assert log.count("Traceback") == 2 and log.rstrip().endswith("second line")
    good = log_path(workdir, packed[0]).read_text()
    assert "running each on its own" in good and "done in" in good.splitlines()[-1]
