"""SLURM state names onto the shared JobStatus enum."""

from __future__ import annotations

import pytest

from taskonomy.executor.slurm.states import SLURM_STATES, JobStatus, from_slurm, reconcile


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("PENDING", JobStatus.PENDING),
        ("RUNNING", JobStatus.RUNNING),
        ("COMPLETING", JobStatus.RUNNING),
        ("REQUEUED", JobStatus.REQUEUED),
        ("COMPLETED", JobStatus.COMPLETED),
        ("FAILED", JobStatus.FAILED),
        ("CANCELLED by 0", JobStatus.CANCELLED),
        ("CANCELLED+", JobStatus.CANCELLED),
        ("TIMEOUT", JobStatus.TIMEOUT),
        ("DEADLINE", JobStatus.TIMEOUT),
        ("OUT_OF_MEMORY", JobStatus.OUT_OF_MEMORY),
        ("NODE_FAIL", JobStatus.NODE_FAIL),
        ("BOOT_FAIL", JobStatus.NODE_FAIL),
        ("PREEMPTED", JobStatus.PREEMPTED),
        ("PD", JobStatus.PENDING),
        ("OOM", JobStatus.OUT_OF_MEMORY),
        ("  running ", JobStatus.RUNNING),
        ("SOME_FUTURE_STATE", JobStatus.UNKNOWN),
        ("", JobStatus.UNKNOWN),
    ],
)
def test_from_slurm(state: str, status: JobStatus) -> None:
    assert from_slurm(state) is status


def test_the_ways_a_job_ends_stay_apart() -> None:
    ends = ["PREEMPTED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "FAILED", "CANCELLED"]
    assert len({from_slurm(s) for s in ends}) == len(ends)


def test_finished_and_retryable() -> None:
    assert {s for s in JobStatus if s.finished} == {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.TIMEOUT,
        JobStatus.OUT_OF_MEMORY,
        JobStatus.NODE_FAIL,
        JobStatus.PREEMPTED,
    }
    assert {s for s in JobStatus if s.retryable} == {JobStatus.PREEMPTED, JobStatus.NODE_FAIL}
    assert not JobStatus.REQUEUED.finished and not JobStatus.UNKNOWN.finished


def test_every_slurm_state_maps_to_a_known_status() -> None:
    assert JobStatus.UNKNOWN not in set(SLURM_STATES.values())


def test_an_exception_in_a_completed_job_is_a_failure() -> None:
    assert reconcile(JobStatus.COMPLETED, result_ok=False) is JobStatus.FAILED
    assert reconcile(JobStatus.COMPLETED, result_ok=None) is JobStatus.FAILED
    assert reconcile(JobStatus.COMPLETED, result_ok=True) is JobStatus.COMPLETED
    assert reconcile(JobStatus.TIMEOUT, result_ok=None) is JobStatus.TIMEOUT
    assert reconcile(JobStatus.PREEMPTED, result_ok=True) is JobStatus.PREEMPTED
