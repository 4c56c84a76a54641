"""The first-order affinity matrix: heatmaps before and after AHP, and the similarity tree.

``P[t, s]`` is the affinity of the transfer ``s -> t`` (rows: targets, columns: sources).
The task similarity tree is agglomerative clustering on the columns of ``P``, i.e. on each
source's transfer-out pattern (paper, Section 5: 3D, 2D, low-dimensional geometric and
semantic tasks group together). Its leaf order orders every figure of the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from taskonomy.reports._data import PIXELS, SELF
from taskonomy.reports._figures import MUTED, new_figure, save, style

AffinityTable = Mapping[tuple[tuple[str, ...], str], float]


@dataclass(frozen=True)
class FirstOrder:
    """The first-order part of an affinity table as a dense matrix.

    ``values[i, j]`` is ``sources[j] -> targets[i]``; where ``sources[j] == targets[i]``
    the cell holds the target's own network (``self``); ``pixels`` holds the scratch
    baseline of each target; NaN where the table has no entry.
    """

    targets: tuple[str, ...]
    sources: tuple[str, ...]
    values: NDArray[np.float64]
    pixels: NDArray[np.float64]


def first_order(table: AffinityTable, task_order: Sequence[str] = ()) -> FirstOrder:
    """Collect ``s -> t``, ``self -> t`` and ``pixels -> t`` entries of ``table``."""
    rank = {name: i for i, name in enumerate(task_order)}

    def key(name: str) -> tuple[int, str]:
        return (rank.get(name, len(rank)), name)

    firsts = {(srcs[0], t): v for (srcs, t), v in table.items() if len(srcs) == 1}
    targets = sorted({t for _, t in firsts}, key=key)
    sources = sorted({s for s, _ in firsts if s not in (SELF, PIXELS)}, key=key)
    values = np.full((len(targets), len(sources)), np.nan)
    pixels = np.full(len(targets), np.nan)
    for i, t in enumerate(targets):
        for j, s in enumerate(sources):
            values[i, j] = firsts.get((SELF if s == t else s, t), np.nan)
        pixels[i] = firsts.get((PIXELS, t), np.nan)
    return FirstOrder(tuple(targets), tuple(sources), values, pixels)


@dataclass(frozen=True)
class SimilarityTree:
    """Leaf order of the sources and the scipy linkage (None with fewer than two).

    ``observations`` are the sources in the order the linkage numbers them.
    """

    leaves: tuple[str, ...]
    linkage: NDArray[np.float64] | None
    observations: tuple[str, ...] = ()


def similarity_tree(fo: FirstOrder) -> SimilarityTree:
    """Average-linkage clustering of the sources' transfer-out patterns.

    Each source is described by its affinities into every target, each target's row first
    divided by its sum over first-order transfers (so targets with more candidates, whose
    AHP scores are smaller, weigh the same). Cells without a transfer (a task into
    itself, a missing entry) take that row's mean over the other sources.
    """
    n = len(fo.sources)
    if n < 2:
        return SimilarityTree(fo.sources, None)
    from scipy.cluster.hierarchy import leaves_list, linkage

    x = fo.values.copy()
    for i, t in enumerate(fo.targets):
        if t in fo.sources:
            x[i, fo.sources.index(t)] = np.nan
    row_mean = np.nanmean(np.where(np.isnan(x).all(axis=1, keepdims=True), 0.0, x), axis=1)
    x = np.where(np.isnan(x), row_mean[:, None], x)
    sums = x.sum(axis=1, keepdims=True)
    x = np.divide(x, sums, out=np.zeros_like(x), where=sums > 0)
    z = linkage(x.T, method="average", metric="euclidean", optimal_ordering=n > 2)
    leaves = tuple(fo.sources[int(i)] for i in leaves_list(z))
    return SimilarityTree(leaves, np.asarray(z, dtype=np.float64), fo.sources)


def reorder(fo: FirstOrder, leaves: Sequence[str]) -> FirstOrder:
    """``fo`` with sources in ``leaves`` order and targets that are sources likewise."""
    rank = {name: i for i, name in enumerate(leaves)}
    cols = sorted(range(len(fo.sources)), key=lambda j: rank.get(fo.sources[j], len(rank) + j))
    rows = sorted(range(len(fo.targets)), key=lambda i: rank.get(fo.targets[i], len(rank) + i))
    return FirstOrder(
        tuple(fo.targets[i] for i in rows),
        tuple(fo.sources[j] for j in cols),
        fo.values[np.ix_(rows, cols)],
        fo.pixels[rows],
    )


def plot_heatmap(fo: FirstOrder, path: Path, *, title: str, bar_label: str) -> Path:
    """A targets x (sources + pixels) heatmap; ``self`` cells outlined on the diagonal."""
    from matplotlib.patches import Rectangle

    n_rows, n_cols = len(fo.targets), len(fo.sources) + 1
    data = np.column_stack([fo.values, fo.pixels]) if n_rows else np.zeros((0, n_cols))
    with style():
        cell = 0.55 if n_cols <= 14 else 0.32
        fig = new_figure(2.6 + cell * n_cols, 1.9 + cell * n_rows)
        ax = fig.add_subplot()
        import matplotlib

        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#e6e6e6")
        finite = data[np.isfinite(data)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if vmax <= vmin:
            vmax = vmin + 1e-9
        image = ax.imshow(
            np.ma.masked_invalid(data), cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal"
        )
        ax.set_xticks(range(n_cols), [*fo.sources, PIXELS], rotation=55, ha="right")
        ax.set_yticks(range(n_rows), fo.targets)
        ax.set_xlabel("source (transfer from)")
        ax.set_ylabel("target (transfer to)")
        ax.set_title(title)
        ax.axvline(n_cols - 1.5, color="white", lw=3)
        for i, t in enumerate(fo.targets):
            if t in fo.sources:
                j = fo.sources.index(t)
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=1.4))
        if n_cols <= 16:
            mid = (vmin + vmax) / 2
            for (i, j), v in np.ndenumerate(data):
                if np.isfinite(v):
                    colour = "black" if v > mid else "white"
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6.5, c=colour)
        bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
        bar.set_label(bar_label)
        fig.tight_layout()
        return save(fig, path)


def plot_dendrogram(tree: SimilarityTree, path: Path) -> Path | None:
    """The similarity tree, leaves in the order every other figure uses."""
    if tree.linkage is None:
        return None
    from scipy.cluster.hierarchy import dendrogram

    with style():
        fig = new_figure(7.0, 1.6 + 0.28 * len(tree.leaves))
        ax = fig.add_subplot()
        dendrogram(
            tree.linkage,
            labels=list(tree.observations),
            orientation="left",
            ax=ax,
            color_threshold=0.7 * float(tree.linkage[:, 2].max()),
            above_threshold_color=MUTED,
        )
        ax.invert_yaxis()  # first leaf on top, as the first row of the heatmaps
        ax.set_xlabel("distance between transfer-out patterns (row-normalised P)")
        ax.set_title("task similarity tree (average linkage on the columns of P)")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.tight_layout()
        return save(fig, path)
