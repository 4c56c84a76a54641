"""Taxonomy graphs: one panel per solved (budget, max order), in a grid per order.

Every panel of every grid places each task at the same point of one circle, in the order
of the similarity tree, so a reader can follow one task across budgets and orders.
Supervised sources are filled; every target has the edge it is solved by; an edge of
order >= 2 (a hyperedge) is drawn from each of its sources into a small junction node and
from there into the target.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from taskonomy.reports._data import (
    PIXELS,
    SELF,
    ReportError,
    Solution,
    parse_key,
    solutions_from_json,
)
from taskonomy.reports._figures import (
    HYPEREDGE,
    MUTED,
    SUPERVISED,
    TRANSFER,
    new_figure,
    save,
    style,
)

Point = tuple[float, float]
_NODE_SIZE = 110.0  # scatter marker area, points^2
_NODE_RADIUS_PT = math.sqrt(_NODE_SIZE) / 2


def circle_layout(tasks: Sequence[str]) -> dict[str, Point]:
    """Tasks clockwise from the top of the unit circle, in the given order."""
    n = max(len(tasks), 1)
    return {
        t: (
            math.cos(math.pi / 2 - 2 * math.pi * i / n),
            math.sin(math.pi / 2 - 2 * math.pi * i / n),
        )
        for i, t in enumerate(tasks)
    }


def solution_tasks(solutions: Sequence[Solution]) -> list[str]:
    """Every task any solution names, sorted."""
    seen: set[str] = set()
    for sol in solutions:
        seen.update(sol.supervised)
        seen.update(sol.edges)
        for srcs in sol.edges.values():
            seen.update(s for s in srcs if s not in (SELF, PIXELS))
    return sorted(seen)


def _arrow(ax: Axes, a: Point, b: Point, colour: str, *, head: bool, shrink_b: float) -> None:
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>" if head else "-",
            mutation_scale=10,
            color=colour,
            lw=1.3,
            shrinkA=_NODE_RADIUS_PT + 1 if head else _NODE_RADIUS_PT,
            shrinkB=shrink_b,
            zorder=2,
        )
    )


def draw_panel(ax: Axes, sol: Solution, pos: Mapping[str, Point], *, font: float) -> None:
    """One taxonomy on ``ax`` with the shared positions ``pos``."""
    ax.set_xlim(-1.75, 1.75)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    order_note = f"order ≤ {sol.max_order}"
    ax.set_title(f"budget {sol.budget:g} · {order_note}", fontsize=font + 1.5, pad=2)
    solved = sol.solved
    supervised = set(sol.supervised)
    by_self = {t for t, s in sol.edges.items() if tuple(s) == (SELF,)}
    by_pixels = {t for t, s in sol.edges.items() if tuple(s) == (PIXELS,)}
    if solved:
        for target, sources in sorted(sol.edges.items()):
            real = [s for s in sources if s in pos]
            if target not in pos or not real or target in by_self:
                continue
            if len(real) == 1:
                _arrow(ax, pos[real[0]], pos[target], TRANSFER, head=True, shrink_b=_NODE_RADIUS_PT)
                continue
            tx, ty = pos[target]
            mx = float(np.mean([pos[s][0] for s in real]))
            my = float(np.mean([pos[s][1] for s in real]))
            junction = (0.4 * (mx + tx), 0.4 * (my + ty))  # halfway, pulled to the centre
            for s in real:
                _arrow(ax, pos[s], junction, HYPEREDGE, head=False, shrink_b=0)
            _arrow(ax, junction, pos[target], HYPEREDGE, head=True, shrink_b=_NODE_RADIUS_PT)
            ax.scatter(*junction, s=16, c=HYPEREDGE, zorder=3, linewidths=0)
    for task, (x, y) in pos.items():
        active = solved and (task in supervised or task in sol.edges)
        face = SUPERVISED if solved and task in supervised else "white"
        edge = "black" if active else "#cfcfcf"
        ax.scatter(
            x,
            y,
            s=_NODE_SIZE,
            c=face,
            edgecolors=edge,
            linewidths=2.2 if task in by_self and solved else 1.0,
            linestyle="--" if task in by_pixels and solved else "-",
            zorder=4,
        )
        ha = "left" if x > 0.15 else "right" if x < -0.15 else "center"
        va = "bottom" if y > 0.15 else "top" if y < -0.15 else "center"
        ax.text(
            1.14 * x,
            1.14 * y,
            task,
            ha=ha,
            va=va,
            fontsize=font,
            color="black" if active else MUTED,
            zorder=5,
        )
    if solved:
        caption = f"{len(supervised)} supervised → {len(sol.edges)} targets"
        if sol.status != "optimal":
            caption += f" ({sol.status.replace('_', ' ')})"
        ax.text(0, -1.42, caption, ha="center", va="bottom", fontsize=font, color="#333333")
        return
    status = sol.status.replace("_", " ")
    reason = textwrap.shorten(sol.reason or "no solution", 120, placeholder="…")
    ax.text(
        0,
        0.08,
        status.upper(),
        ha="center",
        va="bottom",
        fontsize=font + 3,
        color="#b00020",
        weight="bold",
        zorder=6,
    )
    ax.text(
        0,
        0.0,
        "\n".join(textwrap.wrap(reason, 26)),
        ha="center",
        va="top",
        fontsize=font - 0.5,
        color="#b00020",
        zorder=6,
    )


def _legend_handles() -> list[Line2D]:
    def node(face: str, width: float, label: str, edge: str = "black") -> Line2D:
        return Line2D(
            [], [], marker="o", ls="None", ms=9, mfc=face, mec=edge, mew=width, label=label
        )

    return [
        node(SUPERVISED, 1.0, "supervised source"),
        node(SUPERVISED, 2.4, "target solved by its own network (self)"),
        node("white", 1.0, "target solved by transfer"),
        Line2D([], [], color=TRANSFER, lw=1.5, label="first-order transfer"),
        Line2D(
            [], [], color=HYPEREDGE, lw=1.5, marker="o", ms=4, label="higher-order (via junction)"
        ),
        node("white", 1.0, "not used at this budget", edge="#cfcfcf"),
    ]


def plot_grid(
    solutions: Sequence[Solution], tasks: Sequence[str], path: Path, *, columns: int = 4
) -> Path:
    """All ``solutions`` (one max order, several budgets) on one figure."""
    pos = circle_layout(tasks)
    n = len(solutions)
    cols = max(1, min(columns, n))
    rows = max(1, math.ceil(n / cols))
    panel = max(3.1, 1.9 + 0.13 * len(tasks))
    font = 7.5 if len(tasks) <= 12 else 6.0
    with style():
        fig = new_figure(panel * cols, panel * 0.86 * rows + 0.7)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, sol in zip(axes.flat, solutions, strict=False):
            draw_panel(ax, sol, pos, font=font)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.legend(
            handles=_legend_handles(), loc="lower center", ncols=3, fontsize=8, frameon=False
        )
        fig.subplots_adjust(
            left=0.01,
            right=0.99,
            top=0.96,
            bottom=0.6 / (panel * 0.86 * rows + 0.7) + 0.02,
            wspace=0.02,
            hspace=0.12,
        )
        return save(fig, path)


def grid_by_order(solutions: Sequence[Solution]) -> dict[int, list[Solution]]:
    """Solutions grouped by max order, each group sorted by budget."""
    groups: dict[int, list[Solution]] = {}
    for sol in sorted(solutions, key=lambda s: (s.max_order, s.budget)):
        groups.setdefault(sol.max_order, []).append(sol)
    return groups


def plot_taxonomy_grids(
    solutions: Sequence[Solution], tasks: Sequence[str], out_dir: Path
) -> list[Path]:
    """One grid figure per max order, ``taxonomy_order{k}.png``."""
    return [
        plot_grid(group, tasks, out_dir / f"taxonomy_order{order}.png")
        for order, group in grid_by_order(solutions).items()
    ]


def plot_taxonomies(
    solutions_json: Mapping[str, Any],
    out_dir: Path,
    *,
    affinities: Mapping[str, float] | None = None,
) -> list[Path]:
    """Draw the taxonomy graphs of a ``taxonomy.json`` document into ``out_dir``.

    Args:
        solutions_json: ``{"solutions": [...]}`` as ``taskonomy solve`` writes it.
        out_dir: created if missing; gets ``taxonomy_order{k}.png`` per max order.
        affinities: the release-format affinities that were solved, if at hand: tasks
            are then placed in the order of the similarity tree, as in the report.

    Returns:
        The PNG files written, by increasing max order.
    """
    from taskonomy.reports.affinity import first_order, similarity_tree

    solutions = solutions_from_json(solutions_json)
    tasks = solution_tasks(solutions)
    if affinities:
        try:
            table = {parse_key(k): float(v) for k, v in affinities.items()}
        except (TypeError, ValueError) as exc:
            raise ReportError(f"affinities: {exc}") from exc
        leaves = similarity_tree(first_order(table, tasks)).leaves
        tasks = [*leaves, *sorted(set(tasks) - set(leaves))]
    return plot_taxonomy_grids(solutions, tasks, out_dir)
