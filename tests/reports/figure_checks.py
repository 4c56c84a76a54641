"""Layout checks on the report's figures, made on the matplotlib figure before it is saved.

:func:`audit` records every figure the report modules save (by wrapping their ``save``)
and measures, with matplotlib's renderer, what a reader would see: the size at which the
page shows each text, texts that overlap, node labels that leave their panel and labels
drawn across a curve.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.spines import Spine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from taskonomy.reports import _figures, affinity, curves, taxonomy
from taskonomy.reports._marks import Labels, label_path


@dataclass
class FigureAudit:
    """What one saved figure shows."""

    name: str
    width_in: float
    #: (text, size in points as the page shows it) of every drawn text and label.
    sizes: list[tuple[str, float]] = field(default_factory=list)
    #: Pairs of texts of one axes (or node labels of one panel) whose boxes overlap.
    overlaps: list[tuple[str, str]] = field(default_factory=list)
    #: Node labels that reach outside their panel's axes.
    outside: list[str] = field(default_factory=list)
    #: Free texts (annotations) that a curve of their axes runs through.
    on_curves: list[str] = field(default_factory=list)


def drawn_texts(artist: Artist) -> Iterator[Text]:
    """Every visible, non-empty text that drawing ``artist`` draws."""
    if not artist.get_visible():
        return
    if isinstance(artist, Text):
        if artist.get_text().strip():
            yield artist
        return
    for child in artist.get_children():
        if isinstance(artist, Axes) and not artist.axison and isinstance(child, Axis | Spine):
            continue  # ax.axis("off") hides these
        yield from drawn_texts(child)


def _overlap(a: Bbox, b: Bbox, slack: float = 0.5) -> bool:
    return bool(
        min(a.x1, b.x1) - max(a.x0, b.x0) > slack and min(a.y1, b.y1) - max(a.y0, b.y0) > slack
    )


def _crosses(box: Bbox, xy: np.ndarray) -> bool:
    """Whether the polyline ``xy`` (display coordinates) passes through ``box``."""
    finite = xy[np.isfinite(xy).all(axis=1)]
    for (x0, y0), (x1, y1) in itertools.pairwise(finite):
        t = np.linspace(0.0, 1.0, 50)
        xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        if bool(((xs > box.x0) & (xs < box.x1) & (ys > box.y0) & (ys < box.y1)).any()):
            return True
    return False


def _corners(labels: Labels, i: int) -> np.ndarray:
    """The rotated rectangle around label ``i`` of ``labels``, in display coordinates."""
    label = labels.labels[i]
    box = label_path(label.lines, labels.fontsize, label.ha, label.va, 0.0).get_extents()
    corners = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    turn = np.deg2rad(label.angle)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    dpi = labels.figure.dpi
    anchor = labels.get_offset_transform().transform(label.anchor)
    return np.asarray(corners @ rotation.T * dpi / 72 + anchor)


def _rectangles_overlap(a: np.ndarray, b: np.ndarray, slack: float = 0.5) -> bool:
    """Separating-axis test of two convex quadrilaterals (corners in order)."""
    for quad in (a, b):
        for k in range(4):
            edge = quad[(k + 1) % 4] - quad[k]
            normal = np.array([-edge[1], edge[0]]) / (np.hypot(*edge) or 1.0)
            pa, pb = a @ normal, b @ normal
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= slack:
                return False
    return True


def measure(fig: Figure, name: str) -> FigureAudit:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width = float(fig.get_size_inches()[0])
    found = FigureAudit(name, width)
    for text in drawn_texts(fig):
        found.sizes.append(
            (text.get_text(), _figures.shown_points(float(text.get_fontsize()), width))
        )
    for ax in fig.axes:
        free = [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
        boxes = [t.get_window_extent(renderer) for t in free]
        for (a, box_a), (b, box_b) in itertools.combinations(zip(free, boxes, strict=True), 2):
            if _overlap(box_a, box_b):
                found.overlaps.append((a.get_text(), b.get_text()))
        for t, box in zip(free, boxes, strict=True):
            for line in ax.get_lines():
                if line.get_linestyle() == ":" or np.size(line.get_xdata()) < 2:  # reference lines
                    continue
                xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
                if _crosses(box, xy):
                    found.on_curves.append(t.get_text())
        panel = ax.get_window_extent(renderer).padded(0.5)
        for labels in (c for c in ax.collections if isinstance(c, Labels)):
            names = [" ".join(label.lines) for label in labels.labels]
            found.sizes += [(n, _figures.shown_points(labels.fontsize, width)) for n in names]
            label_boxes = labels.boxes()
            for n, box in zip(names, label_boxes, strict=True):
                inside = panel.x0 <= box.x0 and box.x1 <= panel.x1
                if not (inside and panel.y0 <= box.y0 and box.y1 <= panel.y1):
                    found.outside.append(n)
            quads = [_corners(labels, i) for i in range(len(names))]
            for i, j in itertools.combinations(range(len(names)), 2):
                if _rectangles_overlap(quads[i], quads[j]):
                    found.overlaps.append((names[i], names[j]))
    return found


@dataclass
class Audit:
    figures: dict[str, FigureAudit] = field(default_factory=dict)

    def problems(self, min_pt: float = _figures.MIN_SHOWN_PT) -> list[str]:
        out = []
        for name, fig in sorted(self.figures.items()):
            small = sorted({f"{t!r} {pt:.1f} pt" for t, pt in fig.sizes if pt < min_pt - 1e-6})
            out += [f"{name}: text shown at {s}" for s in small[:5]]
            out += [f"{name}: {a!r} overlaps {b!r}" for a, b in fig.overlaps[:5]]
            out += [f"{name}: label {n!r} leaves its panel" for n in fig.outside[:5]]
            out += [f"{name}: {t!r} lies on a curve" for t in fig.on_curves[:5]]
            if fig.width_in > _figures.PAGE_WIDTH_IN + 1e-6:
                out.append(f"{name}: {fig.width_in:.2f} in wide, the page shrinks it")
        return out


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> Audit:
    """Measure every figure the report modules save while the test runs."""
    found = Audit()
    original = _figures.save

    def checked_save(fig: Figure, path: Path) -> Path:
        found.figures[path.name] = measure(fig, path.name)
        return original(fig, path)

    for module in (curves, taxonomy, affinity):
        monkeypatch.setattr(module, "save", checked_save)
    return found
