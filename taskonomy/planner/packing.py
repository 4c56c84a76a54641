"""How jobs share a process: which kinds pack, how many go together, and which.

One policy for every place that packs: the local executor's batches of ready jobs, the
jobs of one SLURM array task (run together by :class:`~taskonomy.executor.runner.JobRunner`)
and the array sizes the dry run shows. Packed jobs of one kind share cached features and
a device, and their batch body trains their heads as one model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from taskonomy.kinds import JobKind
from taskonomy.planner.cost import TASK_STARTUP_SECONDS, TIME_MARGIN
from taskonomy.planner.jobs import Job

#: Kinds whose jobs may share a process (small heads on cached features, scratch readouts).
PACKABLE = frozenset({JobKind.TRANSFER, JobKind.EVALUATE, JobKind.SCRATCH})
#: On SLURM the cost model packs small jobs until an array task is estimated at this long.
TARGET_TASK_SECONDS = 600.0
#: The most jobs the cost model puts in one SLURM array task.
MAX_PACK = 32
#: Jobs per batch in this process when the spec does not say (``slurm_jobs_per_task``).
LOCAL_PACK = 8


def jobs_per_task(jobs: Sequence[Job], limit_min: int | None = None) -> int:
    """How many jobs of one stage a SLURM array task runs: the spec's
    ``slurm_jobs_per_task`` first, else 1 for kinds that do not pack, else as many as fill
    :data:`TARGET_TASK_SECONDS` by the cost model (at most :data:`MAX_PACK`).

    With ``limit_min`` (the most a task may ask for), a pack whose work would not fit in
    it (:func:`fits`) is made smaller, down to one job; :func:`fits` also says whether the
    spec's own pack size fits.
    """
    explicit = jobs[0].resources.jobs_per_task
    if explicit is not None:
        pack = explicit
    elif jobs[0].kind not in PACKABLE:
        return 1
    else:
        longest = max(j.est_seconds for j in jobs)
        pack = max(1, min(MAX_PACK, int(TARGET_TASK_SECONDS // max(longest, 1.0))))
    if limit_min is None or not fits(jobs, 1, limit_min):
        return pack  # smaller packs would not fit either: the request is capped instead
    while pack > 1 and not fits(jobs, pack, limit_min):
        pack -= 1
    return pack


def task_seconds(jobs: Sequence[Job], pack: int) -> float:
    """The estimate of the longest task when ``jobs`` run ``pack`` per task."""
    ordered = sorted((j.est_seconds for j in jobs), reverse=True)
    return sum(ordered[: max(1, pack)])


def fits(jobs: Sequence[Job], pack: int, limit_min: int) -> bool:
    """Whether a task of ``pack`` of ``jobs`` has room in ``limit_min`` minutes: its
    estimate with :data:`~taskonomy.planner.cost.TIME_MARGIN` and the start-up allowance
    (the minimum request is padding the limit caps, no reason to split a pack)."""
    need = task_seconds(jobs, pack) * TIME_MARGIN + TASK_STARTUP_SECONDS
    return math.ceil(need / 60) <= limit_min


def take_pack(
    ready: Sequence[Job], size: int | None = None, order: Mapping[str, int] | None = None
) -> list[Job]:
    """The jobs that run together with ``ready[0]``: itself alone if its kind does not
    pack, else ready jobs of its kind, at most ``size`` (default: the spec's
    ``slurm_jobs_per_task``, else :data:`LOCAL_PACK`; ``0`` means no limit), those of its
    target chosen first; in ``order`` (plan order; default as given) when unlimited."""
    if not ready:
        return []
    head = ready[0]
    if head.kind not in PACKABLE:
        return [head]
    limit = (head.resources.jobs_per_task or LOCAL_PACK) if size is None else size
    rank = order or {j.id: i for i, j in enumerate(ready)}
    same = sorted(
        (j for j in ready if j.kind is head.kind),
        key=lambda j: (j.target != head.target, rank[j.id]),
    )
    if not limit:
        return sorted(same, key=lambda j: rank[j.id])
    return same[: max(1, limit)]
