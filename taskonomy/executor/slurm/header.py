"""The sbatch header each job array gets, computed without submitit or a cluster.

Jobs of one stage go out as one array; small jobs are packed several per array task so
that a task runs long enough to be worth scheduling. Both the dry run and the SLURM
executor use these functions, so what ``taskonomy plan`` shows is what is submitted.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

from taskonomy.planner.jobs import Job, Plan
from taskonomy.spec.models import ExecutorSpec, JobKind

#: Kinds that are packed several per array task when the spec leaves it to the cost model.
PACKABLE = frozenset({JobKind.TRANSFER, JobKind.EVALUATE, JobKind.SCRATCH})
#: The cost model packs small jobs until an array task is estimated at this many seconds.
TARGET_TASK_SECONDS = 600.0
MAX_PACK = 32


def jobs_per_task(jobs: Sequence[Job]) -> int:
    """How many jobs of this stage one array task runs (spec first, else the cost model)."""
    explicit = jobs[0].resources.jobs_per_task
    if explicit is not None:
        return explicit
    if jobs[0].kind not in PACKABLE:
        return 1
    longest = max(j.est_seconds for j in jobs)
    return max(1, min(MAX_PACK, int(TARGET_TASK_SECONDS // max(longest, 1.0))))


def _duration(minutes: int) -> str:
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    return f"{days}-{hours:02d}:{mins:02d}:00" if days else f"{hours:02d}:{mins:02d}:00"


def stage_arrays(plan: Plan) -> dict[str, list[Job]]:
    """Jobs grouped into arrays: one per stage, in plan order."""
    arrays: dict[str, list[Job]] = {}
    for job in plan:
        arrays.setdefault(job.stage, []).append(job)
    return arrays


def sbatch_header(
    plan_name: str, stage: str, jobs: Sequence[Job], executor: ExecutorSpec, log_dir: Path
) -> list[str]:
    """The ``#SBATCH`` lines of the array that runs ``jobs`` (one stage)."""
    res = jobs[0].resources
    pack = jobs_per_task(jobs)
    tasks = math.ceil(len(jobs) / pack)
    array = f"0-{tasks - 1}"
    if executor.slurm_array_parallelism:
        array += f"%{executor.slurm_array_parallelism}"
    slug = stage.replace(" (order ", "-o").replace(")", "").replace(" ", "-")
    lines = [
        f"--job-name={shlex.quote(f'taskonomy-{plan_name}-{slug}')}",
        f"--array={array}",
        f"--cpus-per-task={res.cpus}",
        f"--mem={math.ceil(res.mem_gb)}G",
        f"--time={_duration(res.time_min * pack)}",
        f"--output={shlex.quote(str(log_dir / slug / '%A_%a.out'))}",
    ]
    if res.gpus:
        lines.insert(2, f"--gres=gpu:{res.gpus}")
    for flag, value in (
        ("partition", res.partition),
        ("account", executor.slurm_account),
        ("qos", executor.slurm_qos),
    ):
        if value:
            lines.append(f"--{flag}={shlex.quote(value)}")
    lines.extend(executor.slurm_extra_flags)
    return [f"#SBATCH {line}" for line in lines]


def sbatch_headers(
    plan: Plan, executor: ExecutorSpec, workdir: Path
) -> tuple[dict[str, list[str]], list[str]]:
    """Headers per stage, and warnings for jobs estimated to outrun their time limit."""
    headers: dict[str, list[str]] = {}
    warnings: list[str] = []
    for stage, jobs in stage_arrays(plan).items():
        headers[stage] = sbatch_header(plan.name, stage, jobs, executor, workdir / "logs" / "slurm")
        over = [j for j in jobs if j.est_seconds > j.resources.time_min * 60]
        if over:
            worst = max(over, key=lambda j: j.est_seconds)
            warnings.append(
                f"{len(over)} {stage} job(s) are estimated to exceed their time limit of "
                f"{worst.resources.time_min} min (e.g. {worst.id}: ~{worst.est_seconds / 60:.0f} "
                f"min); raise executor.resources.{worst.kind}.time_min"
            )
    return headers, warnings
