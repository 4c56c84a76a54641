"""Where a taxonomy panel puts its tasks: the circle, the node labels, and how large the
circle may be so that every label stays inside its own panel.

Sizes are in inches unless a name says points; a label is anchored on the unit circle
and moved outwards by :func:`placed` once the panel's radius is known.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from taskonomy.reports._figures import MIN_FONT, PAGE_WIDTH_IN
from taskonomy.reports._marks import HAlign, Label, VAlign, radial
from taskonomy.reports._tasks import TaskStyle

Point = tuple[float, float]
NODE_SIZE = 110.0  # scatter marker area, points^2
NODE_RADIUS_PT = math.sqrt(NODE_SIZE) / 2
#: Panels per figure at most (fewer for many tasks); a longer sweep is split over
#: several figures.
MAX_PANELS = 9
#: With more tasks than this, labels run along the rays of the circle (and wrap).
RADIAL_FROM = 12
#: Characters per line of a wrapped label: along a ray, and horizontal (beside the circle).
_WRAP = 15
_WRAP_BESIDE = 12
#: How far outside the circle a label starts (inches): clear of its node's rim.
_LABEL_GAP_IN = (NODE_RADIUS_PT + 3.5) / 72
#: Font size of node labels and captions, and the room kept free along a panel's edges.
_FONT = MIN_FONT + 0.5
_PAD_IN = 0.04
#: The smallest circle (radius, inches) a panel may have before it gets fewer columns.
_MIN_RADIUS_IN = 0.6


def _wrap(label: str, width: int = _WRAP) -> tuple[str, ...]:
    return tuple(textwrap.wrap(label, width, break_long_words=False) or [label])


def node_labels(names: Sequence[str], pos: Mapping[str, Point], style: TaskStyle) -> list[Label]:
    """The label of every task, anchored at its node's place on the unit circle (moved
    outwards by :func:`placed`): along its ray for a large dictionary, else beside its
    node (left, right, above or below as the node sits on the circle)."""
    if len(names) > RADIAL_FROM:  # along the rays: neighbours never overlap
        return [radial(_wrap(style.label(t)), pos[t]) for t in names]
    out = []
    for t in names:
        x, y = pos[t]
        ha: HAlign = "left" if x > 0.15 else "right" if x < -0.15 else "center"
        va: VAlign = "bottom" if y > 0.15 else "top" if y < -0.15 else "center"
        out.append(Label(_wrap(style.label(t), _WRAP_BESIDE), (x, y), ha, va))
    return out


def placed(labels: Sequence[Label], radius: float) -> list[Label]:
    """``labels`` moved from the circle (radius ``radius`` inches, one data unit) to
    :data:`_LABEL_GAP_IN` beyond it."""
    k = 1 + _LABEL_GAP_IN / radius
    return [replace(label, anchor=(k * label.anchor[0], k * label.anchor[1])) for label in labels]


def fit_radius(labels: Sequence[Label], font: float, width: float, height: float) -> float:
    """The largest circle radius (inches) at which every label (anchored on the unit
    circle, see :func:`placed`) and every node stays inside a ``width`` x ``height`` inch
    panel."""
    half_w, half_h = width / 2 - _PAD_IN, height / 2 - _PAD_IN
    node = (NODE_RADIUS_PT + 1) / 72
    best = min(half_w, half_h) - node
    for label in labels:
        box = label.path(font).get_extents()  # points, relative to the anchor
        (ax_, ay), lo_x, hi_x = label.anchor, box.x0 / 72, box.x1 / 72
        lo_y, hi_y = box.y0 / 72, box.y1 / 72
        # a * (r + gap) + b <= c for each side of the panel, a the anchor's coordinate
        for a, b, c in ((ax_, hi_x, half_w), (-ax_, -lo_x, half_w),
                        (ay, hi_y, half_h), (-ay, -lo_y, half_h)):  # fmt: skip
            if a > 1e-9:
                best = min(best, (c - b) / a - _LABEL_GAP_IN)
    return max(best, 0.05)


@dataclass(frozen=True)
class Geometry:
    """Size (inches) and number of columns of the panels of a grid, and its label size."""

    panel_w: float
    panel_h: float
    font: float
    columns: int


def grid_geometry(labels: Sequence[Label]) -> Geometry:
    """Panels as wide as the page allows for the most columns (at most 3) at which the
    circle keeps a readable radius and neighbouring radial labels keep apart; panels
    are as tall as their labels need."""
    n = max(len(labels), 1)
    lines = max((len(label.lines) for label in labels), default=1)
    need = _MIN_RADIUS_IN
    if n > RADIAL_FROM:  # neighbours' label stacks must not touch where they start
        stack = (lines * 1.15 * _FONT + 2) / 72
        need = max(need, stack / (2 * math.sin(math.pi / n)) - _LABEL_GAP_IN)
    for columns in (3, 2, 1):
        width = PAGE_WIDTH_IN / columns * 0.97  # less the gaps between the panels
        radius = fit_radius(labels, _FONT, width, 10 * width)
        if radius >= need or columns == 1:
            break
    if n > RADIAL_FROM:
        height = width
    else:  # as tall as the labels above and below the circle need
        reach = radius + (NODE_RADIUS_PT + 1) / 72
        for label in labels:
            box, ay = label.path(_FONT).get_extents(), label.anchor[1]
            at = ay * (radius + _LABEL_GAP_IN)
            reach = max(reach, at + box.y1 / 72, -(at + box.y0 / 72))
        height = 2 * (reach + _PAD_IN) + 0.02
    return Geometry(width / 0.97, float(height), _FONT, columns)


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
