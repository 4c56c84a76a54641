"""The local executor: order, resume, corruption, failures, packing, run.json, display."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from taskonomy.executor.local import RunResult, run_local
from taskonomy.executor.progress import format_duration
from taskonomy.executor.runner import OutcomeState, prepare_workdir
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner import JobState, Plan
from taskonomy.spec import LoadedSpec, loaded_from_python

from .conftest import OUT, FakeBodies, tiny_spec


def run(loaded: LoadedSpec, fake: FakeBodies, pack: int = 8) -> tuple[RunResult, Plan]:
    spec, plan, workdir = prepare_workdir(loaded)
    result = run_local(spec, plan, workdir, bodies=fake.resolver(), display=False, pack=pack)
    return result, plan


def test_runs_every_job_once_in_plan_order(loaded: LoadedSpec) -> None:
    fake = FakeBodies(batch=False)
    result, plan = run(loaded, fake)
    assert fake.calls == list(plan.jobs)
    assert result.ok and list(result.outcomes) == list(plan.jobs)
    assert result.counts()["done"] == len(plan)
    states = ArtifactStore(loaded.workdir).states(plan)
    assert set(states.values()) == {JobState.DONE}


def test_batched_order_respects_dependencies(loaded: LoadedSpec) -> None:
    fake = FakeBodies()
    result, plan = run(loaded, fake)
    assert result.ok and sorted(fake.calls) == sorted(plan.jobs)
    position = {jid: i for i, jid in enumerate(fake.calls)}
    for job in plan:
        assert all(position[d] < position[job.id] for d in job.deps), job.id


def test_resume_after_crash_reruns_nothing_done(loaded: LoadedSpec) -> None:
    crashing = FakeBodies(interrupt_at=20, batch=False)
    with pytest.raises(KeyboardInterrupt):
        run(loaded, crashing)
    done_before = crashing.calls[:19]
    doc = json.loads((loaded.workdir / "run.json").read_text())
    assert doc["interrupted"] is True
    assert sorted(j for j, e in doc["jobs"].items() if e["state"] == "done") == sorted(done_before)
    assert sum(e["state"] == "pending" for e in doc["jobs"].values()) == 47 - 19
    assert not list((loaded.workdir / "store" / "tmp").iterdir())
    again = FakeBodies(batch=False)
    result, plan = run(loaded, again)
    assert result.ok
    assert again.calls == [j for j in plan.jobs if j not in done_before]
    assert result.counts()["skipped"] == 19


def test_resume_after_the_process_is_killed(loaded: LoadedSpec, tmp_path: Path) -> None:
    """A run killed with os._exit in the middle of a job (no cleanup) resumes cleanly."""
    prepare_workdir(loaded)
    script = tmp_path / "crash.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from conftest import FakeBodies
            from taskonomy.executor.runner import load_workdir
            from taskonomy.executor.local import run_local

            class Crash(FakeBodies):
                def body(self, ctx):
                    if len(self.calls) == 7:
                        (ctx.out / "half.bin").write_bytes(b"x")
                        os._exit(9)
                    return super().body(ctx)

            workdir = {str(loaded.workdir)!r}
            spec, plan = load_workdir(workdir)
            run_local(spec, plan, workdir, bodies=Crash(batch=False).resolver(), display=False)
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], check=False, timeout=60)
    assert proc.returncode == 9
    assert list((loaded.workdir / "store" / "tmp").iterdir())  # the killed job's leftovers
    again = FakeBodies(batch=False)
    result, plan = run(loaded, again)
    assert result.ok
    assert again.calls == list(plan.jobs)[7:]


def test_corrupted_artifact_is_detected_and_recomputed(loaded: LoadedSpec) -> None:
    result, plan = run(loaded, FakeBodies(batch=False))
    assert result.ok
    store = ArtifactStore(loaded.workdir)
    victim = plan.jobs["features/rgb2mist"]
    (store.path(victim.hash) / OUT).write_text('{"id": "tampered"}')
    again = FakeBodies(batch=False)
    result, _ = run(loaded, again)
    assert result.ok and again.calls == ["features/rgb2mist"]
    assert result.outcomes["features/rgb2mist"].state is OutcomeState.DONE
    assert json.loads((store.path(victim.hash) / OUT).read_text())["id"] == victim.id
    assert ArtifactStore(loaded.workdir).state(victim) is JobState.DONE


def test_failed_job_stops_its_descendants_only(loaded: LoadedSpec) -> None:
    fake = FakeBodies(fail={"features/rgb2mist"}, batch=False)
    result, plan = run(loaded, fake)
    assert not result.ok
    assert [o.job_id for o in result.failed] == ["features/rgb2mist"]
    blocked = {j for j, o in result.outcomes.items() if o.state is OutcomeState.UPSTREAM_FAILED}
    expected = {
        "transfer/1/rgb2mist->reshade",
        "transfer/1/rgb2mist->rgb2depth",
        "evaluate/transfer/1/rgb2mist->reshade",
        "evaluate/transfer/1/rgb2mist->rgb2depth",
        "rank/reshade",
        "rank/rgb2depth",
        "transfer/2/reshade/00",
        "transfer/2/rgb2depth/00",
        "evaluate/transfer/2/reshade/00",
        "evaluate/transfer/2/rgb2depth/00",
        "affinity/reshade",
        "affinity/rgb2depth",
        "taxonomy/o1/b1",
        "taxonomy/o1/b2",
        "taxonomy/o2/b1",
        "taxonomy/o2/b2",
        "assess",
        "bootstrap",
        "report",
    }
    assert blocked == expected
    assert "upstream job features/rgb2mist failed" in result.outcomes["assess"].reason
    ran = set(fake.calls)
    assert ran == set(plan.jobs) - expected
    assert result.outcomes["affinity/rgb2mist"].state is OutcomeState.DONE
    doc = json.loads((loaded.workdir / "run.json").read_text())
    entry = doc["jobs"]["features/rgb2mist"]
    assert entry["state"] == "failed" and entry["reason"].startswith("RuntimeError: boom")
    assert entry["log"].endswith("features__rgb2mist.log")


def test_packing_groups_ready_jobs_by_kind_and_target(loaded: LoadedSpec) -> None:
    fake = FakeBodies()
    result, plan = run(loaded, fake, pack=2)
    assert result.ok
    assert fake.batches and all(1 <= len(b) <= 2 for b in fake.batches)
    assert any(len(b) == 2 for b in fake.batches)
    for batch in fake.batches:
        kinds = {plan.jobs[j].kind for j in batch}
        assert len(kinds) == 1
    # Heads of one target go together when enough of them are ready at once.
    firsts = [b for b in fake.batches if all(j.startswith("transfer/1/") for j in b)]
    assert any(len({plan.jobs[j].target for j in b}) == 1 and len(b) == 2 for b in firsts)
    batched = {j for b in fake.batches for j in b}
    packable = {j.id for j in plan if j.kind.value in ("transfer", "evaluate")}
    assert batched <= packable and len(batched) > len(packable) / 2


def test_pack_size_from_spec_resources(tmp_path: Path) -> None:
    spec = tiny_spec(executor={"resources": {"transfer": {"slurm_jobs_per_task": 6}}})
    loaded = loaded_from_python(spec, tmp_path / "work")
    fake = FakeBodies()
    _, plan = run(loaded, fake, pack=1)
    transfer_batches = [b for b in fake.batches if plan.jobs[b[0]].kind.value == "transfer"]
    assert max(len(b) for b in transfer_batches) == 6
    assert all(plan.jobs[b[0]].kind.value == "transfer" for b in fake.batches)  # pack=1


def test_run_json_content(loaded: LoadedSpec) -> None:
    _, plan = run(loaded, FakeBodies())
    doc = json.loads((loaded.workdir / "run.json").read_text())
    assert doc["plan_hash"] == plan.hash
    assert doc["started"] <= doc["finished"] and doc["interrupted"] is False
    assert sorted(doc["jobs"]) == sorted(plan.jobs)
    entry = doc["jobs"]["transfer/1/rgb2depth->reshade"]
    assert set(entry) == {"kind", "stage", "state", "seconds", "est_seconds", "gpu_seconds"}
    assert entry["kind"] == "transfer" and entry["stage"] == "transfer (order 1)"
    assert entry["state"] == "done" and entry["gpu_seconds"] == 0.0
    assert entry["est_seconds"] == plan.jobs["transfer/1/rgb2depth->reshade"].est_seconds
    # A second run records the finished jobs as skipped, with their measured seconds.
    run(loaded, FakeBodies())
    doc = json.loads((loaded.workdir / "run.json").read_text())
    assert {e["state"] for e in doc["jobs"].values()} == {"skipped"}


def test_plain_display_and_summary(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    fake = FakeBodies(fail={"rank/reshade"})
    result = run_local(spec, plan, workdir, bodies=fake.resolver(), console=console)
    text = out.getvalue()
    assert not result.ok
    assert "-> dataset: dataset" in text and f"[1/{len(plan)}] done dataset" in text
    assert "(+" in text and "packed)" in text
    assert "FAILED rank/reshade" in text and "rank__reshade.log" in text
    assert "ETA" in text and "run summary" in text
    assert "failed rank/reshade: RuntimeError: boom in rank/reshade" in text
    assert "downstream job(s) were not run" in text


def test_live_display_runs(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True)
    result = run_local(spec, plan, workdir, bodies=FakeBodies().resolver(), console=console)
    assert result.ok and "all 47 jobs complete" in out.getvalue()


def test_format_duration() -> None:
    assert [format_duration(s) for s in (4.4, 185, 7620)] == ["4s", "3m05s", "2h07m"]
