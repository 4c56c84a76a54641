"""Batched marks for taxonomy panels: edges and radial labels, a few draw calls per panel.

A grid of a large dictionary (the release's 27 tasks over 20 budgets and 4 orders) holds
thousands of arrows and labels; one matplotlib patch or text object each made such a
report take half a minute. Here the arrows of a panel are one quiver, the legs of its
hyperedges one line collection, and its labels one path collection of glyph outlines
(computed once per label and reused by every panel). The outlines also give the exact
extent of every label before anything is drawn, which sizes the circle of a panel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Bbox

Point = tuple[float, float]


#: An edge's line width in points when nothing says otherwise.
LINE_PT = 1.3


def support_width(support: float | None) -> float:
    """An edge's line width (points) for its bootstrap support: 0.5 for an edge never
    chosen again, 3.0 for one always chosen; :data:`LINE_PT` where none is known."""
    if support is None:
        return LINE_PT
    return 0.5 + 2.5 * min(1.0, max(0.0, support))


class Edges:
    """The edges of one panel, each end shortened to the rim of its node (in points)."""

    def __init__(self, ax: Axes, xlim: float, ylim: float, node_radius_pt: float) -> None:
        box = ax.get_position()
        width, height = ax.get_figure().get_size_inches()  # type: ignore[union-attr]
        per_inch = max(2 * xlim / (box.width * width), 2 * ylim / (box.height * height))
        self.ax, self.point = ax, per_inch / 72  # data units per typographic point
        self.radius = node_radius_pt
        self.arrows: list[tuple[Point, Point, str, float]] = []
        self.legs: list[tuple[Point, Point, float]] = []

    def _cut(self, a: Point, b: Point, start_pt: float, end_pt: float) -> tuple[Point, Point]:
        (ax_, ay), (bx, by) = a, b
        length = math.hypot(bx - ax_, by - ay)
        start, end = start_pt * self.point, end_pt * self.point
        if length <= start + end:
            return a, a
        ux, uy = (bx - ax_) / length, (by - ay) / length
        return (ax_ + ux * start, ay + uy * start), (bx - ux * end, by - uy * end)

    def arrow(
        self, a: Point, b: Point, colour: str, *, from_node: bool = True, width: float = LINE_PT
    ) -> None:
        """An arrow ``width`` points wide from ``a`` (a node, or a junction) into the node
        at ``b``."""
        start = self.radius + 1 if from_node else 0.0
        self.arrows.append((*self._cut(a, b, start, self.radius + 0.5), colour, width))

    def leg(self, a: Point, b: Point, width: float = LINE_PT) -> None:
        """A line without a head from the node at ``a`` to the junction at ``b``."""
        self.legs.append((*self._cut(a, b, self.radius, 0.0), width))

    def draw(self, leg_colour: str) -> None:
        if self.legs:
            self.ax.add_collection(
                LineCollection(
                    [(a, b) for a, b, _ in self.legs],
                    colors=leg_colour,
                    linewidths=[w for _, _, w in self.legs],
                    zorder=2,
                )
            )
        widths = sorted({w for *_, w in self.arrows})
        for width in widths:  # one quiver per width: a quiver has one shaft width
            arrows = [(a, b, c) for a, b, c, w in self.arrows if w == width]
            self.ax.quiver(
                [a[0] for a, _, _ in arrows],
                [a[1] for a, _, _ in arrows],
                [b[0] - a[0] for a, b, _ in arrows],
                [b[1] - a[1] for a, b, _ in arrows],
                color=[c for _, _, c in arrows],
                angles="xy",
                scale_units="xy",
                scale=1,
                units="inches",
                width=width / 72,
                # Head sizes are in shaft widths: keep every head the size of a default one.
                headwidth=4.5 * LINE_PT / width,
                headlength=6 * LINE_PT / width,
                headaxislength=5.5 * LINE_PT / width,
                zorder=2,
            )


HAlign = Literal["left", "center", "right"]
VAlign = Literal["bottom", "center", "top"]


@lru_cache(maxsize=2048)
def label_path(
    lines: tuple[str, ...], size: float, ha: HAlign, va: VAlign, angle: float
) -> MplPath:
    """The outline of a (multi-line) label in points, placed against the anchor (0, 0) as
    a text with this alignment would be, then rotated by ``angle`` degrees about the
    anchor (as a text with ``rotation_mode="anchor"``). Lines are aligned on ``ha``."""
    prop = FontProperties(family="DejaVu Sans", size=size)
    step = 1.15 * size
    block = (len(lines) - 1) * step + size  # cap height to descender, roughly
    lift = {"bottom": block / 2, "center": 0.0, "top": -block / 2}[va]
    parts = []
    for i, line in enumerate(lines):
        path = TextPath((0, 0), line, size=size, prop=prop)
        width = path.get_extents().x1 if len(path.vertices) else 0.0
        baseline = ((len(lines) - 1) / 2 - i) * step - 0.36 * size + lift
        dx = {"left": 0.0, "center": -width / 2, "right": -width}[ha]
        parts.append(path.transformed(Affine2D().translate(dx, baseline)))
    return MplPath.make_compound_path(*parts).transformed(Affine2D().rotate_deg(angle))


@dataclass(frozen=True)
class Label:
    """One node label: its lines, where it is anchored (data units) and how."""

    lines: tuple[str, ...]
    anchor: Point
    ha: HAlign = "left"
    va: VAlign = "center"
    angle: float = 0.0

    def path(self, size: float) -> MplPath:
        return label_path(self.lines, size, self.ha, self.va, round(self.angle, 6))


def radial(lines: Sequence[str], anchor: Point) -> Label:
    """A label along the ray of a circle centred on (0, 0) through ``anchor``, running
    outwards; on the left half turned by 180 degrees so that it never reads upside down."""
    x, y = anchor
    right = x > -1e-9
    angle = math.degrees(math.atan2(y, x)) - (0.0 if right else 180.0)
    return Label(tuple(lines), anchor, "left" if right else "right", "center", angle)


class Labels(PathCollection):
    """Labels of one panel as glyph outlines, one path collection; ``fontsize`` and
    :meth:`boxes` tell what a text artist would (for layout checks)."""

    def __init__(self, ax: Axes, labels: Sequence[Label], colours: Sequence[str], *,
                 size: float, zorder: float = 5) -> None:  # fmt: skip
        self.fontsize = size
        self.labels = tuple(labels)
        super().__init__(
            [label.path(size) for label in labels],
            offsets=[label.anchor for label in labels],
            offset_transform=ax.transData,
            facecolors=list(colours),
            edgecolors="none",
            linewidths=0,
            zorder=zorder,
        )
        dpi = ax.get_figure().dpi  # type: ignore[union-attr]
        self.set_transform(Affine2D().scale(dpi / 72))  # points -> pixels
        ax.add_collection(self, autolim=False)

    def boxes(self) -> list[Bbox]:
        """Each label's bounding box in display coordinates."""
        scale = self.get_transform()
        offsets = self.get_offset_transform().transform(self.get_offsets())
        return [
            path.get_extents(scale).translated(float(x), float(y))
            for path, (x, y) in zip(self.get_paths(), offsets, strict=True)
        ]
