"""A simulated scheduler for the driver's unit tests: the Cluster and submitit boundary.

Loaded by the tests with :func:`taskonomy.executor.slurm.task.load_object` (test
directories are not packages). See ``test_driver.py``'s docstring.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from taskonomy.executor.slurm.accounting import JobRecord, base_id
from taskonomy.executor.slurm.cluster import ClusterLimits
from taskonomy.executor.slurm.header import ArraySubmission
from taskonomy.executor.slurm.states import from_slurm
from taskonomy.executor.slurm.submit import Submitted
from taskonomy.executor.slurm.task import PackFailed, PackTask

FAILED_STATES = {"FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"}

#: The cheap bodies the array tasks of these fakes run.
BODIES = f"{Path(__file__).parent / 'bodies.py'}:BODIES"


@attrs.define
class FakeTask:
    pack: list[str]
    deps: list[str]
    state: str = "PENDING"
    reason: str = ""
    comment: str = ""


class FakeSlurm:
    """A scheduler and submitit in one: see the module docstring.

    Attributes:
        fates: per job id, states its next tasks end in instead of running (consumed in
            order); ``"EMPTY"`` means COMPLETED without running the job.
        hold: job ids whose tasks stay RUNNING.
        crash_after: raise KeyboardInterrupt on that query (a killed driver).
        dependency_reason: the reason a task cancelled for a failed parent shows
            (real SLURM gives ``Dependency`` or, sometimes, ``None``).
        die_after_sbatch: submissions (1-based) after which the "driver" is killed:
            the array exists but ``submit`` raises KeyboardInterrupt before returning.
        duplicate_sbatch: submissions that SLURM accepts twice (a timed-out sbatch).
    """

    def __init__(self, workdir: Path, max_array_size: int = 1001, bodies: str = BODIES) -> None:
        self.workdir = workdir
        self.bodies = bodies
        self.max_array_size = max_array_size
        self.next_id = 100
        self.tasks: dict[str, FakeTask] = {}
        self.submissions: list[tuple[ArraySubmission, list[list[str]], list[str]]] = []
        self.fates: dict[str, list[str]] = {}
        self.hold: set[str] = set()
        self.queries = 0
        self.crash_after: int | None = None
        self.cancelled: list[str] = []
        self.dependency_reason = "Dependency"
        self.die_after_sbatch: set[int] = set()
        self.duplicate_sbatch: set[int] = set()

    # Backend
    def submit(
        self,
        sub: ArraySubmission,
        packs: Sequence[Sequence[str]],
        dependency: Sequence[str],
        *,
        comment: str = "",
    ) -> Submitted:
        self.submissions.append((sub, [list(p) for p in packs], list(dependency)))
        n = len(self.submissions)
        for _ in range(2 if n in self.duplicate_sbatch else 1):
            base = str(self.next_id)
            self.next_id += 1
            ids = [base] if sub.tasks == 1 else [f"{base}_{i}" for i in range(sub.tasks)]
            for tid, pack in zip(ids, packs, strict=True):
                self.tasks[tid] = FakeTask(list(pack), list(dependency), comment=comment)
        if n in self.die_after_sbatch:
            raise KeyboardInterrupt
        return Submitted(tuple(ids), tuple(f"/logs/{t}_0_log.out" for t in ids))

    def find_comment(self, comment: str) -> list[str]:
        bases = [base_id(tid) for tid, t in self.tasks.items() if t.comment == comment]
        return sorted(set(bases), key=int)

    # Cluster
    def limits(self) -> ClusterLimits:
        return ClusterLimits(max_array_size=self.max_array_size)

    def cancel(self, job_ids: Sequence[str], *, signal: str | None = None) -> None:
        self.cancelled.extend(job_ids)
        for tid in job_ids:
            for t in self._tasks(tid):
                t.state = "CANCELLED"

    def query(self, job_ids: Iterable[str]) -> dict[str, JobRecord]:
        self.queries += 1
        if self.crash_after is not None and self.queries >= self.crash_after:
            raise KeyboardInterrupt
        self.advance()
        out: dict[str, JobRecord] = {}
        for wanted in job_ids:
            for tid, t in self.tasks.items():
                if wanted in (tid, base_id(tid)):
                    out[tid] = JobRecord(tid, from_slurm(t.state), t.state, reason=t.reason)
        return out

    def _tasks(self, job_id: str) -> list[FakeTask]:
        return [t for tid, t in self.tasks.items() if job_id in (tid, base_id(tid))]

    def advance(self) -> None:
        """Start every pending task whose dependencies completed and run it to its end."""
        for tid, task in list(self.tasks.items()):
            if task.state not in ("PENDING", "RUNNING") or "NeverSatisfied" in task.reason:
                continue
            parents = [t.state for d in task.deps for t in self._tasks(d)]
            if any(s in FAILED_STATES for s in parents):
                task.state, task.reason = "CANCELLED", self.dependency_reason
                continue
            if any(s != "COMPLETED" for s in parents):
                continue
            if set(task.pack) & self.hold:
                task.state = "RUNNING"
                continue
            fate = next((self.fates[j].pop(0) for j in task.pack if self.fates.get(j)), None)
            if fate is not None:
                task.state = "COMPLETED" if fate == "EMPTY" else fate
                continue
            task.state = self._run(tid, task.pack)

    def _run(self, tid: str, pack: list[str]) -> str:
        env = {"SLURM_JOB_ID": tid}
        if "_" in tid:
            env |= {"SLURM_ARRAY_JOB_ID": base_id(tid), "SLURM_ARRAY_TASK_ID": tid.split("_")[1]}
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            PackTask(self.workdir, self.bodies)(pack)
            return "COMPLETED"
        except PackFailed:
            return "FAILED"
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def stages(self) -> list[str]:
        return [sub.stage for sub, _, _ in self.submissions]
