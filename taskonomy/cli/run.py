"""``taskonomy run``: execute a spec's job graph, locally or on SLURM, and resume it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from taskonomy.cli._app import app, console, err_console
from taskonomy.cli._common import OverridesArg, SpecArg, WorkdirOpt, check_size, load, print_notes


@app.command()
def run(
    spec: SpecArg,
    overrides: OverridesArg = None,
    workdir: WorkdirOpt = None,
    no_progress: Annotated[
        bool,
        typer.Option("--no-progress", help="Plain log lines instead of the live display."),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="When another run is using the work directory, wait for it to finish "
            "instead of refusing.",
        ),
    ] = False,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help="SLURM only: submit what can be submitted now (afterok chains) and return; "
            "a later `taskonomy run` or `status` picks the run up.",
        ),
    ] = False,
) -> None:
    """Run a spec's job graph: every job whose artifact is not complete and valid.

    Finished jobs are kept, so running the same command again resumes where a killed or
    failed run stopped. The work directory records the spec and plan (spec.json,
    plan.json), one log per job (logs/), the artifacts (store/) and, at the top, the
    outputs: affinities.json, taxonomy.json, evaluation.json. Exits 0 when every job
    succeeded, 1 when any failed (the summary names each, why, and its log), 2 for
    errors in the spec, the command or the work directory (another run holds it, the
    disk is full, it is read-only), 143 after SIGTERM (recorded in run.json).
    """
    from taskonomy.api import run as run_spec
    from taskonomy.executor.signals import Terminated

    loaded = load(spec, overrides, workdir)
    check_size(loaded)
    print_notes(loaded)
    kind = loaded.spec.executor.kind

    def announce(plan: Any, wd: Path) -> None:
        line = f"run [bold]{plan.name}[/] ({len(plan)} jobs, {kind}) in {wd}"
        console.print(line, soft_wrap=True)

    try:
        done = run_spec(
            loaded, detach=detach, wait=wait, console=console,
            live=False if no_progress else None, on_start=announce,
        )  # fmt: skip
    except Terminated:
        err_console.print(
            "[bold red]terminated[/] (SIGTERM); finished jobs are kept: run the same "
            "command again to resume",
            soft_wrap=True,
        )
        raise typer.Exit(143) from None
    for path in done.outputs:
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)
    index = done.workdir / "report" / "index.html"
    if index.is_file():
        console.print(f"report: [bold]{index}[/]", soft_wrap=True, highlight=False)
    ok, wd = done.ok, done.workdir
    if not ok:
        err_console.print(
            f"[red]some jobs failed[/]; see the summary above and `taskonomy status {wd}`",
            soft_wrap=True,
        )
        raise typer.Exit(1)
