"""The SLURM driver: submits a plan wave by wave as arrays, watches them, reconciles.

The driver runs on the login node. Each pass it finds the jobs that can be submitted --
not done, not in flight, allowed another attempt, every dependency complete (or, when
detaching, complete or in flight) -- and submits them as job arrays: one per (wave,
stage) with the header :func:`~taskonomy.executor.slurm.header.stage_submissions`
computes, packed several jobs per array task, split at ``MaxArraySize``, and with an
``afterok`` dependency on the array tasks still running their inputs. It then polls
every in-flight array task with one scheduler query (:class:`Poller`: a bounded rate,
backing off while nothing changes) and reconciles:

* the artifact store is the truth: a job is done exactly when its artifact is committed
  (a Python exception leaves none, so it is FAILED even when SLURM says COMPLETED);
* otherwise the scheduler's status says why it ended (PREEMPTED, TIMEOUT, NODE_FAIL,
  OUT_OF_MEMORY, ...) and the task's outcome file gives the job's own reason;
* preemptions, node failures and vanished jobs are resubmitted at once, out-of-memory
  ones too with more memory when ``executor.slurm_oom_mem_factor`` allows; any failure is
  resubmitted by a later ``taskonomy run`` while the job has failed at most
  ``executor.slurm_max_retries`` times.

Everything it learns goes to ``WORKDIR/slurm/jobs.json`` (:mod:`.journal`) right away,
so a killed driver loses nothing: the next one reattaches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from taskonomy.executor.slurm.accounting import JobRecord, base_id
from taskonomy.executor.slurm.header import stage_submissions
from taskonomy.executor.slurm.intents import Intent, Intents
from taskonomy.executor.slurm.journal import Entry, Journal, job_log
from taskonomy.executor.slurm.outcomes import (
    DEPENDENCY_CANCELLED,
    HINTS,
    NEVER_STARTED,
    ClusterLike,
    SlurmRunResult,
    job_outcome,
    outcome_reason,
    started_since_submission,
    submission_outcome,
    summarize,
)
from taskonomy.executor.slurm.poll import Poller, PollSchedule
from taskonomy.executor.slurm.retry import VANISHED, RetryRules
from taskonomy.executor.slurm.states import JobStatus, reconcile
from taskonomy.executor.slurm.submit import Backend, task_logs
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner.jobs import Job, JobState, Plan
from taskonomy.spec.models import Spec

#: A job the scheduler has not heard of this long after its submission is lost.
VANISHED_AFTER_S = 300.0
#: 2 s between polls at least, stretching to 30 s while nothing changes.
DEFAULT_SCHEDULE = PollSchedule(min_interval_s=2.0, max_interval_s=30.0)
#: How long a job SLURM calls COMPLETED may take to show its artifact (NFS caching).
COMPLETION_GRACE_S = 20.0


class SlurmDriver:
    """Submits, watches and reconciles one plan's jobs on SLURM (see the module doc).

    Args:
        spec: the run's spec (its ``executor`` section shapes submissions).
        plan: the plan recorded in ``workdir``.
        workdir: the run's work directory, visible to the compute nodes.
        cluster: queries and cancels jobs, knows ``MaxArraySize``.
        backend: submits arrays (submitit in production).
        schedule: the polling rate bound and backoff.
        clock: wall-clock seconds (submission times in the journal).
        sleep: the poller's wait.
        echo: one line per event (submissions, state changes).
        partition_limits: partition time limits in minutes (``sinfo``); None where
            unknown. Task time requests never exceed them.
    """

    def __init__(
        self,
        spec: Spec,
        plan: Plan,
        workdir: Path,
        *,
        cluster: ClusterLike,
        backend: Backend,
        schedule: PollSchedule = DEFAULT_SCHEDULE,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        echo: Callable[[str], None] = lambda line: None,
        partition_limits: Mapping[str | None, int] | None = None,
    ) -> None:
        self.spec, self.plan, self.workdir = spec, plan, Path(workdir)
        self.cluster, self.backend = cluster, backend
        self.poller = Poller(cluster.query, schedule, clock=clock, sleep=sleep)
        self.clock = clock
        self.echo = echo
        self.store = ArtifactStore(self.workdir)
        self.partition_limits = partition_limits
        self.journal = Journal(self.workdir)
        self.intents = Intents(self.workdir)
        self.rules = RetryRules.from_spec(spec.executor)
        self.submissions = 0
        # Entries that ended during this invocation: only some of those are retried now.
        self._ended_here: set[str] = set()
        self._done: set[str] = set()
        self._completed_at: dict[str, float] = {}
        self._newly_done: list[str] = []

    # --- the loop -------------------------------------------------------------------

    def run(self, *, detach: bool = False) -> SlurmRunResult:
        """Reattach, then submit and watch until nothing more can run (or return at once
        after submitting everything submittable when ``detach``)."""
        self.journal = Journal.load(self.workdir)
        self._reattach()
        while True:
            self._submit_ready(eager=detach)
            self.journal.save()
            if detach:
                break
            active = self.journal.active_ids()
            if not active:
                break
            self._apply(self.poller.poll(active))
            self.journal.save()
        return self._result(detached=detach)

    def _reattach(self) -> None:
        self._adopt()
        for entry in self.journal:
            job = self.plan.jobs.get(entry.job_id)
            if job is not None and self._is_done(job):
                entry.state = JobStatus.COMPLETED
        active = self.journal.active_ids()
        if active:
            self.echo(f"reattaching to {len(active)} SLURM job(s) from an earlier run")
            self._apply(self.poller.poll(active))
        self._ended_here.clear()
        self.journal.save()

    # --- state ----------------------------------------------------------------------

    def _is_done(self, job: Job) -> bool:
        if job.id in self._done:
            return True
        if self.store.state(job) is JobState.DONE:
            self._done.add(job.id)
            return True
        return False

    def _eligible(self, job: Job) -> bool:
        """Whether ``job`` itself may be submitted now (dependencies aside)."""
        return self.rules.eligible(self.journal.get(job.id), ended_here=job.id in self._ended_here)

    def _viable(self) -> dict[str, bool]:
        """Per job: done, in flight, or able to run once its inputs are (plan order)."""
        viable: dict[str, bool] = {}
        for job in self.plan:
            entry = self.journal.get(job.id)
            viable[job.id] = (
                self._is_done(job)
                or (entry is not None and entry.active)
                or (self._eligible(job) and all(viable[d] for d in job.deps))
            )
        return viable

    # --- submission -----------------------------------------------------------------

    def _submit_ready(self, *, eager: bool) -> None:
        """Submit every job that can go now, grouped into arrays by (wave, stage, mem)."""
        wave: dict[str, int] = {}
        for job in self.plan:
            if self._is_done(job) or not self._eligible(job):
                continue
            ok, level = True, 0
            for dep in job.deps:
                dep_job = self.plan.jobs[dep]
                entry = self.journal.get(dep)
                if self._is_done(dep_job):
                    continue
                if eager and dep in wave:
                    level = max(level, wave[dep] + 1)
                elif not (eager and entry is not None and entry.active):
                    ok = False
                    break
            if ok:
                wave[job.id] = level
        groups: dict[tuple[int, str, float], list[Job]] = {}
        for job_id, level in wave.items():
            job = self.plan.jobs[job_id]
            mem = self.rules.mem_gb(self.journal.get(job.id), job.resources.mem_gb)
            groups.setdefault((level, job.stage, mem), []).append(job)
        for (_, stage, mem), jobs in sorted(groups.items(), key=lambda kv: kv[0][0]):
            self._submit_group(stage, jobs, mem)

    def _submit_group(self, stage: str, jobs: list[Job], mem_gb: float) -> None:
        limits = self.cluster.limits()
        subs = stage_submissions(
            self.plan.name,
            stage,
            jobs,
            self.spec.executor,
            self.workdir / "logs" / "slurm",
            limits.max_array_size,
            self.partition_limits,
        )
        for sub in subs:
            if mem_gb != sub.mem_gb:
                sub = attrs.evolve(sub, mem_gb=mem_gb)
            pack = sub.jobs_per_task
            packs = [
                [j.id for j in jobs[(sub.offset + i) * pack : (sub.offset + i + 1) * pack]]
                for i in range(sub.tasks)
            ]
            deps = self._dependency([j for p in packs for j in p])
            intent = Intent.new(stage, sub.folder, packs, deps, sub.mem_gb, self.clock())
            self.intents.add(intent)  # a driver killed during sbatch leaves it behind
            submitted = self.backend.submit(sub, packs, deps, comment=intent.token)
            self.submissions += 1
            self._record(intent, submitted.task_ids, submitted.stdout)
            self.journal.save()
            self.intents.drop(intent.token)
            base = base_id(submitted.task_ids[0]) if submitted.task_ids else "?"
            waits = f", after {len(deps)} in-flight task(s)" if deps else ""
            self.echo(
                f"submitted {stage}: SLURM job {base} ({sub.tasks} task(s), "
                f"{sum(map(len, packs))} job(s), {pack}/task, {sub.mem_gb:g} GB{waits})"
            )

    def _record(self, intent: Intent, task_ids: Sequence[str], stdout: Sequence[str]) -> None:
        """Journal entries for the jobs of one submitted array (task ``i`` runs pack ``i``)."""
        for pack, task_id, log in zip(intent.packs, task_ids, stdout, strict=True):
            for job_id in pack:
                self.journal.record_submission(
                    job_id,
                    task_id,
                    slurm_log=log,
                    folder=intent.folder,
                    stage=intent.stage,
                    pack=list(pack),
                    mem_gb=intent.mem_gb,
                    submitted=intent.submitted,
                    after=list(intent.after),
                )
                self._ended_here.discard(job_id)

    def _adopt(self) -> None:
        """Journal the arrays of submissions a killed driver made but did not record."""
        for intent in self.intents.load():
            found = self.cluster.find_comment(intent.token)
            if not found:
                continue  # never submitted, or ended (the store knows what it did)
            base, *extra = found  # a retried sbatch that timed out may have made two
            ids = intent.task_ids(base)
            self._record(intent, ids, task_logs(Path(intent.folder), ids))
            self.cluster.cancel(extra)
            dup = f"; cancelled its duplicates {', '.join(extra)}" if extra else ""
            self.echo(
                f"adopted {intent.stage}: SLURM job {base}, submitted by a stopped driver{dup}"
            )
        self.journal.save()
        self.intents.clear()

    def _dependency(self, job_ids: Sequence[str]) -> list[str]:
        """SLURM ids the given jobs must wait for: their in-flight dependencies' tasks.

        A whole array is named by its base id when every task of it is waited for.
        """
        wanted: dict[str, None] = {}
        for job_id in job_ids:
            for dep in self.plan.jobs[job_id].deps:
                entry = self.journal.get(dep)
                if entry is not None and entry.active and not self._is_done(self.plan.jobs[dep]):
                    wanted[entry.slurm_job_id] = None
        return self.journal.by_array(list(wanted))

    # --- reconciliation -------------------------------------------------------------

    def _apply(self, records: Mapping[str, JobRecord]) -> None:
        """Fold one poll's records into the journal (the store first, then SLURM)."""
        now = self.clock()
        stale: list[str] = []
        cancelled: list[tuple[Entry, JobRecord]] = []
        for entry in list(self.journal):
            if not entry.active:
                continue
            job = self.plan.jobs.get(entry.job_id)
            record = records.get(entry.slurm_job_id)
            if job is not None and self._is_done(job):
                self._set(entry, JobStatus.COMPLETED, "")
                continue
            if record is None:
                if now - entry.submitted > VANISHED_AFTER_S:
                    entry.failures += 1
                    self._set(entry, JobStatus.FAILED, VANISHED)
                    self.echo(f"lost: {entry.job_id} (SLURM {entry.slurm_job_id}): {VANISHED}")
                continue
            if record.status is JobStatus.PENDING and "DependencyNeverSatisfied" in record.reason:
                stale.append(entry.slurm_job_id)
                self._set(entry, JobStatus.CANCELLED, DEPENDENCY_CANCELLED)
                continue
            if not record.status.finished:
                self._set(entry, record.status, "")
                continue
            if record.status is JobStatus.COMPLETED:
                # The task raises when a job fails, so COMPLETED without an artifact is
                # rare: give a shared file system's cache a moment before calling it.
                first = self._completed_at.setdefault(entry.slurm_job_id, now)
                if now - first < COMPLETION_GRACE_S:
                    continue
            if record.status is JobStatus.CANCELLED:
                cancelled.append((entry, record))  # once its parents' ends are known
                continue
            self._finish(entry, record.status, record)
        if cancelled:
            # SLURM does not always give a job killed for a failed parent the reason
            # `Dependency`, so the journal decides too: its parents ended without success,
            # earlier or in this very poll (a chain of cancellations, in any order).
            ended = self.journal.unsuccessful_ids() | {
                i for e, _ in cancelled for i in (e.slurm_job_id, base_id(e.slurm_job_id))
            }
            for entry, record in cancelled:
                parent_failed = not ended.isdisjoint(entry.after)
                self._finish(entry, record.status, record, parent_failed=parent_failed)
        if stale:
            self.cluster.cancel(sorted(set(stale)))
        if self._newly_done:
            self.echo(f"done: {summarize(self._newly_done)}")
            self._newly_done.clear()

    def _set(self, entry: Entry, status: JobStatus, reason: str) -> None:
        if entry.state is not status:
            entry.state = status
            entry.reason = reason
            if status is JobStatus.COMPLETED:
                self._newly_done.append(entry.job_id)
            if status.finished:
                self._ended_here.add(entry.job_id)

    def _finish(
        self,
        entry: Entry,
        status: JobStatus,
        record: JobRecord | None,
        *,
        parent_failed: bool = False,
    ) -> None:
        """A job whose task ended without its artifact: why, and whether it counts."""
        said = record is not None and "Dependency" in record.reason
        if status is JobStatus.CANCELLED and (said or parent_failed):
            self._set(entry, JobStatus.CANCELLED, DEPENDENCY_CANCELLED)
            return
        honest = reconcile(status, result_ok=False)
        doc = submission_outcome(self.workdir, entry)
        reason = outcome_reason(doc) or HINTS.get(status, str(status))
        if status is JobStatus.FAILED and not started_since_submission(self.workdir, entry, doc):
            reason = NEVER_STARTED
        kind = self.plan.jobs[entry.job_id].kind if entry.job_id in self.plan.jobs else "?"
        reason = reason.format(kind=kind)
        if honest is not JobStatus.CANCELLED:
            entry.failures += 1
        self._set(entry, honest, reason)
        self.echo(f"{honest}: {entry.job_id} (SLURM {entry.slurm_job_id}): {reason}")

    # --- the result -----------------------------------------------------------------

    def _result(self, *, detached: bool) -> SlurmRunResult:
        viable = self._viable()
        outcomes = [
            job_outcome(
                job.id,
                self.journal.get(job.id),
                done=self._is_done(job),
                viable=viable[job.id],
                blocker=next(
                    (d for d in job.deps if not self._is_done(self.plan.jobs[d])), "an input"
                ),
                max_retries=self.rules.max_retries,
                log=job_log(self.workdir, job.id),
            )
            for job in self.plan
        ]
        return SlurmRunResult(tuple(outcomes), detached=detached, submitted=self.submissions)
