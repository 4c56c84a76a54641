"""The sbatch submission each job array gets, computed without a cluster.

Jobs of one stage (one kind) go out as one array; small jobs are packed several per
array task so that a task runs long enough to be worth scheduling; an array with more
tasks than the cluster's ``MaxArraySize`` is split. :class:`ArraySubmission` is the one
description of such an sbatch: the dry run shows its ``#SBATCH`` lines and the SLURM
executor hands its parameters to submitit, and both come from the same script text
(rendered by submitit's own sbatch writer), so what ``taskonomy plan`` shows is what is
submitted.
"""

from __future__ import annotations

import math
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from taskonomy.errors import ExecutionError, SpecError
from taskonomy.executor.slurm.cluster import DEFAULT_MAX_ARRAY_SIZE, split_array
from taskonomy.executor.slurm.partitions import time_cap
from taskonomy.planner.cost import task_minutes
from taskonomy.planner.jobs import Job, Plan
from taskonomy.planner.packing import fits, jobs_per_task, task_seconds
from taskonomy.spec.executor import ExecutorSpec

#: The signal submitit asks SLURM to send before a time limit (its checkpoint trigger).
PREEMPT_SIGNAL = "USR2"
#: Seconds before the time limit that signal comes (submitit's default).
SIGNAL_DELAY_S = 90

#: sbatch options taskonomy sets itself; ``slurm_extra_flags`` may not override them.
_MANAGED = {
    "array": "it is computed from the plan and executor.slurm_array_parallelism",
    "output": "logs go to the work directory",
    "error": "logs go to the work directory",
    "job-name": "it is derived from the spec name and stage",
    "open-mode": "submitit needs append mode",
    "signal": "submitit's checkpointing relies on it",
    "time": "set executor.resources.<kind>.time_min",
    "mem": "set executor.resources.<kind>.mem_gb",
    "cpus-per-task": "set executor.resources.<kind>.cpus",
    "gres": "set executor.resources.<kind>.gpus",
    "gpus-per-node": "set executor.resources.<kind>.gpus",
    "partition": "set executor.slurm_partition or executor.resources.<kind>.slurm_partition",
    "account": "set executor.slurm_account",
    "qos": "set executor.slurm_qos",
}


def stage_arrays(plan: Plan) -> dict[str, list[Job]]:
    """Jobs grouped into arrays: one per stage, in plan order."""
    arrays: dict[str, list[Job]] = {}
    for job in plan:
        arrays.setdefault(job.stage, []).append(job)
    return arrays


def extra_flags(flags: Sequence[str]) -> tuple[tuple[str, str | bool], ...]:
    """``executor.slurm_extra_flags`` (``--constraint=a100``, ``--exclusive``) as pairs.

    Raises:
        SpecError: a flag is not a long option, or sets something taskonomy manages.
    """
    out: list[tuple[str, str | bool]] = []
    for i, flag in enumerate(flags):
        where = f"executor.slurm_extra_flags[{i}]"
        name, sep, value = flag.partition("=")
        if not name.startswith("--") or len(name) < 3 or " " in name or "\n" in flag:
            raise SpecError(
                f"{where}: {flag!r} is not a long sbatch option; write it as "
                "'--name=value' or '--name' (e.g. '--constraint=a100')"
            )
        key = name[2:]
        if key in _MANAGED:
            raise SpecError(f"{where}: {flag!r} is set by taskonomy ({_MANAGED[key]})")
        out.append((key, value if sep else True))
    return tuple(out)


def _check_folder(folder: Path) -> Path:
    # sbatch expands '%' in --output paths (%j, %A, ...) and reads '\' in #SBATCH lines
    # as an escape even inside quotes; every other character survives submitit's quoting.
    bad = sorted({c for c in str(folder) if c in "%\\\n"})
    if bad:
        raise ExecutionError(
            f"the SLURM log directory {str(folder)!r} contains {', '.join(map(repr, bad))}, "
            "which sbatch cannot take in a path; choose a work directory without them"
        )
    return folder


def _duration(minutes: int) -> str:
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    return f"{days}-{hours:02d}:{mins:02d}:00" if days else f"{hours:02d}:{mins:02d}:00"


def _mem(mem_gb: float) -> str:
    return f"{int(mem_gb)}GB" if mem_gb == int(mem_gb) else f"{math.ceil(mem_gb * 1024)}MB"


@attrs.frozen
class ArraySubmission:
    """One ``sbatch`` of one stage: a job array (or a single job when it has one task).

    Attributes:
        name: the SLURM job name.
        stage: the plan stage it runs.
        tasks: array tasks in this submission.
        offset: global index of its first task (non-zero for the later parts of a split
            array: task ``i`` runs packs ``offset + i``).
        jobs_per_task: plan jobs packed into one task.
        parallelism: at most this many tasks run at once (``%N``); None for no limit.
        folder: submitit's folder: pickles, logs and the submitted script.
    """

    name: str
    stage: str
    tasks: int
    offset: int
    jobs_per_task: int
    parallelism: int | None
    cpus: int
    gpus: int
    mem_gb: float
    time_min: int
    partition: str | None
    account: str | None
    qos: str | None
    extra: tuple[tuple[str, str | bool], ...]
    folder: Path = attrs.field(converter=_check_folder)

    def submitit_parameters(self) -> dict[str, Any]:
        """Keyword arguments for ``submitit.SlurmExecutor.update_parameters``."""
        params: dict[str, Any] = {
            "job_name": self.name,
            "cpus_per_task": self.cpus,
            "mem": _mem(self.mem_gb),
            "time": self.time_min,
            "array_parallelism": self.parallelism or self.tasks,
        }
        if self.gpus:
            params["gres"] = f"gpu:{self.gpus}"
        for key in ("partition", "account", "qos"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        # submitit needs ``time`` in minutes (it times checkpoints with it); the script
        # shows it as D-HH:MM:SS, which additional_parameters substitutes in the header.
        params["additional_parameters"] = {"time": _duration(self.time_min), **dict(self.extra)}
        return params

    def script(self, python: str | None = None) -> str:
        """The sbatch script submitit writes for this submission, byte for byte.

        Rendered here rather than by submitit (whose writer the tests compare it with) so
        that ``taskonomy plan`` imports no submitit.

        Args:
            python: the shell command that starts Python in the job; the current
                interpreter by default (as submitit does).
        """
        folder = Path(self.folder).expanduser().absolute()
        python = shlex.quote(sys.executable) if python is None else python
        # submitit's log names: %A_%a for arrays, %j otherwise; srun fills in the task
        # (%t), sbatch's own lines name task 0.
        ident = "%A_%a" if self.tasks > 1 else "%j"
        srun_out, srun_err = (str(folder / f"{ident}_%t_log.{ext}") for ext in ("out", "err"))
        stdout, stderr = (path.replace("%t", "0") for path in (srun_out, srun_err))
        params = {k: v for k, v in self.submitit_parameters().items() if k != "array_parallelism"}
        flags: dict[str, Any] = {
            **{k: v for k, v in params.items() if k != "additional_parameters"},
            "nodes": 1,
            "wckey": "submitit",
            "signal": f"{PREEMPT_SIGNAL}@{SIGNAL_DELAY_S}",
            "output": stdout,
            "error": stderr,
            "open-mode": "append",
            **params["additional_parameters"],
        }
        if self.tasks > 1:
            flags["array"] = f"0-{self.tasks - 1}%{min(self.tasks, self.parallelism or self.tasks)}"
        lines = ["#!/bin/bash", "", "# Parameters"]
        lines += [_flag(key, flags[key]) for key in sorted(flags)]
        srun = shlex.join(["srun", "--unbuffered", "--output", srun_out, "--error", srun_err])
        command = f"{python} -u -m submitit.core._submit {shlex.quote(str(folder))}"
        lines += ["", "# command", "export SUBMITIT_EXECUTOR=slurm", f"{srun} {command}", ""]
        return "\n".join(lines)

    def header(self) -> list[str]:
        """The ``#SBATCH`` lines of :meth:`script`."""
        return [line for line in self.script().splitlines() if line.startswith("#SBATCH")]


def _flag(key: str, value: Any) -> str:
    key = key.replace("_", "-")
    return f"#SBATCH --{key}" if value is True else f"#SBATCH --{key}={shlex.quote(str(value))}"


def _slug(stage: str) -> str:
    return stage.replace(" (order ", "-o").replace(")", "").replace(" ", "-")


def stage_submissions(
    plan_name: str,
    stage: str,
    jobs: Sequence[Job],
    executor: ExecutorSpec,
    log_dir: Path,
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE,
    partition_limits: Mapping[str | None, int] | None = None,
) -> list[ArraySubmission]:
    """The sbatch submissions that run ``jobs`` (one stage): usually one array.

    Each task asks for the cost model's estimate of its pack with a margin
    (:func:`~taskonomy.planner.cost.task_minutes`), never more than the kind's
    ``time_min`` or the partition's limit; packs that would need more are made smaller.

    Args:
        plan_name: the spec's name (part of the job name).
        stage: the stage the jobs belong to.
        jobs: the jobs to run, all of one stage.
        executor: the spec's executor section.
        log_dir: where submitit's folders go (one per stage).
        max_array_size: the cluster's ``MaxArraySize``; larger arrays are split.
        partition_limits: partition time limits in minutes (``sinfo``), None for the
            default partition; unknown where absent.
    """
    res = jobs[0].resources
    cap = time_cap(jobs[0], partition_limits)
    pack = jobs_per_task(jobs, cap)
    minutes = min(cap, task_minutes(task_seconds(jobs, pack)))
    chunks = split_array(math.ceil(len(jobs) / pack), max_array_size)
    extra = extra_flags(executor.slurm_extra_flags)
    slug = _slug(stage)
    return [
        ArraySubmission(
            name=f"taskonomy-{plan_name}-{slug}" + (f"-{i + 1}" if len(chunks) > 1 else ""),
            stage=stage,
            tasks=chunk.count,
            offset=chunk.offset,
            jobs_per_task=pack,
            parallelism=executor.slurm_array_parallelism,
            cpus=res.cpus,
            gpus=res.gpus,
            mem_gb=res.mem_gb,
            time_min=minutes,
            partition=res.partition,
            account=executor.slurm_account,
            qos=executor.slurm_qos,
            extra=extra,
            folder=log_dir / slug,
        )
        for i, chunk in enumerate(chunks)
    ]


def sbatch_headers(
    plan: Plan,
    executor: ExecutorSpec,
    workdir: Path,
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE,
    partition_limits: Mapping[str | None, int] | None = None,
) -> tuple[dict[str, list[str]], list[str]]:
    """Headers per submission, and warnings for jobs estimated to outrun their time limit
    and for packs the spec asks for that cannot fit in it (they are made smaller).

    Keys are stage names, with `` [part i/k]`` added where a stage's array is split.
    """
    headers: dict[str, list[str]] = {}
    warnings: list[str] = []
    for stage, jobs in stage_arrays(plan).items():
        subs = stage_submissions(
            plan.name,
            stage,
            jobs,
            executor,
            workdir / "logs" / "slurm",
            max_array_size,
            partition_limits,
        )
        for i, sub in enumerate(subs):
            key = stage if len(subs) == 1 else f"{stage} [part {i + 1}/{len(subs)}]"
            headers[key] = sub.header()
        warnings += _time_warnings(stage, jobs, partition_limits)
    return headers, warnings


def _time_warnings(
    stage: str, jobs: Sequence[Job], partition_limits: Mapping[str | None, int] | None
) -> list[str]:
    kind, res = jobs[0].kind, jobs[0].resources
    cap = time_cap(jobs[0], partition_limits)
    what = f"{cap} min" + (" (the partition's limit)" if cap < res.time_min else "")
    fix = (
        f"choose a partition with a longer limit (executor.resources.{kind}.slurm_partition)"
        if cap < res.time_min
        else f"raise executor.resources.{kind}.time_min"
    )
    over = [j for j in jobs if j.est_seconds > cap * 60]
    if over:
        worst = max(over, key=lambda j: j.est_seconds)
        return [
            f"{len(over)} {stage} job(s) are estimated to exceed their time limit of {what} "
            f"(e.g. {worst.id}: ~{worst.est_seconds / 60:.0f} min); {fix}"
        ]
    asked = res.jobs_per_task
    if asked is not None and asked > 1 and fits(jobs, 1, cap) and not fits(jobs, asked, cap):
        pack = jobs_per_task(jobs, cap)
        need = task_minutes(task_seconds(jobs, asked))
        return [
            f"{stage}: {asked} jobs per task would need ~{need} min, more than the limit of "
            f"{what}; packing {pack} per task instead (set "
            f"executor.resources.{kind}.slurm_jobs_per_task={pack}, or {fix})"
        ]
    return []
