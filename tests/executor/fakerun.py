"""``taskonomy run`` with fake training bodies, for tests that kill or signal a real process.

Run as a script: ``python fakerun.py ARGS...`` is ``taskonomy ARGS...`` with the
training kinds (dataset, encoder, features, scratch, transfer, evaluate) replaced by
bodies that write small deterministic files (evaluations write per-image losses drawn
from a generator seeded by the model's id), and the real analysis bodies (rank, AHP,
the BIP, bootstrap, report) on top, so the published affinities and taxonomies are
real results of those losses. ``FAKE_SLEEP`` (seconds) makes every fake job take that
long; ``FAKE_ENOSPC`` names a job whose body fails as a full disk would;
``FAKE_FILL=JOB:PATH`` makes that job fill the disk with ballast at PATH, then write.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

import taskonomy.jobs as jobs
from taskonomy.artifacts import CANDIDATE_FILE, TEST_LOSSES_FILE
from taskonomy.cli import main
from taskonomy.executor.context import JobBody, JobContext
from taskonomy.jobs.binding import bound_sources
from taskonomy.kinds import JobKind

FAKE_KINDS = {
    JobKind.DATASET,
    JobKind.ENCODER,
    JobKind.FEATURES,
    JobKind.SCRATCH,
    JobKind.TRANSFER,
    JobKind.EVALUATE,
}


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def fake_body(ctx: JobContext) -> Mapping[str, Any] | None:
    """Sleep, then write what the kind's downstream reads (see the module doc)."""
    time.sleep(float(os.environ.get("FAKE_SLEEP", "0") or 0))
    if ctx.job.id == os.environ.get("FAKE_ENOSPC"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(ctx.out / "model.pt"))
    fill_job, _, ballast = os.environ.get("FAKE_FILL", "").partition(":")
    if ctx.job.id == fill_job:
        with open(ballast, "wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * (1 << 16))
        (ctx.out / "big.bin").write_bytes(b"\1" * (1 << 20))
    if ctx.job.kind is JobKind.EVALUATE:
        model = str(ctx.params["model"])
        kind = ctx.plan.jobs[model].kind
        sources = {JobKind.ENCODER: ["self"], JobKind.SCRATCH: ["pixels"]}.get(kind)
        if sources is None:
            sources = list(bound_sources(ctx))
        rng = np.random.default_rng(_seed(model))
        losses = rng.gamma(2.0, 0.5, size=ctx.spec.dataset.splits.test).astype(np.float32)
        np.save(ctx.out / TEST_LOSSES_FILE, losses)
        doc = {"model": model, "target": str(ctx.params["target"]), "sources": sources}
        (ctx.out / CANDIDATE_FILE).write_text(json.dumps(doc), encoding="utf-8")
    else:
        (ctx.out / "fake.json").write_text(json.dumps({"id": ctx.job.id}), encoding="utf-8")
    return {"fake": True}


_real_body = jobs.get_body


def get_body(kind: JobKind) -> JobBody:
    return fake_body if kind in FAKE_KINDS else _real_body(kind)


def install() -> None:
    """Route :data:`taskonomy.jobs.BODIES` to the fake training bodies (no batch bodies)."""
    jobs.get_body = get_body
    jobs.get_batch_body = lambda kind: None


if __name__ == "__main__":
    install()
    sys.exit(main(sys.argv[1:]))
