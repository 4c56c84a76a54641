"""``taskonomy validate``, ``taskonomy schema`` and ``taskonomy tasks``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from taskonomy.cli._app import app, console
from taskonomy.cli._common import OverridesArg, SpecArg, check_size, load, print_notes
from taskonomy.tasks import BUILTIN_TASKS, TASKONOMY_ONLY_TASKS


@app.command()
def validate(spec: SpecArg, overrides: OverridesArg = None) -> None:
    """Check a spec (and overrides) and print the task dictionary it defines.

    Exits 0 when valid, 2 with every problem listed (file, dotted path, YAML line,
    valid choices) when not; a spec whose plan would exceed its max_jobs is refused
    too. Settings that cannot have the effect they ask for are warned about.
    """
    loaded = load(spec, overrides)
    check_size(loaded)
    print_notes(loaded)
    from taskonomy.spec import resolve_tasks

    tasks = resolve_tasks(loaded.spec)
    n_src = sum(t.is_source for t in tasks)
    n_tgt = sum(t.is_target for t in tasks)
    console.print(
        f"[green]ok[/]: {spec} defines {len(tasks)} tasks ({n_src} sources, "
        f"{n_tgt} targets); work directory {loaded.workdir}",
        soft_wrap=True,
    )
    table = Table()
    for col in ("task", "kind", "role", "label cost", "importance"):
        table.add_column(col)
    for t in tasks:
        table.add_row(t.name, t.kind, str(t.role), f"{t.label_cost:g}", f"{t.importance:g}")
    console.print(table)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of spec files (point your editor's YAML plugin at it)."""
    from taskonomy.spec import spec_schema

    text = json.dumps(spec_schema(), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output}")


@app.command()
def tasks() -> None:
    """List every built-in task the spec accepts: family, output, loss, input, default
    role and label cost, and whether the bundled mini generator can label it (the
    others need the real dataset, ``dataset.kind: taskonomy``)."""
    table = Table()
    table.add_column("task", no_wrap=True)
    for col in ("family", "output", "loss", "input", "role", "label cost", "mini", "what"):
        table.add_column(col)
    for t in [*BUILTIN_TASKS.values(), *TASKONOMY_ONLY_TASKS.values()]:
        table.add_row(
            t.name,
            t.family.value if t.family else "-",
            f"{t.output} ({t.channels})",
            str(t.loss),
            str(t.input_transform),
            str(t.default_role),
            f"{t.label_cost:g}",
            "yes" if t.mini else "no",
            t.description,
        )
    console.print(table)
