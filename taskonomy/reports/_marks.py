"""Batched marks for taxonomy panels: edges and radial labels, a few draw calls per panel.

A grid of a large dictionary (the release's 27 tasks over 20 budgets and 4 orders) holds
thousands of arrows and labels; one matplotlib patch or text object each made such a
report take half a minute. Here the arrows of a panel are one quiver, the legs of its
hyperedges one line collection, and its labels one path collection of glyph outlines
(computed once per label and reused by every panel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

Point = tuple[float, float]


class Edges:
    """The edges of one panel, each end shortened to the rim of its node (in points)."""

    def __init__(self, ax: Axes, xlim: float, ylim: float, node_radius_pt: float) -> None:
        box = ax.get_position()
        width, height = ax.get_figure().get_size_inches()  # type: ignore[union-attr]
        per_inch = max(2 * xlim / (box.width * width), 2 * ylim / (box.height * height))
        self.ax, self.point = ax, per_inch / 72  # data units per typographic point
        self.radius = node_radius_pt
        self.arrows: list[tuple[Point, Point, str]] = []
        self.legs: list[tuple[Point, Point]] = []

    def _cut(self, a: Point, b: Point, start_pt: float, end_pt: float) -> tuple[Point, Point]:
        (ax_, ay), (bx, by) = a, b
        length = math.hypot(bx - ax_, by - ay)
        start, end = start_pt * self.point, end_pt * self.point
        if length <= start + end:
            return a, a
        ux, uy = (bx - ax_) / length, (by - ay) / length
        return (ax_ + ux * start, ay + uy * start), (bx - ux * end, by - uy * end)

    def arrow(self, a: Point, b: Point, colour: str, *, from_node: bool = True) -> None:
        """An arrow from ``a`` (a node, or a junction) into the node at ``b``."""
        start = self.radius + 1 if from_node else 0.0
        self.arrows.append((*self._cut(a, b, start, self.radius + 0.5), colour))

    def leg(self, a: Point, b: Point) -> None:
        """A line without a head from the node at ``a`` to the junction at ``b``."""
        self.legs.append(self._cut(a, b, self.radius, 0.0))

    def draw(self, leg_colour: str) -> None:
        if self.legs:
            self.ax.add_collection(
                LineCollection(self.legs, colors=leg_colour, linewidths=1.3, zorder=2)
            )
        if self.arrows:
            self.ax.quiver(
                [a[0] for a, _, _ in self.arrows],
                [a[1] for a, _, _ in self.arrows],
                [b[0] - a[0] for a, b, _ in self.arrows],
                [b[1] - a[1] for a, b, _ in self.arrows],
                color=[c for _, _, c in self.arrows],
                angles="xy",
                scale_units="xy",
                scale=1,
                units="inches",
                width=1.3 / 72,
                headwidth=4.5,
                headlength=6,
                headaxislength=5.5,
                zorder=2,
            )


@lru_cache(maxsize=512)
def _label_path(lines: tuple[str, ...], size: float, right: bool, angle: float) -> MplPath:
    """The outline of a (multi-line) label in points, anchored at (0, 0): left-aligned
    and starting at the anchor when ``right`` (the right half of the circle), else
    right-aligned and ending there; centred vertically on the anchor, then rotated by
    ``angle`` degrees about it (as a text with ``rotation_mode="anchor"``)."""
    prop = FontProperties(family="DejaVu Sans", size=size)
    step = 1.15 * size
    parts = []
    for i, line in enumerate(lines):
        path = TextPath((0, 0), line, size=size, prop=prop)
        width = path.get_extents().x1 if len(path.vertices) else 0.0
        baseline = ((len(lines) - 1) / 2 - i) * step - 0.36 * size
        shift = Affine2D().translate(0.0 if right else -width, baseline)
        parts.append(path.transformed(shift))
    return MplPath.make_compound_path(*parts).transformed(Affine2D().rotate_deg(angle))


def radial_labels(
    ax: Axes,
    anchors: Sequence[Point],
    texts: Sequence[Sequence[str]],
    colours: Sequence[str],
    *,
    size: float,
    zorder: float = 5,
) -> None:
    """Labels along the rays of a circle centred on (0, 0), one path collection.

    Each ``texts[i]`` (lines of one label) starts at ``anchors[i]`` and runs outwards;
    on the left half it is turned by 180° so that no label reads upside down.
    """
    paths, offsets = [], []
    for (x, y), lines in zip(anchors, texts, strict=True):
        right = x > -1e-9
        angle = math.degrees(math.atan2(y, x)) - (0.0 if right else 180.0)
        paths.append(_label_path(tuple(lines), size, right, round(angle, 6)))
        offsets.append((x, y))
    dpi = ax.get_figure().dpi  # type: ignore[union-attr]
    collection = PathCollection(
        paths,
        offsets=offsets,
        offset_transform=ax.transData,
        facecolors=list(colours),
        edgecolors="none",
        linewidths=0,
        zorder=zorder,
    )
    collection.set_transform(Affine2D().scale(dpi / 72))  # points -> pixels
    ax.add_collection(collection, autolim=False)
