"""The typer application every subcommand module registers on."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

app = typer.Typer(
    name="taskonomy",
    help=(
        "Run the Taskonomy method as a tool: validate an experiment spec, dry-run its job "
        "plan, execute it locally or on SLURM, and solve taxonomies from affinities."
    ),
    no_args_is_help=True,
    add_completion=True,
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


def log_level(verbose: int, quiet: bool) -> int:
    """The standard logging level for ``-v`` (repeatable) and ``-q``: WARNING by default,
    INFO with ``-v``, DEBUG with ``-vv``, ERROR with ``-q``."""
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


def configure_output(verbose: int, quiet: bool) -> None:
    """Send the ``taskonomy`` loggers to stderr at :func:`log_level`; ``quiet`` also
    silences progress, tables and summaries (errors, and machine output such as
    ``--format json``, still appear)."""
    logger = logging.getLogger("taskonomy")
    logger.setLevel(log_level(verbose, quiet))
    if not any(getattr(h, "_taskonomy_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._taskonomy_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    console.quiet = quiet


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More log output: -v info, -vv debug."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="Only errors and machine output (for scripts): no progress, tables or summaries.",
    ),
) -> None:
    """Run the Taskonomy method as a tool: validate an experiment spec, dry-run its job
    plan, execute it locally or on SLURM, and solve taxonomies from affinities.

    Shell completion: `taskonomy --install-completion` (bash, zsh, fish, PowerShell), or
    `taskonomy --show-completion` to print the script."""
    configure_output(verbose, quiet)
