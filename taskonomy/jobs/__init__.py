"""Job bodies: the work each job kind does, looked up by kind.

Bodies are imported lazily, by kind, so that planning and the torch-free kinds (rank,
affinity, taxonomy, assess) never import torch; only the training kinds do.

Artifact files each kind writes (read by the kinds downstream):

* ``dataset``: the dataset directory (:func:`taskonomy.data.prepare_dataset`).
* ``encoder``: ``network.pt`` (the task network; its encoder is frozen downstream).
* ``features``: ``<split>.npy`` float16 ``(N, C, h, w)`` for ``transfer_train`` and ``test``.
* ``scratch`` / ``transfer``: ``model.pt`` (readout + decoder, plus the stem for scratch).
* ``evaluate``: ``losses.npy`` float32 ``(n_test,)`` per-image test losses and
  ``candidate.json`` ``{"model", "target", "sources": [...]}`` (``["self"]``,
  ``["pixels"]`` for the baselines).
* ``rank``: ``ranking.json`` (:data:`taskonomy.executor.context.RANKING_FILE`).
* ``affinity``: ``affinity.json`` (AHP scores and raw win rates per candidate) and
  ``losses.npz`` (every candidate's per-image losses).
* ``taxonomy``: ``solution.json``; ``assess``: ``evaluation.json``; ``report``: ``report/``.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from taskonomy.executor.context import BatchBody, JobBody
from taskonomy.executor.runner import BodyResolver
from taskonomy.kinds import JobKind

_BODIES: dict[JobKind, str] = {
    JobKind.DATASET: "taskonomy.jobs.dataset:run_dataset",
    JobKind.ENCODER: "taskonomy.jobs.training:run_encoder",
    JobKind.FEATURES: "taskonomy.jobs.training:run_features",
    JobKind.SCRATCH: "taskonomy.jobs.training:run_scratch",
    JobKind.TRANSFER: "taskonomy.jobs.training:run_transfer",
    JobKind.EVALUATE: "taskonomy.jobs.training:run_evaluate",
    JobKind.RANK: "taskonomy.jobs.analysis:run_rank",
    JobKind.AFFINITY: "taskonomy.jobs.analysis:run_affinity",
    JobKind.TAXONOMY: "taskonomy.jobs.analysis:run_taxonomy",
    JobKind.ASSESS: "taskonomy.jobs.analysis:run_assess",
    JobKind.BOOTSTRAP: "taskonomy.jobs.analysis:run_bootstrap",
    JobKind.REPORT: "taskonomy.jobs.analysis:run_report",
}

#: Kinds whose jobs may be packed several per process (heads sharing cached features).
_BATCH_BODIES: dict[JobKind, str] = {
    JobKind.SCRATCH: "taskonomy.jobs.training:run_scratches",
    JobKind.TRANSFER: "taskonomy.jobs.training:run_transfers",
    JobKind.EVALUATE: "taskonomy.jobs.training:run_evaluations",
}


def _load(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def get_body(kind: JobKind) -> JobBody:
    """The body that runs one job of ``kind``."""
    return cast(JobBody, _load(_BODIES[kind]))


def get_batch_body(kind: JobKind) -> BatchBody | None:
    """The body that runs several jobs of ``kind`` together, where the kind has one."""
    ref = _BATCH_BODIES.get(kind)
    return None if ref is None else cast(BatchBody, _load(ref))


#: The real bodies, as the executors take them (looked up at call time, so a test can
#: patch :func:`get_body`).
#: :data:`BODIES` by reference, for SLURM array tasks (which import it on the node) and
#: the local executor's worker processes.
BODIES_REF = "taskonomy.jobs:BODIES"
BODIES = BodyResolver(
    body=lambda kind: get_body(kind), batch_body=lambda k: get_batch_body(k), ref=BODIES_REF
)

__all__ = ["BODIES", "BODIES_REF", "BatchBody", "get_batch_body", "get_body"]
