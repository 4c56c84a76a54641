"""Many readouts of one architecture trained and evaluated as ONE model ("packed heads").

Heads that read inputs of the same shape (every first-order transfer, all transfers of
one order, every scratch baseline) differ only in their weights, their data and, for
the last layer, their target. :class:`PackedHeads` stacks each parameter of ``H`` heads
(``(H, *shape)``, one tensor per state-dict key, so packing and unpacking are exact) and
runs them together, with layouts chosen for small channel counts (a readout step is
kernel time, not Python overhead: mkldnn runs a 3x3 conv to one channel at 32 x 32, or
batch norm over 8 channels, far below the machine's speed):

* conv + batch norm (+ ReLU) at the representation's resolution: one grouped conv
  (``groups=H``, channels-last) and torch's batch norm over ``H * C`` channels (statistics
  per head and channel, as alone; its fused channels-last kernel measured quicker than a
  hand-written one);
* each 2x2 stride-2 transposed conv + batch norm + ReLU: one matrix product per head with
  the normalisation folded in, writing sub-pixel phases (nothing is shuffled);
* the output conv: per-tap products and a shift-sum on those phases for up to
  :data:`SHIFT_SUM_CHANNELS` output channels, else a grouped conv on the full-resolution
  image; the image decoder's flattened linear layer as one batched product.

Heads never mix: head ``h`` computes what its
:class:`~taskonomy.models.networks.ReadoutModel` computes, to float rounding (exactly in
float64). Inputs are channels-last ``(B, H * C_in, h, w)`` (:meth:`PackedHeads.stack_inputs`): the
``b``-th example of head ``h`` may be any image, so each head keeps its own minibatches.
Heads of one target are adjacent (:func:`~taskonomy.models.pack_plan.pack_groups` orders
them); the output layer is per target (its channel count and loss are the target's).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from taskonomy.models.losses import per_image_loss
from taskonomy.models.networks import ReadoutModel
from taskonomy.models.pack_plan import Op, PackError, plan, signature
from taskonomy.models.packed_ops import (
    phases_to_axes,
    phases_to_image,
    shift_sum,
    upsample_bn_act,
)
from taskonomy.tasks.bank import OutputKind, TaskInfo

#: Output convs to at most this many channels run as per-tap products and a shift-sum
#: (measured cheapest up to three); wider ones as a grouped conv on the full-res image.
SHIFT_SUM_CHANNELS = 3


def _flat(name: str) -> str:
    return name.replace(".", "__")


class PackedHeads(nn.Module):
    """``H`` readouts of one architecture (heads of one target adjacent) as one model."""

    def __init__(self, models: Sequence[ReadoutModel]) -> None:
        super().__init__()
        if not models:
            raise PackError("no heads to pack")
        self.ops, self.head_key = plan(models[0])
        sig = signature(models[0])
        if any(signature(m) != sig for m in models[1:]):
            raise PackError("the heads differ in architecture")
        self.n = len(models)
        self.tasks: list[TaskInfo] = [m.task for m in models]
        #: ``(start, stop, task)`` per run of heads of one target.
        self.groups: list[tuple[int, int, TaskInfo]] = []
        for i, t in enumerate(self.tasks):
            if self.groups and self.groups[-1][2].name == t.name:
                self.groups[-1] = (self.groups[-1][0], i + 1, t)
            elif any(g[2].name == t.name for g in self.groups):
                raise PackError(f"heads of target {t.name!r} are not adjacent")
            else:
                self.groups.append((i, i + 1, t))
        states = [m.state_dict() for m in models]
        self.keys = list(states[0])
        self.p = nn.ParameterDict()
        params = {k for k, _ in models[0].named_parameters()}
        for k in self.keys:
            if k.endswith("num_batches_tracked"):
                continue
            parts = (
                [[s[k] for s in states[a:z]] for a, z, _ in self.groups]
                if k.startswith(self.head_key + ".")
                else [[s[k] for s in states]]
            )
            for g, part in enumerate(parts):
                name = _flat(k) if len(parts) == 1 else f"g{g}__{_flat(k)}"
                value = torch.stack([t.detach() for t in part]).clone()
                if k in params:
                    self.p[name] = nn.Parameter(value)
                else:
                    self.register_buffer(name, value)
        #: Training forward passes so far (each batch norm's ``num_batches_tracked``).
        self.batches = 0
        self.ups = [op for op in self.ops if op.kind == "up"]
        #: 2x upsamplings before the dense output (its grid has ``4**levels`` phases).
        self.levels = len(self.ups)

    def _buf(self, name: str) -> Tensor:
        out: Tensor = getattr(self, name)
        return out

    def forward(self, x: Tensor) -> list[Tensor]:
        """Channels-last ``(B, H * C_in, h, w)`` -> one prediction per target group:
        ``(H_g, C, f, f, B, h, w)`` on ``f x f`` sub-pixel phases of the ``h x w`` grid
        (dense, :func:`~taskonomy.models.packed_ops.shift_sum`) or ``(H_g, B, C)``."""
        h = self.n
        if self.training:
            self.batches += 1
        grid = x.shape[0], x.shape[2], x.shape[3]
        z: Tensor | None = None  # (H, phases, C, B * h * w) once upsampling began
        for op in self.ops:
            k = _flat(op.key)
            if op.kind == "conv":
                w = self.p[f"{k}__weight"]
                bias = self.p.get(f"{k}__bias")
                x = F.conv2d(
                    x,
                    w.reshape(h * w.shape[1], *w.shape[2:]),
                    None if bias is None else bias.reshape(-1),
                    op.stride,
                    op.padding,
                    groups=h,
                )
                grid = x.shape[0], x.shape[2], x.shape[3]
            elif op.kind == "bn":
                k = _flat(op.key)
                x = F.batch_norm(
                    x,
                    self._buf(f"{k}__running_mean").view(-1),
                    self._buf(f"{k}__running_var").view(-1),
                    self.p[f"{k}__weight"].reshape(-1),
                    self.p[f"{k}__bias"].reshape(-1),
                    self.training,
                    op.momentum,
                    op.eps,
                )
                if op.relu:
                    x = F.relu_(x)
            elif op.kind == "up":
                u = self._per_head(x).unsqueeze(1).contiguous() if z is None else z
                bn = _flat(op.bn)
                last = op is self.ups[-1]  # its ReLU runs fused with the phase reordering
                z = upsample_bn_act(
                    u,
                    self.p[f"{k}__weight"],
                    self.p[f"{bn}__weight"].reshape(-1),
                    self.p[f"{bn}__bias"].reshape(-1),
                    self._buf(f"{bn}__running_mean").view(-1),
                    self._buf(f"{bn}__running_var").view(-1),
                    training=self.training,
                    momentum=op.momentum,
                    eps=op.eps,
                    relu=op.relu and not last,
                )
            elif op.kind == "image":
                return self._image(x, op)
            else:
                return self._dense(x, z, op, grid)
        raise PackError("the packed model has no output layer")  # unreachable: plan() ends with one

    def _per_head(self, x: Tensor) -> Tensor:
        """Channels-last ``(B, H * C, h, w)`` -> ``(H, C, B * h * w)`` (a strided view)."""
        b, hc, hh, ww = x.shape
        return x.permute(0, 2, 3, 1).reshape(b * hh * ww, self.n, hc // self.n).permute(1, 2, 0)

    def _name(self, g: int, key: str) -> str:
        return f"g{g}__{_flat(key)}" if len(self.groups) > 1 else _flat(key)

    def _dense(
        self, x: Tensor, z: Tensor | None, op: Op, grid: tuple[int, int, int]
    ) -> list[Tensor]:
        """The output conv per target group: the taps as one matrix product per head and
        :func:`shift_sum` for few output channels, else a grouped conv on the image."""
        relu = bool(self.ups) and self.ups[-1].relu
        f, (b, hh, ww) = 1 << self.levels, grid
        # split, not slices: its backward is one concatenation, not a zero fill per group
        sizes = [stop - start for start, stop, _ in self.groups]
        zs = [None] * len(sizes) if z is None else torch.split(z, sizes)
        outs = []
        for g, (start, stop, _) in enumerate(self.groups):
            zg = zs[g]
            w = self.p[f"{self._name(g, op.key)}__weight"]  # (Hg, C, Cz, 3, 3)
            bias = self.p.get(f"{self._name(g, op.key)}__bias")
            hg, c, cz = w.shape[:3]
            if c <= SHIFT_SUM_CHANNELS:
                if zg is None:
                    zf = self._per_head(x)[start:stop].contiguous().view(hg, cz, 1, 1, -1)
                else:
                    zf = phases_to_axes(zg, self.levels, relu=relu)
                wf = w.permute(0, 3, 4, 1, 2).reshape(hg, 9 * c, cz)
                p = torch.bmm(wf, zf.reshape(hg, cz, -1))
                out = shift_sum(p.view(hg, 9, c, f, f, *grid))
                outs.append(out if bias is None else out + bias.view(hg, c, 1, 1, 1, 1, 1))
                continue
            if zg is None:
                image = x[:, start * cz : stop * cz]
            else:
                image = phases_to_image(zg, self.levels, grid, relu=relu)
            y = F.conv2d(
                image,
                w.reshape(hg * c, cz, 3, 3),
                None if bias is None else bias.reshape(-1),
                padding=1,
                groups=hg,
            )
            y = y.permute(0, 2, 3, 1).reshape(b, hh, f, ww, f, hg, c)
            outs.append(y.permute(5, 6, 2, 4, 0, 1, 3))  # (Hg, C, f, f, B, h, w)
        return outs

    def _image(self, x: Tensor, op: Op) -> list[Tensor]:
        b = x.shape[0]
        v = x.reshape(b, self.n, -1)  # each head's (C, h, w) map, flattened as nn.Flatten
        outs = []
        for g, (start, stop, _) in enumerate(self.groups):
            name = self._name(g, op.key)
            w, bias = self.p[f"{name}__weight"], self.p[f"{name}__bias"]
            feats = v[:, start:stop].permute(1, 0, 2)
            outs.append(torch.baddbmm(bias.unsqueeze(1), feats, w.transpose(1, 2)))
        return outs

    # ----------------------------------------------------------------- data layouts
    @staticmethod
    def stack_inputs(parts: Sequence[Tensor]) -> Tensor:
        """Per-head channels-last inputs ``(B, h, w, C_in)`` -> the packed float input."""
        x = torch.stack(list(parts), 3)
        b, hh, ww, h, c = x.shape
        x = x if x.dtype == torch.float64 else x.float()
        return x.reshape(b, hh, ww, h * c).permute(0, 3, 1, 2)

    def label_layout(self, labels: Tensor, task: TaskInfo) -> Tensor:
        """``task``'s labels ``(N, ...)`` in the layout of this pack's predictions: dense
        ones ``(N, [C,] f * f, h * w)`` on the sub-pixel phases of :meth:`forward`."""
        if task.output not in (OutputKind.DENSE_REGRESSION, OutputKind.DENSE_CLASSIFICATION):
            return labels
        dense = labels.dim() == 3  # dense classification: (N, H, W), no channels
        v = labels.unsqueeze(1) if dense else labels
        n, c, hh, ww = v.shape
        f = 1 << self.levels
        v = v.reshape(n, c, hh // f, f, ww // f, f).permute(0, 1, 3, 5, 2, 4)
        v = v.reshape(n, c, f * f, -1)
        return (v.squeeze(1) if dense else v).contiguous()

    def losses(self, preds: Sequence[Tensor], labels: Sequence[Tensor]) -> Tensor:
        """Per-image losses ``(H, B)`` from :meth:`forward`'s output and per-group labels
        (:meth:`label_layout`, ``(H_g * B, ...)``, head-major)."""
        out = []
        for pred, y, (start, stop, task) in zip(preds, labels, self.groups, strict=True):
            hg = stop - start
            if pred.dim() == 3:
                flat = pred.reshape(-1, pred.shape[-1])
            else:
                _, c, f, _, b = pred.shape[:5]
                flat = pred.permute(0, 4, 1, 2, 3, 5, 6).reshape(hg * b, c, f * f, -1)
            out.append(per_image_loss(flat, y, task).view(hg, -1))
        return torch.cat(out)

    def unpack(self) -> list[dict[str, Tensor]]:
        """Each head's state dict (CPU), loadable into its :class:`ReadoutModel`."""
        heads: list[dict[str, Tensor]] = [{} for _ in range(self.n)]
        tensors = {**dict(self.p.items()), **dict(self.named_buffers())}
        for k in self.keys:
            if k.endswith("num_batches_tracked"):
                for s in heads:
                    s[k] = torch.tensor(self.batches, dtype=torch.long)
                continue
            if k.startswith(self.head_key + ".") and len(self.groups) > 1:
                for g, (start, stop, _) in enumerate(self.groups):
                    t = tensors[f"g{g}__{_flat(k)}"].detach().cpu()
                    for j in range(start, stop):
                        heads[j][k] = t[j - start].clone()
            else:
                t = tensors[_flat(k)].detach().cpu()
                for j in range(self.n):
                    heads[j][k] = t[j].clone()
        return heads
