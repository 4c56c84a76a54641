"""Reports: the figures of a run (affinities, similarity tree, taxonomies, gain and
quality, label savings, run statistics) and a self-contained HTML page.

Reading a run's report needs matplotlib, numpy and scipy only: no torch and no solver,
so it runs on a login node or a laptop with a copy of the work directory. A report of an
affinity table that did not come from a run (:func:`write_table_report`, e.g. the
published ``paper:16k``) also solves the table, with the solver ``taskonomy solve`` uses.
"""

from __future__ import annotations

from taskonomy.reports._data import ReportError
from taskonomy.reports.from_table import table_results, write_table_report
from taskonomy.reports.report import report_tree, write_report, write_results
from taskonomy.reports.taxonomy import plot_taxonomies

__all__ = [
    "ReportError",
    "plot_taxonomies",
    "report_tree",
    "table_results",
    "write_report",
    "write_results",
    "write_table_report",
]
