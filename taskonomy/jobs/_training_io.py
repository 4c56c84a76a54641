"""What the training bodies read and write: splits, task metadata, representations,
devices, packed heads' data (:func:`training_head`, :func:`scoring_head`) and evaluations.

Kept apart from :mod:`taskonomy.jobs.training` so the bodies read as the method. A
:class:`RepresentationCache` is shared by every job of one batch call: each source's
cached features are loaded once per process, onto the device, where packed heads gather
their minibatches from them.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import numpy as np
import torch
from torch import Tensor

from taskonomy.executor.context import JobContext, JobFailed
from taskonomy.jobs.binding import bound_sources, representation_job
from taskonomy.kinds import JobKind
from taskonomy.models.config import ModelConfig, TrainConfig, task_from_dict
from taskonomy.models.device import resolve_device
from taskonomy.models.inference import encode_all
from taskonomy.models.multihead import Head
from taskonomy.models.networks import TaskNetwork, build_readout, load_readout, load_task_network
from taskonomy.tasks.bank import TaskInfo

SplitName = Literal["encoder_train", "transfer_train", "test"]
#: Images per forward pass when encoding or evaluating a whole split.
CHUNK = 512
#: Splits up to this many bytes of float32 images are held in memory as tensors.
PRELOAD_BYTES = 1 << 29


class SplitLike(Protocol):
    """The part of :class:`taskonomy.data.Split` the training bodies use."""

    @property
    def n(self) -> int: ...

    @property
    def image_size(self) -> int: ...

    def images(self, idx: np.ndarray | None = None) -> np.ndarray: ...

    def label(self, task: TaskInfo, idx: np.ndarray | None = None) -> np.ndarray: ...

    def encoder_batch(
        self, task: TaskInfo, idx: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]: ...


def open_split(dataset_dir: Path, split: SplitName) -> SplitLike:
    """:func:`taskonomy.data.open_split`, imported when a body runs."""
    data = importlib.import_module("taskonomy.data")
    return cast(SplitLike, data.open_split(dataset_dir, split))


def task_of(entry: Mapping[str, Any]) -> TaskInfo:
    """The :class:`TaskInfo` of a planner task entry ``{"name", "kind", "info"}``."""
    return task_from_dict(dict(entry["info"]))


def model_config(ctx: JobContext, model: Mapping[str, Any] | None = None) -> ModelConfig:
    """The architecture from the job's ``model`` params (or the spec's) and image size."""
    if model is None:
        model = ctx.params.get("model") or ctx.spec.model.model_dump(mode="json")
        if "representation" in ctx.params:
            model = {
                **model,
                "representation": ctx.params["representation"],
                "readout": ctx.params["readout"],
            }
    return ModelConfig.from_params(model, ctx.spec.dataset.image_size)


def device_of(ctx: JobContext) -> torch.device:
    return resolve_device(ctx.device)


def batch_indices(seed: int, step: int, n: int, size: int) -> np.ndarray:
    """The sorted example indices of one training step: a pure function of its arguments."""
    rng = np.random.default_rng([seed, step])
    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def step_indices(seed: int, steps: int, n: int, size: int) -> np.ndarray:
    """:func:`batch_indices` of every step, ``(steps, min(size, n))``."""
    if steps == 0:
        return np.zeros((0, min(size, n)), dtype=np.int64)
    return np.stack([batch_indices(seed, s, n, size) for s in range(steps)])


class Rows:
    """One array of a split (images or a task's labels) that batches are taken from.

    Held on the device when small enough; otherwise read from the split at each take.
    """

    def __init__(
        self, split: SplitLike, device: torch.device, task: TaskInfo | None = None
    ) -> None:
        self.split, self.task, self.device = split, task, device
        size = split.image_size
        self._all: Tensor | None = None
        self._nhwc: Tensor | None = None
        if split.n * 3 * size * size * 4 <= PRELOAD_BYTES:
            self._all = torch.from_numpy(self._fetch(None)).to(device)

    def _fetch(self, idx: np.ndarray | None) -> np.ndarray:
        if self.task is None:
            return self.split.images(idx)
        return self.split.label(self.task, idx)

    def take(self, idx: np.ndarray) -> Tensor:
        if self._all is not None:
            return self._all[torch.from_numpy(idx).to(self.device)]
        return torch.from_numpy(self._fetch(idx)).to(self.device)

    def source(self) -> Tensor | Callable[[Tensor], Tensor]:
        """For packed heads: the whole array on the device when held there, else
        ``take(idx)`` by a device index tensor. Images come channels-last."""
        if self.task is None:
            if self._nhwc is None:
                if self._all is None:
                    return lambda idx: self.take(idx.cpu().numpy()).permute(0, 2, 3, 1)
                self._nhwc = self._all.permute(0, 2, 3, 1).contiguous()
            return self._nhwc
        if self._all is not None:
            return self._all
        return lambda idx: self.take(idx.cpu().numpy())


class RepresentationCache:
    """Frozen representations per (source, split), loaded once per process.

    A source's representation comes from its ``features`` job (the fp16 cache) when the
    plan has one, else from its encoder run over the split's clean images. Tensors are
    kept in float16 on the device and widened per batch.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._reps: dict[tuple[Path, str], Tensor] = {}
        self._splits: dict[tuple[Path, str], SplitLike] = {}
        self._rows: dict[tuple[Path, str, str], Rows] = {}

    def split(self, ctx: JobContext, name: SplitName) -> SplitLike:
        key = (ctx.artifact("dataset"), name)
        if key not in self._splits:
            self._splits[key] = open_split(key[0], name)
        return self._splits[key]

    def rows(self, ctx: JobContext, name: SplitName, task: TaskInfo | None) -> Rows:
        """Images (``task`` None) or ``task``'s labels of a split, loaded once."""
        key = (ctx.artifact("dataset"), name, "" if task is None else task.name)
        if key not in self._rows:
            self._rows[key] = Rows(self.split(ctx, name), self.device, task)
        return self._rows[key]

    def representation(self, ctx: JobContext, source: str, split: SplitName) -> Tensor:
        """``source``'s representation of every image of ``split``: fp16 ``(N, C, h, w)``."""
        job_id = representation_job(ctx.plan, source)
        path = ctx.artifact(job_id)
        key = (path, split)
        if key not in self._reps:
            if ctx.plan.jobs[job_id].kind is JobKind.FEATURES:
                array = np.load(path / f"{split}.npy")
                self._reps[key] = torch.from_numpy(array).to(self.device, torch.float16)
            else:
                net = load_encoder(ctx, source).to(self.device)
                images = self.split(ctx, split)
                self._reps[key] = encode_split(net, images, self.device).to(
                    self.device, torch.float16
                )
        return self._reps[key]

    def channels_last(self, ctx: JobContext, source: str, split: SplitName) -> Tensor:
        """:meth:`representation` as ``(N, h, w, C)`` (what packed heads gather from)."""
        key = (ctx.artifact(representation_job(ctx.plan, source)), f"{split}/nhwc")
        if key not in self._reps:
            rep = self.representation(ctx, source, split)
            self._reps[key] = rep.permute(0, 2, 3, 1).contiguous()
        return self._reps[key]


def load_encoder(ctx: JobContext, source: str) -> TaskNetwork:
    """``source``'s task network from its encoder job (CPU, eval mode)."""
    job_id = f"encoder/{source}"
    if job_id not in ctx.plan.jobs:
        raise JobFailed(f"{ctx.job.id} needs source {source!r}, which has no encoder job")
    return load_task_network(ctx.artifact(job_id) / "network.pt")


def encode_split(net: TaskNetwork, split: SplitLike, device: torch.device) -> Tensor:
    """``net``'s frozen representation of every clean image of ``split``: float32, CPU."""
    net.eval()
    parts = []
    for start in range(0, split.n, CHUNK):
        idx = np.arange(start, min(start + CHUNK, split.n))
        images = torch.from_numpy(split.images(idx))
        parts.append(encode_all(net.encoder, images, device))
    return torch.cat(parts)


def _concat(reps: list[Tensor]) -> Callable[[Tensor], Tensor]:
    return lambda idx: torch.cat([r[idx] for r in reps], -1)


def _inputs(
    ctx: JobContext, cache: RepresentationCache, split: SplitName, stem: bool
) -> tuple[list[str], Tensor | Callable[[Tensor], Tensor]]:
    """A head's sources and channels-last inputs: images (``stem``) or the sources'
    representations side by side."""
    if stem:
        return ["pixels"], cache.rows(ctx, split, None).source()
    sources = list(bound_sources(ctx))
    reps = [cache.channels_last(ctx, s, split) for s in sources]
    return sources, reps[0] if len(reps) == 1 else _concat(reps)


def training_head(
    ctx: JobContext, cache: RepresentationCache, stem: bool
) -> tuple[Head, list[str]]:
    """A transfer's (with ``stem`` a scratch baseline's) fresh head, its training data and
    the minibatches its one-at-a-time run would draw; and its sources."""
    task = task_of(ctx.params["target"])
    split = cache.split(ctx, "transfer_train")
    train = TrainConfig.from_params(ctx.params["train"], split.n, ctx.device)
    sources, inputs = _inputs(ctx, cache, "transfer_train", stem)
    model = build_readout(model_config(ctx), task, len(sources), train.seed, stem=stem)
    head = Head(
        model,
        inputs,
        cache.rows(ctx, "transfer_train", task).source(),
        train,
        step_indices(train.seed, train.steps, split.n, train.batch_size),
        label=ctx.job.id,
        log=ctx.log,
        progress=ctx.progress,
    )
    return head, sources


def scoring_head(ctx: JobContext, cache: RepresentationCache) -> tuple[Head, list[str]]:
    """An evaluation's trained readout (scratch or transfer) with its test data."""
    model_id = str(ctx.params["model"])
    model, _ = load_readout(ctx.artifact(model_id) / "model.pt")
    stem = ctx.plan.jobs[model_id].kind is JobKind.SCRATCH
    sources, inputs = _inputs(ctx, cache, "test", stem)
    labels = cache.rows(ctx, "test", model.task).source()
    return Head(model, inputs, labels, label=ctx.job.id), sources


def write_losses(
    ctx: JobContext,
    losses: np.ndarray,
    n: int,
    task: str,
    sources: list[str],
    seconds: float,
    device: torch.device,
) -> Mapping[str, Any]:
    """Write an evaluation's ``losses.npy`` and ``candidate.json``; its metadata."""
    model_id = str(ctx.params["model"])
    if losses.shape != (n,) or not np.isfinite(losses).all():
        raise JobFailed(f"{ctx.job.id}: per-image losses are not finite; retrain {model_id}")
    np.save(ctx.out / "losses.npy", losses.astype(np.float32))
    candidate = {"model": model_id, "target": str(ctx.params["target"]), "sources": sources}
    (ctx.out / "candidate.json").write_text(json.dumps(candidate, indent=2), encoding="utf-8")
    return {
        "mean_loss": float(losses.mean()),
        "n": int(n),
        "task": task,
        "seconds": round(seconds, 3),
        "device": str(device),
    }
