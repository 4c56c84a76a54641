"""Stage III: ordinal normalisation of per-image losses (the paper's AHP step).

For one target, every candidate transfer (first and higher order, ``self``, scratch and
any baseline) plays a tournament against every other on the same test images. With
``w_ij`` the fraction of images on which ``i`` has the lower loss, clipped into
``[0.001, 0.999]``, the ratio matrix ``W' = W / Wᵀ`` is positive and reciprocal and its
principal eigenvector, scaled to sum 1, gives each candidate its affinity ``p_i``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from taskonomy.errors import AffinityError

FloatArray = npt.NDArray[np.float64]

#: The paper's clip range for tournament fractions (so no ratio is 0 or infinite).
DEFAULT_CLIP: tuple[float, float] = (0.001, 0.999)

# Bound the (chunk, n, images) boolean temporary of the vectorised comparison.
_MAX_CELLS = 1 << 24


def _as_losses(losses: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(losses, dtype=np.float64)
    if arr.ndim != 2:
        raise AffinityError(
            f"losses must be a 2-D array (candidates x images), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise AffinityError(
            f"losses need at least one candidate and one image, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(arr))[:, 0]})
        raise AffinityError(f"losses of candidate rows {bad} contain NaN or infinity")
    return arr


def tournament(losses: npt.ArrayLike) -> FloatArray:
    """The tournament matrix ``W``: ``w_ij`` = fraction of images where ``i`` beats ``j``.

    Args:
        losses: shape ``(n_candidates, n_images)``; lower loss wins, ties win for nobody.

    Vectorised over images (no Python loop over them); candidates are processed in
    chunks only to bound memory.
    """
    arr = _as_losses(losses)
    n, m = arr.shape
    out = np.empty((n, n), dtype=np.float64)
    step = max(1, _MAX_CELLS // max(1, n * m))
    for lo in range(0, n, step):
        block = arr[lo : lo + step, None, :] < arr[None, :, :]
        out[lo : lo + step] = block.mean(axis=2)
    return out


def ratio_matrix(w: npt.ArrayLike, clip: tuple[float, float] = DEFAULT_CLIP) -> FloatArray:
    """``W' = W / Wᵀ`` after clipping ``W`` into ``clip``: positive and reciprocal."""
    lo, hi = clip
    if not 0.0 < lo <= hi < 1.0:
        raise AffinityError(f"clip must satisfy 0 < low <= high < 1, got {clip}")
    wc = np.clip(np.asarray(w, dtype=np.float64), lo, hi)
    return wc / wc.T


def principal_scores(ratios: npt.ArrayLike) -> FloatArray:
    """The principal (Perron) eigenvector of a positive matrix, scaled to sum 1."""
    a = np.asarray(ratios, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise AffinityError(f"expected a non-empty square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise AffinityError("the ratio matrix must be finite and strictly positive")
    if a.shape[0] == 1:
        return np.ones(1)
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    vec = np.abs(vectors[:, k].real)
    return vec / vec.sum()  # type: ignore[no-any-return]


def ahp_scores(losses: npt.ArrayLike, clip: tuple[float, float] = DEFAULT_CLIP) -> FloatArray:
    """Affinities of all candidates into one target from their per-image losses (sum 1)."""
    return principal_scores(ratio_matrix(tournament(losses), clip))
