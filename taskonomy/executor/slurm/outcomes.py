"""What the SLURM driver reports: per-job outcomes and the run's result.

Also the protocol of what the driver asks of a cluster, so that the driver, the
housekeeping commands and the tests share it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import attrs

from taskonomy.executor.slurm.accounting import JobRecord
from taskonomy.executor.slurm.cluster import ClusterLimits
from taskonomy.executor.slurm.states import JobStatus


class ClusterLike(Protocol):
    """What the driver asks of the cluster (:class:`~.cluster.Cluster` is one)."""

    def query(self, job_ids: Iterable[str]) -> dict[str, JobRecord]: ...
    def cancel(self, job_ids: Sequence[str], *, signal: str | None = None) -> None: ...
    def limits(self) -> ClusterLimits: ...


class Outcome(enum.StrEnum):
    """Where a job stands when the driver returns."""

    DONE = "done"
    FAILED = "failed"
    UPSTREAM_FAILED = "upstream failed"
    CANCELLED = "cancelled"
    IN_FLIGHT = "in flight"  # detached: submitted, not finished yet


@attrs.frozen
class SlurmOutcome:
    """One job's outcome.

    Attributes:
        job_id: the plan job.
        state: where it stands.
        status: the reconciled scheduler status of its last submission (None if never
            submitted).
        slurm_job_id: its last array task (``123_4``), empty if never submitted.
        reason: why it failed or did not run.
        log: its own log file.
        attempts: how often it was submitted.
    """

    job_id: str
    state: Outcome
    status: JobStatus | None = None
    slurm_job_id: str = ""
    reason: str = ""
    log: Path | None = None
    attempts: int = 0


@attrs.frozen
class SlurmRunResult:
    """What :func:`~taskonomy.executor.slurm.executor.run_slurm` returns.

    Attributes:
        outcomes: one per plan job, in plan order.
        detached: the driver returned after submitting (jobs may be in flight).
        submitted: array submissions (sbatch calls) this invocation made.
    """

    outcomes: tuple[SlurmOutcome, ...]
    detached: bool = False
    submitted: int = 0

    @property
    def ok(self) -> bool:
        """Every job done (detached: none failed, the rest in flight)."""
        good = {Outcome.DONE, Outcome.IN_FLIGHT} if self.detached else {Outcome.DONE}
        return all(o.state in good for o in self.outcomes)

    def count(self, state: Outcome) -> int:
        return sum(o.state is state for o in self.outcomes)

    @property
    def failed(self) -> list[SlurmOutcome]:
        return [o for o in self.outcomes if o.state in (Outcome.FAILED, Outcome.CANCELLED)]
