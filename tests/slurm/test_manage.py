"""``taskonomy cancel``/``clean`` and the array task's own contract, without a cluster."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from taskonomy.cli import main
from taskonomy.errors import ExecutionError
from taskonomy.executor.runner import prepare_workdir
from taskonomy.executor.slurm.accounting import base_id
from taskonomy.executor.slurm.driver import SlurmDriver
from taskonomy.executor.slurm.housekeeping import CANCELLED_BY_USER, cancel_run, clean_run
from taskonomy.executor.slurm.journal import Journal, outcome_path
from taskonomy.executor.slurm.poll import PollSchedule
from taskonomy.executor.slurm.states import JobStatus
from taskonomy.executor.slurm.task import PackFailed, PackTask, load_object
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec, loaded_from_python

if TYPE_CHECKING:
    from .conftest import FakeTime

HERE = Path(__file__).parent
BODIES = f"{HERE / 'bodies.py'}:BODIES"
TINY: dict[str, Any] = {
    "name": "tiny",
    "tasks": ["rgb2depth", "rgb2mist"],
    "taxonomy": {"budgets": "1"},
    "executor": {"kind": "slurm", "slurm_max_retries": 0},
}


@pytest.fixture(autouse=True)
def _bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TASKONOMY_TEST_FAIL", "TASKONOMY_TEST_SLOW", "SLURM_JOB_ID"):
        monkeypatch.delenv(name, raising=False)


def prepare(tmp_path: Path) -> tuple[Spec, Plan, Path]:
    return prepare_workdir(loaded_from_python(Spec.model_validate(TINY), tmp_path / "w d"))


def drive(spec: Spec, plan: Plan, workdir: Path, fake_time: FakeTime, **kw: Any) -> Any:
    slurm = load_object(f"{HERE / 'fakes.py'}:FakeSlurm")(workdir)
    driver = SlurmDriver(
        spec,
        plan,
        workdir,
        cluster=slurm,
        backend=slurm,
        schedule=PollSchedule(min_interval_s=1, max_interval_s=2),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    return driver.run(**kw), slurm


def fake_submitit_files(journal: Journal) -> dict[str, list[Path]]:
    """The files submitit leaves per task (the fake scheduler writes none)."""
    files: dict[str, list[Path]] = {}
    for entry in journal:
        folder = Path(entry.folder)
        folder.mkdir(parents=True, exist_ok=True)
        for sid in (entry.slurm_job_id, *entry.history):
            names = [f"{sid}_submitted.pkl", f"{sid}_0_result.pkl", f"{sid}_0_log.out"]
            names.append(f"{base_id(sid)}_submission.sh")
            files[sid] = [folder / n for n in names]
            for path in files[sid]:
                path.write_text("x")
    return files


def test_clean_prunes_succeeded_jobs_and_keeps_failed_ones(
    tmp_path: Path, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    monkeypatch.setenv("TASKONOMY_TEST_FAIL", "encoder/rgb2mist")
    result, _ = drive(spec, plan, workdir, fake_time)
    assert not result.ok
    journal = Journal.load(workdir)
    files = fake_submitit_files(journal)
    failed_sid = journal.entries["encoder/rgb2mist"].slurm_job_id
    good_sid = journal.entries["dataset"].slurm_job_id
    unrelated = Path(journal.entries["dataset"].folder) / "notes.txt"
    unrelated.write_text("mine")

    assert main(["clean", str(workdir), "--dry-run"]) == 0
    assert all(p.exists() for p in files[good_sid])
    report = clean_run(workdir)
    assert failed_sid in report.kept_tasks
    assert not any(p.exists() for p in files[good_sid])
    assert all(p.exists() for p in files[failed_sid])  # the failed task keeps everything
    assert unrelated.exists()
    assert not Path(journal.entries["dataset"].log).exists()
    assert Path(journal.entries["encoder/rgb2mist"].log).exists()
    assert outcome_path(workdir, "encoder/rgb2mist").exists()
    assert not outcome_path(workdir, "dataset").exists()
    assert clean_run(workdir).removed == ()  # idempotent


def test_cancel_stops_what_is_in_flight_and_a_rerun_resubmits_it(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    _, slurm = drive(spec, plan, workdir, fake_time, detach=True)
    active = Journal.load(workdir).active_ids()
    assert cancel_run(workdir, slurm) == active and slurm.cancelled == active
    entries = Journal.load(workdir).entries
    assert {(e.state, e.reason) for e in entries.values()} == {
        (JobStatus.CANCELLED, CANCELLED_BY_USER)
    }
    assert cancel_run(workdir, slurm) == []
    result, _ = drive(spec, plan, workdir, fake_time)
    assert result.ok


def test_cancel_also_stops_an_array_a_killed_driver_never_journaled(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = load_object(f"{HERE / 'fakes.py'}:FakeSlurm")(workdir)
    slurm.die_after_sbatch = {1}
    driver = SlurmDriver(spec, plan, workdir, cluster=slurm, backend=slurm,
                         clock=fake_time.clock, sleep=fake_time.sleep)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        driver.run(detach=True)
    assert Journal.load(workdir).entries == {}
    assert cancel_run(workdir, slurm) == ["100"] and slurm.tasks["100"].state == "CANCELLED"
    assert not (workdir / "slurm" / "submitting.json").exists()


def test_cancel_and_clean_need_a_slurm_run(tmp_path: Path) -> None:
    _, _, workdir = prepare(tmp_path)
    with pytest.raises(ExecutionError, match=r"has no SLURM job journal .*executor.kind=slurm"):
        cancel_run(workdir, cluster=None)  # type: ignore[arg-type]
    assert main(["clean", str(workdir)]) == 2
    assert main(["cancel", str(tmp_path / "missing")]) == 2


def test_the_array_task_writes_outcomes_and_fails_honestly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, workdir = prepare(tmp_path)
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    assert [r["state"] for r in PackTask(workdir, BODIES)(["dataset"])] == ["done"]
    assert [r["state"] for r in PackTask(workdir, BODIES)(["dataset"])] == ["skipped"]
    monkeypatch.setenv("TASKONOMY_TEST_FAIL", "encoder/rgb2mist")
    with pytest.raises(
        PackFailed, match=r"1 of 2 job\(s\) did not complete: encoder/rgb2mist: failed"
    ):
        PackTask(workdir, BODIES)(["encoder/rgb2depth", "encoder/rgb2mist"])
    doc = json.loads(outcome_path(workdir, "encoder/rgb2mist").read_text())
    assert (doc["state"], doc["slurm_job_id"]) == ("failed", "77")
    assert doc["reason"] == "RuntimeError: injected failure in encoder/rgb2mist"


def test_the_array_task_is_checkpointable_and_requeues_the_same_call(tmp_path: Path) -> None:
    task = PackTask(tmp_path, BODIES)
    delayed = task.checkpoint(["a", "b"])
    assert isinstance(delayed.function, PackTask) and delayed.function.workdir == str(tmp_path)
    assert delayed.function.bodies == BODIES  # the requeued call runs the same bodies
    assert delayed.args == (["a", "b"],)
    assert pickle.loads(pickle.dumps(task)).workdir == str(tmp_path)


def test_body_references() -> None:
    assert load_object("taskonomy.executor.slurm.task:PackTask") is PackTask
    assert load_object(BODIES) is load_object(BODIES)
    for bad, match in [
        ("no-colon", "must be 'package.module:OBJECT'"),
        ("taskonomy.nope:X", "cannot load"),
        (f"{HERE / 'bodies.py'}:NOPE", "cannot load"),
    ]:
        with pytest.raises(ExecutionError, match=match):
            load_object(bad)
    with pytest.raises(ExecutionError, match=r"name a type, not a .*BodyResolver"):
        PackTask("/nonexistent", "taskonomy.executor.slurm.task:PackTask")(["x"])
