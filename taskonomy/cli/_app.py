"""The typer application every subcommand module registers on."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="taskonomy",
    help=(
        "Run the Taskonomy method as a tool: validate an experiment spec, dry-run its job "
        "plan, execute it locally or on SLURM, and solve taxonomies from affinities."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

#: Human-facing output (tables, progress); machine output (json, dot) goes to stdout plainly.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        from taskonomy import __version__

        typer.echo(f"taskonomy {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Run the Taskonomy method as a tool: validate an experiment spec, dry-run its job
    plan, execute it locally or on SLURM, and solve taxonomies from affinities."""
