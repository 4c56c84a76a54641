"""Encoders, decoders, transfer readouts, losses and the training loop (needs torch).

Nothing here touches CUDA at import; devices are resolved when a job runs.
"""

from taskonomy.models.config import ModelConfig, ModelError, TrainConfig
from taskonomy.models.device import DeviceError, configure_threads, resolve_device
from taskonomy.models.losses import per_image_loss, training_loss
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

__all__ = [
    "DeviceError",
    "FitResult",
    "ModelConfig",
    "ModelError",
    "ReadoutModel",
    "TaskNetwork",
    "TrainConfig",
    "build_readout",
    "build_task_network",
    "configure_threads",
    "fit",
    "load_readout",
    "load_task_network",
    "per_image_loss",
    "resolve_device",
    "save_model",
    "training_loss",
]
