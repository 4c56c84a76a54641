"""``taskonomy report``: figures and an HTML page from a run's work directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskonomy.cli._app import app, console


@app.command()
def report(
    workdir: Annotated[
        Path,
        typer.Argument(
            help="Work directory of a run (holds affinities.json and/or taxonomy.json).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output folder (default: WORKDIR/report).", file_okay=False
        ),
    ] = None,
) -> None:
    """Write PNG figures and a self-contained index.html for a run.

    Affinity heatmaps before and after AHP, the task similarity tree, the taxonomy graph
    of every solved (budget, order), gain and quality against budget, predicted label
    savings, the plan summary and run statistics. Result files a run did not write are
    named on the page. Needs no GPU and does not import torch.
    """
    from taskonomy.reports import write_report

    index = write_report(workdir, out)
    console.print(f"report written to [bold]{index}[/]")
