"""Taxonomy graphs: one panel per solved (budget, max order), in a grid per order.

Every panel of every grid places each task at the same point of one circle, in the order
of the similarity tree, so a reader can follow one task across budgets and orders.
Supervised sources are filled; every target has the edge it is solved by; an edge of
order >= 2 (a hyperedge) is drawn from each of its sources into a small junction node and
from there into the target. Consecutive budgets with the same taxonomy share one panel,
and a long sweep is split into several figures of at most :data:`MAX_PANELS` panels so
that each one stays readable (on a slide, too).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation

from taskonomy.affinity.table import BASELINES, PIXELS, SELF
from taskonomy.reports._circle import (
    MAX_PANELS,
    NODE_RADIUS_PT,
    NODE_SIZE,
    Point,
    circle_layout,
    fit_radius,
    grid_geometry,
    node_labels,
    placed,
)
from taskonomy.reports._data import affinity_table, solutions_from_json
from taskonomy.reports._figures import (
    HYPEREDGE,
    MUTED,
    SUPERVISED,
    TRANSFER,
    new_figure,
    save,
    style,
)
from taskonomy.reports._marks import (
    Edges,
    Labels,
    support_width,
)
from taskonomy.reports._tasks import TaskStyle, task_style
from taskonomy.solvers.result import Solution


@dataclass(frozen=True)
class Panel:
    """One taxonomy and the budgets (consecutive in the sweep) that all give it."""

    solution: Solution
    budgets: tuple[float, ...]

    @property
    def title(self) -> str:
        lo, hi = self.budgets[0], self.budgets[-1]
        budget = f"budget {lo:g}" if lo == hi else f"budgets {lo:g}–{hi:g}"
        return f"{budget} · order ≤ {self.solution.max_order}"


@dataclass(frozen=True)
class Grid:
    """A figure of taxonomy panels: one max order, a run of budgets."""

    path: Path
    max_order: int
    budgets: tuple[float, ...]


def solution_tasks(solutions: Sequence[Solution]) -> list[str]:
    """Every task any solution names, sorted."""
    seen: set[str] = set()
    for sol in solutions:
        seen.update(sol.supervised)
        seen.update(sol.edges)
        for srcs in sol.edges.values():
            seen.update(s for s in srcs if s not in BASELINES)
    return sorted(seen)


def draw_panel(
    ax: Axes,
    panel: Panel | Solution,
    pos: Mapping[str, Point],
    *,
    font: float,
    tasks: TaskStyle | None = None,
) -> None:
    """One taxonomy on ``ax`` with the shared positions ``pos``.

    The circle is as large as the axes allow with every label inside them (so no label
    reaches into a neighbouring panel); the title and the caption sit above the axes.
    """
    if isinstance(panel, Solution):
        panel = Panel(panel, (panel.budget,))
    sol = panel.solution
    tasks = tasks or TaskStyle()
    names = list(pos)
    labels = node_labels(names, pos, tasks)
    box = ax.get_position()
    fig_w, fig_h = ax.get_figure().get_size_inches()  # type: ignore[union-attr]
    width, height = box.width * fig_w, box.height * fig_h
    radius = fit_radius(labels, font, width, height)
    xlim, ylim = width / (2 * radius), height / (2 * radius)
    ax.set_xlim(-xlim, xlim)
    ax.set_ylim(-ylim, ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    solved = sol.solved
    supervised = set(sol.supervised)
    # Plain texts, not set_title: placing a title measures the (hidden) axes each draw.
    caption = ""
    if solved:
        caption = f"{len(supervised)} supervised → {len(sol.edges)} targets"
        if sol.status != "optimal":
            caption += f" ({sol.status.replace('_', ' ')})"
    lift = 1.4 * font / 72 if caption else 0.0
    inches = ax.get_figure().dpi_scale_trans  # type: ignore[union-attr]
    above = ax.transAxes + ScaledTranslation(0.0, lift, inches)
    ax.text(
        0.5, 1.0, panel.title, transform=above, ha="center", va="bottom", fontsize=font + 1.5
    )  # fmt: skip
    if caption:
        ax.text(
            0.5, 1.0, caption, transform=ax.transAxes, ha="center", va="bottom",
            fontsize=font, color="#444444",
        )  # fmt: skip
    by_self = {t for t, s in sol.edges.items() if tuple(s) == (SELF,)}
    by_pixels = {t for t, s in sol.edges.items() if tuple(s) == (PIXELS,)}
    edges = Edges(ax, xlim, ylim, NODE_RADIUS_PT)
    if solved:
        for target, sources in sorted(sol.edges.items()):
            real = [s for s in sources if s in pos]
            if target not in pos or not real or target in by_self:
                continue
            width = support_width(sol.support.get(target))
            if len(real) == 1:
                edges.arrow(pos[real[0]], pos[target], TRANSFER, width=width)
                continue
            tx, ty = pos[target]
            mx = float(np.mean([pos[s][0] for s in real]))
            my = float(np.mean([pos[s][1] for s in real]))
            junction = (0.4 * (mx + tx), 0.4 * (my + ty))  # halfway, pulled to the centre
            for s in real:
                edges.leg(pos[s], junction, width)
            edges.arrow(junction, pos[target], HYPEREDGE, from_node=False, width=width)
            ax.scatter(*junction, s=16, c=HYPEREDGE, zorder=3, linewidths=0)
    edges.draw(HYPEREDGE)
    active = [solved and (t in supervised or t in sol.edges) for t in names]
    ax.scatter(
        [pos[t][0] for t in names],
        [pos[t][1] for t in names],
        s=NODE_SIZE,
        c=[SUPERVISED if solved and t in supervised else "white" for t in names],
        edgecolors=["black" if a else "#cfcfcf" for a in active],
        linewidths=[2.2 if solved and t in by_self else 1.0 for t in names],
        linestyles=["--" if solved and t in by_pixels else "-" for t in names],
        zorder=4,
    )
    Labels(ax, placed(labels, radius), ["black" if on else MUTED for on in active], size=font)
    if solved:
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
        fontsize=font,
        color="#b00020",
        zorder=6,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
    )


def _legend_handles(supported: bool = False) -> list[Line2D]:
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
        *(
            [
                Line2D([], [], color=TRANSFER, lw=support_width(1.0), label="support 1.0"),
                Line2D([], [], color=TRANSFER, lw=support_width(0.3), label="support 0.3"),
            ]
            if supported
            else []
        ),
    ]


def _same(a: Solution, b: Solution) -> bool:
    return (
        a.solved
        and b.solved
        and a.status == b.status
        and tuple(a.supervised) == tuple(b.supervised)
        and {t: tuple(s) for t, s in a.edges.items()} == {t: tuple(s) for t, s in b.edges.items()}
    )


def merge_budgets(solutions: Sequence[Solution]) -> list[Panel]:
    """Consecutive budgets (one max order, sorted) with the same taxonomy in one panel."""
    panels: list[Panel] = []
    for sol in sorted(solutions, key=lambda s: s.budget):
        if panels and _same(panels[-1].solution, sol):
            panels[-1] = Panel(panels[-1].solution, (*panels[-1].budgets, sol.budget))
        else:
            panels.append(Panel(sol, (sol.budget,)))
    return panels


def panels_per_figure(tasks: Sequence[str], style: TaskStyle | None = None) -> int:
    """Three rows of panels, at most :data:`MAX_PANELS`."""
    labels = node_labels(tasks, circle_layout(tasks), style or TaskStyle())
    return min(MAX_PANELS, 3 * grid_geometry(labels).columns)


def plot_grid(
    panels: Sequence[Panel | Solution],
    tasks: Sequence[str],
    path: Path,
    *,
    columns: int | None = None,
    style_: TaskStyle | None = None,
) -> Path:
    """``panels`` (one max order, several budgets) on one figure."""
    style_ = style_ or TaskStyle()
    pos = circle_layout(tasks)
    n = len(panels)
    geom = grid_geometry(node_labels(list(pos), pos, style_))
    cols = max(1, min(columns or geom.columns, n))
    rows = max(1, math.ceil(n / cols))
    title_h, legend_h = (2.9 * geom.font + 6) / 72, 0.75
    height = (geom.panel_h + title_h) * rows + legend_h
    with style():
        fig = new_figure(geom.panel_w * cols, height)
        axes = fig.subplots(rows, cols, squeeze=False)
        # Final positions first: draw_panel sizes the circle, arrow heads and gaps from them.
        fig.subplots_adjust(
            left=0.005,
            right=0.995,
            top=1 - title_h / height,
            bottom=legend_h / height,
            wspace=0.02,
            hspace=title_h / geom.panel_h,
        )
        for ax, panel in zip(axes.flat, panels, strict=False):
            draw_panel(ax, panel, pos, font=geom.font, tasks=style_)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        supported = any(
            (p.solution if isinstance(p, Panel) else p).support for p in panels
        )  # edge widths show the bootstrap support of each edge
        fig.legend(
            handles=_legend_handles(supported),
            loc="lower center",
            ncols=4 if supported else 3,
            fontsize=9,
            frameon=False,
        )
        return save(fig, path)


def grid_by_order(solutions: Sequence[Solution]) -> dict[int, list[Solution]]:
    """Solutions grouped by max order, each group sorted by budget."""
    groups: dict[int, list[Solution]] = {}
    for sol in sorted(solutions, key=lambda s: (s.max_order, s.budget)):
        groups.setdefault(sol.max_order, []).append(sol)
    return groups


def plot_taxonomy_grids(
    solutions: Sequence[Solution],
    tasks: Sequence[str],
    out_dir: Path,
    style_: TaskStyle | None = None,
) -> list[Grid]:
    """Grid figures per max order: ``taxonomy_order{k}.png``, then ``taxonomy_order{k}_2.png``
    and so on where the order's panels do not fit on one figure."""
    style_ = style_ or task_style(tasks)
    grids: list[Grid] = []
    for order, group in grid_by_order(solutions).items():
        panels = merge_budgets(group)
        per = panels_per_figure(tasks, style_)
        for page in range(math.ceil(len(panels) / per)):
            chunk = panels[page * per : (page + 1) * per]
            name = f"taxonomy_order{order}" + (f"_{page + 1}" if page else "") + ".png"
            path = plot_grid(chunk, tasks, out_dir / name, style_=style_)
            budgets = tuple(b for p in chunk for b in p.budgets)
            grids.append(Grid(path, order, budgets))
    return grids


def plot_taxonomies(
    solutions_json: Mapping[str, Any],
    out_dir: Path,
    *,
    affinities: Mapping[str, float] | None = None,
) -> list[Path]:
    """Draw the taxonomy graphs of a ``taxonomy.json`` document into ``out_dir``.

    Args:
        solutions_json: ``{"solutions": [...]}`` as ``taskonomy solve`` writes it.
        out_dir: created if missing; gets ``taxonomy_order{k}.png`` per max order (and
            ``taxonomy_order{k}_2.png``... where a sweep has too many panels for one).
        affinities: the release-format affinities that were solved, if at hand: tasks
            are then placed in the order of the similarity tree, as in the report.

    Returns:
        The PNG files written, by increasing max order.
    """
    from taskonomy.affinity.tree import similarity_tree
    from taskonomy.errors import AffinityError

    solutions = solutions_from_json(solutions_json)
    tasks = solution_tasks(solutions)
    if affinities:
        table = affinity_table(affinities, "affinities")
        try:
            leaves = similarity_tree(table).leaf_order
        except AffinityError:
            leaves = []  # no first-order transfers to cluster: keep the sorted order
        tasks = [*leaves, *(t for t in tasks if t not in leaves)]
    return [grid.path for grid in plot_taxonomy_grids(solutions, tasks, out_dir)]
