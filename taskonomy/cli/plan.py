"""``taskonomy plan``: the dry run, before any cluster time is spent."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from taskonomy.cli._app import app, console
from taskonomy.cli._common import (
    OverridesArg,
    SpecArg,
    WorkdirOpt,
    check_size,
    load,
    print_notes,
)


class Format(enum.StrEnum):
    text = "text"
    json = "json"
    dot = "dot"
    mermaid = "mermaid"
    rules_dot = "rules-dot"
    rules_mermaid = "rules-mermaid"


@app.command()
def plan(
    spec: SpecArg,
    overrides: OverridesArg = None,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="text (tables), json, dot or mermaid (every job; dot needs Graphviz's `dot` "
            "to draw: `| dot -Tsvg > plan.svg`, apt/brew/conda package graphviz), or "
            "rules-dot / rules-mermaid (one node per stage, with job counts: readable "
            "at any plan size).",
        ),
    ] = Format.text,
    workdir: WorkdirOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when any job would run (is it up to date?).")
    ] = False,
    jobs: Annotated[
        bool, typer.Option("--jobs", help="With text: list every job and why it would run.")
    ] = False,
) -> None:
    """Dry-run a spec: job counts, estimated GPU-hours, critical path, what would run.

    Nothing is executed and torch is not imported. The work directory is read (never
    written) to tell, for every job, whether it is done or why it would run: new, inputs
    changed, artifact missing or invalid. With executor.kind=slurm the sbatch header of
    every array is shown, with warnings for jobs estimated to exceed their time limit.
    """
    from taskonomy.errors import SpecError
    from taskonomy.executor.slurm.header import sbatch_headers
    from taskonomy.executor.slurm.partitions import query_partition_limits
    from taskonomy.executor.store import ArtifactStore
    from taskonomy.planner import build_plan, views
    from taskonomy.planner.cost import load_calibration
    from taskonomy.planner.views import plan_to_dot, plan_to_json, plan_to_mermaid, plan_to_text

    loaded = load(spec, overrides, workdir)
    calibration = load_calibration(loaded.workdir, loaded.spec.executor.device)
    check_size(loaded, calibration)
    print_notes(loaded)
    the_plan = build_plan(loaded.spec, calibration)
    try:
        states = ArtifactStore(loaded.workdir).states(the_plan)
    except OSError as exc:
        raise SpecError(
            f"work directory {str(loaded.workdir)!r} cannot be read ({exc.strerror or exc}); "
            "choose another with --workdir"
        ) from None
    sbatch: dict[str, list[str]] | None = None
    slurm_warnings: list[str] = []
    if loaded.spec.executor.kind == "slurm":
        limits = query_partition_limits()  # {} where sinfo is not on PATH
        sbatch, slurm_warnings = sbatch_headers(
            the_plan, loaded.spec.executor, loaded.workdir, partition_limits=limits
        )
    warnings = [*loaded.notes, *slurm_warnings]
    if fmt is Format.json:
        typer.echo(json.dumps(plan_to_json(the_plan, states, sbatch, warnings), indent=2))
    elif fmt is Format.dot:
        typer.echo(plan_to_dot(the_plan), nl=False)
    elif fmt is Format.mermaid:
        typer.echo(plan_to_mermaid(the_plan), nl=False)
    elif fmt is Format.rules_dot:
        typer.echo(views.plan_to_rule_dot(the_plan), nl=False)
    elif fmt is Format.rules_mermaid:
        typer.echo(views.plan_to_rule_mermaid(the_plan), nl=False)
    else:
        # the notes went to stderr above
        console.print(plan_to_text(the_plan, states, sbatch, slurm_warnings, list_jobs=jobs))
    if check and any(s.would_run for s in states.values()):
        raise typer.Exit(1)
