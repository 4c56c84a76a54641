"""The SLURM driver against a simulated scheduler (the Cluster/submitit boundary).

:class:`FakeSlurm` stands in for both the cluster commands and submitit: submissions
become fake array tasks, and every query first "schedules" the pending tasks whose
dependencies completed by running them in this process through the real
:class:`~taskonomy.executor.slurm.task.PackTask` (so the executor core commits real
artifacts with the cheap bodies of ``bodies.py``). Tests script fates (out of memory,
preemption, a COMPLETED task that wrote nothing) per job. Time is fake: no test sleeps.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from taskonomy.errors import ExecutionError
from taskonomy.executor.lock import WorkdirBusyError
from taskonomy.executor.runner import prepare_workdir
from taskonomy.executor.slurm.accounting import base_id
from taskonomy.executor.slurm.driver import DEPENDENCY_CANCELLED, SlurmDriver
from taskonomy.executor.slurm.executor import run_slurm
from taskonomy.executor.slurm.header import sbatch_headers
from taskonomy.executor.slurm.journal import Journal
from taskonomy.executor.slurm.outcomes import Outcome, SlurmRunResult
from taskonomy.executor.slurm.poll import PollSchedule
from taskonomy.executor.slurm.states import JobStatus
from taskonomy.executor.slurm.submit import submission_parameters
from taskonomy.executor.slurm.task import load_object
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec, loaded_from_python

if TYPE_CHECKING:
    from .conftest import FakeTime

BODIES = f"{Path(__file__).parent / 'bodies.py'}:BODIES"
TINY: dict[str, Any] = {
    "name": "tiny",
    "tasks": ["rgb2depth", "rgb2mist", "reshade"],
    "transfers": {"max_order": 2, "beam": 2},
    "taxonomy": {"budgets": "1-2"},
    "executor": {"kind": "slurm", "slurm_jobs_per_task": 1},
}
FakeSlurm = load_object(f"{Path(__file__).parent / 'fakes.py'}:FakeSlurm")


@pytest.fixture(autouse=True)
def _bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TASKONOMY_TEST_FAIL", "TASKONOMY_TEST_SLOW"):
        monkeypatch.delenv(name, raising=False)


def prepare(tmp_path: Path, **executor: Any) -> tuple[Spec, Plan, Path]:
    data = {**TINY, "executor": {**TINY["executor"], **executor}}
    return prepare_workdir(loaded_from_python(Spec.model_validate(data), tmp_path / "work dir"))


def with_executor(spec: Spec, **fields: Any) -> Spec:
    """The spec with executor fields the model may not declare yet (read via getattr)."""
    return spec.model_copy(update={"executor": spec.executor.model_copy(update=fields)})


FAST = PollSchedule(min_interval_s=1.0, max_interval_s=4.0)


def drive(
    spec: Spec, plan: Plan, workdir: Path, slurm: Any, fake_time: FakeTime, **kw: Any
) -> SlurmRunResult:
    lines: list[str] = []
    driver = SlurmDriver(
        spec,
        plan,
        workdir,
        cluster=slurm,
        backend=slurm,
        schedule=FAST,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        echo=lines.append,
    )
    return driver.run(**kw)


def calls(workdir: Path) -> list[str]:
    path = workdir / "calls.log"
    return [line.split("\t")[0] for line in path.read_text().splitlines()] if path.exists() else []


def states(result: SlurmRunResult) -> dict[str, Outcome]:
    return {o.job_id: o.state for o in result.outcomes}


# --- stage by stage ---------------------------------------------------------------------


def test_the_plan_goes_out_stage_by_stage_as_dependencies_complete(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok and result.count(Outcome.DONE) == len(plan)
    # Each wave is what became ready when the previous one completed: one array per stage.
    assert slurm.stages() == [
        "dataset",
        "encoder",
        "scratch",
        "evaluate",  # encoders' and scratch models' evaluations
        "features",
        "transfer (order 1)",
        "evaluate",
        "rank",
        "transfer (order 2)",
        "evaluate",
        "affinity",
        "taxonomy",
        "assess",
        "bootstrap",
        "report",
    ]
    assert all(deps == [] for _, _, deps in slurm.submissions)  # attached: no afterok
    assert sorted(calls(workdir)) == sorted(plan.jobs)  # each job ran exactly once
    # jobs.json: what `taskonomy status` reads
    doc = json.loads((workdir / "slurm" / "jobs.json").read_text())
    assert set(doc) == set(plan.jobs)
    assert doc["dataset"]["slurm_job_id"] == "100" and doc["dataset"]["state"] == "completed"
    assert doc["encoder/reshade"]["slurm_job_id"] == "101_0"
    assert doc["encoder/reshade"]["log"] == str(workdir / "logs" / "encoder__reshade.log")
    # one query per poll, never more
    assert slurm.queries == len(fake_time.sleeps) + 1


def test_what_is_submitted_is_what_the_plan_shows(tmp_path: Path, fake_time: FakeTime) -> None:
    spec, plan, workdir = prepare(
        tmp_path, slurm_account="lab", slurm_extra_flags=["--constraint=a100"]
    )
    slurm = FakeSlurm(workdir)
    drive(spec, plan, workdir, slurm, fake_time)
    headers, _ = sbatch_headers(plan, spec.executor, workdir)
    sub = next(s for s, _, _ in slurm.submissions if s.stage == "encoder")
    assert sub.header() == headers["encoder"]
    assert "#SBATCH --account=lab" in sub.header()
    # an afterok dependency adds exactly the dependency lines
    params = submission_parameters(sub, ["7_1", "8"])
    assert params["additional_parameters"] == {
        **sub.submitit_parameters()["additional_parameters"],
        "dependency": "afterok:7_1:8",
        "kill-on-invalid-dep": "yes",
    }
    assert submission_parameters(sub, []) == sub.submitit_parameters()


def test_small_jobs_are_packed_and_large_arrays_split(tmp_path: Path, fake_time: FakeTime) -> None:
    spec, plan, workdir = prepare(
        tmp_path, slurm_jobs_per_task=None, resources={"evaluate": {"slurm_jobs_per_task": 2}}
    )
    slurm = FakeSlurm(workdir, max_array_size=2)
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    first_evals = [(s, packs) for s, packs, _ in slurm.submissions if s.stage == "evaluate"][:2]
    # six evaluations ready together: 3 tasks of 2 jobs, split 2 + 1 at MaxArraySize=2
    assert [(s.tasks, s.offset, s.jobs_per_task) for s, _ in first_evals] == [(2, 0, 2), (1, 2, 2)]
    packs = [p for _, ps in first_evals for p in ps]
    assert [len(p) for p in packs] == [2, 2, 2]
    assert len({j for p in packs for j in p}) == 6
    journal = Journal.load(workdir)
    entry = journal.entries[packs[0][0]]
    assert (
        entry.pack == packs[0] and journal.entries[packs[0][1]].slurm_job_id == entry.slurm_job_id
    )
    # the cost model packs cheap transfers by itself; the time limit scales with the pack
    transfer = next(s for s, _, _ in slurm.submissions if s.stage == "transfer (order 1)")
    # A packed task asks for the cost model's estimate of its pack (with a margin, at
    # least 15 min), never time_min x the pack size.
    assert transfer.jobs_per_task > 1 and 15 <= transfer.time_min <= 120


# --- detach, reattach, a killed driver --------------------------------------------------


def test_detach_submits_everything_with_afterok_and_a_rerun_reattaches(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    result = drive(spec, plan, workdir, slurm, fake_time, detach=True)
    assert result.ok and result.detached and result.count(Outcome.IN_FLIGHT) == len(plan)
    assert slurm.queries == 0 and calls(workdir) == []
    first, *rest = slurm.submissions
    assert first[0].stage == "dataset" and first[2] == []
    assert all(deps for _, _, deps in rest)  # every later wave waits on earlier ones
    # a whole array is named by its id; a dependency on part of one names its tasks
    by_id = {t: j for t, task in slurm.tasks.items() for j in task.pack}
    assert "100" in rest[0][2]
    for _, packs, deps in rest:
        for pack in packs:
            for job_id in pack:
                for dep in plan.jobs[job_id].deps:
                    dep_task = next(t for t, j in by_id.items() if j == dep)
                    assert dep_task in deps or base_id(dep_task) in deps, (job_id, dep)
    n = len(slurm.submissions)
    again = drive(spec, plan, workdir, slurm, fake_time)
    assert again.ok and len(slurm.submissions) == n  # nothing resubmitted
    assert sorted(calls(workdir)) == sorted(plan.jobs)


def test_a_killed_driver_loses_nothing_and_the_rerun_redoes_nothing(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    slurm.hold = {"encoder/rgb2mist"}
    slurm.crash_after = 4
    with pytest.raises(KeyboardInterrupt):
        drive(spec, plan, workdir, slurm, fake_time)
    journal = Journal.load(workdir)
    assert journal.entries["encoder/rgb2mist"].state is JobStatus.RUNNING
    held = journal.entries["encoder/rgb2mist"].slurm_job_id
    ran_before = calls(workdir)
    assert "dataset" in ran_before and "report" not in ran_before
    slurm.crash_after, slurm.hold = None, set()
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    assert sorted(calls(workdir)) == sorted(plan.jobs)  # nothing ran twice
    assert Journal.load(workdir).entries["encoder/rgb2mist"].slurm_job_id == held
    assert Journal.load(workdir).entries["encoder/rgb2mist"].attempts == 1


@pytest.mark.parametrize("twice", [False, True], ids=["once", "sbatch-accepted-twice"])
def test_an_array_submitted_by_a_driver_killed_before_journaling_it_is_adopted(
    tmp_path: Path, fake_time: FakeTime, twice: bool
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    slurm.die_after_sbatch = {2}  # the encoder array: SLURM has it, the journal does not
    if twice:
        slurm.duplicate_sbatch = {2}
    with pytest.raises(KeyboardInterrupt):
        drive(spec, plan, workdir, slurm, fake_time)
    encoders = [j for j in plan.jobs if j.startswith("encoder/")]
    assert not set(encoders) & set(Journal.load(workdir).entries)
    orphans = sorted({base_id(tid) for tid, t in slurm.tasks.items() if t.pack[0] in encoders})
    assert len(orphans) == (2 if twice else 1)
    assert (workdir / "slurm" / "submitting.json").exists()
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    assert sorted(calls(workdir)) == sorted(plan.jobs)  # nothing ran twice
    entries = Journal.load(workdir).entries
    assert {base_id(entries[j].slurm_job_id) for j in encoders} == {orphans[0]}
    assert all(entries[j].attempts == 1 for j in encoders)
    assert [p for _, p, _ in slurm.submissions].count([[e] for e in encoders]) == 1
    assert slurm.cancelled == orphans[1:]  # the duplicate
    assert not (workdir / "slurm" / "submitting.json").exists()


# --- honest statuses and retries ----------------------------------------------------------


def test_a_python_exception_is_failed_and_downstream_jobs_never_run(
    tmp_path: Path, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    monkeypatch.setenv("TASKONOMY_TEST_FAIL", "encoder/rgb2mist")
    slurm = FakeSlurm(workdir)
    slurm.fates = {"scratch/reshade": ["EMPTY"]}  # exits 0, commits nothing
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert not result.ok
    outcome = {o.job_id: o for o in result.outcomes}
    enc = outcome["encoder/rgb2mist"]
    assert (enc.state, enc.status) == (Outcome.FAILED, JobStatus.FAILED)
    assert enc.reason == "RuntimeError: injected failure in encoder/rgb2mist"
    scratch = outcome["scratch/reshade"]
    assert (scratch.state, scratch.status) == (Outcome.FAILED, JobStatus.FAILED)
    assert scratch.reason == "SLURM says COMPLETED but the job committed no artifact"
    assert outcome["features/rgb2mist"].state is Outcome.UPSTREAM_FAILED
    assert outcome["features/rgb2mist"].reason == "upstream job encoder/rgb2mist did not complete"
    assert outcome["report"].state is Outcome.UPSTREAM_FAILED
    assert outcome["encoder/rgb2depth"].state is Outcome.DONE
    assert "features/rgb2mist" not in calls(workdir)
    # a later run resubmits the failed jobs (the limit allows two more failures)
    monkeypatch.delenv("TASKONOMY_TEST_FAIL")
    again = drive(spec, plan, workdir, slurm, fake_time)
    assert again.ok
    assert calls(workdir).count("encoder/rgb2mist") == 2
    assert calls(workdir).count("encoder/rgb2depth") == 1


def test_failures_are_resubmitted_by_later_runs_up_to_the_retry_limit(
    tmp_path: Path, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, plan, workdir = prepare(tmp_path, slurm_max_retries=1)
    monkeypatch.setenv("TASKONOMY_TEST_FAIL", "dataset")
    slurm = FakeSlurm(workdir)
    for _ in range(3):
        result = drive(spec, plan, workdir, slurm, fake_time)
    assert calls(workdir) == ["dataset", "dataset"]  # the third run submits nothing
    dataset = result.outcomes[0]
    assert dataset.state is Outcome.FAILED and dataset.attempts == 2
    assert dataset.reason.endswith("(failed 2 time(s); executor.slurm_max_retries=1)")
    assert result.count(Outcome.UPSTREAM_FAILED) == len(plan) - 1


def test_preemption_and_node_failure_are_resubmitted_at_once(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    slurm.fates = {"encoder/reshade": ["PREEMPTED"], "dataset": ["NODE_FAIL"]}
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    entries = Journal.load(workdir).entries
    assert (entries["dataset"].attempts, entries["dataset"].failures) == (2, 1)
    assert entries["dataset"].history == ["100"]
    assert entries["encoder/reshade"].attempts == 2


def test_out_of_memory_is_retried_with_more_memory_when_the_spec_allows(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path, resources={"encoder": {"mem_gb": 4}})
    spec = with_executor(spec, slurm_oom_mem_factor=2.0, slurm_max_mem_gb=12)
    slurm = FakeSlurm(workdir)
    slurm.fates = {"encoder/rgb2depth": ["OUT_OF_MEMORY", "OUT_OF_MEMORY", "OUT_OF_MEMORY"]}
    result = drive(spec, plan, workdir, slurm, fake_time)
    mems = [
        (s.mem_gb, [j for p in packs for j in p])
        for s, packs, _ in slurm.submissions
        if s.stage == "encoder"
    ]
    assert mems == [
        (4.0, ["encoder/reshade", "encoder/rgb2depth", "encoder/rgb2mist"]),
        (8.0, ["encoder/rgb2depth"]),
        (12.0, ["encoder/rgb2depth"]),  # capped by slurm_max_mem_gb
    ]
    enc = next(o for o in result.outcomes if o.job_id == "encoder/rgb2depth")
    assert enc.state is Outcome.FAILED and enc.status is JobStatus.OUT_OF_MEMORY
    assert "ran out of memory; raise executor.resources.encoder.mem_gb" in enc.reason


def test_out_of_memory_waits_for_the_next_run_when_the_spec_does_not_allow_more(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    slurm.fates = {"dataset": ["OUT_OF_MEMORY"], "encoder/reshade": ["TIMEOUT"]}
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert len(slurm.submissions) == 1 and result.outcomes[0].status is JobStatus.OUT_OF_MEMORY
    result = drive(spec, plan, workdir, slurm, fake_time)
    timeout = next(o for o in result.outcomes if o.job_id == "encoder/reshade")
    assert timeout.status is JobStatus.TIMEOUT
    assert "time limit; raise executor.resources.encoder.time_min" in timeout.reason
    assert drive(spec, plan, workdir, slurm, fake_time).ok


@pytest.mark.parametrize("reason", ["Dependency", "None"])
def test_dependents_cancelled_by_slurm_are_resubmitted_without_counting(
    tmp_path: Path, fake_time: FakeTime, reason: str
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    slurm.dependency_reason = reason
    slurm.fates = {"dataset": ["FAILED"]}
    drive(spec, plan, workdir, slurm, fake_time, detach=True)
    # dataset failed while no driver watched and SLURM cancelled its dependents; the
    # rerun reattaches, resubmits dataset (one failure) and the cancelled jobs (none)
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    entries = Journal.load(workdir).entries
    assert (entries["dataset"].attempts, entries["dataset"].failures) == (2, 1)
    enc = entries["encoder/reshade"]
    assert (enc.attempts, enc.failures, enc.history) == (2, 0, ["101_0"])


@pytest.mark.parametrize("reason", ["Dependency", "None"])
def test_jobs_cancelled_for_a_failed_input_are_upstream_failed(
    tmp_path: Path, fake_time: FakeTime, reason: str
) -> None:
    spec, plan, workdir = prepare(tmp_path, slurm_max_retries=0)
    slurm = FakeSlurm(workdir)
    slurm.dependency_reason = reason  # the journal knows what failed when sacct does not
    slurm.fates = {"dataset": ["FAILED"]}
    drive(spec, plan, workdir, slurm, fake_time, detach=True)
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert states(result)["dataset"] is Outcome.FAILED
    assert states(result)["encoder/reshade"] is Outcome.UPSTREAM_FAILED
    entries = Journal.load(workdir).entries
    enc = entries["encoder/reshade"]
    assert (enc.state, enc.reason, enc.failures) == (JobStatus.CANCELLED, DEPENDENCY_CANCELLED, 0)
    # the whole chain below it, whatever order the journal lists it in (affinity/* comes
    # before the evaluate/* arrays it waited for)
    below = {j: (e.state, e.reason) for j, e in entries.items() if j != "dataset"}
    assert set(below.values()) == {(JobStatus.CANCELLED, DEPENDENCY_CANCELLED)}
    assert "affinity/reshade" in below


def test_a_never_satisfiable_dependency_is_cancelled_by_the_driver(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    drive(spec, plan, workdir, slurm, fake_time, detach=True)
    slurm.tasks["100"].state = "FAILED"
    for tid, task in slurm.tasks.items():
        if tid != "100":  # a cluster without kill_invalid_depend leaves them pending
            task.reason = "DependencyNeverSatisfied"
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert "101_0" in slurm.cancelled  # then resubmitted once dataset was, and done
    assert result.ok
    enc = Journal.load(workdir).entries["encoder/reshade"]
    assert (enc.attempts, enc.failures, enc.history) == (2, 0, ["101_0"])


def test_a_job_slurm_forgot_is_resubmitted(tmp_path: Path, fake_time: FakeTime) -> None:
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    drive(spec, plan, workdir, slurm, fake_time, detach=True)
    slurm.tasks.clear()  # the accounting database lost them
    fake_time.now += 1000
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    entry = Journal.load(workdir).entries["dataset"]
    assert entry.failures == 1 and entry.attempts == 2


HOLD_LOCK = (
    "import sys, time\n"
    "from taskonomy.executor.lock import workdir_lock\n"
    "with workdir_lock(sys.argv[1]):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(120)\n"
)


def test_one_run_per_work_directory(tmp_path: Path) -> None:
    """The driver takes the run lock a local run takes: a live holder is named."""
    spec, plan, workdir = prepare(tmp_path)
    cmd = [sys.executable, "-c", HOLD_LOCK, str(workdir)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            busy = rf"another taskonomy run \(pid {holder.pid} on "
            with pytest.raises(WorkdirBusyError, match=busy):
                run_slurm(
                    spec, plan, workdir, cluster=FakeSlurm(workdir), backend=FakeSlurm(workdir)
                )
        finally:
            holder.kill()
    assert not (workdir / "slurm" / "jobs.json").exists()


def test_run_slurm_needs_a_prepared_work_directory(tmp_path: Path) -> None:
    spec, plan, _ = prepare(tmp_path)
    with pytest.raises(Exception, match=r"lacks spec\.json and plan\.json.*prepare_workdir"):
        run_slurm(spec, plan, tmp_path / "elsewhere")


def test_run_slurm_is_given_its_bodies(tmp_path: Path) -> None:
    spec, plan, workdir = prepare(tmp_path)
    with pytest.raises(ExecutionError, match=r"needs the job bodies"):
        run_slurm(spec, plan, workdir, cluster=FakeSlurm(workdir))


def test_a_task_that_died_before_starting_its_jobs_goes_out_again_at_once(
    tmp_path: Path, fake_time: FakeTime
) -> None:
    """SLURM says FAILED but the pack never started (no outcome, no job log: a driver
    killed mid-submission leaves such a task): not the job's fault, so resubmitted now."""
    spec, plan, workdir = prepare(tmp_path)
    slurm = FakeSlurm(workdir)
    slurm.fates = {"encoder/rgb2mist": ["FAILED"]}  # fails without running the pack
    result = drive(spec, plan, workdir, slurm, fake_time)
    assert result.ok
    assert calls(workdir).count("encoder/rgb2mist") == 1
    entry = Journal.load(workdir).entries["encoder/rgb2mist"]
    assert entry.attempts == 2 and entry.failures == 1
