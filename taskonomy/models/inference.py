"""Batched forward passes without gradients: representations and per-image test losses."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from taskonomy.models.losses import per_image_loss
from taskonomy.tasks.bank import TaskInfo


@torch.no_grad()
def encode_all(
    encoder: nn.Module, images: Tensor, device: torch.device, batch_size: int = 256
) -> Tensor:
    """``encoder`` (in eval mode) over ``images`` in batches: a float32 CPU tensor."""
    encoder.eval()
    parts = [
        encoder(images[i : i + batch_size].to(device)).float().cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(parts)


@torch.no_grad()
def per_image_losses(
    model: nn.Module,
    inputs: Tensor,
    labels: Tensor,
    task: TaskInfo,
    device: torch.device,
    batch_size: int = 256,
) -> np.ndarray:
    """``model`` (in eval mode, fp32) scored on every image: float32 ``(N,)``."""
    model.eval()
    parts = [
        per_image_loss(
            model(inputs[i : i + batch_size].to(device)),
            labels[i : i + batch_size].to(device),
            task,
        ).cpu()
        for i in range(0, len(inputs), batch_size)
    ]
    return torch.cat(parts).numpy().astype(np.float32)
