"""Job states as one backend-neutral enum, and how SLURM's state names map onto it.

SLURM has two dozen job states (``sacct`` and ``squeue`` spell some differently, and
``sacct`` appends ``by UID`` to ``CANCELLED``). A driver needs fewer: whether a job is
still coming, and if not, *why* it ended, because the right reaction differs (resubmit
after preemption or node failure, raise the memory after an out-of-memory kill, raise
the time limit after a timeout, report a failure). This module is pure: no submitit, no
subprocess.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType


class JobStatus(enum.StrEnum):
    """What happened to a job, as far as the scheduler (and then its result) says."""

    PENDING = "pending"
    RUNNING = "running"
    REQUEUED = "requeued"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out of memory"
    NODE_FAIL = "node failure"
    PREEMPTED = "preempted"
    UNKNOWN = "unknown"

    @property
    def finished(self) -> bool:
        """Whether the scheduler will do nothing more with the job unless asked.

        ``UNKNOWN`` counts as not finished: a job just submitted is often not yet in the
        accounting database, and a job that vanished is the caller's to time out.
        """
        return self in _FINISHED

    @property
    def retryable(self) -> bool:
        """Whether resubmitting the same job may succeed (the job itself was not at fault).

        ``OUT_OF_MEMORY`` and ``TIMEOUT`` are not: they need more memory or time first.
        """
        return self in (JobStatus.PREEMPTED, JobStatus.NODE_FAIL)


_FINISHED = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.TIMEOUT,
        JobStatus.OUT_OF_MEMORY,
        JobStatus.NODE_FAIL,
        JobStatus.PREEMPTED,
    }
)

#: SLURM's state names (``sacct -o State``, ``squeue -o %T``) onto :class:`JobStatus`.
SLURM_STATES: Mapping[str, JobStatus] = MappingProxyType(
    {
        "PENDING": JobStatus.PENDING,
        "CONFIGURING": JobStatus.PENDING,
        "REQUEUE_HOLD": JobStatus.PENDING,
        "REQUEUE_FED": JobStatus.PENDING,
        "RESV_DEL_HOLD": JobStatus.PENDING,
        "SUSPENDED": JobStatus.PENDING,
        "STOPPED": JobStatus.PENDING,
        "RUNNING": JobStatus.RUNNING,
        "COMPLETING": JobStatus.RUNNING,
        "SIGNALING": JobStatus.RUNNING,
        "STAGE_OUT": JobStatus.RUNNING,
        "RESIZING": JobStatus.RUNNING,
        "REQUEUED": JobStatus.REQUEUED,
        "COMPLETED": JobStatus.COMPLETED,
        "FAILED": JobStatus.FAILED,
        "BOOT_FAIL": JobStatus.NODE_FAIL,
        "NODE_FAIL": JobStatus.NODE_FAIL,
        "CANCELLED": JobStatus.CANCELLED,
        "DEADLINE": JobStatus.TIMEOUT,
        "TIMEOUT": JobStatus.TIMEOUT,
        "OUT_OF_MEMORY": JobStatus.OUT_OF_MEMORY,
        "PREEMPTED": JobStatus.PREEMPTED,
        "REVOKED": JobStatus.CANCELLED,
        "SPECIAL_EXIT": JobStatus.FAILED,
    }
)

#: ``squeue``'s compact codes (``%t``), for completeness with ``-o %t`` output.
_SHORT = MappingProxyType(
    {
        "PD": "PENDING",
        "CF": "CONFIGURING",
        "RH": "REQUEUE_HOLD",
        "RF": "REQUEUE_FED",
        "RD": "RESV_DEL_HOLD",
        "S": "SUSPENDED",
        "ST": "STOPPED",
        "R": "RUNNING",
        "CG": "COMPLETING",
        "SI": "SIGNALING",
        "SO": "STAGE_OUT",
        "RS": "RESIZING",
        "RQ": "REQUEUED",
        "CD": "COMPLETED",
        "F": "FAILED",
        "BF": "BOOT_FAIL",
        "NF": "NODE_FAIL",
        "CA": "CANCELLED",
        "DL": "DEADLINE",
        "TO": "TIMEOUT",
        "OOM": "OUT_OF_MEMORY",
        "PR": "PREEMPTED",
        "RV": "REVOKED",
        "SE": "SPECIAL_EXIT",
    }
)


def from_slurm(state: str) -> JobStatus:
    """Map a SLURM state as printed by ``sacct`` or ``squeue`` onto :class:`JobStatus`.

    Accepts ``sacct``'s decorations (``CANCELLED by 0``, a trailing ``+``) and
    ``squeue``'s short codes; anything unrecognised is ``UNKNOWN`` rather than an error,
    because newer SLURM versions add states.

    Example:
        >>> from_slurm("CANCELLED by 0")
        <JobStatus.CANCELLED: 'cancelled'>
    """
    word = state.strip().split(" ", 1)[0].rstrip("+").upper()
    word = _SHORT.get(word, word)
    return SLURM_STATES.get(word, JobStatus.UNKNOWN)


def reconcile(status: JobStatus, *, result_ok: bool | None) -> JobStatus:
    """The honest status of a finished job, given whether its result says it succeeded.

    SLURM reports ``COMPLETED`` whenever the batch script exits 0, which says nothing
    about whether the Python function raised; the job's own result file does.

    Args:
        status: what the scheduler says.
        result_ok: True if the job's result records success, False if it records an
            exception, None if there is no readable result.

    Returns:
        ``FAILED`` for a job SLURM calls ``COMPLETED`` whose result is an exception or
        missing; otherwise ``status``.
    """
    if status is JobStatus.COMPLETED and result_ok is not True:
        return JobStatus.FAILED
    return status
