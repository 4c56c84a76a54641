"""Reports: the figures of a run (affinities, similarity tree, taxonomies, gain and
quality, label savings, run statistics) and a self-contained HTML page.

Reading a report needs matplotlib, numpy and scipy only: no torch and no solver, so it
runs on a login node or a laptop with a copy of the work directory.
"""

from __future__ import annotations

from taskonomy.reports._data import ReportError
from taskonomy.reports.report import write_report
from taskonomy.reports.taxonomy import plot_taxonomies

__all__ = ["ReportError", "plot_taxonomies", "write_report"]
