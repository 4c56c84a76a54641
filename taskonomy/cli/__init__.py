"""The ``taskonomy`` console command.

Each subcommand lives in its own module and registers on :data:`taskonomy.cli._app.app`.
No module here imports torch at import time: ``plan``, ``validate``, ``schema`` and
``solve`` run on login nodes without a GPU stack.
"""

from __future__ import annotations

import sys

from rich.text import Text

from taskonomy.cli._app import app, err_console
from taskonomy.errors import TaskonomyError


def _register() -> None:
    # Imported for their side effect of registering commands on ``app``; none of them
    # imports torch at import time.
    from taskonomy.cli import (  # noqa: F401
        manage,
        plan,
        report,
        run,
        solve,
        spec_cmds,
        status,
        tree,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one message and exit code 2."""
    _register()
    try:
        app(args=argv, prog_name="taskonomy", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except TaskonomyError as exc:
        err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        return 130
    return 0


def run_main() -> None:  # pragma: no cover - thin wrapper for the console script
    sys.exit(main())


__all__ = ["app", "main"]
