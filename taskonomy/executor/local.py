"""The local executor: the whole job graph, in dependency order, in this process.

Jobs run one after another in this process, or with ``executor.workers`` above 1 that
many at a time, each in a worker process with its share of the CPUs (:mod:`.workers`:
small networks gain more from a second job than from a second thread). Jobs whose
artifact is complete and valid are skipped, so a run killed at any point resumes where it
stopped; invalid artifacts are recomputed. Ready transfer and evaluation jobs are packed,
several per body call, so heads of one target share cached features and a device. A
failed job stops its descendants only; the rest of the graph goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console

from taskonomy.errors import TaskonomyError
from taskonomy.executor.disk import SpaceCheck, disk_full
from taskonomy.executor.durable import is_disk_full
from taskonomy.executor.progress import RunDisplay, summary
from taskonomy.executor.runinfo import RunRecord, log_path
from taskonomy.executor.runner import BodyResolver, JobOutcome, JobRunner, OutcomeState
from taskonomy.executor.signals import sigterm_interrupts
from taskonomy.executor.store import ArtifactStore
from taskonomy.executor.workers import WorkerPool
from taskonomy.planner.jobs import Job, Plan
from taskonomy.planner.packing import LOCAL_PACK, PACKABLE, take_pack
from taskonomy.spec.models import Spec


def space_check(spec: Spec, plan: Plan, workdir: Path, store: ArtifactStore) -> SpaceCheck:
    """The free-space check of ``plan``'s jobs in ``workdir`` (:mod:`.disk`)."""
    dataset: dict[str, Any] = dict(plan.jobs["dataset"].params) if "dataset" in plan.jobs else {}
    dataset["representation"] = spec.model.representation.model_dump()
    return SpaceCheck(workdir, store, plan, dataset)


def _finish(record: RunRecord, workdir: Path, interrupted: bool, error: str | None) -> None:
    """Write the final ``run.json``; on a full disk, say so (unless already failing)."""
    if error is not None:
        record.doc["error"] = error
    try:
        record.finish(interrupted=interrupted)
    except OSError as exc:
        if error is None and is_disk_full(exc):
            raise disk_full(workdir, exc, ["the run record"]) from exc
        if error is None:
            raise


@attrs.frozen
class RunResult:
    """The outcome of every job of a plan in one run that was not interrupted (Ctrl-C
    raises :class:`KeyboardInterrupt` from :func:`run_local` after recording the run).

    Attributes:
        outcomes: per job id, in plan order.
    """

    outcomes: Mapping[str, JobOutcome]

    @property
    def ok(self) -> bool:
        return all(o.state.ok for o in self.outcomes.values())

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes.values() if o.state is OutcomeState.FAILED]

    def counts(self) -> dict[str, int]:
        tally = {str(s): 0 for s in OutcomeState}
        for outcome in self.outcomes.values():
            tally[str(outcome.state)] += 1
        return tally


class _Scheduler:
    """Picks the next job or batch among the pending jobs (kept in plan order)."""

    def __init__(self, plan: Plan, pending: list[Job], bodies: BodyResolver, pack: int) -> None:
        self.plan = plan
        self.pending = pending
        self.complete: set[str] = {j.id for j in plan} - {j.id for j in pending}
        self.pack = pack
        self.index = {jid: i for i, jid in enumerate(plan.jobs)}
        # A kind packs here when the policy packs it and a batch body can run the pack.
        self.packs = {k for k in PACKABLE if bodies.batch_body(k) is not None}

    def ready(self, job: Job) -> bool:
        return all(d in self.complete for d in job.deps)

    def next_batch(self) -> list[Job]:
        """The next ready unpackable job in plan order; when there is none, the pack
        (:func:`~taskonomy.planner.packing.take_pack`) the first ready job heads."""
        ready = [j for j in self.pending if self.ready(j)]
        single = next((j for j in ready if j.kind not in self.packs), None)
        if single is not None:
            batch = [single]
        else:
            size = (ready[0].resources.jobs_per_task or self.pack) if ready else 0
            batch = take_pack(ready, size, self.index)
        for job in batch:
            self.pending.remove(job)
        return batch

    def drop(self, job_ids: list[str]) -> list[Job]:
        """Remove ``job_ids`` from the pending jobs; returns those that were pending."""
        wanted = set(job_ids)
        dropped = [j for j in self.pending if j.id in wanted]
        self.pending[:] = [j for j in self.pending if j.id not in wanted]
        return dropped


def run_local(
    spec: Spec,
    plan: Plan,
    workdir: Path,
    *,
    bodies: BodyResolver,
    display: bool = True,
    pack: int = LOCAL_PACK,
    console: Console | None = None,
    live: bool | None = None,
) -> RunResult:
    """Run every job of ``plan`` that is not complete, in this process.

    Args:
        spec: the spec the plan was built from (``prepare_workdir`` returns both).
        plan: the job graph.
        workdir: the work directory (``spec.json``/``plan.json`` already written).
        bodies: where job bodies come from (:data:`taskonomy.jobs.BODIES` for the real
            ones).
        display: show progress and the final summary on ``console``.
        pack: most jobs per batch-body call, unless a kind's resources set
            ``slurm_jobs_per_task``.
        console: where to draw (default: a new stdout console).
        live: a live display (default: when the console is a terminal) or plain lines.

    Raises:
        KeyboardInterrupt: after recording the run and discarding the current job's
            temporary directory; finished artifacts are kept. SIGTERM raises its
            subclass :class:`~taskonomy.executor.signals.Terminated` the same way.
        DiskFullError: before anything runs, when the disk lacks the space the plan's
            remaining jobs are estimated to need, or when a write finds it full; every
            completed artifact is kept and the next run resumes.
    """
    workdir = Path(workdir)
    console = console or Console(highlight=False)
    store = ArtifactStore(workdir)
    store.clean_tmp()  # temporary directories of runs on this host that were killed
    states = store.states(plan)
    record = RunRecord(workdir, plan)
    outcomes: dict[str, JobOutcome] = {}
    pending: list[Job] = []
    for job in plan:
        if states[job.id].would_run:
            pending.append(job)
        else:
            outcomes[job.id] = JobOutcome(
                job.id, OutcomeState.SKIPPED, log=log_path(workdir, job.id)
            )
            record.skipped(store, job)
    space = space_check(spec, plan, workdir, store)
    space.check(pending, what=f"the {len(pending)} jobs left to run")
    record.flush(force=True)
    workers = spec.executor.workers if spec.executor.kind == "local" else 1
    show = RunDisplay(pending, console, live=live, workers=workers) if display else None
    runner = JobRunner(spec, plan, workdir, bodies=bodies, progress=show, store=store)
    sched = _Scheduler(plan, pending, bodies, max(1, pack))

    def note(outcome: JobOutcome) -> None:
        outcomes[outcome.job_id] = outcome
        values: dict[str, object] = {
            "seconds": round(outcome.seconds, 3),
            "gpu_seconds": round(outcome.gpu_seconds, 3),
        }
        if not outcome.state.ok:
            values.update(reason=outcome.reason, log=outcome.log)
        record.update(outcome.job_id, str(outcome.state), **values)

    def settle(outcome: JobOutcome) -> None:
        note(outcome)
        if outcome.state.ok:
            sched.complete.add(outcome.job_id)
            return
        for blocked in sched.drop(plan.descendants(outcome.job_id)):
            skipped = JobOutcome(
                blocked.id,
                OutcomeState.UPSTREAM_FAILED,
                reason=f"upstream job {outcome.job_id} failed",
                log=log_path(workdir, blocked.id),
            )
            note(skipped)
            if show is not None:
                show.finished(skipped)

    def flush() -> None:
        try:
            record.flush()
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            raise disk_full(workdir, exc, ["the run record"]) from exc

    interrupted, error = False, None
    try:
        with sigterm_interrupts(), show if show is not None else contextlib.nullcontext():
            if workers > 1 and len(sched.pending) > 1:
                _run_parallel(workers, workdir, bodies, sched, space, show, settle, flush)
            while sched.pending:
                batch = sched.next_batch()
                if not batch:  # cannot happen: a failure drops its descendants
                    stuck = ", ".join(j.id for j in sched.pending[:3])
                    raise RuntimeError(f"jobs whose dependencies never ran: {stuck}")
                space.check(batch, what=", ".join(j.id for j in batch))
                for outcome in runner.run_batch(batch):
                    settle(outcome)
                flush()
    except KeyboardInterrupt:
        interrupted = True
        raise
    except TaskonomyError as exc:  # a full disk: stop, keep what is done
        interrupted, error = True, str(exc)
        raise
    finally:
        _finish(record, workdir, interrupted, error)
        ordered = {j.id: outcomes[j.id] for j in plan if j.id in outcomes}
        if display:
            console.print(summary(plan, ordered, interrupted=interrupted))
    return RunResult(ordered)


def _run_parallel(
    workers: int,
    workdir: Path,
    bodies: BodyResolver,
    sched: _Scheduler,
    space: SpaceCheck,
    show: RunDisplay | None,
    settle: Callable[[JobOutcome], None],
    flush: Callable[[], None],
) -> None:
    """Run the pending jobs in ``workers`` worker processes (:mod:`.workers`): whenever
    one is idle it gets the next ready job or pack, in the order the one-process loop
    would take them."""

    def step(job_id: str, done: int, total: int, message: str) -> None:
        if show is not None and job_id in sched.plan.jobs:
            show.step(sched.plan.jobs[job_id], done, total, message)

    with WorkerPool(workers, workdir, bodies) as pool:
        while sched.pending or pool.busy:
            while pool.idle:
                batch = sched.next_batch()
                if not batch:
                    break  # nothing ready until a running job finishes
                space.check(batch, what=", ".join(j.id for j in batch))
                if show is not None:
                    show.started(batch)
                pool.submit([j.id for j in batch])
            if not pool.busy:
                break  # pending jobs whose dependencies can never finish here
            outcomes = pool.wait(timeout=0.5, on_step=step)
            for outcome in outcomes:
                if show is not None:
                    show.finished(outcome)
                settle(outcome)
            if outcomes:
                flush()
