"""How one job ended in one run, as every executor and display reports it."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import attrs

from taskonomy.errors import TaskonomyError
from taskonomy.executor.context import JobFailed
from taskonomy.planner.jobs import Job


class OutcomeState(enum.StrEnum):
    """How one job ended in one run."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # already complete and valid
    UPSTREAM_FAILED = "upstream failed"

    @property
    def ok(self) -> bool:
        return self in (OutcomeState.DONE, OutcomeState.SKIPPED)


@attrs.frozen
class JobOutcome:
    """The result of running (or not running) one job.

    Attributes:
        job_id: the plan's job id.
        state: how it ended.
        seconds: wall seconds spent on it (its share of a batch); 0 when not run.
        reason: one line saying why it failed or was not run; empty when it succeeded.
        log: the job's log file.
        gpu_seconds: wall seconds times GPUs, when it ran on a GPU.
    """

    job_id: str
    state: OutcomeState
    seconds: float = 0.0
    reason: str = ""
    log: Path | None = None
    gpu_seconds: float = 0.0


class ProgressSink(Protocol):
    """What an executor reports while it runs jobs (a display, a SLURM heartbeat)."""

    def started(self, jobs: Sequence[Job]) -> None: ...
    def step(self, job: Job, step: int, total: int, message: str) -> None: ...
    def finished(self, outcome: JobOutcome) -> None: ...


def one_line(exc: BaseException) -> str:
    """An exception as one line a user can read."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, (JobFailed, TaskonomyError)) and first:
        line = first
    else:
        line = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


__all__ = ["JobOutcome", "OutcomeState", "ProgressSink", "one_line"]
