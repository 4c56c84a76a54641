"""``taskonomy run SPEC executor.kind=slurm``: the SLURM executor's entry point.

:func:`run_slurm` wires the real pieces -- :class:`~.cluster.Cluster` (the SLURM
commands, found through ``SLURM_CONF``), :class:`~.submit.SubmititBackend` and a poll
schedule -- into a :class:`~.driver.SlurmDriver`, and holds a lock on the work directory
so two drivers never submit the same jobs. It expects a work directory that
:func:`taskonomy.executor.runner.prepare_workdir` prepared (array tasks rebuild the plan
from its ``spec.json``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from taskonomy.artifacts import PLAN_FILE, SPEC_FILE
from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.cluster import Cluster
from taskonomy.executor.slurm.driver import SlurmDriver
from taskonomy.executor.slurm.journal import slurm_dir
from taskonomy.executor.slurm.outcomes import ClusterLike, Outcome, SlurmOutcome, SlurmRunResult
from taskonomy.executor.slurm.poll import PollSchedule
from taskonomy.executor.slurm.submit import Backend, SubmititBackend
from taskonomy.planner.jobs import Plan
from taskonomy.spec.models import Spec

#: Environment override of the least seconds between two polls (tests use 0.5).
POLL_ENV = "TASKONOMY_SLURM_POLL_S"
LOCK_FILE = "driver.lock"


class DriverBusyError(ExecutionError):
    """Another driver is attached to the same work directory."""


def _stderr(line: str) -> None:
    print(f"[slurm] {line}", file=sys.stderr, flush=True)


def default_schedule() -> PollSchedule:
    """2 s between polls at least, stretching to 30 s while nothing changes."""
    least = float(os.environ.get(POLL_ENV, "2") or 2)
    return PollSchedule(min_interval_s=least, max_interval_s=max(30.0, least))


@contextlib.contextmanager
def driver_lock(workdir: Path) -> Iterator[None]:
    """Hold ``WORKDIR/slurm/driver.lock`` for the duration (one driver per work directory).

    Raises:
        DriverBusyError: another process holds it; the message names it.
    """
    path = slurm_dir(workdir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise DriverBusyError(
                f"a SLURM driver ({holder}) is already attached to {workdir}; wait for it, "
                "stop it (its jobs keep running), or watch with `taskonomy status`"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_slurm(
    spec: Spec,
    plan: Plan,
    workdir: Path,
    *,
    detach: bool = False,
    bodies: str | None = None,
    cluster: ClusterLike | None = None,
    backend: Backend | None = None,
    schedule: PollSchedule | None = None,
    echo: Callable[[str], None] | None = None,
) -> SlurmRunResult:
    """Run ``plan`` on SLURM: submit wave by wave, watch, reconcile; or submit and return.

    Rerunning it on the same work directory reattaches to the jobs still queued or
    running (``WORKDIR/slurm/jobs.json``), skips finished ones and resubmits failed ones
    while they have failed at most ``executor.slurm_max_retries`` times.

    Args:
        spec: the run's spec.
        plan: its plan, as recorded in ``workdir``.
        workdir: the work directory :func:`~taskonomy.executor.runner.prepare_workdir`
            prepared; compute nodes must see it at the same path.
        detach: submit everything submittable now (``afterok`` chains) and return.
        bodies: the job bodies the array tasks run, by reference
            (:data:`taskonomy.jobs.BODIES_REF` for the real ones); needed unless
            ``backend`` is given.
        cluster: the SLURM commands (default: a :class:`Cluster`).
        backend: submits arrays (default: submitit).
        schedule: the polling rate (default: :func:`default_schedule`).
        echo: receives one line per event (default: standard error).

    Returns:
        Every job's outcome; ``.ok`` is True when all are done (detached: none failed).

    Raises:
        ExecutionError: the work directory was not prepared, another driver holds it, or
            SLURM refused a submission (the message quotes sbatch).
    """
    workdir = Path(workdir).absolute()
    missing = [name for name in (SPEC_FILE, PLAN_FILE) if not (workdir / name).is_file()]
    if missing:
        raise ExecutionError(
            f"{workdir} lacks {' and '.join(missing)}, which the array tasks read; prepare it "
            "with taskonomy.executor.runner.prepare_workdir (`taskonomy run SPEC` does)"
        )
    if backend is None and bodies is None:
        raise ExecutionError("run_slurm needs the job bodies (bodies=...) or a backend")
    with driver_lock(workdir):
        driver = SlurmDriver(
            spec,
            plan,
            workdir,
            cluster=cluster or Cluster(),
            backend=backend or SubmititBackend(workdir, bodies=str(bodies)),
            schedule=schedule or default_schedule(),
            echo=echo or _stderr,
        )
        try:
            result = driver.run(detach=detach)
        except KeyboardInterrupt:
            driver.journal.save()
            (echo or _stderr)(
                "driver stopped; submitted jobs keep running. Rerun `taskonomy run` to "
                "reattach, or `taskonomy cancel WORKDIR` to stop them"
            )
            raise
    summarize(result, workdir, echo or _stderr)
    return result


def summarize(result: SlurmRunResult, workdir: Path, echo: Callable[[str], None]) -> None:
    """One line of counts, then each failed job with its reason and log."""
    counts = ", ".join(f"{result.count(s)} {s}" for s in Outcome if result.count(s))
    echo(f"{len(result.outcomes)} jobs: {counts}")
    for o in result.failed[:20]:
        echo(f"  {o.state}: {o.job_id} (SLURM {o.slurm_job_id or '-'}): {o.reason}; log {o.log}")
    if len(result.failed) > 20:
        echo(f"  ... and {len(result.failed) - 20} more (`taskonomy status {workdir}`)")
    if result.detached and result.count(Outcome.IN_FLIGHT):
        echo(
            f"detached after {result.submitted} submission(s): watch with `taskonomy status "
            f"{workdir}`, continue with `taskonomy run` (it reattaches)"
        )


__all__ = [
    "DriverBusyError",
    "Outcome",
    "SlurmOutcome",
    "SlurmRunResult",
    "default_schedule",
    "driver_lock",
    "run_slurm",
    "summarize",
]
