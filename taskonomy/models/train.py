"""The training loop shared by every training job: AdamW, seeded, resumable.

Batches are a pure function of the step (callers draw them from
``numpy.random.default_rng([seed, step])``), so a run resumed from a checkpoint at step
``k`` sees exactly the batches an uninterrupted run would, and ends with the same
weights. A checkpoint holds the model, optimiser and gradient-scaler states; it is
written every ``checkpoint_every`` steps and, when SIGUSR2 or SIGTERM arrives (SLURM's
preemption warning), at the next step boundary before the signal's previous handler
runs.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from torch import Tensor, nn

from taskonomy.models.config import ModelError, TrainConfig
from taskonomy.models.device import autocast, make_scaler, plan_precision

#: ``batch(step) -> (inputs, labels)`` on the training device.
BatchFn = Callable[[int], tuple[Tensor, Tensor]]
#: ``loss(prediction, labels) -> scalar``.
LossFn = Callable[[Tensor, Tensor], Tensor]
ProgressFn = Callable[[int, int, str], None]

_SIGNALS = (signal.SIGUSR2, signal.SIGTERM)


@dataclass(frozen=True)
class FitResult:
    """What a training run did, for the artifact's manifest.

    Attributes:
        steps: optimiser steps of the whole run (resumed ones included).
        final_loss: mean training loss over the last tenth of the steps (NaN for 0 steps).
        seconds: wall time of this process's part of the run.
        images_per_s: training images per second in this process.
        device: the torch device trained on.
        precision: the effective precision; ``note`` says why it differs from the request.
        resumed_from: the step a checkpoint resumed from (0 when none).
    """

    steps: int
    final_loss: float
    seconds: float
    images_per_s: float
    device: str
    precision: str
    note: str
    resumed_from: int

    def as_meta(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "final_train_loss": self.final_loss,
            "seconds": round(self.seconds, 3),
            "images_per_s": round(self.images_per_s, 1),
            "device": self.device,
            "precision": self.precision,
            "precision_note": self.note,
            "resumed_from": self.resumed_from,
        }


class _SignalFlag:
    """Remembers a preemption signal until the loop can checkpoint at a step boundary."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.previous: dict[int, Any] = {}

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum

    @contextlib.contextmanager
    def installed(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        for sig in _SIGNALS:
            self.previous[sig] = signal.signal(sig, self.handler)
        try:
            yield
        finally:
            self.restore()

    def restore(self) -> None:
        for sig, old in self.previous.items():
            signal.signal(sig, old)
        self.previous.clear()

    def forward(self) -> None:
        """Give the remembered signal to whoever handled it before the loop."""
        signum, self.signum = self.signum, None
        if signum is not None and self.previous:
            self.restore()
            signal.raise_signal(signum)


def _save_checkpoint(
    path: Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
        },
        tmp,
    )
    tmp.replace(path)


def _load_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
) -> int:
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        return int(state["step"])
    except (OSError, RuntimeError, KeyError, EOFError) as exc:
        raise ModelError(
            f"cannot resume from checkpoint {path}: {exc}; delete it to train from scratch"
        ) from exc


def fit(
    model: nn.Module,
    batch: BatchFn,
    loss_fn: LossFn,
    config: TrainConfig,
    device: torch.device,
    *,
    checkpoint: Path | None = None,
    checkpoint_every: int = 50,
    log: logging.Logger | None = None,
    progress: ProgressFn | None = None,
    label: str = "train",
) -> FitResult:
    """Train ``model`` (already on ``device``) for ``config.steps`` AdamW steps.

    Args:
        model: the network; left in train mode on ``device``.
        batch: the batch of each step, a pure function of the step.
        loss_fn: the scalar training loss.
        config: optimisation settings.
        device: where ``model`` and the batches live.
        checkpoint: a file to resume from if present and to checkpoint into; removed
            after the last step. None trains without checkpoints.
        checkpoint_every: steps between checkpoints.
        log: receives the loss about every 10% of the steps.
        progress: ``progress(step, total, message)``.
        label: names the run in log lines.
    """
    plan = plan_precision(device, config.precision)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
    )
    scaler = make_scaler(device, plan)
    total = config.steps
    start = 0
    if checkpoint is not None and checkpoint.is_file():
        start = _load_checkpoint(checkpoint, model, optimizer, scaler, device)
        if log:
            log.info("%s: resumed from %s at step %d", label, checkpoint, start)
    if plan.note and log:
        log.warning("%s: %s", label, plan.note)
    report = max(1, total // 10)
    tick = max(1, total // 50)
    window = max(1, total // 10)
    loss_sum = torch.zeros((), device=device)
    flag = _SignalFlag()
    model.train()
    began = time.perf_counter()
    images = 0
    with flag.installed(checkpoint is not None):
        for step in range(start, total):
            inputs, labels = batch(step)
            with autocast(device, plan):
                pred = model(inputs)
            loss = loss_fn(pred, labels)
            optimizer.zero_grad(set_to_none=True)
            scaled: Tensor = scaler.scale(loss)
            torch.autograd.backward(scaled)
            scaler.step(optimizer)
            scaler.update()
            images += len(inputs)
            if step >= total - window:
                loss_sum += loss.detach().float()
            done = step + 1
            if done % report == 0 or done == total:
                value = float(loss.detach())
                if value != value or abs(value) == float("inf"):
                    raise ModelError(
                        f"{label}: the loss is {value} at step {done}; lower the learning rate "
                        "or use fp32 precision"
                    )
                if log:
                    log.info("%s: step %d/%d loss %.5f", label, done, total, value)
            if progress and (done % tick == 0 or done == total):
                progress(done, total, label)
            if checkpoint is not None and (done % checkpoint_every == 0 or flag.signum):
                if done < total:
                    _save_checkpoint(checkpoint, done, model, optimizer, scaler)
                flag.forward()
    seconds = time.perf_counter() - began
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    counted = max(0, total - max(start, total - window))
    final = float(loss_sum) / counted if counted else float("nan")
    return FitResult(
        steps=total,
        final_loss=final,
        seconds=seconds,
        images_per_s=images / seconds if seconds > 0 else 0.0,
        device=str(device),
        precision=plan.precision,
        note=plan.note,
        resumed_from=start,
    )
