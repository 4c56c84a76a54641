"""Which sources a transfer reads: bound from the plan, or from its target's ranking.

First-order transfers name their source in their params; higher-order slots
(``transfer/<k>/<t>/<slot>``) are bound at run time from the ranking their ``rank/<t>``
dependency wrote (:func:`taskonomy.planner.pruning.bind_slot`). No torch here.
"""

from __future__ import annotations

import json

from taskonomy.artifacts import RANKING_FILE
from taskonomy.executor.context import JobContext, JobFailed
from taskonomy.kinds import JobKind
from taskonomy.planner.jobs import Plan
from taskonomy.planner.pruning import bind_slot


def bound_sources(ctx: JobContext, job_id: str | None = None) -> tuple[str, ...]:
    """The source set of a transfer job (default: ``ctx``'s job, or the model it
    evaluates)."""
    job = ctx.plan.jobs[job_id or ctx.job.id]
    if job.kind is JobKind.EVALUATE:
        job = ctx.plan.jobs[str(job.params["model"])]
    if job.kind is not JobKind.TRANSFER:
        raise JobFailed(f"{job.id} is a {job.kind} job, not a transfer; it has no sources")
    if "sources" in job.params:
        return tuple(str(s) for s in job.params["sources"])
    rank_id = next(d for d in job.deps if ctx.plan.jobs[d].kind is JobKind.RANK)
    ranking = json.loads((ctx.artifact(rank_id) / RANKING_FILE).read_text(encoding="utf-8"))
    return bind_slot(
        [str(s) for s in ranking["ranked"]],
        int(job.params["order"]),
        int(job.params["beam"]),
        int(job.params["slot"]),
    )


def representation_job(plan: Plan, source: str) -> str:
    """The job whose artifact holds ``source``'s frozen representation: its cached
    features where the plan caches them, else its encoder."""
    cached = f"features/{source}"
    return cached if cached in plan.jobs else f"encoder/{source}"


__all__ = ["bound_sources", "representation_job"]
