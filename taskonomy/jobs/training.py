"""Job bodies of Stages I and II: encoders, feature caches, baselines, transfers, evaluation.

Each body reads its inputs through ``ctx``, writes the files :mod:`taskonomy.jobs` lists
into ``ctx.out`` and returns manifest metadata. ``run_transfers``, ``run_scratches`` and
``run_evaluations`` take several jobs at once (the executor's batches, a packed SLURM
array task) and share one device and one
:class:`~taskonomy.jobs._training_io.RepresentationCache`: each source's cached features
are read once. Their heads then train, and are scored, as packed heads
(:mod:`taskonomy.models.multihead`): every head of one architecture in one model, one
optimiser step for all, each head with the weights, batches and results it would have
alone. ``batched=False`` (or :data:`BATCHED`) runs them one after another instead, the
comparison path. A head that fails fails its batch (nothing of it is kept) and the
executor reruns the batch's jobs one by one, so it fails alone.
Torch is imported only when a training kind runs.
"""

from __future__ import annotations

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
    scoring_head,
    task_of,
    training_head,
    write_losses,
)
from taskonomy.jobs.binding import bound_sources
from taskonomy.kinds import JobKind
from taskonomy.models.config import TrainConfig
from taskonomy.models.device import configure_threads
from taskonomy.models.encoders import calibrate_batch_norm
from taskonomy.models.inference import per_image_losses
from taskonomy.models.losses import training_loss
from taskonomy.models.multihead import fit_heads, score_heads
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

#: Seed of the input transforms applied to test images when a network is scored on its
#: own task (same noise, masks and tile orders for every evaluation).
EVAL_SEED = 20180618
#: Images the random projection's batch norms are calibrated on.
CALIBRATION_IMAGES = 512
#: Train and score the heads of a batch body as packed heads (False: one at a time).
BATCHED = True


def _threads(ctx: JobContext) -> None:
    configure_threads(ctx.spec.executor.threads)


def _meta(result: FitResult, **extra: Any) -> dict[str, Any]:
    return {**result.as_meta(), **extra}


def run_encoder(ctx: JobContext) -> Mapping[str, Any]:
    """Stage I: train the source task's network on ``encoder_train``; write ``network.pt``.

    An untrained source (random projection) gets its seeded initial weights, with batch
    norm statistics calibrated on clean images so its representation is standardised.
    """
    _threads(ctx)
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
    _threads(ctx)
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


def _scratch(ctx: JobContext, cache: RepresentationCache) -> Mapping[str, Any]:
    device = cache.device
    task = task_of(ctx.params["target"])
    split = cache.split(ctx, "transfer_train")
    train = TrainConfig.from_params(ctx.params["train"], split.n, ctx.device)
    model = build_readout(model_config(ctx), task, 1, train.seed, stem=True).to(device)
    images = cache.rows(ctx, "transfer_train", None)
    labels = cache.rows(ctx, "transfer_train", task)
    result = _fit_readout(ctx, model, images.take, labels.take, split.n, train, device)
    save_model(model.cpu(), ctx.out / "model.pt", {"sources": ["pixels"]})
    return _meta(result, sources=["pixels"])


def run_scratch(ctx: JobContext) -> Mapping[str, Any]:
    """The "pixels" baseline: stem + readout + decoder trained on ``transfer_train``."""
    return run_scratches([ctx])[0] or {}


def run_scratches(
    ctxs: Sequence[JobContext], *, batched: bool | None = None
) -> list[Mapping[str, Any] | None]:
    """Several scratch baselines in this process: one packed model (``batched``, default
    :data:`BATCHED`) or one after another."""
    if not ctxs:
        return []
    _threads(ctxs[0])
    cache = RepresentationCache(device_of(ctxs[0]))
    if not (BATCHED if batched is None else batched):
        return [_scratch(ctx, cache) for ctx in ctxs]
    return list(_train_packed(ctxs, cache, stem=True))


def _train_packed(
    ctxs: Sequence[JobContext], cache: RepresentationCache, stem: bool
) -> list[Mapping[str, Any]]:
    built = [training_head(ctx, cache, stem) for ctx in ctxs]
    results = fit_heads([head for head, _ in built], cache.device)
    metas: list[Mapping[str, Any]] = []
    for ctx, (head, sources), (result, state) in zip(ctxs, built, results, strict=True):
        head.model.load_state_dict(state)
        save_model(head.model, ctx.out / "model.pt", {"sources": sources})
        extra: dict[str, Any] = {"sources": sources, "packed": True}
        if not stem:
            extra["cached"] = True
        metas.append(_meta(result, **extra))
    return metas


def _transfer(ctx: JobContext, cache: RepresentationCache) -> Mapping[str, Any]:
    device = cache.device
    task = task_of(ctx.params["target"])
    sources = list(bound_sources(ctx))
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


def run_transfers(
    ctxs: Sequence[JobContext], *, batched: bool | None = None
) -> list[Mapping[str, Any] | None]:
    """Several transfer heads in this process, sharing one device and each source's
    representation (loaded once): the heads on cached features as packed heads
    (``batched``, default :data:`BATCHED`), naive ones (re-encoding every batch) and all
    with ``batched=False`` one after another. One result per context, in order."""
    if not ctxs:
        return []
    _threads(ctxs[0])
    cache = RepresentationCache(device_of(ctxs[0]))
    packed = [
        i
        for i, ctx in enumerate(ctxs)
        if (BATCHED if batched is None else batched) and ctx.params.get("cached", True)
    ]
    results: list[Mapping[str, Any] | None] = [None] * len(ctxs)
    for i, meta in zip(packed, _train_packed([ctxs[i] for i in packed], cache, False), strict=True):
        results[i] = meta
    for i, ctx in enumerate(ctxs):
        if i not in packed:
            results[i] = _transfer(ctx, cache)
    return results


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
            sources = list(bound_sources(ctx))
            reps = [cache.representation(ctx, s, "test") for s in sources]
            inputs = torch.cat(reps, 1).float()
        losses = per_image_losses(model, inputs, labels.take(idx), task, device)
    else:
        raise JobFailed(f"{ctx.job.id}: cannot evaluate a {kind} job ({model_id})")
    seconds = time.perf_counter() - began
    return write_losses(ctx, losses, test.n, task.name, sources, seconds, device)


def _score_packed(
    ctxs: Sequence[JobContext], cache: RepresentationCache
) -> list[Mapping[str, Any]]:
    """Readout evaluations as packed heads: one forward pass per pack and chunk."""
    began = time.perf_counter()
    test = cache.split(ctxs[0], "test")
    heads, sources = zip(*(scoring_head(ctx, cache) for ctx in ctxs), strict=True)
    losses = score_heads(heads, test.n, cache.device)
    share = (time.perf_counter() - began) / len(ctxs)
    return [
        write_losses(ctx, loss, test.n, head.model.task.name, srcs, share, cache.device)
        for ctx, head, srcs, loss in zip(ctxs, heads, sources, losses, strict=True)
    ]


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


def run_evaluations(
    ctxs: Sequence[JobContext], *, batched: bool | None = None
) -> list[Mapping[str, Any] | None]:
    """Several evaluations sharing one device and the cached test representations; the
    readouts' (transfers, scratch baselines) as packed heads (``batched``, default
    :data:`BATCHED`), the rest one after another. One result per context, in order."""
    if not ctxs:
        return []
    _threads(ctxs[0])
    cache = RepresentationCache(device_of(ctxs[0]))
    use = BATCHED if batched is None else batched
    readout = (JobKind.SCRATCH, JobKind.TRANSFER)
    packed = [
        i
        for i, ctx in enumerate(ctxs)
        if use and ctx.plan.jobs[str(ctx.params["model"])].kind in readout
    ]
    results: list[Mapping[str, Any] | None] = [None] * len(ctxs)
    if packed:
        metas = _score_packed([ctxs[i] for i in packed], cache)
        for i, meta in zip(packed, metas, strict=True):
            results[i] = meta
    for i, ctx in enumerate(ctxs):
        if results[i] is None:
            results[i] = _evaluate(ctx, cache)
    return results


__all__ = [
    "run_encoder",
    "run_evaluate",
    "run_evaluations",
    "run_features",
    "run_scratch",
    "run_scratches",
    "run_transfer",
    "run_transfers",
]
