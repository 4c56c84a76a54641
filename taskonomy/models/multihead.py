"""Train and score many readouts at once as packed heads (:mod:`taskonomy.models.packed`).

:func:`fit_heads` is :func:`~taskonomy.models.train.fit` for many heads: each head keeps
its own seeded initial weights, its own minibatches (the caller's per-step indices, the
ones its one-at-a-time run would draw), its own loss, log, progress and divergence
check, and ends with the weights it would have alone (to float rounding): the packed
loss is the sum of the heads' losses, so each head's gradient is its own, and AdamW is
elementwise. One optimiser step updates every head of a pack.

Batches are gathered on the device from tensors already there (cached features, labels),
by indices copied once; the loop never waits on the host except every 10% of the steps
to check the losses. On CUDA mixed precision is bf16 autocast where the GPU has it
(fp16's gradient scaler would couple the heads of a pack: a step overflowing in one
would be skipped for all).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from taskonomy.models.config import ModelError, TrainConfig
from taskonomy.models.device import PrecisionPlan, autocast, plan_precision
from taskonomy.models.inference import per_image_losses
from taskonomy.models.losses import training_loss
from taskonomy.models.networks import ReadoutModel
from taskonomy.models.pack_plan import PackError, pack_groups
from taskonomy.models.packed import SHIFT_SUM_CHANNELS, PackedHeads
from taskonomy.models.train import FitResult, ProgressFn, fit

#: ``take(idx)``: rows ``idx`` (a long tensor on the device) of an array of examples.
Take = Callable[[Tensor], Tensor]
#: Bytes the largest activation of one pack may take (per device type); sets pack sizes.
PACK_BYTES = {"cpu": 32 << 20, "cuda": 4 << 30}


@dataclass
class Head:
    """One head to train (or score) and what it reads.

    Attributes:
        model: its freshly built (or trained) readout.
        inputs: channels-last inputs ``(N, h, w, C)`` on the device (cached features,
            images), or ``take(idx) -> (len(idx), h, w, C)``.
        labels: its target's labels ``(N, ...)`` on the device, or ``take(idx)``. Heads
            given the same object share one gather per step.
        train: its optimisation settings (heads pack when all but the seed are equal).
        indices: ``(steps, batch)`` example indices of each step (training only).
        label, log, progress: name the head in messages; receive its log lines/progress.
    """

    model: ReadoutModel
    inputs: Tensor | Take
    labels: Tensor | Take
    train: TrainConfig | None = None
    indices: np.ndarray | None = None
    label: str = "head"
    log: logging.Logger | None = None
    progress: ProgressFn | None = None


def packed_precision(device: torch.device, precision: str) -> PrecisionPlan:
    """The precision packed heads train in: ``plan_precision``, except that fp16 (a
    gradient scaler shared by the heads) becomes bf16, or fp32 without bf16 support."""
    plan = plan_precision(device, precision)  # type: ignore[arg-type]
    if not plan.scaled:
        return plan
    if torch.cuda.is_bf16_supported():
        note = "packed heads train in bf16, not fp16 (a shared grad scaler couples them)"
        return PrecisionPlan("bf16", torch.bfloat16, False, note)
    return PrecisionPlan("fp32", None, False, "packed heads need bf16 for mixed precision")


def pack_limit(model: ReadoutModel, batch: int, device: torch.device) -> int:
    """Heads per pack: as many as keep the full-resolution activation of a pack within
    :data:`PACK_BYTES` (bigger packs amortise per-op costs; on a CPU, smaller ones stay
    in cache and reuse the allocator's memory)."""
    size, c = model.config.image_size, model.task.channels
    per_head = batch * size * size * max(8, 9 * c if c <= SHIFT_SUM_CHANNELS else c) * 4
    if model.decoder is not None and not any(
        isinstance(m, torch.nn.ConvTranspose2d) for m in model.decoder.modules()
    ):  # no upsampling: the largest activations are at the representation's size
        per_head = batch * model.config.representation_size**2 * model.config.readout_hidden * 4
    return max(1, PACK_BYTES.get(device.type, PACK_BYTES["cuda"]) // per_head)


def _take(source: Tensor | Take, idx: Tensor) -> Tensor:
    return source[idx] if isinstance(source, Tensor) else source(idx)


class _Labels:
    """Per-step labels of each target group of a pack, in the pack's layout."""

    def __init__(self, pack: PackedHeads, heads: Sequence[Head]) -> None:
        self.pack, self.parts = pack, []
        for start, stop, task in pack.groups:
            src = heads[start].labels
            shared = all(h.labels is src for h in heads[start:stop])
            if shared and isinstance(src, Tensor):
                laid: Tensor | Take = pack.label_layout(src, task)
            else:
                laid = src
            self.parts.append((start, stop, task, laid, shared, [h.labels for h in heads]))

    def __call__(self, idx: Tensor) -> list[Tensor]:
        """``idx``: ``(H, B)`` -> per group ``(H_g * B, ...)``, head-major."""
        out = []
        for start, stop, task, laid, shared, each in self.parts:
            if shared and isinstance(laid, Tensor):
                out.append(laid[idx[start:stop].reshape(-1)])
                continue
            rows = (
                [_take(laid, idx[start:stop].reshape(-1))]
                if shared
                else [_take(each[h], idx[h]) for h in range(start, stop)]
            )
            out.append(self.pack.label_layout(torch.cat(rows), task))
        return out


def _inputs(heads: Sequence[Head], idx: Tensor) -> Tensor:
    return PackedHeads.stack_inputs([_take(h.inputs, idx[i]) for i, h in enumerate(heads)])


def _train_pack(
    heads: Sequence[Head], train: TrainConfig, device: torch.device
) -> list[tuple[FitResult, dict[str, Tensor]]]:
    plan = packed_precision(device, train.precision)
    pack = PackedHeads([h.model for h in heads]).to(device).train()
    optimizer = torch.optim.AdamW(
        pack.parameters(), lr=train.lr, weight_decay=train.weight_decay, fused=True
    )
    steps = train.steps
    idx = torch.from_numpy(np.stack([np.asarray(h.indices) for h in heads], 1)).to(device)
    labels = _Labels(pack, heads)
    report, tick, window = max(1, steps // 10), max(1, steps // 50), max(1, steps // 10)
    loss_sum = torch.zeros(len(heads), device=device)
    for h in heads:
        if plan.note and h.log:
            h.log.warning("%s: %s", h.label, plan.note)
    began = time.perf_counter()
    for step in range(steps):
        ix = idx[step]
        x = _inputs(heads, ix)
        with autocast(device, plan):
            preds = pack(x)
        per_head = pack.losses(preds, labels(ix)).mean(1)
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(per_head.sum())
        optimizer.step()
        if step >= steps - window:
            loss_sum += per_head.detach()
        done = step + 1
        if done % report == 0 or done == steps:
            _check(heads, per_head.detach().tolist(), done, steps)
        if done % tick == 0 or done == steps:
            for h in heads:
                if h.progress:
                    h.progress(done, steps, h.label)
    seconds = time.perf_counter() - began
    counted = min(steps, window)
    finals = (loss_sum / counted).tolist() if counted else [float("nan")] * len(heads)
    share = seconds / len(heads)
    out = []
    for state, final in zip(pack.unpack(), finals, strict=True):
        result = FitResult(
            steps=steps,
            final_loss=final,
            seconds=share,
            images_per_s=steps * train.batch_size / share if share > 0 else 0.0,
            device=str(device),
            precision=plan.precision,
            note=plan.note,
            resumed_from=0,
        )
        out.append((result, state))
    return out


def _check(heads: Sequence[Head], values: list[float], done: int, total: int) -> None:
    """Log each head's loss; raise naming every head whose loss is not finite."""
    bad = [(h, v) for h, v in zip(heads, values, strict=True) if not np.isfinite(v)]
    for h, v in zip(heads, values, strict=True):
        if h.log:
            h.log.info("%s: step %d/%d loss %.5f", h.label, done, total, v)
    if bad:
        names = ", ".join(f"{h.label} ({v})" for h, v in bad)
        raise ModelError(
            f"the loss is not finite at step {done} for {names}; lower the learning rate "
            "or use fp32 precision (the other heads of the pack were fine)"
        )


def _key(train: TrainConfig) -> TrainConfig:
    return dataclasses.replace(train, seed=0)


def fit_heads(
    heads: Sequence[Head], device: torch.device, *, limit: int | None = None
) -> list[tuple[FitResult, dict[str, Tensor]]]:
    """Train every head (models already built, weights on any device); return each
    head's result and trained state dict (CPU), in order. Heads pack by architecture and
    settings, at most ``limit`` per pack (default :func:`pack_limit`).

    Raises:
        ModelError: a head's loss is not finite (naming it); nothing is returned.
    """
    out: list[tuple[FitResult, dict[str, Tensor]] | None] = [None] * len(heads)
    by_train: dict[tuple[TrainConfig, int], list[int]] = {}
    for i, h in enumerate(heads):
        if h.train is None or h.indices is None:
            raise ModelError(f"{h.label}: a head to train needs its settings and indices")
        by_train.setdefault((_key(h.train), len(h.indices)), []).append(i)
    for members in by_train.values():
        models = [heads[i].model for i in members]
        train = heads[members[0]].train
        assert train is not None
        batch = train.batch_size
        cap = limit or (lambda m, b=batch: pack_limit(m, b, device))
        for pack in pack_groups(models, cap):
            chosen = [heads[members[j]] for j in pack]
            try:
                results = _train_pack(chosen, train, device)
            except PackError:  # an architecture the packer does not know: train it alone
                results = [_train_alone(h, device) for h in chosen]
            for j, res in zip(pack, results, strict=True):
                out[members[j]] = res
    return [r for r in out if r is not None]


def _train_alone(head: Head, device: torch.device) -> tuple[FitResult, dict[str, Tensor]]:
    """:func:`~taskonomy.models.train.fit` on the head's own data and indices."""
    assert head.train is not None and head.indices is not None
    model, task = head.model.to(device), head.model.task
    idx = torch.from_numpy(np.asarray(head.indices)).to(device)

    def batch(step: int) -> tuple[Tensor, Tensor]:
        inputs = _take(head.inputs, idx[step]).permute(0, 3, 1, 2).float()
        return inputs, _take(head.labels, idx[step])

    result = fit(
        model,
        batch,
        lambda pred, y: training_loss(pred, y, task),
        head.train,
        device,
        log=head.log,
        progress=head.progress,
        label=head.label,
    )
    return result, {k: v.detach().cpu() for k, v in model.state_dict().items()}


@torch.no_grad()
def score_heads(
    heads: Sequence[Head],
    n: int,
    device: torch.device,
    *,
    limit: int | None = None,
    chunk: int = 256,
) -> list[np.ndarray]:
    """Per-image losses ``(n,)`` (float32) of each head (trained models, eval mode, fp32)
    on examples ``0..n-1`` of its inputs and labels; one forward pass per pack and chunk."""
    out: list[np.ndarray | None] = [None] * len(heads)
    models = [h.model for h in heads]
    cap = limit or (lambda m: pack_limit(m, chunk, device))
    for pack_ids in pack_groups(models, cap):
        chosen = [heads[i] for i in pack_ids]
        try:
            pack = PackedHeads([h.model for h in chosen]).to(device).eval()
        except PackError:  # came alone (pack_groups): score it as it is
            (i,) = pack_ids
            out[i] = _score_alone(chosen[0], n, device, chunk)
            continue
        labels = _Labels(pack, chosen)
        parts = []
        for start in range(0, n, chunk):
            at = torch.arange(start, min(start + chunk, n), device=device)
            ix = at.expand(len(chosen), -1)
            parts.append(pack.losses(pack(_inputs(chosen, ix)), labels(ix)).float().cpu())
        losses = torch.cat(parts, 1).numpy().astype(np.float32)
        for j, i in enumerate(pack_ids):
            out[i] = losses[j]
    return [r for r in out if r is not None]


def _score_alone(head: Head, n: int, device: torch.device, chunk: int) -> np.ndarray:
    at = torch.arange(n, device=device)
    inputs = _take(head.inputs, at).permute(0, 3, 1, 2).float()
    return per_image_losses(
        head.model, inputs, _take(head.labels, at), head.model.task, device, chunk
    )
