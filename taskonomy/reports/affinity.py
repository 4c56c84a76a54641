"""The first-order affinity matrix: heatmaps before and after AHP, and the similarity tree.

``P[t, s]`` is the affinity of the transfer ``s -> t`` (rows: targets, columns: sources).
The task similarity tree is the library's
(:func:`taskonomy.affinity.tree.similarity_tree`: clustering of each source's
transfer-out pattern; paper, Section 5: 3D, 2D, low-dimensional geometric and semantic
tasks group together). Its leaf order orders every figure of the report; its leaves are
coloured by task family so a reader sees whether the tree recovers the families.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Text
from numpy.typing import NDArray

from taskonomy.affinity.table import PIXELS, SELF, AffinityTable
from taskonomy.affinity.tree import SimilarityTree
from taskonomy.reports._figures import MIN_FONT, MUTED, PAGE_WIDTH_IN, new_figure, save, style
from taskonomy.reports._tasks import TaskStyle

Entries = Mapping[tuple[tuple[str, ...], str], float]

#: A heatmap whose largest value is this many times its smallest uses a log colour scale.
LOG_SCALE_FROM = 30.0
#: Cells at least this wide (inches) show their value.
_NUMBERED_CELL_IN = 0.38


def cell_text(value: float) -> str:
    """A cell's value in at most four characters: ``0.43``, or ``3e-4`` below 0.01 (on a
    log scale such cells differ by decades, which ``0.00`` would hide)."""
    if value == 0 or abs(value) >= 0.01:
        return f"{value:.2f}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


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


def first_order(table: AffinityTable | Entries, task_order: Sequence[str] = ()) -> FirstOrder:
    """Collect ``s -> t``, ``self -> t`` and ``pixels -> t`` entries of ``table``.

    A readout on the target's own encoder (``t__t``) is not drawn: the diagonal cell is
    the target's own network (``self``), as in :meth:`AffinityTable.first_order_matrix`.
    """
    entries = table.entries if isinstance(table, AffinityTable) else table
    rank = {name: i for i, name in enumerate(task_order)}

    def key(name: str) -> tuple[int, str]:
        return (rank.get(name, len(rank)), name)

    firsts = {(srcs[0], t): v for (srcs, t), v in entries.items() if len(srcs) == 1}
    targets = sorted({t for _, t in firsts}, key=key)
    sources = sorted({s for s, _ in firsts if s not in (SELF, PIXELS)}, key=key)
    values = np.full((len(targets), len(sources)), np.nan)
    pixels = np.full(len(targets), np.nan)
    for i, t in enumerate(targets):
        for j, s in enumerate(sources):
            values[i, j] = firsts.get((SELF if s == t else s, t), np.nan)
        pixels[i] = firsts.get((PIXELS, t), np.nan)
    return FirstOrder(tuple(targets), tuple(sources), values, pixels)


def _colour_ticks(labels: Sequence[Text], names: Sequence[str], style_: TaskStyle) -> None:
    for text, name in zip(labels, names, strict=True):
        text.set_color(style_.colour(name) if name != PIXELS else MUTED)


def plot_heatmap(
    fo: FirstOrder, path: Path, *, title: str, bar_label: str, tasks: TaskStyle | None = None
) -> Path:
    """A targets x (sources + pixels) heatmap; ``self`` cells outlined on the diagonal.

    Tick labels are the tasks' readable labels, coloured by family. The pixels (scratch)
    column is left out when the table has no pixels entries at all.
    """
    from matplotlib.patches import Rectangle

    tasks = tasks or TaskStyle()
    scratch = bool(np.isfinite(fo.pixels).any())  # a table without pixels has no column
    columns = [*fo.sources, PIXELS] if scratch else list(fo.sources)
    n_rows, n_cols = len(fo.targets), len(columns)
    data = np.column_stack([fo.values, fo.pixels]) if scratch else fo.values
    with style():
        # As wide as the page shows unshrunk, at most; numbers only in cells that hold them.
        cell = min(0.55 if n_cols <= 14 else 0.4, (PAGE_WIDTH_IN - 3.4) / max(n_cols, 1))
        fig = new_figure(3.4 + cell * n_cols, 2.0 + cell * n_rows)
        ax = fig.add_subplot()
        import matplotlib
        from matplotlib.colors import LogNorm, Normalize

        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#e6e6e6")
        finite = data[np.isfinite(data)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if vmax <= vmin:
            vmax = vmin + 1e-9
        # AHP scores are a ratio scale; when they span decades (a target's own network
        # far ahead of every transfer) a log scale keeps the transfers apart.
        log = vmin > 0 and vmax / vmin > LOG_SCALE_FROM
        norm = LogNorm(vmin, vmax) if log else Normalize(vmin, vmax)
        image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, norm=norm, aspect="equal")
        ax.set_xticks(range(n_cols), [tasks.label(s) for s in columns], rotation=55, ha="right")
        ax.set_yticks(range(n_rows), [tasks.label(t) for t in fo.targets])
        _colour_ticks(ax.get_xticklabels(), columns, tasks)
        _colour_ticks(ax.get_yticklabels(), fo.targets, tasks)
        ax.set_xlabel("source (transfer from)")
        ax.set_ylabel("target (transfer to)")
        ax.set_title(title)
        if scratch:
            ax.axvline(n_cols - 1.5, color="white", lw=3)
        for i, t in enumerate(fo.targets):
            if t in fo.sources:
                j = fo.sources.index(t)
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=1.4))
        if cell >= _NUMBERED_CELL_IN:
            for (i, j), v in np.ndenumerate(data):
                if np.isfinite(v):
                    colour = "black" if float(norm(v)) > 0.5 else "white"
                    ax.text(
                        j, i, cell_text(float(v)), ha="center", va="center", fontsize=MIN_FONT,
                        c=colour,
                    )  # fmt: skip
        bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
        bar.set_label(bar_label + (", log scale" if log else ""))
        fig.tight_layout()
        return save(fig, path)


def draw_dendrogram(
    ax: Axes,
    tree: SimilarityTree,
    tasks: TaskStyle,
    support: Mapping[frozenset[str], float] | None = None,
) -> list[str]:
    """Draw ``tree`` on ``ax``, leaves top to bottom in ``tree.leaf_order``, each leaf's
    label its task's readable label in its family's colour, and each join's bootstrap
    ``support`` (by the tasks under it) where given. Returns the leaves drawn."""
    from scipy.cluster.hierarchy import dendrogram

    drawn = dendrogram(
        tree.linkage,
        labels=list(tree.labels),
        orientation="right",  # leaves on the left, next to their labels
        ax=ax,
        color_threshold=0.0,
        above_threshold_color="#555555",
        no_labels=True,
    )
    leaves: list[str] = list(drawn["ivl"])
    ax.invert_yaxis()  # first leaf on top, as the first row of the heatmaps
    # scipy puts leaf i at y = 10 i + 5.
    ax.set_yticks([10 * i + 5 for i in range(len(leaves))], [tasks.label(n) for n in leaves])
    ax.yaxis.set_ticks_position("left")
    ax.tick_params(axis="y", length=0, pad=4, labelsize=10)
    for text, name in zip(ax.get_yticklabels(), leaves, strict=True):
        text.set_color(tasks.colour(name))
        text.set_fontweight("bold")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(left=0.0)
    for (x, y), value in join_support(tree, leaves, support or {}):
        ax.text(
            x, y, f"{value:.2f}", ha="right", va="bottom", fontsize=MIN_FONT,
            color="#222222" if value >= 0.5 else "#b00020",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.6},
            zorder=5,
        )  # fmt: skip
    return leaves


def join_support(
    tree: SimilarityTree, leaves: Sequence[str], support: Mapping[frozenset[str], float]
) -> list[tuple[tuple[float, float], float]]:
    """Where each join of the drawn dendrogram is (scipy's coordinates: height, and the
    midpoint of its children; leaf i at 10 i + 5) with its support, for the joins that
    ``support`` knows (the root, holding every task, is left out)."""
    n = len(tree.labels)
    y = {tree.labels.index(name): 10.0 * i + 5.0 for i, name in enumerate(leaves)}
    members: dict[int, frozenset[str]] = {i: frozenset([tree.labels[i]]) for i in range(n)}
    out = []
    for k, (left, right, height, _) in enumerate(tree.linkage):
        a, b, node = int(left), int(right), n + k
        y[node] = (y[a] + y[b]) / 2
        members[node] = members[a] | members[b]
        value = support.get(members[node])
        if value is not None and len(members[node]) < n:
            out.append(((float(height), y[node]), float(value)))
    return out


def plot_dendrogram(
    tree: SimilarityTree,
    path: Path,
    tasks: TaskStyle | None = None,
    support: Mapping[frozenset[str], float] | None = None,
) -> Path | None:
    """The similarity tree with a family legend (and each join's bootstrap support,
    where given); None with fewer than two leaves."""
    if len(tree.labels) < 2:
        return None
    tasks = tasks or TaskStyle()
    n = len(tree.labels)
    with style():
        fig = new_figure(9.0, 1.9 + 0.25 * n)
        ax = fig.add_subplot()
        draw_dendrogram(ax, tree, tasks, support)
        ax.set_xlabel(
            f"{tree.metric} distance between transfer-out patterns "
            f"({tree.method} linkage, {tree.normalisation} normalisation, own entry {tree.own})"
        )
        ax.set_title("task similarity tree (leaves coloured by task family)")
        ax.grid(axis="x", alpha=0.25)
        ax.legend(
            handles=tasks.legend_handles(tree.labels),
            title="family",
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
        )
        fig.tight_layout()
        return save(fig, path)
