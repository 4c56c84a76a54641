"""Decoders per output kind: from a ``C x h x w`` tensor to a label of the task's shape.

Dense kinds upsample with 2x2 stride-2 transposed convolutions (cheap on a CPU, exact
doubling) back to the image size; image-level kinds flatten a narrow conv's map into a fully
connected layer. Classification decoders return logits.
"""

from __future__ import annotations

from torch import Tensor, nn

from taskonomy.models.config import ModelConfig, ModelError
from taskonomy.models.encoders import conv_bn
from taskonomy.models.losses import check_supported
from taskonomy.tasks.bank import OutputKind, TaskInfo


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 2, 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class DenseDecoder(nn.Module):
    """``(B, cin, h, w)`` -> ``(B, channels, h * stride, w * stride)``.

    A 3x3 conv, then one transposed-conv doubling per factor two of ``stride`` (halving the
    width each time, at least 8 channels), then a 3x3 conv to the output channels.
    """

    def __init__(self, cin: int, channels: int, stride: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn(cin, width)]
        c = width
        for _ in range(stride.bit_length() - 1):
            layers.append(_up(c, max(8, c // 2)))
            c = max(8, c // 2)
        layers.append(nn.Conv2d(c, channels, 3, 1, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.layers(x)
        return out


#: Channels the image decoder's conv keeps before its fully connected layer.
SPATIAL_CHANNELS = 8


class ImageDecoder(nn.Module):
    """``(B, cin, h, w)`` -> ``(B, channels)``: a 3x3 conv to :data:`SPATIAL_CHANNELS`,
    then a fully connected layer over the flattened ``SPATIAL_CHANNELS x h x w`` map.

    Flattening, not pooling, keeps *where* things are: low-dimensional geometric tasks
    (room layout, vanishing points) are read from the positions of edges and corners,
    which a global average pool would erase (the paper's low-dimensional decoders are
    fully connected over the representation, too).
    """

    def __init__(self, cin: int, channels: int, size: int) -> None:
        super().__init__()
        self.conv = conv_bn(cin, SPATIAL_CHANNELS)
        self.flat = nn.Flatten(1)
        self.fc = nn.Linear(SPATIAL_CHANNELS * size * size, channels)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fc(self.flat(self.conv(x)))
        return out


def build_decoder(task: TaskInfo, cin: int, config: ModelConfig) -> nn.Module:
    """A fresh decoder of ``task``'s output kind reading ``cin`` channels at the
    representation's resolution.

    Raises:
        ModelError: the task has no output (random projection) or an unsupported loss.
    """
    check_supported(task)
    if task.output in (OutputKind.DENSE_REGRESSION, OutputKind.DENSE_CLASSIFICATION):
        return DenseDecoder(cin, task.channels, config.stride, config.decoder_width)
    if task.output in (
        OutputKind.IMAGE_CLASSIFICATION,
        OutputKind.IMAGE_MULTILABEL,
        OutputKind.IMAGE_DISTRIBUTION,
        OutputKind.IMAGE_REGRESSION,
    ):
        return ImageDecoder(cin, task.channels, config.representation_size)
    raise ModelError(f"no decoder for output kind {task.output.value!r} of task {task.name!r}")
