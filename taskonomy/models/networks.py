"""Task networks, transfer readouts and the scratch baseline, and their files.

* :class:`TaskNetwork`: Stage I's encoder + decoder of one source task; downstream jobs
  use only its frozen encoder. The random projection has an encoder and no decoder.
* :class:`ReadoutModel`: Stage II's transfer function (docs/method.md): the frozen
  representations of ``k`` sources concatenated channel-wise (``k * C`` channels), two
  3x3 conv layers with batch norm, then a fresh decoder of the target's kind. With a
  ``stem`` it is the scratch ("pixels") baseline: a tiny conv stem turns the image into a
  tensor of the representation's shape and feeds the same readout.

Files are ``torch.save`` of plain dicts (config, task metadata, state dict), loadable
with ``weights_only=True``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from taskonomy.models.config import ModelConfig, ModelError, task_from_dict, task_to_dict
from taskonomy.models.decoders import build_decoder
from taskonomy.models.encoders import ScratchStem, build_encoder, conv_bn
from taskonomy.tasks.bank import OutputKind, TaskInfo

FILE_FORMAT = 2  # 2: image decoders are fully connected over the flattened map


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded, restoring it afterwards.

    Used around model construction so that initial weights depend on the job's seed
    only (not on what ran before in the process). Never touches CUDA generators.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class TaskNetwork(nn.Module):
    """A source task's encoder and (unless the task has no output) its decoder."""

    def __init__(self, config: ModelConfig, task: TaskInfo) -> None:
        super().__init__()
        self.config = config
        self.task = task
        self.encoder = build_encoder(config)
        self.decoder: nn.Module | None = (
            None
            if task.output is OutputKind.NONE
            else build_decoder(task, config.representation_channels, config)
        )

    def encode(self, images: Tensor) -> Tensor:
        """The representation ``(B, C, h, w)``."""
        out: Tensor = self.encoder(images)
        return out

    def forward(self, images: Tensor) -> Tensor:
        if self.decoder is None:
            raise ModelError(
                f"task {self.task.name!r} has no decoder (an untrained source); it can only "
                "encode images"
            )
        out: Tensor = self.decoder(self.encoder(images))
        return out


class Readout(nn.Module):
    """Two 3x3 conv layers with batch norm over the concatenated representations."""

    def __init__(self, cin: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(conv_bn(cin, hidden), conv_bn(hidden, hidden))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.layers(x)
        return out


class ReadoutModel(nn.Module):
    """A transfer function of order ``n_inputs``, or (``stem=True``) the scratch baseline.

    Input: ``(B, n_inputs * C, h, w)`` concatenated representations, or ``(B, 3, H, W)``
    images when ``stem`` is set. Output: the target's prediction.
    """

    def __init__(self, config: ModelConfig, task: TaskInfo, n_inputs: int, stem: bool) -> None:
        super().__init__()
        if n_inputs < 1:
            raise ModelError(f"a readout needs at least one input representation, got {n_inputs}")
        self.config = config
        self.task = task
        self.n_inputs = n_inputs
        self.stem: nn.Module | None = ScratchStem(config) if stem else None
        cin = config.representation_channels * n_inputs
        self.readout = Readout(cin, config.readout_hidden)
        self.decoder = build_decoder(task, config.readout_hidden, config)

    def forward(self, x: Tensor) -> Tensor:
        if self.stem is not None:
            x = self.stem(x)
        out: Tensor = self.decoder(self.readout(x))
        return out


def build_task_network(config: ModelConfig, task: TaskInfo, seed: int) -> TaskNetwork:
    """A freshly initialised task network; the weights depend on ``seed`` only."""
    with seeded(seed):
        return TaskNetwork(config, task)


def build_readout(
    config: ModelConfig, task: TaskInfo, n_inputs: int, seed: int, *, stem: bool = False
) -> ReadoutModel:
    """A freshly initialised readout (or scratch model); the weights depend on ``seed``."""
    with seeded(seed):
        return ReadoutModel(config, task, n_inputs, stem)


def save_model(
    model: TaskNetwork | ReadoutModel,
    path: Path,
    extra: Mapping[str, str | list[str]] | None = None,
) -> None:
    """Write ``model`` (config, task, weights on the CPU, and ``extra`` strings)."""
    payload: dict[str, Any] = {
        "format": FILE_FORMAT,
        "kind": "task_network" if isinstance(model, TaskNetwork) else "readout",
        "config": model.config.to_dict(),
        "task": task_to_dict(model.task),
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }
    if isinstance(model, ReadoutModel):
        payload["n_inputs"] = model.n_inputs
        payload["stem"] = model.stem is not None
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _read(path: Path, kind: str) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        msg = f"cannot read model file {path}: {exc}; rerun the job that wrote it"
        raise ModelError(msg) from exc
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ModelError(f"{path} is not a model file of format {FILE_FORMAT}; rerun its job")
    if payload.get("kind") != kind:
        raise ModelError(f"{path} holds a {payload.get('kind')!r}, not a {kind!r}")
    return payload


def load_task_network(path: Path) -> TaskNetwork:
    """A task network written by :func:`save_model`, on the CPU, in eval mode."""
    payload = _read(path, "task_network")
    net = TaskNetwork(ModelConfig.from_dict(payload["config"]), task_from_dict(payload["task"]))
    net.load_state_dict(payload["state"])
    return net.eval()


def load_readout(path: Path) -> tuple[ReadoutModel, dict[str, Any]]:
    """A readout written by :func:`save_model` (CPU, eval mode) and its ``extra`` strings."""
    payload = _read(path, "readout")
    model = ReadoutModel(
        ModelConfig.from_dict(payload["config"]),
        task_from_dict(payload["task"]),
        int(payload["n_inputs"]),
        bool(payload["stem"]),
    )
    model.load_state_dict(payload["state"])
    return model.eval(), dict(payload["extra"])
