"""The training loop: it learns, it is deterministic, and resuming changes nothing."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from taskonomy.models import ModelConfig, ModelError, TrainConfig, build_readout, fit
from taskonomy.models.device import plan_precision, resolve_device
from taskonomy.models.losses import training_loss
from taskonomy.tasks.bank import BUILTIN_TASKS

CFG = ModelConfig(
    width=4,
    blocks=(1, 1),
    image_size=16,
    representation_channels=4,
    representation_size=4,
    readout_hidden=8,
    decoder_width=8,
)
TASK = BUILTIN_TASKS["rgb2depth"]
CPU = torch.device("cpu")

# A learnable problem: the label is a fixed function of the input features.
_gen = torch.Generator().manual_seed(0)
FEATURES = torch.randn(64, 4, 4, 4, generator=_gen)
LABELS = torch.nn.functional.interpolate(FEATURES[:, :1].sigmoid(), scale_factor=4)


def batch(step: int) -> tuple[Tensor, Tensor]:
    idx = torch.from_numpy(np.random.default_rng([7, step]).choice(64, 16, replace=False))
    return FEATURES[idx], LABELS[idx]


def loss(pred: Tensor, labels: Tensor) -> Tensor:
    return training_loss(pred, labels, TASK)


def train(steps: int, seed: int = 0, **kwargs: object) -> nn.Module:
    model = build_readout(CFG, TASK, 1, seed=seed)
    fit(model, batch, loss, TrainConfig(steps=steps, lr=1e-2, seed=seed), CPU, **kwargs)  # type: ignore[arg-type]
    return model


def weights(model: nn.Module) -> list[Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


def test_training_reduces_the_loss() -> None:
    model = build_readout(CFG, TASK, 1, seed=0)
    with torch.no_grad():
        before = loss(model.eval()(FEATURES), LABELS).item()
    result = fit(model, batch, loss, TrainConfig(steps=40, lr=1e-2), CPU)
    with torch.no_grad():
        after = loss(model.eval()(FEATURES), LABELS).item()
    assert after < 0.5 * before
    assert result.steps == 40 and result.final_loss < before
    assert result.device == "cpu" and result.images_per_s > 0


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = weights(train(8)), weights(train(8)), weights(train(8, seed=1))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))


class Crash(Exception):
    pass


def test_resume_from_checkpoint_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.pt"
    reference = weights(train(12))

    def crashing(step: int) -> tuple[Tensor, Tensor]:
        if step == 9:
            raise Crash
        return batch(step)

    model = build_readout(CFG, TASK, 1, seed=0)
    with pytest.raises(Crash):
        fit(
            model,
            crashing,
            loss,
            TrainConfig(steps=12, lr=1e-2),
            CPU,
            checkpoint=ckpt,
            checkpoint_every=4,
        )
    assert ckpt.is_file()  # steps 4 and 8 were checkpointed
    fresh = build_readout(CFG, TASK, 1, seed=0)
    result = fit(
        fresh, batch, loss, TrainConfig(steps=12, lr=1e-2), CPU, checkpoint=ckpt, checkpoint_every=4
    )
    assert result.resumed_from == 8
    assert not ckpt.exists()
    assert all(torch.equal(x, y) for x, y in zip(reference, weights(fresh), strict=True))


def test_preemption_signal_checkpoints_then_reaches_the_previous_handler(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.pt"
    seen: list[int] = []
    previous = signal.signal(signal.SIGUSR2, lambda signum, frame: seen.append(signum))

    def signalling(step: int) -> tuple[Tensor, Tensor]:
        if step == 2:
            os.kill(os.getpid(), signal.SIGUSR2)
        if step == 5:
            raise Crash  # the job is killed after the signal, as SLURM does
        return batch(step)

    try:
        model = build_readout(CFG, TASK, 1, seed=0)
        with pytest.raises(Crash):
            fit(
                model,
                signalling,
                loss,
                TrainConfig(steps=10, lr=1e-2),
                CPU,
                checkpoint=ckpt,
                checkpoint_every=100,
            )
        assert seen == [signal.SIGUSR2]
        assert torch.load(ckpt, weights_only=True)["step"] == 3
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_loss_is_logged_and_progress_reported(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[int, int, str]] = []
    model = build_readout(CFG, TASK, 1, seed=0)
    with caplog.at_level(logging.INFO, logger="t"):
        fit(
            model,
            batch,
            loss,
            TrainConfig(steps=20),
            CPU,
            log=logging.getLogger("t"),
            progress=lambda s, t, m: calls.append((s, t, m)),
        )
    assert sum("loss" in r.message for r in caplog.records) == 10
    assert calls[-1] == (20, 20, "train")


def test_diverging_loss_is_an_error() -> None:
    model = build_readout(CFG, TASK, 1, seed=0)

    def bad(step: int) -> tuple[Tensor, Tensor]:
        return FEATURES[:4] * float("nan"), LABELS[:4]

    with pytest.raises(ModelError, match="lower the learning rate"):
        fit(model, bad, loss, TrainConfig(steps=10), CPU)


def test_devices_and_precision_plans() -> None:
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert plan_precision(CPU, "fp16").precision == "fp32"
    assert "CUDA" in plan_precision(CPU, "fp16").note
    assert plan_precision(CPU, "bf16").dtype is torch.bfloat16
    if not torch.cuda.is_available():
        from taskonomy.models import DeviceError

        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_bf16_autocast_trains_on_cpu() -> None:
    model = build_readout(CFG, TASK, 1, seed=0)
    result = fit(model, batch, loss, TrainConfig(steps=3, precision="bf16"), CPU)
    assert result.precision == "bf16" and np.isfinite(result.final_loss)
