"""Shared by the job-body tests: a JobContext for one plan job, outside any executor."""

from __future__ import annotations

from pathlib import Path

from taskonomy.executor.context import JobContext
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec


def job_context(
    spec: Spec, plan: Plan, workdir: Path, store: ArtifactStore, job_id: str, device: str = "cpu"
) -> JobContext:
    """The context the executor would give ``job_id``: a fresh output dir, its scratch."""
    job = plan.jobs[job_id]
    return JobContext(
        job=job,
        plan=plan,
        spec=spec,
        workdir=workdir,
        store=store,
        out=store.begin(job),
        scratch=workdir / "scratch" / job.hash,
        device=device,
    )
