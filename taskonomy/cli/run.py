"""``taskonomy run``: execute a spec's job graph, locally or on SLURM, and resume it."""

from __future__ import annotations

from typing import Annotated

import typer

from taskonomy.cli._app import app, console, err_console
from taskonomy.cli._common import OverridesArg, SpecArg, WorkdirOpt, load
from taskonomy.errors import TaskonomyError


@app.command()
def run(
    spec: SpecArg,
    overrides: OverridesArg = None,
    workdir: WorkdirOpt = None,
    no_progress: Annotated[
        bool,
        typer.Option("--no-progress", help="Plain log lines instead of the live display."),
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
    errors in the spec or the command.
    """
    from taskonomy import jobs
    from taskonomy.executor.runner import prepare_workdir
    from taskonomy.executor.store import ArtifactStore
    from taskonomy.jobs.outputs import publish_outputs

    loaded = load(spec, overrides, workdir)
    the_spec, plan, wd = prepare_workdir(loaded)
    kind = the_spec.executor.kind
    if detach and kind != "slurm":
        raise TaskonomyError(
            "--detach needs executor.kind=slurm; the local executor runs in this process "
            "(leave out --detach, or add the override executor.kind=slurm)"
        )
    console.print(f"run [bold]{plan.name}[/] ({len(plan)} jobs, {kind}) in {wd}", soft_wrap=True)
    if kind == "slurm":
        from taskonomy.executor.slurm.executor import run_slurm

        ok = bool(run_slurm(the_spec, plan, wd, detach=detach, bodies=jobs.BODIES_REF).ok)
    else:
        from taskonomy.executor.local import run_local

        live = False if no_progress else None
        result = run_local(the_spec, plan, wd, bodies=jobs.BODIES, console=console, live=live)
        ok = result.ok
    for path in publish_outputs(wd, plan, ArtifactStore(wd)):
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)
    if not ok:
        err_console.print(
            f"[red]some jobs failed[/]; see the summary above and `taskonomy status {wd}`",
            soft_wrap=True,
        )
        raise typer.Exit(1)
