"""Parsing sacct and squeue output recorded from the local cluster (Slurm 22.05.8).

The recordings come from one scenario: array 1 (6 tasks, ``%2``, task 1 exits 1),
job 2 (long, later cancelled), job 3 (``afterok:2``), job 4 (``--time=1``, times out)
and job 5 (``scontrol requeue`` while running).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from taskonomy.executor.slurm.accounting import (
    JobRecord,
    base_id,
    expand_job_id,
    parse_sacct,
    parse_squeue,
)
from taskonomy.executor.slurm.states import JobStatus

Recorded = Callable[[str], str]


def statuses(records: dict[str, JobRecord]) -> dict[str, str]:
    return {job_id: str(rec.status) for job_id, rec in records.items()}


def test_sacct_final_states(recorded: Recorded) -> None:
    records = parse_sacct(recorded("sacct_final.txt"))
    assert statuses(records) == {
        "1_0": "completed",
        "1_1": "failed",
        "1_2": "completed",
        "1_3": "completed",
        "1_4": "completed",
        "1_5": "completed",
        "2": "cancelled",
        "3": "cancelled",
        "4": "timeout",
        "5": "running",
    }
    assert records["1_1"] == JobRecord("1_1", JobStatus.FAILED, "FAILED", 1, 0, "None")
    assert records["2"].state == "CANCELLED by 0"
    assert records["3"].reason == "Dependency"
    assert records["1_4"].base == "1"


def test_sacct_lags_behind_squeue_just_after_submission(recorded: Recorded) -> None:
    sacct = parse_sacct(recorded("sacct_running.txt"))
    assert statuses(sacct) == {"2": "pending", "4": "pending", "5": "requeued"}
    squeue = parse_squeue(recorded("squeue_running.txt"))
    assert statuses(squeue) == {
        "1_0": "completed",
        "1_1": "failed",
        "1_2": "running",
        "1_3": "running",
        "1_4": "pending",
        "1_5": "pending",
        "2": "running",
        "3": "pending",
        "4": "running",
        "5": "pending",
    }
    assert squeue["5"].reason == "BeginTime"
    assert squeue["1_4"].exit_code is None


def test_steps_are_skipped_and_a_pending_array_remainder_is_expanded(recorded: Recorded) -> None:
    records = parse_sacct(recorded("sacct_steps_and_pending_array.txt"))
    assert sorted(records) == ["1_0", "1_1", "1_3", *(f"1_{i}" for i in range(4, 10)), "2", "3"]
    assert {records[f"1_{i}"].status for i in range(4, 10)} == {JobStatus.PENDING}
    assert records["1_9"].reason == "JobArrayTaskLimit"


def test_later_lines_win_and_garbage_is_ignored() -> None:
    text = "7|7|REQUEUED|0:0|None\n\nnot a line\n7|7|RUNNING|0:0|None\n"
    assert parse_sacct(text) == {"7": JobRecord("7", JobStatus.RUNNING, "RUNNING", 0, 0, "None")}


@pytest.mark.parametrize(
    ("line", "status", "code", "signal"),
    [
        ("8|8|OUT_OF_MEMORY|0:125|None", JobStatus.OUT_OF_MEMORY, 0, 125),
        ("8|8|NODE_FAIL|0:0|None", JobStatus.NODE_FAIL, 0, 0),
        ("8|8|PREEMPTED|0:15|None", JobStatus.PREEMPTED, 0, 15),
        ("8|8|CANCELLED by 1000|0:15|None", JobStatus.CANCELLED, 0, 15),
        ("8|8|FAILED||None", JobStatus.FAILED, None, None),
    ],
)
def test_states_the_local_cluster_cannot_produce(
    line: str, status: JobStatus, code: int | None, signal: int | None
) -> None:
    # Without cgroups or preemption the local cluster never reports these; the lines
    # follow sacct's documented format.
    rec = parse_sacct(line)["8"]
    assert (rec.status, rec.exit_code, rec.signal) == (status, code, signal)


def test_expand_job_id() -> None:
    assert expand_job_id("12") == ["12"]
    assert expand_job_id("12_3") == ["12_3"]
    assert expand_job_id("12_[0-2,7%2]") == ["12_0", "12_1", "12_2", "12_7"]
    assert expand_job_id("12_[5]") == ["12_5"]
    with pytest.raises(ValueError, match=r"not a SLURM job id: '12\.batch'"):
        expand_job_id("12.batch")


def test_base_id() -> None:
    assert [base_id(j) for j in ("12", "12_3", "12_[0-3]", "12.batch")] == ["12"] * 4
