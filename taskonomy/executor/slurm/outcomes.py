"""What the SLURM driver reports: per-job outcomes and the run's result.

Also the protocol of what the driver asks of a cluster, so that the driver, the
housekeeping commands and the tests share it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from taskonomy.executor.runinfo import read_json
from taskonomy.executor.slurm.accounting import JobRecord
from taskonomy.executor.slurm.cluster import ClusterLimits
from taskonomy.executor.slurm.journal import Entry, job_log, outcome_path
from taskonomy.executor.slurm.states import JobStatus

#: The ``reason`` of an entry SLURM cancelled because a dependency failed.
DEPENDENCY_CANCELLED = "a dependency failed before it started"

#: The ``reason`` of a job whose array task failed before it started the job at all (a
#: driver killed while submitting leaves a task without its submission; it is not the
#: job's fault, so the job goes out again at once).
NEVER_STARTED = "its array task failed before starting it (an incomplete submission)"

#: Why a job ended without its artifact, by the scheduler's status (``{kind}``: its kind).
HINTS = {
    JobStatus.TIMEOUT: "it hit its time limit; raise executor.resources.{kind}.time_min",
    JobStatus.OUT_OF_MEMORY: "it ran out of memory; raise executor.resources.{kind}.mem_gb "
    "(or set executor.slurm_oom_mem_factor to retry with more)",
    JobStatus.NODE_FAIL: "its node failed",
    JobStatus.PREEMPTED: "it was preempted",
    JobStatus.CANCELLED: "it was cancelled",
    JobStatus.FAILED: "its array task failed; see its log",
    JobStatus.COMPLETED: "SLURM says COMPLETED but the job committed no artifact",
}


def summarize(job_ids: Sequence[str]) -> str:
    """``a, b`` for a few jobs, ``12 (evaluate 10, rank 2)`` for many."""
    if len(job_ids) <= 3:
        return ", ".join(job_ids)
    kinds: dict[str, int] = {}
    for job_id in job_ids:
        kind = job_id.split("/", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return f"{len(job_ids)} jobs (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")"


class ClusterLike(Protocol):
    """What the driver asks of the cluster (:class:`~.cluster.Cluster` is one)."""

    def query(self, job_ids: Iterable[str]) -> dict[str, JobRecord]: ...
    def cancel(self, job_ids: Sequence[str], *, signal: str | None = None) -> None: ...
    def find_comment(self, comment: str) -> list[str]: ...
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


def job_outcome(
    job_id: str,
    entry: Entry | None,
    *,
    done: bool,
    viable: bool,
    blocker: str,
    max_retries: int,
    log: Path,
) -> SlurmOutcome:
    """One job's outcome from its journal entry and what the driver knows of it.

    Args:
        job_id: the plan job.
        entry: its journal entry (None if never submitted).
        done: its artifact is in the store.
        viable: it is done, in flight, or could still run once its inputs have.
        blocker: the first of its inputs that is not done (named when it cannot run).
        max_retries: ``executor.slurm_max_retries`` (named when it ran out of them).
        log: its own log file.
    """
    common: dict[str, Any] = {"log": log}
    if entry is not None:
        common.update(status=entry.state, slurm_job_id=entry.slurm_job_id, attempts=entry.attempts)
    if done:
        return SlurmOutcome(job_id, Outcome.DONE, **common)
    if entry is not None and entry.active:
        return SlurmOutcome(job_id, Outcome.IN_FLIGHT, **common)
    if entry is not None and entry.state is JobStatus.CANCELLED:
        if viable or entry.reason != DEPENDENCY_CANCELLED:
            return SlurmOutcome(job_id, Outcome.CANCELLED, reason=entry.reason, **common)
    elif entry is not None and not viable and entry.reason != DEPENDENCY_CANCELLED:
        reason = entry.reason
        if entry.failures > max_retries:
            reason += (
                f" (failed {entry.failures} time(s); executor.slurm_max_retries={max_retries})"
            )
        return SlurmOutcome(job_id, Outcome.FAILED, reason=reason, **common)
    reason = f"upstream job {blocker} did not complete"
    return SlurmOutcome(job_id, Outcome.UPSTREAM_FAILED, reason=reason, **common)


def submission_outcome(workdir: Path, entry: Entry) -> dict[str, Any] | None:
    """The outcome file the array task wrote for ``entry``'s last submission, or None
    (none written, unreadable, or left by an earlier submission)."""
    doc = read_json(outcome_path(workdir, entry.job_id))
    if isinstance(doc, dict) and doc.get("slurm_job_id") == entry.slurm_job_id:
        return doc
    return None


def outcome_reason(doc: dict[str, Any] | None) -> str:
    """The job's own failure reason in ``doc`` (braces escaped for ``str.format``), or ""
    when there is none or the job finished."""
    if doc is None or doc.get("state") in ("done", "skipped"):
        return ""
    return str(doc.get("reason", "")).replace("{", "{{").replace("}", "}}")


def started_since_submission(workdir: Path, entry: Entry, doc: dict[str, Any] | None) -> bool:
    """Whether the last submission got as far as running the job: its outcome file
    ``doc`` is this submission's, or the job's own log was written since."""
    if doc is not None:
        return True
    log = job_log(workdir, entry.job_id)
    return log.is_file() and log.stat().st_mtime >= entry.submitted - 1.0
