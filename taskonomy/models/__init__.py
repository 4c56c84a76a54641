"""Encoders, decoders, transfer readouts (alone or as packed heads), losses and training.

Nothing here touches CUDA at import; devices are resolved when a job runs.
"""

from taskonomy.models.config import ModelConfig, ModelError, TrainConfig
from taskonomy.models.device import (
    DeviceError,
    allotted_cpus,
    configure_threads,
    resolve_device,
)
from taskonomy.models.losses import per_image_loss, training_loss
from taskonomy.models.multihead import Head, fit_heads, score_heads
from taskonomy.models.networks import (
    ReadoutModel,
    TaskNetwork,
    build_readout,
    build_task_network,
    load_readout,
    load_task_network,
    save_model,
)
from taskonomy.models.packed import PackedHeads
from taskonomy.models.train import FitResult, fit

__all__ = [
    "DeviceError",
    "FitResult",
    "Head",
    "ModelConfig",
    "ModelError",
    "PackedHeads",
    "ReadoutModel",
    "TaskNetwork",
    "TrainConfig",
    "allotted_cpus",
    "build_readout",
    "build_task_network",
    "configure_threads",
    "fit",
    "fit_heads",
    "load_readout",
    "load_task_network",
    "per_image_loss",
    "resolve_device",
    "save_model",
    "score_heads",
    "training_loss",
]
