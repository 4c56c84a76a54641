"""``taskonomy solve``: taxonomies from an affinity table, without torch."""

from __future__ import annotations

import enum
import json
import math
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


def _read_weights(path: Path, what: str) -> dict[str, float]:
    """A JSON object ``{task: number}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SolverError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise SolverError(f"{what} file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SolverError(f'{what} file {path} must hold a JSON object like {{"depth": 2}}')
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SolverError(f"{what} file {path}: value of {key!r} must be a number")
        out[str(key)] = float(value)
    return out


def _budget_list(budget: list[float] | None, budgets: str | None, n_sources: int) -> list[float]:
    from taskonomy.budgets import parse_budgets

    if budget and budgets:
        raise SolverError("give either --budget (repeatable) or --budgets RANGE, not both")
    if budgets:
        try:
            return parse_budgets(budgets)
        except ValueError as exc:
            raise SolverError(str(exc)) from None
    values = budget or [float(b) for b in range(1, n_sources + 1)]
    bad = [b for b in values if not math.isfinite(b) or b < 0]
    if bad:
        raise SolverError(f"budgets must be finite numbers >= 0, got {bad[0]:g}")
    return values


def _recorded_problem(affinities: Path) -> dict[str, Any] | None:
    """The ``problem`` a run recorded beside its ``affinities.json`` (in taxonomy.json)."""
    beside = affinities.with_name("taxonomy.json")
    if affinities.name != "affinities.json" or not beside.is_file():
        return None
    try:
        problem = json.loads(beside.read_text(encoding="utf-8")).get("problem")
    except (OSError, ValueError, AttributeError):
        return None
    return problem if isinstance(problem, dict) else None


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

    source = resolve_affinities(affinities, winrates_gain, winrates_quality)
    table, winrates = load_source(source)
    if not table.targets:
        raise SolverError(f"{affinities}: the affinity table is empty")
    cost_map = _read_weights(costs, "costs") if costs else None
    weight_map = _read_weights(importance, "importance") if importance else None
    recorded = _recorded_problem(source.affinities)
    if recorded:
        cost_map = cost_map if costs else recorded.get("label_costs")
        weight_map = weight_map if importance else recorded.get("importance")
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
    beyond = [k for k in orders if k > table.max_order]
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

        paths = plot_taxonomies(
            solutions_to_json(solutions), plot, affinities=table.to_release_dict()
        )
        err_console.print(f"wrote {len(paths)} taxonomy figure(s) to {plot}")
    if any(s.status is SolveStatus.ERROR for s in solutions):
        raise typer.Exit(1)
