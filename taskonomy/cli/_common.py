"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskonomy.spec import LoadedSpec, load_spec

SpecArg = Annotated[
    Path, typer.Argument(help="The experiment spec (YAML).", show_default=False, dir_okay=False)
]
OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Overrides as dotted.key=value, applied in order, e.g. transfers.max_order=3 "
        "executor.kind=slurm tasks.rgb2depth.role=source.",
        show_default=False,
    ),
]
WorkdirOpt = Annotated[
    Path | None,
    typer.Option(
        "--workdir", "-w", help="Work directory (default: the spec's workdir).", file_okay=False
    ),
]


def load(spec: Path, overrides: list[str] | None, workdir: Path | None = None) -> LoadedSpec:
    return load_spec(spec, overrides or [], workdir=workdir)
