"""A report of an affinity table that did not come from a run.

``taskonomy report --affinities FILE|paper|paper:1k|paper:16k --out DIR`` solves the
table for a sweep of budgets and orders (:func:`taskonomy.solvers.solve_sweep`), scores
every taxonomy with the table's win rates where they are known
(:meth:`taskonomy.affinity.winrates.WinRates.assess`, the fields of a run's
``evaluation.json``) and draws the same page a run's report draws, less the sections only
a run has. No torch is imported; the solver is the only thing a run's report does not use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from taskonomy.reports._data import (
    Evaluation,
    ReportError,
    RunResults,
    TableOrigin,
    evaluations_from_json,
    solutions_from_json,
)
from taskonomy.reports.html import esc

#: Highest order solved when none is asked for (the paper's sweeps stop at 4).
DEFAULT_MAX_ORDER = 4

_PUBLISHED = {
    "paper": "the original release's published affinities (orders 1 and 2, the paper's "
    "main setting)",
    "paper:1k": "the original release's published affinities of transfers trained on 1k images",
    "paper:16k": "the original release's published affinities of transfers trained on 16k images",
}


def table_results(
    value: str | Path,
    *,
    gain: Path | None = None,
    quality: Path | None = None,
    orders: Iterable[int] | None = None,
    budgets: Iterable[float] | None = None,
    solver: str = "auto",
) -> RunResults:
    """Solve and score an affinity table into the results a report draws.

    Args:
        value: an affinity file (JSON or release pickle) or ``paper``, ``paper:1k``,
            ``paper:16k`` for the shipped release (which brings its win rates).
        gain, quality: win-rate files (both or neither); they override shipped ones.
        orders: max orders to solve; default 1 to the table's highest order, at most 4.
        budgets: supervision budgets; default 1 to the number of source tasks.
        solver: the solver backend (``auto`` takes the best installed).

    Raises:
        AffinityError: the table or a win-rate file cannot be read, or only one
            win-rate file was given.
        ReportError: an order above the table's highest, or a budget below 0.
    """
    from taskonomy.affinity._input import show_path
    from taskonomy.affinity.paper import load_source, resolve_affinities
    from taskonomy.solvers import solutions_to_json, solve_sweep
    from taskonomy.solvers.problem import check_solvable

    source = resolve_affinities(value, gain, quality)
    table, winrates = load_source(source)
    check_solvable(table, show_path(source.affinities))
    top = table.max_order
    ks = sorted(set(orders or ())) or list(range(1, min(top, DEFAULT_MAX_ORDER) + 1))
    bad = [k for k in ks if k < 1 or k > top]
    if bad:
        raise ReportError(
            f"--max-order {bad[0]} is not an order of {source.name}: its transfers have "
            f"orders 1 to {top}"
        )
    bs = sorted({float(b) for b in budgets or range(1, len(table.sources) + 1)})
    if not bs or bs[0] < 0 or not math.isfinite(bs[-1]):
        raise ReportError(f"budgets must be numbers >= 0, got {bs[:1] or 'none'}")
    solved = solve_sweep(table, bs, ks, solver=solver)
    doc = solutions_to_json(solved, winrates)
    evaluations: tuple[Evaluation, ...] = ()
    if winrates is not None:
        rows = [s for s in doc["solutions"] if s["edges"]]
        evaluations = evaluations_from_json({"taxonomies": rows})
    origin = TableOrigin(
        name=source.name,
        affinities=source.affinities,
        gain=source.gain if winrates is not None else None,
        quality=source.quality if winrates is not None else None,
        orders=tuple(ks),
        budgets=tuple(bs),
    )
    return RunResults(
        affinities=table,
        solutions=solutions_from_json(doc),
        evaluations=evaluations,
        origin=origin,
    )


def write_table_report(
    value: str | Path,
    out: Path,
    *,
    gain: Path | None = None,
    quality: Path | None = None,
    orders: Iterable[int] | None = None,
    budgets: Iterable[float] | None = None,
    solver: str = "auto",
) -> Path:
    """Solve, score and draw the report of an affinity table into ``out``.

    Arguments as :func:`table_results`. Returns the path of ``index.html``.
    """
    from taskonomy.reports.report import write_results

    results = table_results(
        value, gain=gain, quality=quality, orders=orders, budgets=budgets, solver=solver
    )
    origin = results.origin
    assert origin is not None
    what = _PUBLISHED.get(origin.name, f"the affinity table <code>{esc(origin.affinities)}</code>")
    scored = (
        "scored with its published win rates"
        if origin.name in _PUBLISHED and origin.gain is not None
        else "scored with the given win rates"
        if origin.gain is not None
        else "without win rates, so without gain and quality"
    )
    orders_text = ", ".join(str(k) for k in origin.orders)
    lead = (
        f"Taxonomies solved from {what} (<code>{esc(origin.name)}</code>) for max orders "
        f"{orders_text} and {len(origin.budgets)} budgets, {scored}. Tasks appear in the "
        "order of the task similarity tree in every figure."
    )
    return write_results(results, out, f"Taskonomy report: {origin.name}", lead)
