"""The dataset job: generate the mini Taskonomy, or import a Taskonomy directory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskonomy.executor.context import JobContext
from taskonomy.spec.rules import resolve_tasks
from taskonomy.tasks.bank import builtin_task
from taskonomy.tasks.registry import task_object


def run_dataset(ctx: JobContext) -> Mapping[str, Any]:
    """Write every split, with labels for the spec's trainable tasks, into ``ctx.out``."""
    from taskonomy.data import prepare_dataset

    wanted = set(ctx.params.get("label_tasks", []))
    resolved = {t.kind: t.info for t in resolve_tasks(ctx.spec) if t.kind in wanted}
    # A built-in task comes as resolved for the dataset kind (its label space); a user
    # task as its object, which carries ``make_label`` besides ``info``.
    tasks = [
        info if builtin_task(kind) is not None else task_object(kind)
        for kind, info in sorted(resolved.items())
    ]
    ctx.log.info("preparing %s dataset for %d task(s)", ctx.params["kind"], len(tasks))
    stats: Mapping[str, Any] = prepare_dataset(dict(ctx.params), tasks, ctx.out)  # type: ignore[arg-type]
    ctx.log.info("dataset ready: %s", stats)
    return stats
