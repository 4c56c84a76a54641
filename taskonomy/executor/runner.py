"""What every executor shares: the work directory's run record and running jobs in-process.

:func:`prepare_workdir` records a run's spec and plan in its work directory and
:func:`load_workdir` reads them back (layout in :mod:`taskonomy.executor.runinfo`).
:func:`execute_jobs` is the unit of execution: the local executor runs every job or batch
through the same :class:`JobRunner`, and a SLURM array task calls it with the job ids
packed into it. It never schedules: a job whose dependencies are not complete is not run.
Bodies are injected (:class:`BodyResolver`), as DVC's runner takes the function that runs
a stage: the executor never imports the job bodies; the command line passes
:data:`taskonomy.jobs.BODIES`, and tests run the executors with fake bodies.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from taskonomy import __version__
from taskonomy.executor import calibration
from taskonomy.executor.context import BatchBody, JobBody, JobContext, JobFailed
from taskonomy.executor.disk import disk_full
from taskonomy.executor.durable import is_disk_full
from taskonomy.executor.joblog import job_logger
from taskonomy.executor.outcome import JobOutcome, OutcomeState, ProgressSink, one_line
from taskonomy.executor.runinfo import (
    WorkdirError,
    load_workdir,
    log_path,
    prepare_workdir,
    scratch_path,
)
from taskonomy.executor.store import ArtifactStore
from taskonomy.kinds import JobKind
from taskonomy.planner.jobs import Job, JobState, Plan
from taskonomy.planner.packing import take_pack
from taskonomy.spec.models import Spec


@attrs.frozen
class BodyResolver:
    """Where an executor finds the function that runs a job kind: the real bodies are
    :data:`taskonomy.jobs.BODIES`; tests pass cheap ones."""

    body: Callable[[JobKind], JobBody]
    batch_body: Callable[[JobKind], BatchBody | None]
    #: ``package.module:OBJECT`` naming this resolver, for other processes (worker
    #: processes, array tasks) to import it; None: it travels pickled.
    ref: str | None = None


def _json_safe(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    value = json.loads(json.dumps(dict(meta or {}), default=str))
    return value if isinstance(value, dict) else {}


def _slurm_ids() -> dict[str, str]:
    names = {
        "slurm_job_id": "SLURM_JOB_ID",
        "slurm_array_job_id": "SLURM_ARRAY_JOB_ID",
        "slurm_array_task_id": "SLURM_ARRAY_TASK_ID",
    }
    return {key: os.environ[env] for key, env in names.items() if os.environ.get(env)}


@attrs.define
class _Attempt:
    job: Job
    ctx: JobContext
    log_file: Path
    stack: contextlib.ExitStack


class JobRunner:
    """Runs jobs of one plan in this process: context, body, commit or discard.

    Args:
        spec: the run's spec.
        plan: its plan.
        workdir: the work directory (holds the store, logs and scratch dirs).
        device: overrides ``spec.executor.device``.
        bodies: where bodies come from (:data:`taskonomy.jobs.BODIES` for the real ones).
        progress: told when jobs start, step and finish.
    """

    def __init__(
        self,
        spec: Spec,
        plan: Plan,
        workdir: Path,
        *,
        bodies: BodyResolver,
        device: str | None = None,
        progress: ProgressSink | None = None,
        store: ArtifactStore | None = None,
    ) -> None:
        self.spec, self.plan, self.workdir = spec, plan, Path(workdir)
        self.device = device or spec.executor.device
        self.bodies = bodies
        self.progress = progress
        self.store = store or ArtifactStore(self.workdir)
        self._reference: dict[str, float] | None = None
        self._device_seen: str | None = None

    def _missing_dep(self, job: Job, failed: Mapping[str, JobOutcome]) -> JobOutcome | None:
        for dep in job.deps:
            if dep in failed:
                reason = f"upstream job {dep} did not complete"
            elif self.store.state(self.plan.jobs[dep]) is not JobState.DONE:
                reason = f"dependency {dep} has no complete artifact; run it first"
            else:
                continue
            return JobOutcome(
                job.id, OutcomeState.UPSTREAM_FAILED, reason=reason, log=self._log(job)
            )
        return None

    def _log(self, job: Job) -> Path:
        return log_path(self.workdir, job.id)

    def run(self, job_ids: Sequence[str]) -> list[JobOutcome]:
        """Run ``job_ids`` (plan order), batching kinds that have a batch body.

        Jobs already complete are SKIPPED; a job whose dependency is not complete is
        UPSTREAM_FAILED. Returns one outcome per id, in the order given.
        """
        unknown = [j for j in job_ids if j not in self.plan.jobs]
        if unknown:
            raise WorkdirError(f"job ids not in the plan of {self.workdir}: {unknown[:5]}")
        index = {jid: i for i, jid in enumerate(self.plan.jobs)}
        outcomes: dict[str, JobOutcome] = {}
        todo = sorted(dict.fromkeys(job_ids), key=index.__getitem__)
        while todo:
            job = self.plan.jobs[todo.pop(0)]
            if self.store.state(job) is JobState.DONE:
                outcomes[job.id] = JobOutcome(job.id, OutcomeState.SKIPPED, log=self._log(job))
                continue
            bad = {k: v for k, v in outcomes.items() if not v.state.ok}
            blocked = self._missing_dep(job, bad)
            if blocked is not None:
                outcomes[job.id] = blocked
                continue
            # The ids were packed when submitted: every ready job of the kind goes along.
            others = (
                []
                if self.bodies.batch_body(job.kind) is None
                else [
                    self.plan.jobs[j]
                    for j in todo
                    if not set(self.plan.jobs[j].deps) & set(todo)
                    and self._missing_dep(self.plan.jobs[j], bad) is None
                    and self.store.state(self.plan.jobs[j]) is not JobState.DONE
                ]
            )
            batch = take_pack([job, *others], size=0, order=index)
            for j in batch[1:]:
                todo.remove(j.id)
            for outcome in self.run_batch(batch):
                outcomes[outcome.job_id] = outcome
        return [outcomes[j] for j in dict.fromkeys(job_ids)]

    def run_batch(self, jobs: Sequence[Job]) -> list[JobOutcome]:
        """Run ``jobs`` (one kind, dependencies complete) in one body call where possible.

        If the batch body raises, nothing of the batch is kept and each job runs alone.
        """
        if not jobs:
            return []
        batch_body = self.bodies.batch_body(jobs[0].kind) if len(jobs) > 1 else None
        if len(jobs) > 1 and batch_body is None:
            return [o for job in jobs for o in self.run_batch([job])]
        attempts: list[_Attempt] = []
        if self.progress is not None:
            self.progress.started(jobs)
        try:
            for job in jobs:
                attempts.append(self._begin(job))
            start = time.time()
            try:
                if batch_body is not None:
                    metas = list(batch_body([a.ctx for a in attempts]))
                    if len(metas) != len(attempts):
                        raise JobFailed(
                            f"the {jobs[0].kind} batch body returned {len(metas)} results "
                            f"for {len(attempts)} jobs"
                        )
                else:
                    metas = [self.bodies.body(jobs[0].kind)(attempts[0].ctx)]
            except Exception as exc:
                if is_disk_full(exc):  # stop the run: every later job would fail too
                    raise disk_full(self.workdir, exc, [j.id for j in jobs]) from exc
                if len(attempts) == 1:
                    return [self._fail(attempts[0], exc, time.time() - start)]
                # One bad job must not fail the others packed with it: keep nothing of
                # the batch and run each of its jobs on its own (below, once the batch's
                # attempts are closed).
                self._abandon(attempts, exc)
                isolate = True
            else:
                isolate = False
            end = time.time()
            if not isolate:
                done = [
                    self._commit(a, m, start, end, len(attempts))
                    for a, m in zip(attempts, metas, strict=True)
                ]
                self._calibrate(jobs, metas, done)
                return done
        except BaseException as exc:  # Ctrl-C, SystemExit: keep nothing half-written
            for a in attempts:
                a.ctx.log.error(
                    "interrupted (%s); nothing of this attempt is kept", type(exc).__name__
                )
                self.store.discard(a.ctx.out)
            raise
        finally:
            for a in attempts:
                a.stack.close()
        return [o for job in jobs for o in self.run_batch([job])]

    def _abandon(self, attempts: Sequence[_Attempt], exc: Exception) -> None:
        """Log why a batch failed in each of its jobs' logs and discard their outputs."""
        n = len(attempts)
        detail = "".join(traceback.format_exception(exc)).rstrip()
        for a in attempts:
            self.store.discard(a.ctx.out)
            a.ctx.log.warning(
                "the batch of %d %s jobs failed; running each on its own:\n%s",
                n,
                a.job.kind,
                detail,
            )

    def _begin(self, job: Job) -> _Attempt:
        stack = contextlib.ExitStack()
        logger, path = stack.enter_context(job_logger(self.workdir, job))
        scratch = scratch_path(self.workdir, job)
        scratch.mkdir(parents=True, exist_ok=True)
        out = self.store.begin(job)
        stack.callback(lambda: self.store.discard(out) if out.exists() else None)
        progress = self.progress

        def report(step: int, total: int, message: str) -> None:
            if progress is not None:
                progress.step(job, step, total, message)

        ctx = JobContext(
            job=job,
            plan=self.plan,
            spec=self.spec,
            workdir=self.workdir,
            store=self.store,
            out=out,
            scratch=scratch,
            device=self.device,
            log=logger,
            progress=report,
        )
        logger.info(
            "start %s (hash %s) on %s pid %d, device %s",
            job.id,
            job.hash[:16],
            socket.gethostname(),
            os.getpid(),
            self.device,
        )
        return _Attempt(job, ctx, path, stack)

    def _calibrate(
        self,
        jobs: Sequence[Job],
        metas: Sequence[Mapping[str, Any] | None],
        outcomes: Sequence[JobOutcome],
    ) -> None:
        """Record the committed jobs' measured seconds (docs/calibration.md)."""
        if self._reference is None:
            from taskonomy.planner import build_plan  # uncalibrated: the reference table

            self._reference = {j.id: j.est_seconds for j in build_plan(self.spec)}
        found: list[calibration.Measurement] = []
        for job, meta, outcome in zip(jobs, metas, outcomes, strict=True):
            if outcome.state is not OutcomeState.DONE:
                continue
            device = str((meta or {}).get("device") or "")
            if device:
                self._device_seen = device
            else:
                auto = "cpu" if self.device == "auto" else self.device
                device = self._device_seen or auto
            ref = self._reference.get(job.id, 0.0)
            found.append(calibration.Measurement(str(job.kind), device, outcome.seconds, ref))
        calibration.record(self.workdir, found)

    def _gpu_seconds(self, job: Job, meta: Mapping[str, Any], seconds: float) -> float:
        device = str(meta.get("device", self.device))
        return seconds * job.resources.gpus if device.startswith("cuda") else 0.0

    def _commit(
        self, a: _Attempt, meta: Mapping[str, Any] | None, start: float, end: float, n: int
    ) -> JobOutcome:
        seconds = (end - start) / n
        body_meta = _json_safe(meta)
        gpu = self._gpu_seconds(a.job, body_meta, seconds)
        record = {
            **body_meta,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "version": __version__,
            "plan_hash": self.plan.hash,
            "started": start,
            "finished": end,
            "wall_seconds": round(seconds, 3),
            "gpu_seconds": round(gpu, 3),
            "est_seconds": a.job.est_seconds,
            "batch_size": n,
            **_slurm_ids(),
        }
        try:
            self.store.commit(a.job, a.ctx.out, record)
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full(self.workdir, exc, [a.job.id]) from exc
            return self._fail(a, exc, seconds)
        a.ctx.log.info("done in %.2fs", seconds)
        outcome = JobOutcome(a.job.id, OutcomeState.DONE, seconds, log=a.log_file, gpu_seconds=gpu)
        if self.progress is not None:
            self.progress.finished(outcome)
        return outcome

    def _fail(self, a: _Attempt, exc: Exception, seconds: float) -> JobOutcome:
        self.store.discard(a.ctx.out)
        a.ctx.log.error(
            "failed after %.2fs:\n%s", seconds, "".join(traceback.format_exception(exc)).rstrip()
        )
        outcome = JobOutcome(
            a.job.id, OutcomeState.FAILED, seconds, reason=one_line(exc), log=a.log_file
        )
        if self.progress is not None:
            self.progress.finished(outcome)
        return outcome


def execute_jobs(
    workdir: Path,
    job_ids: Sequence[str],
    *,
    bodies: BodyResolver,
    device: str | None = None,
    progress: ProgressSink | None = None,
) -> list[JobOutcome]:
    """Run ``job_ids`` of the plan recorded in ``workdir`` in this process.

    This is what a SLURM array task calls with the ids packed into it. Jobs already
    complete are skipped; jobs of a kind with a batch body run together in one call
    (when that call fails, each of them runs again on its own, so only the bad one fails).
    Returns one outcome per id; a failure is an outcome (its traceback is in the job's
    log), never an exception.
    """
    spec, plan = load_workdir(workdir)
    runner = JobRunner(spec, plan, workdir, device=device, bodies=bodies, progress=progress)
    return runner.run(job_ids)


__all__ = [
    "BodyResolver",
    "JobOutcome",
    "JobRunner",
    "OutcomeState",
    "ProgressSink",
    "WorkdirError",
    "execute_jobs",
    "load_workdir",
    "log_path",
    "prepare_workdir",
    "scratch_path",
]
