"""``taskonomy cancel`` and ``taskonomy clean``: stop a SLURM run, tidy its work directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskonomy.cli._app import app, console

WorkdirArg = Annotated[
    Path,
    typer.Argument(
        help="The run's work directory.", show_default=False, file_okay=False, exists=True
    ),
]


@app.command()
def cancel(workdir: WorkdirArg) -> None:
    """Cancel the SLURM jobs the run in WORKDIR submitted that are still queued or running.

    Finished artifacts are kept: `taskonomy run` later resubmits what was cancelled.
    """
    from taskonomy.executor.slurm.cluster import Cluster
    from taskonomy.executor.slurm.housekeeping import cancel_run

    ids = cancel_run(workdir, Cluster())
    if ids:
        console.print(f"cancelled {len(ids)} SLURM job(s): {' '.join(ids)}", soft_wrap=True)
    else:
        console.print(f"nothing to cancel: no job of {workdir} is queued or running")


@app.command()
def clean(
    workdir: WorkdirArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="List what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete SLURM logs and submitit pickles of succeeded jobs in WORKDIR.

    Files of failed, cancelled or running jobs are kept for diagnosis; artifacts
    (store/) and outputs are never touched.
    """
    from taskonomy.executor.slurm.housekeeping import clean_run

    report = clean_run(workdir, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    if dry_run:
        for path in report.removed:
            console.print(str(path), soft_wrap=True, highlight=False)
    console.print(
        f"{verb} {len(report.removed)} file(s), {report.bytes / 1e6:.1f} MB; kept the files "
        f"of {len(report.kept_tasks)} SLURM task(s) with failed or unfinished jobs",
        soft_wrap=True,
    )
