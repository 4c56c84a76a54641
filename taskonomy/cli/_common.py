"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from taskonomy.spec import LoadedSpec

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
    """Load and validate a spec (imported here so that registering commands stays light)."""
    from taskonomy.spec import load_spec

    return load_spec(spec, overrides or [], workdir=workdir)


WinratesGainOpt = Annotated[
    Path | None,
    typer.Option(
        "--winrates-gain",
        help="Win rates against the scratch network per candidate (release keys), to "
        "report each taxonomy's gain; with --winrates-quality.",
        dir_okay=False,
        show_default=False,
    ),
]
WinratesQualityOpt = Annotated[
    Path | None,
    typer.Option(
        "--winrates-quality",
        help="Win rates against the target's own network per candidate, to report each "
        "taxonomy's quality; with --winrates-gain.",
        dir_okay=False,
        show_default=False,
    ),
]
AffinitiesOpt = Annotated[
    str,
    typer.Option(
        "--affinities",
        "-a",
        help="Affinity table in the release convention ('src1__src2__target' -> p) as JSON "
        "or an original pickle, or 'paper', 'paper:1k', 'paper:16k' for the shipped "
        "original release.",
        show_default=False,
    ),
]
