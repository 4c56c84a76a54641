"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from taskonomy.affinity.table import AffinityTable
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


def check_size(loaded: LoadedSpec, calibration: dict[str, float] | None = None) -> None:
    """Refuse a spec whose plan would exceed its ``max_jobs``, pointing at the setting's
    line (a SpecError, exit code 2), before anything is built."""
    from taskonomy.errors import SpecError
    from taskonomy.planner.build import PlanSizeError, check_plan_size

    try:
        check_plan_size(loaded.spec, calibration)
    except PlanSizeError as exc:
        raise SpecError(loaded.describe(exc.path, exc.message)) from None


def print_notes(loaded: LoadedSpec) -> None:
    """The loader's notes (derived settings, settings without effect) on stderr."""
    from taskonomy.cli._app import err_console

    for note in loaded.notes:
        err_console.print(f"[yellow]warning:[/] {note}", soft_wrap=True, markup=True)


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
LossesOpt = Annotated[
    Path | None,
    typer.Option(
        "--losses",
        help="Per-image test losses of the table's candidates (a run's test_losses.npz): "
        "adds bootstrap support over resampled test images.",
        dir_okay=False,
        show_default=False,
    ),
]
BootstrapOpt = Annotated[
    int,
    typer.Option(
        "--bootstrap",
        help="Bootstrap resamples with --losses (0: none).",
        min=0,
        max=100_000,
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap resampling.")]


def matching_losses(table: AffinityTable, path: Path) -> dict[str, dict[tuple[str, ...], Any]]:
    """The test losses in ``path``, checked to hold exactly the table's candidates."""
    from taskonomy.affinity.release import load_test_losses
    from taskonomy.affinity.table import format_key
    from taskonomy.errors import AffinityError

    losses = load_test_losses(path)
    have = {(s, t) for t, cands in losses.items() for s in cands}
    want = {(tuple(s), t) for s, t in table.entries}
    if have != want:
        missing = sorted(format_key(s, t) for s, t in want - have)[:3]
        extra = sorted(format_key(s, t) for s, t in have - want)[:3]
        raise AffinityError(
            f"{path} does not hold the losses of this affinity table's candidates "
            f"(missing {missing or 'none'}, extra {extra or 'none'}); give the "
            "test_losses.npz of the run that wrote the affinities"
        )
    return losses


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
