"""What a job body sees: the contract between executors and the work jobs do.

An executor (local or SLURM) prepares a :class:`JobContext` for one job, calls the body
registered for the job's kind (:mod:`taskonomy.jobs`), and commits what the body wrote
into ``ctx.out`` to the artifact store. Bodies never touch the store or the plan's
bookkeeping themselves, so the same body runs unchanged in this process, in a local
worker or in a SLURM array task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from taskonomy.errors import TaskonomyError
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner.jobs import Job, Plan
from taskonomy.spec.models import Spec

ProgressFn = Callable[[int, int, str], None]


class JobFailed(TaskonomyError, RuntimeError):
    """A job body could not produce its artifact; the message says why."""


def _no_progress(step: int, total: int, message: str) -> None:
    return None


@attrs.frozen
class JobContext:
    """Everything one job body may read, and where it writes.

    Attributes:
        job: the job to run.
        plan: the whole plan (to look up dependencies' jobs).
        spec: the validated spec the plan was built from.
        workdir: the run's work directory.
        store: the artifact store of ``workdir``.
        out: a private directory the body writes its files into; the executor commits it.
        scratch: a persistent directory for resumable state (training checkpoints),
            keyed by the job hash, kept across failures and preemptions.
        device: ``auto``, ``cpu`` or ``cuda`` (the spec's ``executor.device``).
        log: the job's logger (its own log file).
        progress: ``progress(step, total, message)`` for the executor's display.
    """

    job: Job
    plan: Plan
    spec: Spec
    workdir: Path
    store: ArtifactStore
    out: Path
    scratch: Path
    device: str = "auto"
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("taskonomy.job"))
    progress: ProgressFn = _no_progress

    @property
    def params(self) -> Mapping[str, Any]:
        return self.job.params

    def artifact(self, job_id: str) -> Path:
        """The committed artifact directory of another job of the plan (usually a dependency)."""
        try:
            job = self.plan.jobs[job_id]
        except KeyError:
            msg = f"{self.job.id} reads {job_id!r}, which the plan does not hold"
            raise JobFailed(msg) from None
        path = self.store.path(job.hash)
        if not path.is_dir():
            raise JobFailed(
                f"{self.job.id} needs the artifact of {job_id}, which is not complete in "
                f"{self.store.root}; run the plan again to recompute it"
            )
        return path


class JobBody(Protocol):
    """A job kind's work: read inputs through ``ctx``, write files into ``ctx.out``.

    Returns metadata for the artifact's manifest (e.g. final loss, images per second).
    Raises :class:`JobFailed` (or any exception) when the job cannot complete.
    """

    def __call__(self, ctx: JobContext) -> Mapping[str, Any] | None: ...


class BatchBody(Protocol):
    """Runs several jobs of one kind in one process, sharing what they can (cached
    features, one device). Returns one manifest metadata mapping per context, in order."""

    def __call__(self, ctxs: Sequence[JobContext]) -> list[Mapping[str, Any] | None]: ...
