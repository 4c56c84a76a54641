"""Stage I input transforms: noise, a masked square, grey, and the 3x3 jigsaw.

Every transform is drawn from the ``rng`` it is given, so a training run that seeds its
generator sees the same inputs again. Transfers (Stage II) never transform the input.
"""

from __future__ import annotations

import functools

import numpy as np

from taskonomy.data.labels import luminance
from taskonomy.data.scenes import F32, I64
from taskonomy.tasks.bank import N_JIGSAW_PERMUTATIONS, InputTransform

#: Standard deviation of the ``denoise`` noise, in units of the ``[0, 1]`` image.
NOISE_STD = 0.1
#: Side of the ``inpainting`` square as a fraction of the image side.
MASK_FRACTION = 0.375
#: Value of masked pixels.
MASK_VALUE = 0.5
#: Pixels greyed (to :data:`MASK_VALUE`) along each edge of every jigsaw tile, so that
#: neighbouring tiles are two gaps apart. As in the original puzzle task (tiles cut with
#: gaps), the permutation cannot be read off colour continuity at the tile borders and
#: the encoder must recognise what each tile shows: floor, wall, ceiling, their layout.
JIGSAW_GAP_PX = 1
_JIGSAW_SEED = 2018


@functools.cache
def jigsaw_permutations() -> I64:
    """The fixed ``(N_JIGSAW_PERMUTATIONS, 9)`` table of tile permutations.

    Row 0 is the identity; every next row is, among 4000 seeded random
    permutations, the one farthest in Hamming distance from the rows already chosen
    (the greedy maximal-distance set of Noroozi & Favaro), so the classes are distinct.
    """
    rng = np.random.default_rng(_JIGSAW_SEED)
    pool = np.argsort(rng.random((4000, 9)), axis=1).astype(np.int64)
    chosen = [np.arange(9, dtype=np.int64)]
    dist = (pool != chosen[0]).sum(1)
    for _ in range(N_JIGSAW_PERMUTATIONS - 1):
        best = int(np.argmax(dist))
        chosen.append(pool[best])
        dist = np.minimum(dist, (pool != pool[best]).sum(1))
    table = np.stack(chosen)
    table.setflags(write=False)
    return table


def shuffle_tiles(images: F32, perms: I64) -> F32:
    """Permute each image's 3x3 tiles: output tile ``k`` is input tile ``perm[k]``.

    Tiles have side ``H // 3``; the border pixels beyond ``3 * (H // 3)`` stay in place.
    """
    h, w = images.shape[-2:]
    th, tw = h // 3, w // 3
    out = images.copy()
    table = jigsaw_permutations()[perms]
    for k in range(9):
        src = table[:, k]
        for s in range(9):
            sel = np.nonzero(src == s)[0]
            if sel.size:
                r, c = divmod(k, 3)
                sr, sc = divmod(s, 3)
                out[sel, :, r * th : (r + 1) * th, c * tw : (c + 1) * tw] = images[
                    sel, :, sr * th : (sr + 1) * th, sc * tw : (sc + 1) * tw
                ]
    return out


def tile_gaps(images: F32) -> F32:
    """``images`` with a :data:`JIGSAW_GAP_PX` border of every 3x3 tile greyed out, and
    the pixels beyond ``3 * (H // 3)`` (the same in every permutation) with it."""
    h, w = images.shape[-2:]
    th, tw, g = h // 3, w // 3, JIGSAW_GAP_PX
    rows, cols = np.arange(h), np.arange(w)
    edge_r = (rows % th < g) | (rows % th >= th - g) | (rows >= 3 * th)
    edge_c = (cols % tw < g) | (cols % tw >= tw - g) | (cols >= 3 * tw)
    gap = edge_r[:, None] | edge_c[None, :]
    return np.where(gap, np.float32(MASK_VALUE), images).astype(np.float32)


def mask_square(images: F32, rng: np.random.Generator) -> F32:
    """Grey out one random square of side ``MASK_FRACTION * H`` in each image."""
    b, _, h, w = images.shape
    side = max(1, round(MASK_FRACTION * h))
    top = rng.integers(0, h - side + 1, size=b)
    left = rng.integers(0, w - side + 1, size=b)
    rows = np.arange(h)[None, :, None]
    cols = np.arange(w)[None, None, :]
    inside = (
        (rows >= top[:, None, None])
        & (rows < top[:, None, None] + side)
        & (cols >= left[:, None, None])
        & (cols < left[:, None, None] + side)
    )
    return np.where(inside[:, None], np.float32(MASK_VALUE), images).astype(np.float32)


def apply_input_transform(
    transform: InputTransform, images: F32, rng: np.random.Generator
) -> tuple[F32, I64 | None]:
    """The Stage I input for clean ``images``; for the jigsaw also the permutation indices."""
    if transform is InputTransform.NONE:
        return images, None
    if transform is InputTransform.NOISE:
        noisy = images + rng.normal(0.0, NOISE_STD, images.shape).astype(np.float32)
        return np.clip(noisy, 0.0, 1.0).astype(np.float32), None
    if transform is InputTransform.MASK:
        return mask_square(images, rng), None
    if transform is InputTransform.GREY:
        grey = luminance(images)[:, None]
        return np.repeat(grey, 3, axis=1).astype(np.float32), None
    perms = np.asarray(rng.integers(0, N_JIGSAW_PERMUTATIONS, size=images.shape[0]), np.int64)
    return tile_gaps(shuffle_tiles(images, perms)), perms
