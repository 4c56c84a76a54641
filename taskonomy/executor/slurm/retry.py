"""When a job goes out to SLURM again, and with how much memory.

A pure policy over a job's journal entry and the spec's ``executor`` settings, so the
driver asks it rather than carrying the rules itself:

* a job never submitted, or whose artifact vanished after it completed, goes out;
* a job cancelled by SLURM for a failed parent goes out once its inputs are there; one
  cancelled otherwise only on a later ``taskonomy run``;
* a job that failed more than ``executor.slurm_max_retries`` times never goes out again;
* a failure from an earlier run is retried; one from this run only when the job was not
  at fault (preemption, node failure, a scheduler that lost it, an array task that died
  before starting it) or ran out of memory and
  ``executor.slurm_oom_mem_factor`` allows more.
"""

from __future__ import annotations

import attrs

from taskonomy.executor.slurm.journal import Entry
from taskonomy.executor.slurm.outcomes import DEPENDENCY_CANCELLED, NEVER_STARTED
from taskonomy.executor.slurm.states import JobStatus
from taskonomy.spec.executor import ExecutorSpec

#: The ``reason`` of an entry the scheduler forgot (neither sacct nor squeue knows it).
VANISHED = "SLURM lost track of it (neither sacct nor squeue knows its id)"
#: Statuses worth resubmitting within the same run (the job was not at fault).
RETRY_NOW = frozenset({JobStatus.PREEMPTED, JobStatus.NODE_FAIL})


@attrs.frozen
class RetryRules:
    """``executor.slurm_max_retries``, ``slurm_oom_mem_factor`` and ``slurm_max_mem_gb``."""

    max_retries: int
    oom_factor: float | None = None
    max_mem_gb: float | None = None

    @classmethod
    def from_spec(cls, executor: ExecutorSpec) -> RetryRules:
        return cls(
            executor.slurm_max_retries, executor.slurm_oom_mem_factor, executor.slurm_max_mem_gb
        )

    def eligible(self, entry: Entry | None, *, ended_here: bool) -> bool:
        """Whether the job of ``entry`` may be submitted now (its inputs aside);
        ``ended_here``: its last submission ended during this driver's run."""
        if entry is None:
            return True
        if entry.active:
            return False
        if entry.state is JobStatus.COMPLETED:  # its artifact was removed since
            return True
        if entry.state is JobStatus.CANCELLED:
            return entry.reason == DEPENDENCY_CANCELLED or not ended_here
        if entry.failures > self.max_retries:
            return False
        if not ended_here:
            return True  # failed in an earlier run: retried by this one
        if entry.state is JobStatus.OUT_OF_MEMORY:
            return self.oom_factor is not None
        return entry.state in RETRY_NOW or entry.reason in (VANISHED, NEVER_STARTED)

    def mem_gb(self, entry: Entry | None, asked_gb: float) -> float:
        """The memory to ask for: the job's own, more after an out-of-memory end (at most
        ``max_mem_gb``), never less than its last submission asked for."""
        if entry is None:
            return asked_gb
        if entry.state is JobStatus.OUT_OF_MEMORY and self.oom_factor is not None:
            mem = max(asked_gb, entry.mem_gb * self.oom_factor)
            if self.max_mem_gb is not None:
                mem = min(mem, max(self.max_mem_gb, asked_gb))
            return mem
        return max(asked_gb, entry.mem_gb)
