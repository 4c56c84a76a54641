"""Cluster commands with the subprocess boundary replaced by recorded outputs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.cluster import (
    ArrayChunk,
    Cluster,
    ClusterLimits,
    CommandResult,
    RetryPolicy,
    SchedulerError,
    TransientSchedulerError,
    is_transient,
    run_command,
    split_array,
    with_retries,
)
from taskonomy.executor.slurm.states import JobStatus

if TYPE_CHECKING:
    from .conftest import FakeRunner, FakeTime

Recorded = Callable[[str], str]
SOCKET_TIMEOUT = (
    "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"
)
NO_CONTROLLER = "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"
NO_DBD = (
    "sacct: error: slurm_persist_conn_open_without_init: failed to open persistent "
    "connection to host:localhost:6819: Connection refused\n"
    "sacct: error: Sending PersistInit msg: Connection refused\n"
    "sacct: error: Problem talking to the database: Connection refused\n"
)


def ok(stdout: str = "") -> CommandResult:
    return CommandResult((), 0, stdout, "")


def err(stderr: str, code: int = 1) -> CommandResult:
    return CommandResult((), code, "", stderr)


def cluster(runner: FakeRunner, fake_time: FakeTime) -> Cluster:
    return Cluster(runner=runner, sleep=fake_time.sleep, retry=RetryPolicy(attempts=4))


def test_limits_from_recorded_config(recorded: Recorded) -> None:
    limits = ClusterLimits.from_config(recorded("scontrol_show_config.txt"))
    assert limits == ClusterLimits(
        max_array_size=1001,
        max_job_count=10000,
        min_job_age_s=600,
        kill_wait_s=5,
        message_timeout_s=10,
        cluster_name="taskonomy",
        version="22.05.8",
    )


def test_limits_are_read_once(
    recorded: Recorded, make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    text = recorded("scontrol_show_config.txt").replace("1001", "40")
    runner = make_runner({"scontrol": [ok(text)]})
    c = cluster(runner, fake_time)
    assert c.limits().max_array_size == 40 and c.limits().max_array_size == 40
    assert runner.calls == [("scontrol", "show", "config")]


def test_limits_from_something_else_is_an_error() -> None:
    with pytest.raises(SchedulerError, match=r"cannot read MaxArraySize .*'hello'"):
        ClusterLimits.from_config("hello\n")


def test_split_array() -> None:
    assert split_array(5, 1001) == [ArrayChunk(0, 5)]
    assert split_array(2500, 1001) == [
        ArrayChunk(0, 1001),
        ArrayChunk(1001, 1001),
        ArrayChunk(2002, 498),
    ]
    assert split_array(4, 2) == [ArrayChunk(0, 2), ArrayChunk(2, 2)]
    assert list(ArrayChunk(1001, 3).indices) == [1001, 1002, 1003]
    assert ArrayChunk(1001, 498).array_spec(8) == "0-497%8"
    assert ArrayChunk(0, 3).array_spec(8) == "0-2%3"
    assert ArrayChunk(0, 3).array_spec() == "0-2"
    with pytest.raises(ValueError, match="need count >= 1"):
        split_array(0, 1001)


def test_one_query_for_all_jobs_with_squeue_only_for_those_sacct_lacks(
    recorded: Recorded, make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    runner = make_runner(
        {
            "sacct": [ok(recorded("sacct_running.txt"))],
            "squeue": [ok(recorded("squeue_running.txt"))],
        }
    )
    records = cluster(runner, fake_time).query(["5", "1_3", "2", "4", "3", "1"])
    assert runner.calls == [
        ("sacct", "-X", "--parsable2", "--noheader", "-j", "1,2,3,4,5", "-o",
         "JobID,JobIDRaw,State,ExitCode,Reason"),
        ("squeue", "-h", "-r", "-t", "all", "-j", "1,3", "-o", "%i|%T|%r"),
    ]  # fmt: skip
    # sacct's answers win where it has one; squeue fills in array 1 and job 3.
    assert {k: r.status for k, r in records.items()} == {
        "2": JobStatus.PENDING,
        "4": JobStatus.PENDING,
        "5": JobStatus.REQUEUED,
        "1_0": JobStatus.COMPLETED,
        "1_1": JobStatus.FAILED,
        "1_2": JobStatus.RUNNING,
        "1_3": JobStatus.RUNNING,
        "1_4": JobStatus.PENDING,
        "1_5": JobStatus.PENDING,
        "3": JobStatus.PENDING,
    }


def test_no_squeue_when_sacct_knows_every_job(
    recorded: Recorded, make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    runner = make_runner({"sacct": [ok(recorded("sacct_final.txt"))]})
    records = cluster(runner, fake_time).query(["1", "2", "3", "4", "5"])
    assert len(runner.calls) == 1 and len(records) == 10
    assert cluster(runner, fake_time).query([]) == {}
    assert len(runner.calls) == 1


def test_transient_errors_are_retried_with_backoff(
    make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    runner = make_runner({"sbatch": [err(SOCKET_TIMEOUT), err(NO_CONTROLLER), ok("42\n")]})
    assert cluster(runner, fake_time).submit(Path("/x/job.sh")) == "42"
    assert fake_time.sleeps == [1.0, 2.0]
    assert runner.calls[-1] == ("sbatch", "--parsable", "/x/job.sh")


def test_sbatch_with_a_cluster_suffix_and_extra_args(
    make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    runner = make_runner({"sbatch": [ok("42;cluster2\n")]})
    path = Path("/x/job.sh")
    assert cluster(runner, fake_time).submit(path, ["--hold"]) == "42"
    assert runner.calls == [("sbatch", "--parsable", "--hold", "/x/job.sh")]


def test_persistent_transient_errors_give_up_naming_the_cause(
    make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    runner = make_runner({"sacct": [err(NO_DBD)]})
    with pytest.raises(
        TransientSchedulerError,
        match=r"`sacct` failed 4 times with transient errors; the last: .*Problem talking "
        r"to the database: Connection refused\. Is the SLURM controller up\?",
    ):
        cluster(runner, fake_time).query(["1"])
    assert fake_time.sleeps == [1.0, 2.0, 4.0]
    assert len(runner.calls) == 4


def test_a_hung_command_counts_as_transient(
    make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    runner = make_runner(
        {"sacct": [err("sacct: timed out after 60 s", 124), ok("")], "squeue": [ok("")]}
    )
    assert cluster(runner, fake_time).query(["9"]) == {}
    assert [c[0] for c in runner.calls] == ["sacct", "sacct", "squeue"]
    assert fake_time.sleeps == [1.0]


def test_other_errors_fail_at_once(make_runner: type[FakeRunner], fake_time: FakeTime) -> None:
    runner = make_runner(
        {"sbatch": [err("sbatch: error: Batch job submission failed: Invalid account")]}
    )
    with pytest.raises(
        SchedulerError, match=r"`sbatch --parsable /j\.sh` exited with status 1: .*Invalid account"
    ) as info:
        cluster(runner, fake_time).submit(Path("/j.sh"))
    assert not isinstance(info.value, TransientSchedulerError)
    assert isinstance(info.value, ExecutionError)
    assert fake_time.sleeps == [] and len(runner.calls) == 1


def test_unreadable_sbatch_output(make_runner: type[FakeRunner], fake_time: FakeTime) -> None:
    runner = make_runner({"sbatch": [ok("Submitted batch job 42\n")]})
    with pytest.raises(SchedulerError, match="cannot read a job id from sbatch's output"):
        cluster(runner, fake_time).submit(Path("/j.sh"))


def test_cancel_signal_and_requeue(make_runner: type[FakeRunner], fake_time: FakeTime) -> None:
    runner = make_runner({"scancel": [ok()], "scontrol": [ok()]})
    c = cluster(runner, fake_time)
    c.cancel(["3", "4_1"], signal="USR2")
    c.cancel(["5"])
    c.cancel([])
    c.requeue(["6", "7"])
    assert runner.calls == [
        ("scancel", "--signal=USR2", "3", "4_1"),
        ("scancel", "5"),
        ("scontrol", "requeue", "6,7"),
    ]


def test_find_comment_lists_each_array_once(
    make_runner: type[FakeRunner], fake_time: FakeTime
) -> None:
    squeue = "12|taskonomy-a\n12|taskonomy-a\n9|taskonomy-a\n13|taskonomy-ab\n14|(null)\n"
    runner = make_runner({"squeue": [ok(squeue)]})
    assert cluster(runner, fake_time).find_comment("taskonomy-a") == ["9", "12"]
    assert runner.calls == [("squeue", "-h", "--me", "-t", "all", "-o", "%F|%k")]


def test_with_retries_wraps_someone_elses_submission(fake_time: FakeTime) -> None:
    """submitit runs sbatch itself and raises with sbatch's error text."""
    attempts: list[int] = []

    def submit() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError(f"Command failed: sbatch\n{SOCKET_TIMEOUT}")
        return "ok"

    policy = RetryPolicy(attempts=5, first_delay_s=0.5, factor=3, max_delay_s=1.0)
    assert with_retries(submit, what="submitting", policy=policy, sleep=fake_time.sleep) == "ok"
    assert fake_time.sleeps == [0.5, 1.0]
    with pytest.raises(KeyError):
        with_retries(lambda: {}["x"], what="x", policy=policy, sleep=fake_time.sleep)


def test_retry_policy_delays() -> None:
    assert RetryPolicy().delays() == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert RetryPolicy(attempts=1).delays() == []
    with pytest.raises(ValueError, match="'attempts' must be >= 1"):
        RetryPolicy(attempts=0)


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        (SOCKET_TIMEOUT, True),
        (NO_CONTROLLER, True),
        (NO_DBD, True),
        ("sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying", True),
        ("sbatch: error: Batch job submission failed: Invalid partition name specified", False),
        ("sbatch: error: invalid dependency", False),
    ],
)
def test_is_transient(message: str, transient: bool) -> None:
    assert is_transient(message) is transient


def test_run_command_real_subprocess() -> None:
    res = run_command([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], timeout_s=30)
    assert (res.returncode, res.stdout, res.ok) == (3, "out\n", False)
    slow = run_command([sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.2)
    assert slow.returncode == 124 and is_transient(slow.stderr)
    with pytest.raises(SchedulerError, match=r"'no-such-sbatch' is not on PATH"):
        run_command(["no-such-sbatch"], timeout_s=5)
