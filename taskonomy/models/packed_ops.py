"""Tensor operations of packed heads (:mod:`taskonomy.models.packed`), fast at small sizes.

Profiled on the mini preset, a readout step is not Python overhead: it is small kernels
that run far below the machine's speed (a 3x3 conv to one channel at 32 x 32, batch norm
and ReLU over 8 channels, the 2x2 transposed convs). Packed heads avoid them:

* :func:`upsample_bn_act`: a 2x2 stride-2 transposed conv + batch norm + ReLU as one
  matrix product per head (the normalisation folded into the weights, its statistics from
  the input's covariance), writing sub-pixel phases: nothing is shuffled.
* :func:`shift_sum`: the spatial half of a 3x3 convolution whose channel half is a matrix
  product (``P = W @ x`` per tap, then ``out = sum_t shift_t(P_t)``), on a grid stored in
  sub-pixel phases. Its backward is the adjoint, slice copies only.
* :func:`phases_to_axes`, :func:`phases_to_image`: the nested phases of successive
  upsamplings as ``(fy, fx)`` axes, or as the full-resolution image (fused with ReLU).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd import Function


def _parts(e: int, f: int, n: int) -> list[tuple[slice, slice, slice, slice]]:
    """One axis of a 3x3 tap with offset ``e`` (-1, 0, 1) on a fine axis stored as ``f``
    phases of ``n`` cells: ``(out phases, src phases, out cells, src cells)`` per part.

    Fine index ``f * i + p`` reads ``f * i + p + e``: the same cell of the neighbouring
    phase (the bulk), except at the phase edge, which reads the neighbouring cell.
    """
    every = slice(0, n)
    if e == 0:
        return [(slice(0, f), slice(0, f), every, every)]
    parts: list[tuple[slice, slice, slice, slice]] = []
    if f > 1:  # bulk: phases shift by one, cells stay
        if e < 0:
            parts.append((slice(1, f), slice(0, f - 1), every, every))
        else:
            parts.append((slice(0, f - 1), slice(1, f), every, every))
    if e < 0:  # phase 0 reads the last phase of the previous cell
        parts.append((slice(0, 1), slice(f - 1, f), slice(1, n), slice(0, n - 1)))
    else:  # the last phase reads phase 0 of the next cell
        parts.append((slice(f - 1, f), slice(0, 1), slice(0, n - 1), slice(1, n)))
    return parts


def _unread(e: int, f: int, n: int) -> tuple[int, int] | None:
    """The (src phase, src cell) a tap with offset ``e`` never reads (zero padding)."""
    if e == 0:
        return None
    return (f - 1, n - 1) if e < 0 else (0, 0)


class _ShiftSum(Function):
    @staticmethod
    def forward(ctx: Any, p: Tensor) -> Tensor:
        f, h, w = p.shape[3], p.shape[6], p.shape[7]
        out = p[:, 4].clone()
        for tap in range(9):
            if tap == 4:
                continue
            ey, ex = tap // 3 - 1, tap % 3 - 1
            for oy, sy, oi, si in _parts(ey, f, h):
                for ox, sx, oj, sj in _parts(ex, f, w):
                    out[:, :, oy, ox, :, oi, oj] += p[:, tap, :, sy, sx, :, si, sj]
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        g, c, f, _, b, h, w = grad.shape
        dp = grad.new_empty(g, 9, c, f, f, b, h, w)
        for tap in range(9):
            ey, ex = tap // 3 - 1, tap % 3 - 1
            slot = dp[:, tap]
            for oy, sy, oi, si in _parts(ey, f, h):
                for ox, sx, oj, sj in _parts(ex, f, w):
                    slot[:, :, sy, sx, :, si, sj] = grad[:, :, oy, ox, :, oi, oj]
            if (uy := _unread(ey, f, h)) is not None:
                slot[:, :, uy[0], :, :, uy[1]].zero_()
            if (ux := _unread(ex, f, w)) is not None:
                slot[:, :, :, ux[0], :, :, ux[1]].zero_()
        return dp


def shift_sum(p: Tensor) -> Tensor:
    """The spatial half of 3x3 convolutions (zero padding) on sub-pixel phases.

    ``p`` is ``(G, 9, C, f, f, B, h, w)``: for each of ``G`` maps and kernel position
    ``tap = dy * 3 + dx``, the channel products at fine pixel ``(f*i + py, f*j + px)``
    stored at ``[.., py, px, :, i, j]``. Returns ``(G, C, f, f, B, h, w)``: ``out[Y, X] =
    sum_tap p_tap[Y + dy - 1, X + dx - 1]``, at most four slice additions per tap.
    """
    out: Tensor = _ShiftSum.apply(p.contiguous())
    return out


class _ReluPermute(Function):
    """``relu(z.reshape(shape).permute(order))`` as one contiguous copy (no ReLU when not
    ``relu``); the backward masks and permutes back in one pass too."""

    @staticmethod
    def forward(
        ctx: Any, z: Tensor, shape: tuple[int, ...], order: tuple[int, ...], relu: bool
    ) -> Tensor:
        v = z.reshape(shape).permute(order)
        out = z.new_empty(v.shape)
        if relu:
            torch.clamp_min(v, 0, out=out)
        else:
            out.copy_(v)
        ctx.shape, ctx.order, ctx.relu, ctx.input = shape, order, relu, z.shape
        ctx.save_for_backward(out if relu else None)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
        dz = grad.new_empty(ctx.shape)
        view = dz.permute(ctx.order)
        if ctx.relu:
            (out,) = ctx.saved_tensors
            torch.ops.aten.threshold_backward.grad_input(grad, out, 0.0, grad_input=view)
        else:
            view.copy_(grad)
        return dz.view(ctx.input), None, None, None


def phases_to_axes(z: Tensor, levels: int, *, relu: bool = False) -> Tensor:
    """``(H, F, C, N)`` with ``F = 4**levels`` nested phases (:func:`upsample_bn_act`) ->
    ``(H, C, f, f, N)``, ``f = 2**levels``: fine offset ``(py, px)`` at ``[:, :, py, px]``;
    with ``relu``, ReLU'd in the same pass (and its backward masked in one)."""
    h, _, c, n = z.shape
    bits = 2 * levels
    order = (0, 1 + bits, *range(1, 1 + bits, 2), *range(2, 2 + bits, 2), 2 + bits)
    out: Tensor = _ReluPermute.apply(z, (h, *([2] * bits), c, n), order, relu)
    f = 1 << levels
    return out.view(h, c, f, f, n)


def phases_to_image(
    z: Tensor, levels: int, grid: tuple[int, int, int], *, relu: bool = False
) -> Tensor:
    """``(H, F, C, B * h * w)`` nested phases -> the full-resolution channels-last image
    ``(B, H * C, f * h, f * w)`` (heads' channels side by side, as grouped convs take)."""
    h, _, c, _ = z.shape
    b, hh, ww = grid
    bits = 2 * levels
    order = (2 + bits, 3 + bits, *range(1, 1 + bits, 2), 4 + bits, *range(2, 2 + bits, 2))
    shape = (h, *([2] * bits), c, b, hh, ww)
    out: Tensor = _ReluPermute.apply(z, shape, (*order, 0, 1 + bits), relu)
    f = 1 << levels
    return out.view(b, hh * f, ww * f, h * c).permute(0, 3, 1, 2)


def upsample_bn_act(
    u: Tensor,
    weight: Tensor,
    gamma: Tensor,
    beta: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    *,
    training: bool,
    momentum: float,
    eps: float,
    relu: bool,
) -> Tensor:
    """A 2x2 stride-2 transposed conv, batch norm and ReLU of ``H`` heads, folded into one
    matrix product per head on sub-pixel phases; nothing at the upsampled resolution is
    normalised, shuffled or padded.

    The transposed conv is per pixel: each input pixel gives four output pixels (phase
    ``py * 2 + px``) through four ``C_out x C_in`` matrices. Its batch statistics follow
    from the input's mean and covariance (``var = mean_q(w_q' S w_q) + var_q(w_q' m)``),
    so the normalisation folds into those matrices and a bias.

    Args:
        u: ``(H, P, C_in, N)``: ``P`` phases of ``N`` pixels per head (a strided view
            is fine when ``P == 1``).
        weight: ``(H, C_in, C_out, 2, 2)`` (``ConvTranspose2d`` weights, stacked).
        gamma, beta, running_mean, running_var: ``(H * C_out,)`` batch-norm tensors.

    Returns:
        ``(H, 4 * P, C_out, N)``: new phase ``q`` of old phase ``p`` at ``4 * p + q``.
    """
    h, p, cin, n = u.shape
    cout = weight.shape[2]
    w = weight.permute(0, 3, 4, 2, 1).reshape(h, 4, cout, cin)
    g, b = gamma.view(h, cout), beta.view(h, cout)
    if training:
        return _upsample_train(u, w, g, b, running_mean, running_var, momentum, eps, relu)
    scale = g * (running_var.view(h, cout) + eps).rsqrt()
    shift = (b - running_mean.view(h, cout) * scale).unsqueeze(1).expand(h, 4, cout)
    return _upsample_apply(u.reshape(h * p, cin, n), w, scale, shift, relu, (h, p))


def _upsample_train(
    u: Tensor,
    w: Tensor,
    g: Tensor,
    b: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    momentum: float,
    eps: float,
    relu: bool,
) -> Tensor:
    h, p, cin, n = u.shape
    # statistics in fp32 even under autocast (a bf16 covariance would be too coarse)
    with torch.autocast(u.device.type, enabled=False):
        u = u if u.dtype == torch.float64 else u.float()
        count = p * n
        mean_u = u.sum(dim=(1, 3)) / count
        uc = (u - mean_u.view(h, 1, cin, 1)).reshape(h * p, cin, n)
        cov = torch.bmm(uc, uc.transpose(1, 2)).view(h, p, cin, cin).sum(1) / count
        m = torch.matmul(w, mean_u.view(h, 1, cin, 1)).squeeze(-1)  # (H, 4, C_out)
        mean = m.mean(1)
        spread = (torch.matmul(w, cov.unsqueeze(1)) * w).sum(-1)
        var = spread.mean(1) + (m - mean.unsqueeze(1)).square().mean(1)
        with torch.no_grad():
            total = 4 * count
            running_mean.lerp_(mean.flatten(), momentum)
            running_var.lerp_(var.flatten() * (total / max(total - 1, 1)), momentum)
        scale = g * (var + eps).rsqrt()
        shift = b.unsqueeze(1) + scale.unsqueeze(1) * (m - mean.unsqueeze(1))  # (H, 4, C_out)
    return _upsample_apply(uc, w, scale, shift, relu, (h, p))


def _upsample_apply(
    x: Tensor, w: Tensor, scale: Tensor, shift: Tensor, relu: bool, hp: tuple[int, int]
) -> Tensor:
    """``relu(w * scale @ x + shift)`` per head and phase: ``x`` is ``(H * P, C_in, N)``."""
    (h, p), (_, cin, n), cout = hp, x.shape, w.shape[2]
    # The bias rides in the product as a column of the weights against a row of ones.
    wt = torch.cat([(w * scale.view(h, 1, cout, 1)), shift.unsqueeze(-1)], -1)
    wt = wt.reshape(h, 1, 4 * cout, cin + 1).expand(h, p, 4 * cout, cin + 1)
    x = torch.cat([x, x.new_ones(h * p, 1, n)], 1)
    y = torch.bmm(wt.reshape(h * p, 4 * cout, cin + 1), x)
    if relu:
        y = y.relu_()
    return y.view(h, 4 * p, cout, n)
