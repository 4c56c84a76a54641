"""Cheap job bodies for the SLURM executor tests (no torch; milliseconds per job).

The tests pass them to the executor as ``/path/to/bodies.py:BODIES``, which array tasks
import (:mod:`taskonomy.executor.slurm.task`). Every body writes ``out.json`` naming its inputs,
rank bodies write a ranking, transfer bodies record their bound sources, and every call
appends a line to ``WORKDIR/calls.log`` (job id, SLURM id, restart count), so a test can
tell which jobs ran where and how often. Behaviour the tests steer through the
environment (which sbatch passes on to the array tasks):

* ``TASKONOMY_TEST_FAIL``: comma-separated job ids whose body raises;
* ``TASKONOMY_TEST_DIE``: comma-separated job ids whose body ends its process at once
  (``os._exit``, as the out-of-memory killer would);
* ``TASKONOMY_TEST_SLOW``: ``job_id=steps`` (comma-separated): the job counts to
  ``steps`` at 10 steps a second, saving ``ckpt.json`` in ``ctx.scratch`` after every
  step and resuming from it, as encoder training does with ``ckpt.pt``; its output
  records every (restart count, step resumed from).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from taskonomy.artifacts import RANKING_FILE
from taskonomy.executor.context import JobContext
from taskonomy.executor.runner import BodyResolver
from taskonomy.jobs import BatchBody
from taskonomy.jobs.binding import bound_sources
from taskonomy.kinds import JobKind

OUT = "out.json"
CALLS = "calls.log"


def _env_set(name: str) -> set[str]:
    return {x.strip() for x in os.environ.get(name, "").split(",") if x.strip()}


def _slow_steps(job_id: str) -> int:
    for item in os.environ.get("TASKONOMY_TEST_SLOW", "").split(","):
        key, _, steps = item.rpartition("=")
        if key.strip() == job_id:
            return int(steps)
    return 0


def _restart_count() -> int:
    return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)


def _train(ctx: JobContext, steps: int) -> list[list[int]]:
    """Count to ``steps``, checkpointing every step in ctx.scratch and resuming from it."""
    ckpt = ctx.scratch / "ckpt.json"
    state: dict[str, Any] = {"step": 0, "runs": []}
    if ckpt.exists():
        state = json.loads(ckpt.read_text())
    state["runs"].append([_restart_count(), state["step"]])
    (ctx.scratch / "started").write_text(str(len(state["runs"])))
    while state["step"] < steps:
        time.sleep(0.1)
        state["step"] += 1
        ctx.progress(state["step"], steps, "counting")
        tmp = ckpt.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, ckpt)
    runs: list[list[int]] = state["runs"]
    return runs


def body(ctx: JobContext) -> Mapping[str, Any] | None:
    job = ctx.job
    slurm = os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID", "-"))
    task = os.environ.get("SLURM_ARRAY_TASK_ID", "-")
    with (ctx.workdir / CALLS).open("a") as fh:
        fh.write(f"{job.id}\t{slurm}_{task}\t{_restart_count()}\t{os.getpid()}\n")
    if job.id in _env_set("TASKONOMY_TEST_FAIL"):
        raise RuntimeError(f"injected failure in {job.id}")
    if job.id in _env_set("TASKONOMY_TEST_DIE"):
        os._exit(9)
    deps = {d: json.loads((ctx.artifact(d) / OUT).read_text())["id"] for d in job.deps}
    doc: dict[str, Any] = {"id": job.id, "deps": deps}
    steps = _slow_steps(job.id)
    if steps:
        doc["runs"] = _train(ctx, steps)
    if job.kind is JobKind.RANK:
        ranked = sorted({bound_sources(ctx, d)[0] for d in job.deps}, reverse=True)
        ranking = {"target": job.target, "ranked": ranked, "scores": {}}
        (ctx.out / RANKING_FILE).write_text(json.dumps(ranking))
    if job.kind is JobKind.TRANSFER:
        doc["sources"] = list(bound_sources(ctx))
    (ctx.out / OUT).write_text(json.dumps(doc))
    return {"fake": True}


def batch(ctxs: Sequence[JobContext]) -> list[Mapping[str, Any] | None]:
    return [body(c) for c in ctxs]


def _batch_for(kind: JobKind) -> BatchBody | None:
    return batch if kind in (JobKind.TRANSFER, JobKind.EVALUATE) else None


BODIES = BodyResolver(body=lambda kind: body, batch_body=_batch_for)
