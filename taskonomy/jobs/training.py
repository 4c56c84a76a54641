"""Job bodies of Stages I and II: encoders, feature caches, baselines, transfers, evaluation.

Each body reads its inputs through ``ctx``, writes the files :mod:`taskonomy.jobs` lists
into ``ctx.out`` and returns manifest metadata. ``run_transfers`` and
``run_evaluations`` take several jobs at once and share one device and one
:class:`~taskonomy.jobs._training_io.RepresentationCache`: each source's cached features
are read once, then the heads train one after another on tensors already in memory.
Torch is imported only when a training kind runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from taskonomy.executor.context import JobContext, JobFailed
from taskonomy.jobs._training_io import (
    CHUNK,
    RepresentationCache,
    SplitLike,
    SplitName,
    batch_indices,
    device_of,
    encode_split,
    load_encoder,
    model_config,
    task_of,
)
from taskonomy.models.config import TrainConfig
from taskonomy.models.device import configure_threads
from taskonomy.models.encoders import calibrate_batch_norm
from taskonomy.models.inference import per_image_losses
from taskonomy.models.losses import training_loss
from taskonomy.models.networks import (
    ReadoutModel,
    TaskNetwork,
    build_readout,
    build_task_network,
    load_readout,
    load_task_network,
    save_model,
)
from taskonomy.models.train import FitResult, fit
from taskonomy.spec.models import JobKind

#: Seed of the input transforms applied to test images when a network is scored on its
#: own task (same noise, masks and tile orders for every evaluation).
EVAL_SEED = 20180618
#: Images the random projection's batch norms are calibrated on.
CALIBRATION_IMAGES = 512


def _meta(result: FitResult, **extra: Any) -> dict[str, Any]:
    return {**result.as_meta(), **extra}


def run_encoder(ctx: JobContext) -> Mapping[str, Any]:
    """Stage I: train the source task's network on ``encoder_train``; write ``network.pt``.

    An untrained source (random projection) gets its seeded initial weights, with batch
    norm statistics calibrated on clean images so its representation is standardised.
    """
    configure_threads()
    device = device_of(ctx)
    task = task_of(ctx.params["task"])
    cache = RepresentationCache(device)
    split = cache.split(ctx, "encoder_train")
    train = TrainConfig.from_params(ctx.params["train"], split.n, ctx.device)
    net = build_task_network(model_config(ctx), task, train.seed).to(device)
    if not task.trainable or train.steps == 0:
        began = time.perf_counter()
        n = min(split.n, CALIBRATION_IMAGES)
        batches = [
            torch.from_numpy(split.images(np.arange(i, min(i + 128, n)))).to(device)
            for i in range(0, n, 128)
        ]
        calibrate_batch_norm(net.encoder, batches)
        save_model(net.cpu(), ctx.out / "network.pt")
        ctx.progress(1, 1, "calibrated")
        return {"steps": 0, "seconds": round(time.perf_counter() - began, 3), "device": str(device)}

    def batch(step: int) -> tuple[Tensor, Tensor]:
        idx = batch_indices(train.seed, step, split.n, train.batch_size)
        inputs, labels = split.encoder_batch(task, idx, np.random.default_rng([train.seed, step]))
        return torch.from_numpy(inputs).to(device), torch.from_numpy(labels).to(device)

    ctx.scratch.mkdir(parents=True, exist_ok=True)
    result = fit(
        net,
        batch,
        lambda pred, labels: training_loss(pred, labels, task),
        train,
        device,
        checkpoint=ctx.scratch / "ckpt.pt",
        checkpoint_every=max(50, train.steps // 20),
        log=ctx.log,
        progress=ctx.progress,
        label=ctx.job.id,
    )
    save_model(net.cpu(), ctx.out / "network.pt")
    return _meta(result)


def run_features(ctx: JobContext) -> Mapping[str, Any]:
    """Cache a source's frozen representation of ``transfer_train`` and ``test`` (fp16)."""
    configure_threads()
    device = device_of(ctx)
    began = time.perf_counter()
    net = load_encoder(ctx, str(ctx.params["source"])).to(device)
    cache = RepresentationCache(device)
    shapes = {}
    names: tuple[SplitName, ...] = ("transfer_train", "test")
    for i, name in enumerate(names):
        reps = encode_split(net, cache.split(ctx, name), device)
        array = reps.numpy().astype(np.float16)
        if not np.isfinite(array).all():
            raise JobFailed(
                f"{ctx.job.id}: the representation overflows float16; the encoder of "
                f"{ctx.params['source']!r} diverged, rerun it with a lower learning rate"
            )
        np.save(ctx.out / f"{name}.npy", array)
        shapes[name] = list(array.shape)
        ctx.progress(i + 1, 2, name)
    return {"shapes": shapes, "seconds": round(time.perf_counter() - began, 3)}


def _fit_readout(
    ctx: JobContext,
    model: ReadoutModel,
    inputs: Callable[[np.ndarray], Tensor],
    labels: Callable[[np.ndarray], Tensor],
    n: int,
    train: TrainConfig,
    device: torch.device,
) -> FitResult:
    """Train ``model`` on batches ``inputs(idx)`` / ``labels(idx)`` of ``n`` examples."""
    task = model.task

    def batch(step: int) -> tuple[Tensor, Tensor]:
        idx = batch_indices(train.seed, step, n, train.batch_size)
        return inputs(idx), labels(idx)

    return fit(
        model,
        batch,
        lambda pred, y: training_loss(pred, y, task),
        train,
        device,
        log=ctx.log,
        progress=ctx.progress,
        label=ctx.job.id,
    )


def run_scratch(ctx: JobContext) -> Mapping[str, Any]:
    """The "pixels" baseline: stem + readout + decoder trained on ``transfer_train``."""
    configure_threads()
    device = device_of(ctx)
    cache = RepresentationCache(device)
    task = task_of(ctx.params["target"])
    split = cache.split(ctx, "transfer_train")
    train = TrainConfig.from_params(ctx.params["train"], split.n, ctx.device)
    model = build_readout(model_config(ctx), task, 1, train.seed, stem=True).to(device)
    images = cache.rows(ctx, "transfer_train", None)
    labels = cache.rows(ctx, "transfer_train", task)
    result = _fit_readout(ctx, model, images.take, labels.take, split.n, train, device)
    save_model(model.cpu(), ctx.out / "model.pt", {"sources": ["pixels"]})
    return _meta(result, sources=["pixels"])


def _transfer(ctx: JobContext, cache: RepresentationCache) -> Mapping[str, Any]:
    device = cache.device
    task = task_of(ctx.params["target"])
    sources = list(ctx.bound_sources())
    split = cache.split(ctx, "transfer_train")
    train = TrainConfig.from_params(ctx.params["train"], split.n, ctx.device)
    model = build_readout(model_config(ctx), task, len(sources), train.seed).to(device)
    labels = cache.rows(ctx, "transfer_train", task)
    if ctx.params.get("cached", True):
        reps = [cache.representation(ctx, s, "transfer_train") for s in sources]

        def inputs(idx: np.ndarray) -> Tensor:
            at = torch.from_numpy(idx).to(device)
            return torch.cat([r[at] for r in reps], 1).float()

    else:  # naive: every job loads its encoders and re-encodes each batch
        encoders = [load_encoder(ctx, s).to(device).eval() for s in sources]
        images = cache.rows(ctx, "transfer_train", None)

        @torch.no_grad()
        def inputs(idx: np.ndarray) -> Tensor:
            x = images.take(idx)
            return torch.cat([e.encode(x) for e in encoders], 1).float()

    result = _fit_readout(ctx, model, inputs, labels.take, split.n, train, device)
    save_model(model.cpu(), ctx.out / "model.pt", {"sources": sources})
    return _meta(result, sources=sources, cached=bool(ctx.params.get("cached", True)))


def run_transfer(ctx: JobContext) -> Mapping[str, Any]:
    """Stage II: one transfer function ``sources -> target``; writes ``model.pt``."""
    return run_transfers([ctx])[0] or {}


def run_transfers(ctxs: Sequence[JobContext]) -> list[Mapping[str, Any] | None]:
    """Several transfer heads in this process, one after another, sharing one device and
    each source's representation (loaded once)."""
    if not ctxs:
        return []
    configure_threads()
    cache = RepresentationCache(device_of(ctxs[0]))
    return [_transfer(ctx, cache) for ctx in ctxs]


def _evaluate(ctx: JobContext, cache: RepresentationCache) -> Mapping[str, Any]:
    began = time.perf_counter()
    device = cache.device
    model_id = str(ctx.params["model"])
    kind = ctx.plan.jobs[model_id].kind
    test = cache.split(ctx, "test")
    if kind is JobKind.ENCODER:
        net = load_task_network(ctx.artifact(model_id) / "network.pt").to(device)
        losses = _self_losses(net, test, device)
        task, sources = net.task, ["self"]
    elif kind in (JobKind.SCRATCH, JobKind.TRANSFER):
        model, _ = load_readout(ctx.artifact(model_id) / "model.pt")
        model.to(device)
        task = model.task
        labels = cache.rows(ctx, "test", task)
        idx = np.arange(test.n)
        if kind is JobKind.SCRATCH:
            sources = ["pixels"]
            inputs = cache.rows(ctx, "test", None).take(idx)
        else:
            sources = list(ctx.bound_sources())
            reps = [cache.representation(ctx, s, "test") for s in sources]
            inputs = torch.cat(reps, 1).float()
        losses = per_image_losses(model, inputs, labels.take(idx), task, device)
    else:
        raise JobFailed(f"{ctx.job.id}: cannot evaluate a {kind} job ({model_id})")
    if losses.shape != (test.n,) or not np.isfinite(losses).all():
        raise JobFailed(f"{ctx.job.id}: per-image losses are not finite; retrain {model_id}")
    np.save(ctx.out / "losses.npy", losses.astype(np.float32))
    candidate = {"model": model_id, "target": str(ctx.params["target"]), "sources": sources}
    (ctx.out / "candidate.json").write_text(json.dumps(candidate, indent=2), encoding="utf-8")
    return {
        "mean_loss": float(losses.mean()),
        "n": int(test.n),
        "task": task.name,
        "seconds": round(time.perf_counter() - began, 3),
        "device": str(device),
    }


def _self_losses(net: TaskNetwork, test: SplitLike, device: torch.device) -> np.ndarray:
    """The network on its own task: inputs through the task's input transform (noise,
    mask, grey, shuffle) as in training, drawn with a fixed seed."""
    parts = []
    for i, start in enumerate(range(0, test.n, CHUNK)):
        idx = np.arange(start, min(start + CHUNK, test.n))
        inputs, labels = test.encoder_batch(net.task, idx, np.random.default_rng([EVAL_SEED, i]))
        parts.append(
            per_image_losses(
                net, torch.from_numpy(inputs), torch.from_numpy(labels), net.task, device
            )
        )
    return np.concatenate(parts)


def run_evaluate(ctx: JobContext) -> Mapping[str, Any]:
    """Per-image test losses of one model on its target: ``losses.npy``, ``candidate.json``."""
    return run_evaluations([ctx])[0] or {}


def run_evaluations(ctxs: Sequence[JobContext]) -> list[Mapping[str, Any] | None]:
    """Several evaluations sharing one device and the cached test representations."""
    if not ctxs:
        return []
    configure_threads()
    cache = RepresentationCache(device_of(ctxs[0]))
    return [_evaluate(ctx, cache) for ctx in ctxs]


__all__ = [
    "run_encoder",
    "run_evaluate",
    "run_evaluations",
    "run_features",
    "run_scratch",
    "run_transfer",
    "run_transfers",
]
