"""The Python route in a few functions: run a spec, and load the paper's published results.

The rest of the public API is re-exported from where it lives (see ``taskonomy.__all__``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from taskonomy.errors import TaskonomyError

if TYPE_CHECKING:
    from rich.console import Console

    from taskonomy.affinity.table import AffinityTable
    from taskonomy.affinity.winrates import WinRates
    from taskonomy.spec import LoadedSpec, Spec


@attrs.frozen
class RunSummary:
    """What :func:`run` did.

    Attributes:
        ok: every job succeeded (detached SLURM runs: none failed so far).
        workdir: the work directory.
        outputs: the published outputs written (affinities.json, taxonomy.json, ...).
    """

    ok: bool
    workdir: Path
    outputs: tuple[Path, ...]


def run(
    spec: Spec | LoadedSpec | str | Path,
    overrides: Sequence[str] = (),
    *,
    workdir: str | Path | None = None,
    detach: bool = False,
    wait: bool = False,
    console: Console | None = None,
    live: bool | None = None,
    on_start: Callable[[Any, Path], None] | None = None,
) -> RunSummary:
    """Run a spec's job graph (what ``taskonomy run`` does), resuming what is done.

    Args:
        spec: a YAML path, a :class:`~taskonomy.spec.Spec` built in Python, or a loaded spec.
        overrides: ``dotted.key=value`` strings (with a path only).
        workdir: overrides the spec's work directory.
        detach: SLURM only: submit what can be submitted now and return.
        wait: when another run holds the work directory, wait for it instead of
            refusing (:func:`taskonomy.executor.lock.workdir_lock`).
        console: where the local executor draws progress (default: standard output).
        live: a live display (default: when the console is a terminal) or plain lines.
        on_start: called with the plan and work directory before anything runs.

    Raises:
        WorkdirBusyError: another live run holds the work directory (and not ``wait``).
        DiskFullError: the disk lacks space; completed artifacts are kept.
    """
    from taskonomy import jobs
    from taskonomy.executor.disk import disk_errors
    from taskonomy.executor.lock import workdir_lock
    from taskonomy.executor.runner import prepare_workdir
    from taskonomy.executor.store import ArtifactStore
    from taskonomy.jobs.outputs import publish_outputs
    from taskonomy.spec import LoadedSpec, Spec, load_spec, loaded_from_python

    if isinstance(spec, LoadedSpec):
        loaded = spec
    elif isinstance(spec, Spec):
        loaded = loaded_from_python(spec, workdir)
    else:
        loaded = load_spec(spec, overrides, workdir=workdir)
    if detach and loaded.spec.executor.kind != "slurm":
        raise TaskonomyError(
            "--detach needs executor.kind=slurm; the local executor runs in this process "
            "(leave out --detach, or add the override executor.kind=slurm)"
        )
    from taskonomy.executor.preflight import preflight

    preflight(loaded.spec, loaded.workdir)  # every problem at once, before anything runs
    # One run per work directory, from re-planning to publishing (the SLURM driver
    # takes the same lock again, re-entrantly).
    with workdir_lock(loaded.workdir, wait=wait), disk_errors(loaded.workdir):
        the_spec, plan, wd = prepare_workdir(loaded)
        if on_start is not None:
            on_start(plan, wd)
        if the_spec.executor.kind == "slurm":
            from taskonomy.executor.slurm.executor import run_slurm

            ok = bool(run_slurm(the_spec, plan, wd, detach=detach, bodies=jobs.BODIES_REF).ok)
        else:
            from taskonomy.executor.local import run_local

            result = run_local(the_spec, plan, wd, bodies=jobs.BODIES, console=console, live=live)
            ok = result.ok
        outputs = publish_outputs(wd, plan, ArtifactStore(wd))
    return RunSummary(ok, wd, tuple(outputs))


def load_published(name: str = "paper") -> tuple[AffinityTable, WinRates | None]:
    """The original release's affinities and win rates: ``paper``, ``paper:1k`` or
    ``paper:16k`` (or the path of an affinity file, without win rates)."""
    from taskonomy.affinity.paper import load_source, resolve_affinities

    return load_source(resolve_affinities(name))
