"""``taskonomy run SPEC executor.kind=slurm``: the SLURM executor's entry point.

:func:`run_slurm` wires the real pieces -- :class:`~.cluster.Cluster` (the SLURM
commands, found through ``SLURM_CONF``), :class:`~.submit.SubmititBackend` and a poll
schedule -- into a :class:`~.driver.SlurmDriver`, and holds the work directory's run lock
(:func:`taskonomy.executor.lock.workdir_lock`, the one a local run takes) so two drivers,
or a driver and a local run, never run the same jobs. It expects a work directory that
:func:`taskonomy.executor.runner.prepare_workdir` prepared (array tasks rebuild the plan
from its ``spec.json``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from taskonomy.artifacts import PLAN_FILE, SPEC_FILE
from taskonomy.errors import ExecutionError
from taskonomy.executor.lock import workdir_lock
from taskonomy.executor.slurm.cluster import Cluster
from taskonomy.executor.slurm.driver import SlurmDriver
from taskonomy.executor.slurm.outcomes import ClusterLike, Outcome, SlurmOutcome, SlurmRunResult
from taskonomy.executor.slurm.partitions import query_partition_limits
from taskonomy.executor.slurm.poll import PollSchedule
from taskonomy.executor.slurm.submit import Backend, SubmititBackend
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner.jobs import Plan
from taskonomy.spec.models import Spec

#: Environment override of the least seconds between two polls (tests use 0.5).
POLL_ENV = "TASKONOMY_SLURM_POLL_S"


def _stderr(line: str) -> None:
    print(f"[slurm] {line}", file=sys.stderr, flush=True)


def default_schedule() -> PollSchedule:
    """2 s between polls at least, stretching to 30 s while nothing changes."""
    least = float(os.environ.get(POLL_ENV, "2") or 2)
    return PollSchedule(min_interval_s=least, max_interval_s=max(30.0, least))


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
        ExecutionError: the work directory was not prepared, another run holds it
            (:class:`~taskonomy.executor.lock.WorkdirBusyError`), or SLURM refused a
            submission (the message quotes sbatch).
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
    with workdir_lock(workdir, echo=echo or _stderr):
        ArtifactStore(workdir).clean_tmp()  # left by killed tasks or runs on this host
        driver = SlurmDriver(
            spec,
            plan,
            workdir,
            cluster=cluster or Cluster(),
            backend=backend or SubmititBackend(workdir, bodies=str(bodies)),
            schedule=schedule or default_schedule(),
            echo=echo or _stderr,
            # Time requests are capped by the partitions' limits where sinfo tells them.
            partition_limits=query_partition_limits() if cluster is None else None,
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
    "Outcome",
    "SlurmOutcome",
    "SlurmRunResult",
    "default_schedule",
    "run_slurm",
    "summarize",
]
