"""``taskonomy report``: figures and an HTML page from a run's work directory, or from an
affinity table that did not come from a run (``--affinities FILE|paper|paper:16k``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskonomy.cli._app import app, console
from taskonomy.cli._common import WinratesGainOpt, WinratesQualityOpt

_SOURCES = "a run's WORKDIR or --affinities FILE|paper|paper:1k|paper:16k"


def _check_table(
    affinities: str, gain: Path | None, quality: Path | None, orders: list[int] | None
) -> None:
    """Read and check an affinity table (and its win rates) before the report's plotting
    modules are imported (about a second), so that a bad input fails at once."""
    from taskonomy.affinity._input import show_path
    from taskonomy.affinity.paper import load_source, resolve_affinities
    from taskonomy.errors import AffinityError
    from taskonomy.solvers.problem import check_solvable

    source = resolve_affinities(affinities, gain, quality)
    table, _ = load_source(source)
    check_solvable(table, show_path(source.affinities))
    bad = [k for k in orders or () if k > table.max_order]
    if bad:
        raise AffinityError(
            f"--max-order {bad[0]} is not an order of {source.name}: its transfers have "
            f"orders 1 to {table.max_order}"
        )


@app.command()
def report(
    workdir: Annotated[
        Path | None,
        typer.Argument(
            help="Work directory of a run (holds affinities.json and/or taxonomy.json). "
            "Leave out with --affinities.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder (default: WORKDIR/report; required with --affinities).",
            file_okay=False,
        ),
    ] = None,
    affinities: Annotated[
        str | None,
        typer.Option(
            "--affinities",
            "-a",
            help="Report on an affinity table instead of a run: a file in the release "
            "convention (JSON or original pickle), or paper, paper:1k, paper:16k for the "
            "original release's published tables (with their win rates).",
            show_default=False,
        ),
    ] = None,
    winrates_gain: WinratesGainOpt = None,
    winrates_quality: WinratesQualityOpt = None,
    max_order: Annotated[
        list[int] | None,
        typer.Option(
            "--max-order",
            "-k",
            help="With --affinities: a max transfer order to solve; repeat for several "
            "(default: 1 to the table's highest order, at most 4).",
            min=1,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write PNG figures and a self-contained index.html for a run or an affinity table.

    For a run: affinity heatmaps before and after AHP, the task similarity tree, the
    taxonomy graph of every solved (budget, order), gain and quality against budget,
    predicted label savings, the plan summary and run statistics. Result files a run
    did not write are named on the page.

    With --affinities (and --out): the table is solved for budgets 1 to its number of
    source tasks and the orders asked for, scored with its win rates where known
    (shipped for paper, paper:1k and paper:16k), and drawn the same way, without the
    sections only a run has. Needs no GPU and does not import torch.
    """
    if affinities is not None and workdir is None and out is not None:
        _check_table(affinities, winrates_gain, winrates_quality, max_order)
    from taskonomy.reports import ReportError, write_report, write_table_report

    if workdir is not None and affinities is not None:
        raise ReportError(f"give {_SOURCES}, not both")
    if affinities is not None:
        if out is None:
            raise ReportError(
                "--affinities needs --out DIR: a table has no work directory to write into"
            )
        try:
            index = write_table_report(
                affinities, out, gain=winrates_gain, quality=winrates_quality, orders=max_order
            )
        except OSError as exc:
            raise ReportError(
                f"cannot write the report to {out}: {exc.strerror or exc}; give a writable "
                "--out folder"
            ) from None
    elif workdir is None:
        raise ReportError(f"nothing to report on: give {_SOURCES}")
    else:
        given = [
            name
            for name, value in (
                ("--winrates-gain", winrates_gain),
                ("--winrates-quality", winrates_quality),
                ("--max-order", max_order),
            )
            if value
        ]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ReportError(
                f"{' and '.join(given)} {verb} only with --affinities; a run's report draws "
                "the orders and scores the run computed"
            )
        index = write_report(workdir, out)
    console.print(f"report written to [bold]{index}[/]")
