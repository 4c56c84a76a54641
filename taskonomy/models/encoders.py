"""Encoders: a ResNet trunk ending in the compact frozen representation (docs/method.md).

Both families end in a 3x3 conv to ``representation_channels`` and a batch norm, so a
representation is standardised per channel (which also keeps it well inside fp16's range
for the feature cache). The scratch baseline's tiny stem has the same output shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from taskonomy.models.config import ModelConfig


def conv_bn(
    cin: int,
    cout: int,
    *,
    kernel: int = 3,
    stride: int = 1,
    groups: int = 1,
    relu: bool = True,
) -> nn.Sequential:
    """Conv (no bias) + batch norm (+ ReLU); ``cin``/``cout`` are per group."""
    layers: list[nn.Module] = [
        nn.Conv2d(
            cin * groups,
            cout * groups,
            kernel,
            stride,
            kernel // 2,
            bias=False,
            groups=groups,
        ),
        nn.BatchNorm2d(cout * groups),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """The two-conv residual block of ResNet-18/34."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, cout, stride=stride), conv_bn(cout, cout, relu=False)
        )
        self.shortcut: nn.Module = (
            nn.Identity()
            if cin == cout and stride == 1
            else conv_bn(cin, cout, kernel=1, stride=stride, relu=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


def _halvings(stride: int) -> int:
    return stride.bit_length() - 1


class ResNetMini(nn.Module):
    """A small ResNet: 3x3 stem, ``len(blocks)`` stages doubling the width, projection.

    The stem and then the first stages each halve the resolution until the configured
    representation stride is reached; later stages keep the resolution.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        halvings = _halvings(config.stride)
        self.stem = conv_bn(3, config.width, stride=2 if halvings >= 1 else 1)
        stages: list[nn.Module] = []
        cin = config.width
        for i, count in enumerate(config.blocks):
            cout = config.width * 2**i
            stride = 2 if 1 <= i < halvings else 1
            blocks = [BasicBlock(cin, cout, stride)]
            blocks += [BasicBlock(cout, cout, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.project = conv_bn(cin, config.representation_channels, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.project(self.stages(self.stem(x)))
        return out


class ResNet50Trunk(nn.Module):
    """torchvision's ResNet-50 (random init, ``weights=None``) without pool and classifier.

    The paper's 16x16 representation at 256 px is stride 16: the last stage is dilated
    instead of strided (``replace_stride_with_dilation``); stride 8 dilates two stages.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        from torchvision.models import resnet50  # heavy import, only when used

        dilate = {32: [False, False, False], 16: [False, False, True], 8: [False, True, True]}
        net = resnet50(weights=None, replace_stride_with_dilation=dilate[config.stride])
        layers = [net.conv1, net.bn1, net.relu, net.maxpool]
        self.trunk = nn.Sequential(*layers, net.layer1, net.layer2, net.layer3, net.layer4)
        self.project = conv_bn(2048, config.representation_channels, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.project(self.trunk(x))
        return out


class ScratchStem(nn.Module):
    """The "pixels" baseline's tiny conv stem: strided 3x3 convs to the representation shape."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i in range(max(1, _halvings(config.stride))):
            cout = min(config.scratch_width * 2**i, 64)
            layers.append(conv_bn(cin, cout, stride=2 if config.stride > 1 else 1))
            cin = cout
        layers.append(conv_bn(cin, config.representation_channels, relu=False))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.layers(x)
        return out


def build_encoder(config: ModelConfig) -> nn.Module:
    """The encoder of ``config.family``: ``(B, 3, S, S)`` -> ``(B, C, h, w)``."""
    if config.family == "resnet50":
        return ResNet50Trunk(config)
    return ResNetMini(config)


@torch.no_grad()
def calibrate_batch_norm(module: nn.Module, batches: list[Tensor]) -> None:
    """Set every batch norm's running statistics to the averages over ``batches``.

    Used for encoders that get no training step (the random projection): without it,
    their representation keeps the initial statistics and arbitrary scale.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    was_training = module.training
    module.train()
    for batch in batches:
        module(batch)
    module.train(was_training)
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
