"""Model and training settings, as plain frozen values built from a job's params.

The mini preset (``examples/mini.yaml``) feeds 32 px images and keeps an ``8 x 8 x 8``
representation (stride 4). The paper's 16 x 16 x 8 at 256 px is stride 16; scaled
proportionally to 32 px that would leave a 2 x 2 grid, too coarse for the dense decoders
to place edges and object boundaries. Stride 4 keeps the grid useful while the
representation (512 numbers for 3,072 pixel values, 6x smaller) stays a bottleneck
(docs/method.md, Stage I).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from taskonomy.errors import TaskonomyError
from taskonomy.tasks.bank import InputTransform, Loss, OutputKind, Role, TaskInfo
from taskonomy.tasks.families import Family

EncoderFamily = Literal["resnet_mini", "resnet50"]
Precision = Literal["fp32", "bf16", "fp16"]
DeviceName = Literal["auto", "cpu", "cuda"]

_FAMILIES: tuple[str, ...] = ("resnet_mini", "resnet50")
_PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
_DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: Representation strides torchvision's ResNet-50 reaches by dilating its last stages.
RESNET50_STRIDES: tuple[int, ...] = (8, 16, 32)


class ModelError(TaskonomyError, ValueError):
    """A model setting, an input array or a task cannot be used by the models."""


def _positive(name: str, value: int | float) -> None:
    if value <= 0:
        raise ModelError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of encoders, readouts and decoders.

    Attributes:
        family: ``resnet_mini`` (a small configurable ResNet) or ``resnet50`` (torchvision's
            ResNet-50 trunk, as in the paper; ``width`` and ``blocks`` do not apply to it).
        width: channels of the first ``resnet_mini`` stage; each later stage doubles them.
        blocks: residual blocks per ``resnet_mini`` stage.
        image_size: side of the square input images in pixels.
        representation_channels: channels ``C`` of the frozen representation (paper: 8).
        representation_size: its side ``h = w`` (paper: 16 at 256 px; mini: 8 at 64 px).
        readout_hidden: channels of the first of the readout's two conv layers.
        decoder_width: channels of the decoders' conv layers.
        scratch_width: channels of the first layer of the scratch baseline's tiny stem.
    """

    family: EncoderFamily = "resnet_mini"
    width: int = 32
    blocks: tuple[int, ...] = (1, 1, 1)
    image_size: int = 64
    representation_channels: int = 8
    representation_size: int = 8
    readout_hidden: int = 64
    decoder_width: int = 32
    scratch_width: int = 16

    def __post_init__(self) -> None:
        if self.family not in _FAMILIES:
            raise ModelError(f"unknown encoder family {self.family!r}; choose one of {_FAMILIES}")
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if not self.blocks or any(b < 1 for b in self.blocks):
            raise ModelError(f"blocks must be a non-empty list of counts >= 1, got {self.blocks}")
        for name in ("width", "image_size", "representation_channels", "representation_size"):
            _positive(name, getattr(self, name))
        for name in ("readout_hidden", "decoder_width", "scratch_width"):
            _positive(name, getattr(self, name))
        size, rep = self.image_size, self.representation_size
        if size % rep or (size // rep) & (size // rep - 1):
            raise ModelError(
                f"image_size {size} / representation_size {rep} must be a power of two "
                f"(the encoder halves the resolution per stage); e.g. representation_size "
                f"{max(1, size // 8)} for stride 8"
            )
        stride = size // rep
        if self.family == "resnet50" and stride not in RESNET50_STRIDES:
            sizes = [size // s for s in RESNET50_STRIDES if size % s == 0]
            raise ModelError(
                f"resnet50 reaches strides {RESNET50_STRIDES}, not {stride}: with image_size "
                f"{size} use representation_size in {sizes}"
            )
        if self.family == "resnet_mini" and stride > 2 ** len(self.blocks):
            raise ModelError(
                f"resnet_mini with {len(self.blocks)} stages reaches stride at most "
                f"{2 ** len(self.blocks)}, but image_size {size} -> representation_size {rep} "
                f"needs {stride}: add a stage to blocks or raise representation_size"
            )

    @property
    def stride(self) -> int:
        """Pixels per representation cell along each side."""
        return self.image_size // self.representation_size

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-like values (for checkpoints and serialised models)."""
        out = dataclasses.asdict(self)
        out["blocks"] = list(self.blocks)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "blocks": tuple(data["blocks"])})

    @classmethod
    def from_params(cls, model: Mapping[str, Any], image_size: int) -> ModelConfig:
        """From a job's ``model`` params (the spec's ``model`` section as JSON).

        Args:
            model: ``{"encoder": {family, width, blocks}, "representation": {channels,
                size}, "readout": {hidden}}``.
            image_size: the spec's ``dataset.image_size``.
        """
        try:
            enc, rep = model["encoder"], model["representation"]
            return cls(
                family=cast(EncoderFamily, enc["family"]),
                width=int(enc["width"]),
                blocks=tuple(int(b) for b in enc["blocks"]),
                image_size=int(image_size),
                representation_channels=int(rep["channels"]),
                representation_size=int(rep["size"]),
                readout_hidden=int(model["readout"]["hidden"]),
            )
        except (KeyError, TypeError) as exc:
            raise ModelError(
                f"model params lack {exc}; expected the spec's model section "
                "(encoder, representation, readout) as the planner writes it"
            ) from None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one training job (AdamW, constant learning rate).

    Attributes:
        steps: optimiser steps.
        batch_size: images per step (the whole split when the split is smaller).
        lr: learning rate.
        weight_decay: decoupled weight decay.
        precision: ``fp32``, or mixed precision with ``bf16`` / ``fp16`` autocast.
        seed: seeds initialisation, batch order and on-the-fly input transforms.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    precision: Precision = "fp32"
    seed: int = 0
    device: DeviceName = "auto"

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ModelError(f"steps must be >= 0, got {self.steps}")
        _positive("batch_size", self.batch_size)
        _positive("lr", self.lr)
        if self.weight_decay < 0:
            raise ModelError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.precision not in _PRECISIONS:
            raise ModelError(f"unknown precision {self.precision!r}; choose one of {_PRECISIONS}")
        if self.device not in _DEVICES:
            raise ModelError(f"unknown device {self.device!r}; choose one of {_DEVICES}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_params(
        cls, train: Mapping[str, Any], n_train: int, device: str = "auto"
    ) -> TrainConfig:
        """From a job's ``train`` params (``StageTraining`` with a derived int seed).

        ``epochs`` become ``ceil(epochs * n_train / batch_size)`` steps.
        """
        batch = int(train.get("batch_size", 32))
        steps = train.get("steps")
        epochs = train.get("epochs")
        if steps is None:
            if epochs is None:
                raise ModelError("training params give neither steps nor epochs; give one")
            steps = math.ceil(float(epochs) * n_train / max(1, min(batch, n_train)))
        return cls(
            steps=int(steps),
            batch_size=batch,
            lr=float(train.get("lr", 1e-3)),
            weight_decay=float(train.get("weight_decay", 1e-4)),
            precision=cast(Precision, train.get("precision", "fp32")),
            seed=int(train.get("seed", 0)),
            device=cast(DeviceName, device),
        )


def task_to_dict(task: TaskInfo) -> dict[str, Any]:
    """A task's metadata as plain values (enums as their strings), for serialisation."""
    return {f.name: _plain(getattr(task, f.name)) for f in dataclasses.fields(task)}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def task_from_dict(data: dict[str, Any]) -> TaskInfo:
    """Inverse of :func:`task_to_dict`."""
    return TaskInfo(
        **{
            **data,
            "output": OutputKind(data["output"]),
            "loss": Loss(data["loss"]),
            "input_transform": InputTransform(data["input_transform"]),
            "default_role": Role(data["default_role"]),
            "family": None if data.get("family") is None else Family(data["family"]),
        }
    )
