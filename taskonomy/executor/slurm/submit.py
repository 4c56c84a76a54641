"""Submitting one array of packed plan jobs through submitit.

:class:`Backend` is the boundary the driver's unit tests replace; :class:`SubmititBackend`
is the real one: one ``sbatch`` per :class:`~taskonomy.executor.slurm.header.ArraySubmission`
(``map_array`` over the packs), with the parameters that render the header
``taskonomy plan`` shows, plus the ``afterok`` dependency on jobs still in flight.
Transient sbatch failures ("Socket timed out") are retried with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from taskonomy.executor.slurm.cluster import RetryPolicy, with_retries
from taskonomy.executor.slurm.header import ArraySubmission
from taskonomy.executor.slurm.task import PackTask

#: Backoff for transient sbatch errors: 6 tries over about half a minute.
SBATCH_RETRY = RetryPolicy()


@attrs.frozen
class Submitted:
    """What one submission created.

    Attributes:
        task_ids: the SLURM id of each pack's task, in pack order (``123_0``, ... or
            ``123`` when the submission has a single task).
        stdout: each task's stdout file (submitit's log), in pack order.
    """

    task_ids: tuple[str, ...]
    stdout: tuple[str, ...]


class Backend(Protocol):
    """Submits one array whose task ``i`` runs the plan jobs ``packs[i]``."""

    def submit(
        self,
        sub: ArraySubmission,
        packs: Sequence[Sequence[str]],
        dependency: Sequence[str],
        *,
        comment: str = "",
    ) -> Submitted: ...


def submission_parameters(
    sub: ArraySubmission, dependency: Sequence[str], comment: str = ""
) -> dict[str, Any]:
    """submitit parameters of ``sub``, with ``afterok`` on ``dependency`` when non-empty.

    ``--kill-on-invalid-dep=yes`` makes SLURM cancel the array when a parent fails, on
    clusters that do not set ``DependencyParameters=kill_invalid_depend`` (otherwise the
    array would stay pending forever). ``comment`` becomes ``--comment`` (the token that
    lets a later driver find the array, see :mod:`.intents`).
    """
    params = sub.submitit_parameters()
    extra = dict(params["additional_parameters"])
    if dependency:
        extra["dependency"] = "afterok:" + ":".join(dependency)
        extra["kill-on-invalid-dep"] = "yes"
    if comment:
        extra["comment"] = comment
    params["additional_parameters"] = extra
    return params


def task_logs(folder: Path, task_ids: Sequence[str]) -> tuple[str, ...]:
    """submitit's stdout file of each task (what :class:`Submitted` lists)."""
    from submitit.core.utils import JobPaths

    return tuple(str(JobPaths(folder, job_id=t, task_id=0).stdout) for t in task_ids)


class SubmititBackend:
    """The real backend: submitit's ``SlurmExecutor`` with a retry around ``sbatch``.

    Args:
        workdir: the run's work directory (the array tasks' argument).
        bodies: the job bodies the array tasks import, by reference (see
            :class:`~taskonomy.executor.slurm.task.PackTask`).
        retry: backoff for transient ``sbatch`` errors.
        sleep: waits between retries.
        max_num_timeout: how often submitit requeues a checkpointable task that hits
            its time limit.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        bodies: str,
        retry: RetryPolicy = SBATCH_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        max_num_timeout: int = 3,
    ) -> None:
        self.workdir = Path(workdir)
        self.bodies = bodies
        self._retry = retry
        self._sleep = sleep
        self._max_num_timeout = max_num_timeout

    def submit(
        self,
        sub: ArraySubmission,
        packs: Sequence[Sequence[str]],
        dependency: Sequence[str],
        *,
        comment: str = "",
    ) -> Submitted:
        import submitit

        if len(packs) != sub.tasks:
            raise ValueError(f"{sub.name}: {len(packs)} packs for {sub.tasks} tasks")
        executor = submitit.SlurmExecutor(folder=sub.folder, max_num_timeout=self._max_num_timeout)
        executor.update_parameters(**submission_parameters(sub, dependency, comment))
        task = PackTask(self.workdir, self.bodies)
        args = [list(pack) for pack in packs]

        def once() -> list[Any]:
            jobs: list[Any] = executor.map_array(task, args)
            return jobs

        jobs = with_retries(
            once, what=f"submitting {sub.name}", policy=self._retry, sleep=self._sleep
        )
        return Submitted(
            task_ids=tuple(str(j.job_id) for j in jobs),
            stdout=tuple(str(j.paths.stdout) for j in jobs),
        )
