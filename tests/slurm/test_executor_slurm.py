"""The SLURM executor end to end on the real single-node SLURM (``scripts/slurm-local``).

The plans are tiny and run the cheap bodies of ``bodies.py`` (passed to ``run_slurm`` by
reference; array tasks import them); the comparison with the local executor on real bodies lives in
``test_executor_equivalence.py``. Every test checks, through ``WORKDIR/calls.log``,
that no job ran more often than its story allows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from taskonomy.executor.runner import prepare_workdir
from taskonomy.executor.slurm.cluster import Cluster
from taskonomy.executor.slurm.executor import run_slurm
from taskonomy.executor.slurm.journal import Journal
from taskonomy.executor.slurm.outcomes import Outcome, SlurmRunResult
from taskonomy.executor.slurm.poll import PollSchedule
from taskonomy.executor.slurm.states import JobStatus
from taskonomy.kinds import JobKind
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec, loaded_from_python

pytestmark = pytest.mark.slurm

BODIES = f"{Path(__file__).parent / 'bodies.py'}:BODIES"
FAST = PollSchedule(min_interval_s=0.5, max_interval_s=2.0)
#: Resources the one-node test cluster can give every kind at once (it has no GPU).
SMALL = {str(k): {"gpus": 0, "cpus": 1, "mem_gb": 0.25, "time_min": 5} for k in JobKind}


TASKS = ("rgb2depth", "rgb2mist", "reshade")
EVALUATED_FIRST = (["evaluate", "encoder"], ["evaluate", "scratch"])


def tiny(tmp_path: Path, *, max_order: int = 2, **executor: Any) -> tuple[Spec, Plan, Path]:
    spec = Spec.model_validate(
        {
            "name": "tiny",
            "tasks": list(TASKS),
            "transfers": {"max_order": max_order, "beam": 2},
            "taxonomy": {"budgets": "1-2"},
            "executor": {"kind": "slurm", "resources": SMALL, **executor},
        }
    )
    return prepare_workdir(loaded_from_python(spec, tmp_path / "it's a work dir"))


@pytest.fixture(autouse=True)
def _cheap_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TASKONOMY_TEST_FAIL", "TASKONOMY_TEST_SLOW"):
        monkeypatch.delenv(name, raising=False)


def run(spec: Spec, plan: Plan, workdir: Path, **kw: Any) -> SlurmRunResult:
    return run_slurm(spec, plan, workdir, bodies=BODIES, schedule=FAST, echo=print, **kw)


def calls(workdir: Path) -> Counter[str]:
    path = workdir / "calls.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(line.split("\t")[0] for line in lines)


def wait_until(what: str, check: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        time.sleep(0.2)


def test_a_tiny_plan_runs_as_arrays_and_packed_arrays(tmp_path: Path) -> None:
    spec, plan, workdir = tiny(tmp_path, resources={**SMALL, "evaluate": {
        **SMALL["evaluate"], "slurm_jobs_per_task": 2}})  # fmt: skip
    # Submitting everything up front (afterok chains) makes the arrays independent of
    # when SLURM happens to finish each job; the second call watches them to the end.
    assert run(spec, plan, workdir, detach=True).ok
    result = run(spec, plan, workdir)
    assert result.ok, [o for o in result.outcomes if o.state is not Outcome.DONE]
    assert calls(workdir) == Counter(dict.fromkeys(plan.jobs, 1))
    journal = Journal.load(workdir)
    encoders = {journal.entries[f"encoder/{t}"].slurm_job_id for t in TASKS}
    assert len({base.split("_")[0] for base in encoders}) == 1 < len(encoders)  # one array
    # the six evaluations of encoders and scratch baselines: one array, 2 jobs per task
    first = [e for j, e in journal.entries.items() if j.split("/")[:2] in EVALUATED_FIRST]
    assert len(first) == 6 and sorted(len(e.pack) for e in first) == [2] * 6
    assert len({e.slurm_job_id.split("_")[0] for e in first}) == 1
    assert len({e.slurm_job_id for e in first}) == 3
    packed = journal.entries["evaluate/encoder/reshade"]
    assert packed.slurm_job_id.count("_") == 1
    assert all(journal.entries[j].slurm_job_id == packed.slurm_job_id for j in packed.pack)
    # the manifest records the SLURM ids of the task that produced it
    from taskonomy.executor.store import ArtifactStore

    meta = ArtifactStore(workdir).manifest(plan.jobs[packed.job_id].hash)
    assert meta is not None
    base, index = packed.slurm_job_id.split("_")
    assert (meta["meta"]["slurm_array_job_id"], meta["meta"]["slurm_array_task_id"]) == (
        base,
        index,
    )
    assert meta["meta"]["wall_seconds"] >= 0 and "gpu_seconds" in meta["meta"]
    # the binding of order-2 slots happened in the array tasks, from the rank artifacts
    out = ArtifactStore(workdir).path(plan.jobs["transfer/2/reshade/00"].hash) / "out.json"
    assert json.loads(out.read_text())["sources"] == ["rgb2mist", "rgb2depth"]


def test_a_failing_job_is_failed_and_its_dependents_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, plan, workdir = tiny(tmp_path, max_order=1, slurm_max_retries=0)
    monkeypatch.setenv("TASKONOMY_TEST_FAIL", "encoder/rgb2mist")
    result = run(spec, plan, workdir, detach=True)  # afterok chains: SLURM cancels them
    assert result.ok and result.count(Outcome.IN_FLIGHT) == len(plan)
    result = run(spec, plan, workdir)
    outcome = {o.job_id: o for o in result.outcomes}
    assert not result.ok
    failed = outcome["encoder/rgb2mist"]
    assert (failed.state, failed.status) == (Outcome.FAILED, JobStatus.FAILED)
    assert failed.reason == (
        "RuntimeError: injected failure in encoder/rgb2mist "
        "(failed 1 time(s); executor.slurm_max_retries=0)"
    )
    assert outcome["features/rgb2mist"].state is Outcome.UPSTREAM_FAILED
    assert outcome["encoder/rgb2depth"].state is Outcome.DONE
    assert "features/rgb2mist" not in calls(workdir)
    entries = Journal.load(workdir).entries
    assert entries["features/rgb2mist"].state is JobStatus.CANCELLED  # by SLURM


def test_preemption_resumes_from_the_checkpoint_and_a_requeue_still_ends_correct(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """USR2 (how preemption reaches submitit) and `scontrol requeue` on running encoders."""
    spec, plan, workdir = tiny(tmp_path, max_order=1)
    # The requeued one trains past KillWait (5 s): SIGTERM is ignored, SIGKILL ends it.
    monkeypatch.setenv("TASKONOMY_TEST_SLOW", "encoder/rgb2depth=40,encoder/rgb2mist=100")
    assert run(spec, plan, workdir, detach=True).ok
    journal = Journal.load(workdir)
    scratch = workdir / "scratch"
    started = {
        t: scratch / plan.jobs[f"encoder/{t}"].hash / "started" for t in ("rgb2depth", "rgb2mist")
    }
    wait_until("both slow encoders started", lambda: all(p.exists() for p in started.values()))
    time.sleep(1.0)  # let them train (and checkpoint) a while
    cluster = Cluster()
    cluster.cancel([journal.entries["encoder/rgb2depth"].slurm_job_id], signal="USR2")
    cluster.requeue([journal.entries["encoder/rgb2mist"].slurm_job_id])
    result = run(spec, plan, workdir)
    assert result.ok, [o for o in result.outcomes if o.state is not Outcome.DONE]
    from taskonomy.executor.store import ArtifactStore

    store = ArtifactStore(workdir)
    for task in ("rgb2depth", "rgb2mist"):
        out = json.loads((store.path(plan.jobs[f"encoder/{task}"].hash) / "out.json").read_text())
        restarts, resumed_at = zip(*out["runs"], strict=True)
        assert restarts == (0, 1), (task, out["runs"])  # SLURM_RESTART_COUNT of each run
        assert resumed_at[0] == 0 and 0 < resumed_at[1] < 100, (task, out["runs"])
    counts = calls(workdir)
    assert counts.pop("encoder/rgb2depth") == counts.pop("encoder/rgb2mist") == 2
    assert set(counts.values()) == {1}  # everything else ran once
    entry = Journal.load(workdir).entries["encoder/rgb2depth"]
    assert entry.attempts == 1 and entry.state is JobStatus.COMPLETED  # requeued, not resubmitted


def test_an_array_whose_driver_died_right_after_sbatch_is_adopted_not_resubmitted(
    tmp_path: Path,
) -> None:
    from taskonomy.executor.slurm.submit import SubmititBackend

    spec, plan, workdir = tiny(tmp_path, max_order=1)

    class DiesAfterSbatch(SubmititBackend):
        """sbatch succeeds, then the driver is killed before it journals the ids."""

        def submit(self, *args: Any, **kwargs: Any) -> Any:
            super().submit(*args, **kwargs)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(spec, plan, workdir, backend=DiesAfterSbatch(workdir, bodies=BODIES))
    assert "dataset" not in Journal.load(workdir).entries
    assert (workdir / "slurm" / "submitting.json").exists()
    result = run(spec, plan, workdir)
    assert result.ok, [o for o in result.outcomes if o.state is not Outcome.DONE]
    assert calls(workdir) == Counter(dict.fromkeys(plan.jobs, 1))
    assert Journal.load(workdir).entries["dataset"].attempts == 1  # adopted, not resubmitted
    assert not (workdir / "slurm" / "submitting.json").exists()


def test_a_killed_driver_is_rerun_without_redoing_finished_jobs(tmp_path: Path) -> None:
    spec, plan, workdir = tiny(tmp_path, max_order=1)
    script = (
        "import sys; from pathlib import Path\n"
        "from taskonomy.executor.runner import load_workdir\n"
        "from taskonomy.executor.slurm.executor import run_slurm\n"
        "from taskonomy.executor.slurm.poll import PollSchedule\n"
        "w = Path(sys.argv[1]); spec, plan = load_workdir(w)\n"
        "run_slurm(spec, plan, w, bodies=sys.argv[2],\n"
        "          schedule=PollSchedule(min_interval_s=0.5, max_interval_s=2))\n"
    )
    cmd = [sys.executable, "-c", script, str(workdir), BODIES]
    driver = subprocess.Popen(cmd, env=dict(os.environ))
    try:
        wait_until(
            "the features stage", lambda: any(j.startswith("features/") for j in calls(workdir))
        )
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    before = calls(workdir)
    assert "report" not in before
    result = run(spec, plan, workdir)
    assert result.ok
    assert calls(workdir) == Counter(dict.fromkeys(plan.jobs, 1))
