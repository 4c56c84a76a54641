"""submitit and taskonomy's SLURM layer against a real single-node SLURM.

Needs ``SLURM_CONF`` from ``scripts/slurm-local start ROOT`` (see conftest). Every job
folder sits under a directory whose name would break naive shell quoting. Waits go
through :class:`Poller` with a deadline, so a broken cluster fails the test instead of
hanging it.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from taskonomy.executor.slurm.cluster import (
    Cluster,
    CommandResult,
    SchedulerError,
    run_command,
    split_array,
)
from taskonomy.executor.slurm.header import ArraySubmission
from taskonomy.executor.slurm.poll import Poller, PollSchedule
from taskonomy.executor.slurm.states import JobStatus

pytestmark = pytest.mark.slurm

FAST = PollSchedule(min_interval_s=0.5, max_interval_s=2.0, backoff=1.5)
WEIRD = 'it\'s a "weird" $dir `x` & co'


@pytest.fixture(scope="module", autouse=True)
def _jobs_pickled_by_value() -> Iterator[None]:
    # The job processes need not import this test module: ship its functions whole.
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    yield
    cloudpickle.unregister_pickle_by_value(module)


class CountingRunner:
    """The real runner, counting the commands it runs by program."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, args: Sequence[str], *, timeout_s: float) -> CommandResult:
        self.calls.append(args[0])
        return run_command(args, timeout_s=timeout_s)


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / WEIRD


def wait(cluster: Cluster, job_ids: Sequence[str], timeout_s: float = 60) -> dict[str, JobStatus]:
    records = Poller(cluster.query, FAST).wait(job_ids, timeout_s=timeout_s)
    return {job_id: rec.status for job_id, rec in records.items()}


def wait_for_file(path: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout_s} s"
        time.sleep(0.1)


def executor(folder: Path, **params: Any) -> Any:
    import submitit

    ex = submitit.AutoExecutor(folder=folder)
    assert ex.cluster == "slurm"
    ex.update_parameters(timeout_min=5, **params)
    return ex


# --- job bodies (pickled by value) ----------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def timed_square(x: int, log_dir: str) -> int:
    start = time.time()
    time.sleep(1.0)
    Path(log_dir, f"{x}.span").write_text(f"{start} {time.time()}")
    return x * x


def write(path: str, text: str) -> str:
    Path(path).write_text(text)
    return text


def read(path: str) -> str:
    return Path(path).read_text()


def restart_count() -> int:
    return int(os.environ.get("SLURM_RESTART_COUNT", "0"))


def slow_first_run(started: str) -> tuple[int, str]:
    """Sleeps long on its first run (to be requeued meanwhile), returns at once after."""
    Path(started).write_text(str(restart_count()))
    if restart_count() == 0:
        time.sleep(120)
    return restart_count(), os.environ["SLURM_JOB_ID"]


def _checkpointable_class() -> type:
    import submitit

    class Counter(submitit.helpers.Checkpointable):
        """Counts to 30 in 3 s; the count survives a preemption through the checkpoint."""

        def __init__(self) -> None:
            self.count = 0
            self.runs: list[tuple[int, int]] = []  # (restart count, count at start)

        def __call__(self, started: str) -> tuple[int, list[tuple[int, int]]]:
            self.runs.append((restart_count(), self.count))
            Path(started).write_text(str(len(self.runs)))
            while self.count < 30:
                self.count += 1
                time.sleep(0.1)
            return self.count, self.runs

    return Counter


# --- tests ----------------------------------------------------------------------------


def test_limits_come_from_the_running_cluster(cluster: Cluster) -> None:
    limits = cluster.limits()
    assert (limits.max_array_size, limits.cluster_name) == (1001, "taskonomy")
    assert limits.version.startswith("22.05")


def test_a_job_is_found_by_its_comment(cluster: Cluster, folder: Path) -> None:
    import uuid

    import submitit

    token = f"taskonomy-{uuid.uuid4().hex}"  # unique: earlier runs stay in squeue a while
    ex = submitit.SlurmExecutor(folder=folder)
    ex.update_parameters(time=1, mem="100M", additional_parameters={"comment": token})
    job = ex.submit(sum, [1, 2])
    other = submitit.SlurmExecutor(folder=folder)
    other.update_parameters(time=1, mem="100M")
    plain = other.submit(sum, [3])
    assert cluster.find_comment(token) == [job.job_id]
    assert cluster.find_comment(token[:-1]) == []
    assert wait(cluster, [job.job_id, plain.job_id]) == {
        job.job_id: JobStatus.COMPLETED,
        plain.job_id: JobStatus.COMPLETED,
    }
    assert cluster.find_comment(token) == [job.job_id]  # still, within MinJobAge


def test_a_single_function_job_and_a_failing_one(cluster: Cluster, folder: Path) -> None:
    import submitit

    ex = executor(folder)
    good, bad = ex.submit(add, 2, 3), ex.submit(fail, "boom")
    assert wait(cluster, [good.job_id, bad.job_id]) == {
        good.job_id: JobStatus.COMPLETED,
        bad.job_id: JobStatus.FAILED,
    }
    assert good.result() == 5
    with pytest.raises(submitit.core.utils.FailedJobError, match="ValueError: boom"):
        bad.result()
    assert good.paths.stdout.parent == folder and good.paths.stdout.exists()


def test_an_array_is_throttled_and_is_exactly_the_script_the_plan_shows(
    cluster: Cluster, folder: Path, tmp_path: Path
) -> None:
    import submitit

    spans = tmp_path / "spans"
    spans.mkdir()
    sub = ArraySubmission(
        name="taskonomy-it-square",
        stage="square",
        tasks=6,
        offset=0,
        jobs_per_task=1,
        parallelism=2,
        cpus=1,
        gpus=0,
        mem_gb=0.25,
        time_min=5,
        partition=None,
        account=None,
        qos=None,
        extra=(("comment", "taskonomy test"),),
        folder=folder / "square",
    )
    ex = submitit.SlurmExecutor(folder=sub.folder)
    ex.update_parameters(**sub.submitit_parameters())
    jobs = ex.map_array(timed_square, range(6), [str(spans)] * 6)
    assert [j.job_id for j in jobs] == [f"{jobs[0].job_id.split('_')[0]}_{i}" for i in range(6)]
    statuses = wait(cluster, [j.job_id for j in jobs])
    assert set(statuses.values()) == {JobStatus.COMPLETED}
    assert [j.result() for j in jobs] == [0, 1, 4, 9, 16, 25]
    assert jobs[0].paths.submission_file.read_text() == sub.script(python=ex.python)
    assert "#SBATCH --array=0-5%2" in sub.header()
    # never more than two tasks at once
    intervals = [tuple(map(float, p.read_text().split())) for p in spans.iterdir()]
    overlap = max(sum(s <= t < e for s, e in intervals) for t, _ in intervals)
    assert len(intervals) == 6 and overlap <= 2


def test_afterok_chains_and_a_failed_parent_cancels_its_dependent(
    cluster: Cluster, folder: Path, tmp_path: Path
) -> None:
    ex = executor(folder)
    note = tmp_path / "note.txt"
    first = ex.submit(write, str(note), "from the first job")
    ex.update_parameters(slurm_dependency=f"afterok:{first.job_id}")
    second = ex.submit(read, str(note))
    ex.update_parameters(slurm_dependency=None)
    broken = ex.submit(fail, "parent fails")
    ex.update_parameters(slurm_additional_parameters={"dependency": f"afterok:{broken.job_id}"})
    orphan = ex.submit(add, 1, 1)
    assert wait(cluster, [first.job_id, second.job_id, broken.job_id, orphan.job_id]) == {
        first.job_id: JobStatus.COMPLETED,
        second.job_id: JobStatus.COMPLETED,
        broken.job_id: JobStatus.FAILED,
        orphan.job_id: JobStatus.CANCELLED,  # kill_invalid_depend: no pending forever
    }
    assert second.result() == "from the first job"


def test_a_preempted_checkpointable_job_resumes_from_its_checkpoint(
    cluster: Cluster, folder: Path, tmp_path: Path
) -> None:
    ex = executor(folder)
    started = tmp_path / "started"
    job = ex.submit(_checkpointable_class()(), str(started))
    wait_for_file(started)
    time.sleep(1.0)  # let it count a while
    cluster.cancel([job.job_id], signal="USR2")  # what a preempting scheduler sends
    assert wait(cluster, [job.job_id], timeout_s=90) == {job.job_id: JobStatus.COMPLETED}
    count, runs = job.result()
    assert count == 30
    assert [r for r, _ in runs] == [0, 1]  # SLURM_RESTART_COUNT of each run
    assert runs[0][1] == 0 and 0 < runs[1][1] < 30  # resumed from the checkpoint


def test_a_requeued_running_job_reruns_and_still_ends_correct(
    cluster: Cluster, folder: Path, tmp_path: Path
) -> None:
    ex = executor(folder)
    started = tmp_path / "started"
    job = ex.submit(slow_first_run, str(started))
    wait_for_file(started)
    cluster.requeue([job.job_id])  # SIGTERM (ignored by submitit), SIGKILL after KillWait
    seen: set[JobStatus] = set()
    records = Poller(cluster.query, FAST).wait(
        [job.job_id], timeout_s=90, on_poll=lambda r: seen.update(x.status for x in r.values())
    )
    assert records[job.job_id].status is JobStatus.COMPLETED
    assert JobStatus.REQUEUED in seen or JobStatus.PENDING in seen
    assert job.result() == (1, job.job_id)
    assert started.read_text() == "1"


def test_arrays_beyond_max_array_size_are_refused_and_split_ones_accepted(
    cluster: Cluster, tmp_path: Path
) -> None:
    limit = cluster.limits().max_array_size
    script = tmp_path / "hold.sh"
    script.write_text(
        f"#!/bin/bash\n#SBATCH --output={shlex.quote(str(tmp_path))}/%A_%a.out\ntrue\n"
    )
    with pytest.raises(SchedulerError, match="Invalid job array specification"):
        cluster.submit(script, ["--hold", f"--array=0-{limit}"])
    ids = [
        cluster.submit(script, ["--hold", f"--array={chunk.array_spec()}"])
        for chunk in split_array(limit + 1, limit)
    ]
    try:
        records = cluster.query(ids)
        assert len(records) == limit + 1
        assert {r.status for r in records.values()} == {JobStatus.PENDING}
    finally:
        cluster.cancel(ids)


def test_the_poller_makes_one_scheduler_query_per_poll(tmp_path: Path) -> None:
    runner = CountingRunner()
    cluster = Cluster(runner=runner)
    script = tmp_path / "array.sh"
    out = shlex.quote(str(tmp_path))
    script.write_text(
        f"#!/bin/bash\n#SBATCH --output={out}/%A_%a.out\n"
        'sleep 1; [ "$SLURM_ARRAY_TASK_ID" -ne 2 ]\n'
    )
    arrays = [cluster.submit(script, ["--array=0-3"]) for _ in range(3)]
    plain = tmp_path / "plain.sh"
    plain.write_text(f"#!/bin/bash\n#SBATCH --output={out}/%j.out\nsleep 1\n")
    single = cluster.submit(plain)
    task_ids = [f"{a}_{i}" for a in arrays for i in range(4)] + [single]
    poller = Poller(cluster.query, FAST)
    runner.calls.clear()
    records = poller.wait(task_ids, timeout_s=60)
    assert {j: r.status for j, r in records.items() if r.status is not JobStatus.COMPLETED} == {
        f"{a}_2": JobStatus.FAILED for a in arrays
    }
    assert runner.calls.count("sacct") == poller.queries
    # squeue only for jobs accounting does not know yet, so at most once per poll
    assert runner.calls.count("squeue") <= poller.queries
