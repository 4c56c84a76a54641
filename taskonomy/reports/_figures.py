"""Figure plumbing shared by every plot: the Agg canvas, one style, deterministic PNGs.

Figures are built with :class:`matplotlib.figure.Figure` on an explicit Agg canvas, never
through ``pyplot``: nothing is registered in pyplot's global figure list (so nothing
leaks between reports), no GUI backend is probed, and the global backend is untouched.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Colours used consistently across figures (colour-blind safe, Okabe-Ito).
SUPERVISED = "#E69F00"
TRANSFER = "#0072B2"
HYPEREDGE = "#CC79A7"
MUTED = "#9a9a9a"
ORDER_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442")

DPI = 110
#: Widest image the page shows at full size (CSS pixels: ``main``'s width less its
#: padding, see :mod:`taskonomy.reports.html`); a wider PNG is shrunk to it.
PAGE_WIDTH_PX = 1116
#: Widest figure (inches) that the page shows unshrunk.
PAGE_WIDTH_IN = PAGE_WIDTH_PX / DPI
#: Smallest font size (points) of any text as the page shows it.
MIN_SHOWN_PT = 9.0
#: Smallest font size (points) to give a figure no wider than the page: one PNG pixel
#: is one CSS pixel (1/96 inch) there, so a font of ``f`` points shows at ``f * DPI / 96``.
MIN_FONT = math.ceil(2 * MIN_SHOWN_PT * 96 / DPI) / 2


def shown_points(fontsize: float, figure_width_in: float) -> float:
    """The size (points) at which the page shows a ``fontsize`` text of a figure
    ``figure_width_in`` inches wide."""
    shrink = min(1.0, PAGE_WIDTH_PX / (figure_width_in * DPI))
    return fontsize * DPI / 96 * shrink


def order_colour(order: int) -> str:
    return ORDER_COLOURS[(order - 1) % len(ORDER_COLOURS)]


def style() -> AbstractContextManager[None]:
    """The report's rc settings; build and save each figure inside it."""
    import matplotlib

    ctx: AbstractContextManager[None] = matplotlib.rc_context(
        {
            # DejaVu Sans ships with matplotlib: the same glyphs on every machine.
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "legend.title_fontsize": 9,
            "svg.hashsalt": "taskonomy",
        }
    )
    return ctx


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas, ``width`` x ``height`` inches."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG with no time-dependent metadata, then release it.

    The same inputs give byte-identical files (matplotlib writes no date into PNGs, and
    the ``Software`` entry is dropped so upgrading matplotlib alone does not change them).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    fig.clear()
    return path
