"""What can be checked before anything is submitted or run, checked at once.

``taskonomy run`` calls :func:`preflight` first: a missing dataset, a work directory it
cannot write, a cluster it cannot reach or a resource request no node can meet would
otherwise show up only when a job runs (after waiting in the queue, or as thousands of
"not run" lines). Every problem found is listed in one :class:`PreflightError` (exit
code 2), each with what to do about it. Nothing here imports torch or submitit, and
nothing is written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from taskonomy.errors import TaskonomyError
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner.jobs import JobState, Plan
from taskonomy.spec.models import Spec

if TYPE_CHECKING:
    from taskonomy.executor.slurm.partitions import Partition


class PreflightError(TaskonomyError, RuntimeError):
    """A run cannot start: the message lists every problem found."""


def check_workdir(workdir: Path) -> list[str]:
    """The work directory can be created and written."""
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        return [f"work directory {workdir} is a file; choose another --workdir"]
    probe = workdir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "is not writable" if probe == workdir else f"cannot be created in {probe}"
        return [
            f"work directory {workdir} {what} (read-only, or no write permission); choose "
            "another --workdir or fix the permissions"
        ]
    return []


def check_dataset(spec: Spec, plan: Plan, workdir: Path) -> list[str]:
    """For ``dataset.kind: taskonomy``: the root and its layout have every domain the
    tasks need (unless the dataset is already prepared in the work directory)."""
    if spec.dataset.kind != "taskonomy" or "dataset" not in plan.jobs:
        return []
    job = plan.jobs["dataset"]
    if Path(workdir).is_dir() and ArtifactStore(Path(workdir)).state(job) is JobState.DONE:
        return []
    from taskonomy.data.taskonomy_dir import check_taskonomy
    from taskonomy.spec.rules import resolve_tasks

    wanted = set(job.params.get("label_tasks", []))
    infos = {t.kind: t.info for t in resolve_tasks(spec) if t.kind in wanted}
    return [f"dataset: {p}" for p in check_taskonomy(job.params, list(infos.values()))]


def check_slurm(
    spec: Spec, plan: Plan, partitions: Mapping[str, Partition] | None = None
) -> list[str]:
    """For ``executor.kind: slurm``: ``sbatch`` is reachable, and where ``sinfo`` answers,
    every requested partition exists and has a node with the memory and CPUs asked for.

    Args:
        partitions: the cluster's partitions (``partitions.parse_partitions``); None to ask
            ``sinfo``, ``{}`` for unknown.
    """
    if spec.executor.kind != "slurm":
        return []
    from taskonomy.executor.slurm.partitions import query_partitions

    problems = []
    if shutil.which("sbatch") is None:
        problems.append(
            "executor.kind is 'slurm' but sbatch is not on PATH; run on a login node of the "
            "cluster (with its SLURM client), or use executor.kind=local"
        )
    parts = query_partitions() if partitions is None else partitions
    if not parts:
        return problems
    default = next((p for p in parts.values() if p.default), None)
    seen: set[tuple[str, str | None]] = set()
    for job in plan:
        res = job.resources
        if (str(job.kind), res.partition) in seen:
            continue
        seen.add((str(job.kind), res.partition))
        where = f"executor.resources.{job.kind}"
        part = parts.get(res.partition) if res.partition else default
        if res.partition and part is None:
            problems.append(
                f"{where}: partition {res.partition!r} does not exist on this cluster "
                f"(sinfo lists {', '.join(sorted(parts))}); set slurm_partition to one of them"
            )
            continue
        if part is None:
            continue
        if part.mem_mb is not None and res.mem_gb * 1024 > part.mem_mb:
            problems.append(
                f"{where}.mem_gb={res.mem_gb:g} is more than any node of partition "
                f"{part.name!r} has ({part.mem_mb / 1024:.0f} GB); lower it or choose "
                "another partition"
            )
        if part.cpus is not None and res.cpus > part.cpus:
            problems.append(
                f"{where}.cpus={res.cpus} is more than any node of partition {part.name!r} "
                f"has ({part.cpus}); lower it or choose another partition"
            )
    return problems


def preflight(spec: Spec, workdir: Path, plan: Plan | None = None) -> None:
    """Check everything that can be checked before a run starts.

    Raises:
        PreflightError: listing every problem found.
    """
    problems = check_workdir(workdir)
    if plan is None:
        from taskonomy.planner import build_plan

        plan = build_plan(spec)
    problems += check_dataset(spec, plan, workdir)
    problems += check_slurm(spec, plan)
    if not problems:
        return
    if len(problems) == 1:
        raise PreflightError(f"cannot start the run of {spec.name!r}: {problems[0]}")
    lines = "\n".join(f"  - {p}" for p in problems)
    raise PreflightError(
        f"cannot start the run of {spec.name!r} ({len(problems)} problems; nothing was "
        f"run or submitted):\n{lines}"
    )
