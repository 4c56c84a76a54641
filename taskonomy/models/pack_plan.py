"""Which readouts pack together, and the ops a pack runs (:mod:`taskonomy.models.packed`).

A readout is read back into its layers in forward order (:func:`_leaves`) and matched
against the few patterns the packed model implements: conv + batch norm (+ ReLU), 2x2
stride-2 transposed conv + batch norm (+ ReLU), and a 3x3 output conv or a flattened
linear layer. Readouts whose layers match with equal shapes everywhere but the output
layer (:func:`signature`) pack; anything else raises :class:`PackError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from torch import nn

from taskonomy.models.config import ModelError
from taskonomy.models.decoders import DenseDecoder, ImageDecoder
from taskonomy.models.encoders import ScratchStem
from taskonomy.models.networks import Readout, ReadoutModel


class PackError(ModelError):
    """These readouts cannot run as one packed model (train them one at a time)."""


def _leaves(model: ReadoutModel) -> list[tuple[str, nn.Module]]:
    """The model's layers in forward order, with their state-dict prefixes."""
    out: list[tuple[str, nn.Module]] = []

    def walk(prefix: str, m: nn.Module) -> None:
        if isinstance(m, nn.Sequential):
            for name, child in m.named_children():
                walk(f"{prefix}{name}.", child)
        elif isinstance(m, ImageDecoder):
            walk(prefix + "conv.", m.conv)
            out.extend([(prefix + "flat", m.flat), (prefix + "fc", m.fc)])
        elif isinstance(m, (Readout, DenseDecoder, ScratchStem)):
            walk(prefix + "layers.", m.layers)
        else:
            out.append((prefix.rstrip("."), m))

    if model.stem is not None:
        walk("stem.", model.stem)
    walk("readout.", model.readout)
    walk("decoder.", model.decoder)
    return out


@dataclass(frozen=True)
class Op:
    """One step of a pack's forward pass."""

    kind: str  # conv | bn | up | dense | image
    key: str  # state-dict prefix of the (first) module
    stride: int = 1
    padding: int = 0
    relu: bool = False
    bn: str = ""  # up: the batch norm after the transposed conv
    momentum: float = 0.1
    eps: float = 1e-5


def plan(model: ReadoutModel) -> tuple[list[Op], str]:
    """The packed ops of ``model`` and the state-dict prefix of its output layer."""
    leaves = _leaves(model)
    ops: list[Op] = []
    i, n = 0, len(leaves)

    def bn_after(j: int) -> tuple[nn.BatchNorm2d, bool]:
        if j >= n or not isinstance(leaves[j][1], nn.BatchNorm2d):
            raise PackError(f"{leaves[j - 1][0]} is not followed by a batch norm")
        relu = j + 1 < n and isinstance(leaves[j + 1][1], nn.ReLU)
        return leaves[j][1], relu  # type: ignore[return-value]

    while i < n:
        key, m = leaves[i]
        last = i == n - 1
        if isinstance(m, nn.Conv2d) and last:
            if m.kernel_size != (3, 3) or m.stride != (1, 1) or m.padding != (1, 1):
                raise PackError(f"{key}: only a 3x3 same-size output conv packs")
            ops.append(Op("dense", key))
            return ops, key
        if (
            isinstance(m, nn.Conv2d)
            and m.groups == 1
            and m.dilation == (1, 1)
            and isinstance(m.padding, tuple)
        ):
            norm, relu = bn_after(i + 1)
            ops.append(Op("conv", key, stride=m.stride[0], padding=m.padding[0]))
            ops.append(
                Op("bn", leaves[i + 1][0], relu=relu, eps=norm.eps, momentum=norm.momentum or 0.1)
            )
            i += 3 if relu else 2
        elif ops and ops[-1].kind == "up" and not isinstance(m, nn.ConvTranspose2d):
            raise PackError(f"{key}: only upsamplings and the output conv may follow one")
        elif isinstance(m, nn.ConvTranspose2d) and m.kernel_size == (2, 2) and m.stride == (2, 2):
            if m.bias is not None or m.padding != (0, 0) or m.groups != 1:
                raise PackError(f"{key}: only bias-free 2x2 stride-2 transposed convs pack")
            norm, relu = bn_after(i + 1)
            ops.append(
                Op(
                    "up",
                    key,
                    relu=relu,
                    bn=leaves[i + 1][0],
                    eps=norm.eps,
                    momentum=norm.momentum or 0.1,
                )
            )
            i += 3 if relu else 2
        elif isinstance(m, nn.Flatten) and i == n - 2 and isinstance(leaves[-1][1], nn.Linear):
            ops.append(Op("image", leaves[-1][0]))
            return ops, leaves[-1][0]
        else:
            raise PackError(f"{key}: a {type(m).__name__} here does not pack")
    raise PackError("the readout has no output layer")


def signature(model: ReadoutModel) -> tuple[object, ...]:
    """Heads with equal signatures pack: equal shapes everywhere but the output layer."""
    ops, head = plan(model)
    shapes = tuple(
        (k, tuple(v.shape)) for k, v in model.state_dict().items() if not k.startswith(head + ".")
    )
    return (tuple(ops), shapes)


def pack_groups(
    models: Sequence[ReadoutModel], limit: int | Callable[[ReadoutModel], int]
) -> list[list[int]]:
    """Indices of ``models`` in packs of at most ``limit`` (or ``limit(model)`` of the
    pack's first model): equal architectures together, heads of one target adjacent, as
    few packs as the limit allows, of even sizes. Models that cannot pack come alone."""
    by_sig: dict[tuple[object, ...], list[int]] = {}
    alone: list[list[int]] = []
    for i, m in enumerate(models):
        try:
            by_sig.setdefault(signature(m), []).append(i)
        except PackError:
            alone.append([i])
    packs = []
    for members in by_sig.values():
        members.sort(key=lambda i: models[i].task.name)
        cap = max(1, limit if isinstance(limit, int) else limit(models[members[0]]))
        count = -(-len(members) // cap)
        size = -(-len(members) // count)
        packs += [members[j : j + size] for j in range(0, len(members), size)]
    return packs + alone
