"""Fake job bodies and a tiny spec for executor tests (no torch, milliseconds per job)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from taskonomy.artifacts import RANKING_FILE
from taskonomy.executor.context import JobContext
from taskonomy.executor.runner import BodyResolver
from taskonomy.jobs import BatchBody
from taskonomy.jobs.binding import bound_sources
from taskonomy.kinds import JobKind
from taskonomy.spec import LoadedSpec, Spec, loaded_from_python

OUT = "out.json"

TINY: dict[str, Any] = {
    "name": "tiny",
    "tasks": ["rgb2depth", "rgb2mist", "reshade"],
    "transfers": {"max_order": 2, "beam": 2},
    "taxonomy": {"budgets": "1-2"},
}


class FakeBodies:
    """Bodies that write ``out.json`` and record every call.

    Rank bodies write a ranking (sources in reverse alphabetical order); transfer bodies
    record ``bound_sources(ctx)``; every body checks its dependencies' artifacts exist.

    Args:
        fail: job ids whose body raises.
        interrupt_at: the 1-based call number that raises KeyboardInterrupt (a crash).
        batch: whether transfer and evaluate jobs have a batch body.
    """

    def __init__(
        self,
        fail: Collection[str] = (),
        interrupt_at: int | None = None,
        *,
        batch: bool = True,
    ) -> None:
        self.fail = set(fail)
        self.interrupt_at = interrupt_at
        self.batch_enabled = batch
        self.calls: list[str] = []
        self.batches: list[list[str]] = []

    def body(self, ctx: JobContext) -> Mapping[str, Any] | None:
        self.calls.append(ctx.job.id)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            (ctx.out / "partial.bin").write_bytes(b"half")
            raise KeyboardInterrupt
        if ctx.job.id in self.fail:
            ctx.log.info("about to fail")
            raise RuntimeError(f"boom in {ctx.job.id}\nsecond line")
        deps = {d: json.loads((ctx.artifact(d) / OUT).read_text())["id"] for d in ctx.job.deps}
        doc: dict[str, Any] = {"id": ctx.job.id, "deps": deps}
        if ctx.job.kind is JobKind.RANK:
            ranked = sorted({bound_sources(ctx, d)[0] for d in ctx.job.deps}, reverse=True)
            ranking = {"target": ctx.job.target, "ranked": ranked, "scores": {}}
            (ctx.out / RANKING_FILE).write_text(json.dumps(ranking))
        if ctx.job.kind is JobKind.TRANSFER:
            doc["sources"] = list(bound_sources(ctx))
        ctx.progress(1, 1, "working")
        (ctx.out / OUT).write_text(json.dumps(doc))
        return {"fake": True, "path": Path("x")}

    def batch(self, ctxs: Sequence[JobContext]) -> list[Mapping[str, Any] | None]:
        self.batches.append([c.job.id for c in ctxs])
        return [self.body(c) for c in ctxs]

    def batch_for(self, kind: JobKind) -> BatchBody | None:
        packable = kind in (JobKind.TRANSFER, JobKind.EVALUATE)
        return self.batch if self.batch_enabled and packable else None

    def resolver(self) -> BodyResolver:
        return BodyResolver(body=lambda kind: self.body, batch_body=self.batch_for)


def tiny_spec(**changes: Any) -> Spec:
    return Spec.model_validate({**TINY, **changes})


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedSpec:
    return loaded_from_python(tiny_spec(), tmp_path / "work")
