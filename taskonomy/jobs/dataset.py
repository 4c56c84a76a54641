"""The dataset job: generate the mini Taskonomy, or import a Taskonomy directory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskonomy.executor.context import JobContext
from taskonomy.spec.rules import resolve_tasks
from taskonomy.tasks.registry import task_object


def run_dataset(ctx: JobContext) -> Mapping[str, Any]:
    """Write every split, with labels for the spec's trainable tasks, into ``ctx.out``."""
    from taskonomy.data import prepare_dataset

    wanted = set(ctx.params.get("label_tasks", []))
    kinds = sorted({t.kind for t in resolve_tasks(ctx.spec) if t.kind in wanted})
    # User tasks are passed as their objects: they carry ``make_label`` besides ``info``.
    tasks = [task_object(kind) for kind in kinds]
    ctx.log.info("preparing %s dataset for %d task(s)", ctx.params["kind"], len(tasks))
    stats: Mapping[str, Any] = prepare_dataset(dict(ctx.params), tasks, ctx.out)  # type: ignore[arg-type]
    ctx.log.info("dataset ready: %s", stats)
    return stats
