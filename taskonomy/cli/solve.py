"""``taskonomy solve``: taxonomies from an affinity table, without torch."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from taskonomy.cli._app import app, console, err_console
from taskonomy.cli._common import (
    BootstrapOpt,
    LossesOpt,
    SeedOpt,
    WinratesGainOpt,
    WinratesQualityOpt,
    matching_losses,
)
from taskonomy.errors import SolverError


class Format(enum.StrEnum):
    text = "text"
    json = "json"
    dot = "dot"


class SolverName(enum.StrEnum):
    auto = "auto"
    highs = "highs"
    cbc = "cbc"
    gurobi = "gurobi"


#: Instances (budgets x orders) one call solves at most; paper:16k's whole sweep of
#: orders 1-24 and budgets 1-27 is 648.
MAX_INSTANCES = 10_000
#: The highest max order accepted above the table's own (the paper's tasks number 27).
MAX_ORDER = 64
#: Solver threads at most (beyond this a solver only waits on its own locks).
MAX_THREADS = 1024
_RANGE = re.compile(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?")


def _read_weights(path: Path, what: str) -> dict[str, float]:
    """A JSON object ``{task: number}`` (read bounded and strictly)."""
    from taskonomy.affinity._input import read_json, show_path
    from taskonomy.errors import AffinityError

    try:
        data = read_json(path, f"{what} file")
    except AffinityError as exc:
        raise SolverError(str(exc)) from None
    if not isinstance(data, dict):
        raise SolverError(
            f'{what} file {show_path(path)} must hold a JSON object like {{"depth": 2}}'
        )
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SolverError(
                f"{what} file {show_path(path)}: value of {key!r} must be a number, "
                f"got {type(value).__name__}"
            )
        out[str(key)] = float(value)
    return out


def _named(where: str, check: Callable[[], None]) -> None:
    """Run ``check``; a SolverError it raises is prefixed with the file it is about."""
    try:
        check()
    except SolverError as exc:
        raise SolverError(f"{where}: {exc}" if where else str(exc)) from None


def _count_budgets(text: str) -> float:
    """How many budgets ``text`` asks for, counted without building the list."""
    total = 0.0
    for part in filter(None, text.replace(" ", "").split(",")):
        m = _RANGE.fullmatch(part)
        if m is None:
            total += 1
            continue
        lo, hi = float(m.group(1)), float(m.group(2))
        step = float(m.group(3)) if m.group(3) else 1.0
        total += (hi - lo) / step + 1 if step > 0 and hi >= lo else 1
    return total


def _budget_list(budget: list[float] | None, budgets: str | None, n_sources: int) -> list[float]:
    from taskonomy.budgets import parse_budgets

    if budget and budgets:
        raise SolverError("give either --budget (repeatable) or --budgets RANGE, not both")
    if budgets is not None:
        if not budgets.strip():
            raise SolverError("--budgets is empty; give a range or list, e.g. '1-5' or '1,3'")
        count = _count_budgets(budgets)
        if not count <= MAX_INSTANCES:
            raise SolverError(
                f"--budgets {budgets[:40]!r} asks for {count:,.0f} budgets, more than the "
                f"{MAX_INSTANCES:,} one call solves; give a coarser range, e.g. '1-26' or "
                "'0-10:0.5'"
            )
        try:
            values = parse_budgets(budgets)
        except (ValueError, OverflowError) as exc:
            raise SolverError(str(exc)) from None
    else:
        values = budget or [float(b) for b in range(1, n_sources + 1)]
    bad = [b for b in values if not math.isfinite(b) or b < 0]
    if bad:
        raise SolverError(f"budgets must be finite numbers >= 0, got {bad[0]:g}")
    return values


def _check_orders(orders: list[int], top: int, where: str) -> None:
    """Orders above the table's highest solve the same taxonomies as it (a note follows);
    beyond :data:`MAX_ORDER` (or the table's own highest, if larger) they are refused."""
    ceiling = max(top, MAX_ORDER)
    huge = [k for k in orders if k > ceiling]
    if huge:
        raise SolverError(
            f"--max-order {huge[0]} is out of range for {where}: its transfers have orders "
            f"1 to {top}; give -k between 1 and {top} (a higher order solves the same "
            "taxonomies)"
        )


def _check_count(budgets: list[float], orders: list[int]) -> None:
    n = len(set(budgets)) * len(set(orders))
    if n > MAX_INSTANCES:
        raise SolverError(
            f"{len(set(budgets))} budgets x {len(set(orders))} orders are {n:,} taxonomies, "
            f"more than the {MAX_INSTANCES:,} one call solves; ask for fewer"
        )


def _recorded_problem(affinities: Path) -> dict[str, Any] | None:
    """The ``problem`` a run recorded beside its ``affinities.json`` (in taxonomy.json),
    checked field by field.

    Raises:
        AffinityError: the record exists but cannot be read or is malformed.
    """
    from taskonomy.affinity._input import read_json, show_path
    from taskonomy.errors import AffinityError

    beside = affinities.with_name("taxonomy.json")
    try:
        if affinities.name != "affinities.json" or not beside.is_file():
            return None
    except (OSError, ValueError):
        return None
    where = show_path(beside)
    doc = read_json(beside, "the run's record")
    problem = doc.get("problem") if isinstance(doc, dict) else None
    if problem is None:
        return None

    def bad(field: str, want: str) -> AffinityError:
        return AffinityError(
            f"{where}: problem.{field} must be {want}; fix the file or rerun "
            "'taskonomy run', which rewrites it"
        )

    if not isinstance(problem, dict):
        raise bad("", "an object")
    for field in ("label_costs", "importance"):
        value = problem.get(field)
        if value is not None and not isinstance(value, dict):
            raise bad(field, 'an object {"task": number}')
    budgets = problem.get("budgets")
    if budgets is not None and not (
        isinstance(budgets, list)
        and len(budgets) <= MAX_INSTANCES
        and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) and b >= 0
            for b in budgets
        )
    ):
        raise bad("budgets", f"a list of at most {MAX_INSTANCES:,} finite numbers >= 0")
    orders = problem.get("orders")
    if orders is not None and not (
        isinstance(orders, list)
        and len(orders) <= 1000
        and all(isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= 1000 for k in orders)
    ):
        raise bad("orders", "a list of integers >= 1")
    return problem


@app.command()
def solve(
    affinities: Annotated[
        str,
        typer.Option(
            "--affinities",
            "-a",
            help="Affinity table in the release convention ('src1__src2__target' -> p) "
            "as JSON or an original pickle (read with a restricted unpickler), or "
            "'paper', 'paper:1k', 'paper:16k' for the shipped original release.",
            show_default=False,
        ),
    ],
    winrates_gain: WinratesGainOpt = None,
    winrates_quality: WinratesQualityOpt = None,
    losses: LossesOpt = None,
    bootstrap: BootstrapOpt = 200,
    seed: SeedOpt = 0,
    budget: Annotated[
        list[float] | None,
        typer.Option("--budget", "-b", help="A supervision budget; repeat for several."),
    ] = None,
    budgets: Annotated[
        str | None,
        typer.Option("--budgets", help="Budgets as a range or list: '1-26', '2-10:2', '1,3,5'."),
    ] = None,
    max_order: Annotated[
        list[int] | None,
        typer.Option(
            "--max-order",
            "-k",
            help="Max transfer order; repeat for several (default: the table's highest order).",
            min=1,
        ),
    ] = None,
    solver: Annotated[
        SolverName, typer.Option("--solver", "-s", help="Backend; auto takes the best installed.")
    ] = SolverName.auto,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text (a table per budget), json or dot.")
    ] = Format.text,
    costs: Annotated[
        Path | None,
        typer.Option(
            "--costs", help='JSON {"task": label cost}; unlisted sources cost 1.', dir_okay=False
        ),
    ] = None,
    importance: Annotated[
        Path | None,
        typer.Option(
            "--importance", help='JSON {"target": weight r_t}; default 1.', dir_okay=False
        ),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds per instance.", min=0.001)
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="Solver threads.", min=1)] = None,
    form: Annotated[
        str,
        typer.Option(
            "--form",
            help="Linking constraints: target-source (tightest), edge-source, "
            "aggregated (the paper's).",
        ),
    ] = "target-source",
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw the taxonomy graphs (one PNG grid per max order) into this folder.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Solve taxonomies: which tasks to supervise, and how to transfer to the rest.

    For every (budget, max order) pair the exact BIP optimum is found, checked by an
    independent certificate and reported with its status, objective, gap and time; the
    text format adds the budget curve (what each extra supervised task buys). Where win
    rates are known (always for 'paper...'), each target's gain (win rate against
    scratch) and quality (against its own network) and their means are reported too.
    With a run's per-image test losses (--losses), each chosen edge also gets its
    bootstrap support: the fraction of resampled test sets whose taxonomy chooses it. An
    infeasible budget is reported with the targets it cannot cover. Exits 1 if any
    instance failed (solver error or failed certificate).
    """
    from taskonomy.affinity._input import show_path
    from taskonomy.affinity.paper import load_source, resolve_affinities
    from taskonomy.solvers import (
        SolveOptions,
        SolveStatus,
        json_lines,
        solutions_to_dot,
        solutions_to_json,
        solutions_to_text,
        solve_sweep,
    )
    from taskonomy.solvers.problem import check_solvable, check_weights

    if time_limit is not None and not math.isfinite(time_limit):
        raise SolverError(f"--time-limit must be a finite number of seconds, got {time_limit}")
    if threads is not None and threads > MAX_THREADS:
        raise SolverError(f"--threads {threads} is more than {MAX_THREADS}; give fewer")
    if seed < 0 or seed >= 2**63:
        raise SolverError(f"--seed must be an integer in [0, 2^63), got {seed}")
    source = resolve_affinities(affinities, winrates_gain, winrates_quality)
    table, winrates = load_source(source)
    check_solvable(table, show_path(source.affinities))
    cost_map = _read_weights(costs, "costs") if costs else None
    weight_map = _read_weights(importance, "importance") if importance else None
    _named(show_path(costs) if costs else "", lambda: check_weights(table, cost_map, None))
    _named(
        show_path(importance) if importance else "", lambda: check_weights(table, None, weight_map)
    )
    recorded = _recorded_problem(source.affinities)
    if recorded:
        cost_map = cost_map if costs else recorded.get("label_costs")
        weight_map = weight_map if importance else recorded.get("importance")
        record = show_path(source.affinities.with_name("taxonomy.json"))
        _named(f"{record} (problem)", lambda: check_weights(table, cost_map, weight_map))
        if not (budget or budgets) and recorded.get("budgets"):
            budget = [float(b) for b in recorded["budgets"]]
        if not max_order and recorded.get("orders"):
            max_order = [int(k) for k in recorded["orders"]]
        err_console.print(
            f"using the label costs, importances, budgets and orders the run recorded in "
            f"{source.affinities.with_name('taxonomy.json')} (options given here win)",
            soft_wrap=True,
        )
    budget_values = _budget_list(budget, budgets, len(table.sources))
    orders = max_order or [table.max_order]
    _check_orders(orders, table.max_order, show_path(source.affinities))
    _check_count(budget_values, orders)
    beyond = sorted({k for k in orders if k > table.max_order})
    if beyond:
        err_console.print(
            f"note: the table's highest order is {table.max_order}; max order "
            f"{', '.join(map(str, beyond))} solves the same taxonomies as {table.max_order}",
            soft_wrap=True,
        )
    options = SolveOptions(time_limit_s=time_limit, threads=threads, form=form)
    solutions = solve_sweep(
        table, budget_values, orders, cost_map, weight_map, solver.value, options
    )
    support = None
    if losses is not None and bootstrap:
        from taskonomy.solvers.bootstrap import bootstrap_support

        support = bootstrap_support(
            matching_losses(table, losses), solutions, resamples=bootstrap, seed=seed,
            label_costs=cost_map, importance=weight_map, solver=solver.value, options=options,
        ).edges  # fmt: skip
    if fmt is Format.json:
        typer.echo(json_lines(solutions_to_json(solutions, winrates, support)), nl=False)
    elif fmt is Format.dot:
        typer.echo(solutions_to_dot(solutions), nl=False)
    else:
        console.print(solutions_to_text(solutions, winrates, support), markup=False, end="")
    if plot is not None:
        from taskonomy.reports import plot_taxonomies

        try:
            paths = plot_taxonomies(
                solutions_to_json(solutions), plot, affinities=table.to_release_dict()
            )
        except OSError as exc:
            raise SolverError(
                f"cannot write the figures to {show_path(plot)}: {exc.strerror or exc}; give "
                "a writable --plot folder"
            ) from None
        err_console.print(f"wrote {len(paths)} taxonomy figure(s) to {plot}")
    if any(s.status is SolveStatus.ERROR for s in solutions):
        raise typer.Exit(1)
