"""The spec's ``executor`` section: where the job graph runs and with what resources."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from taskonomy.kinds import JobKind
from taskonomy.spec import types as ty
from taskonomy.spec._base import _Model

__all__ = ["ExecutorSpec", "ResourceSpec"]


class ResourceSpec(_Model):
    """Neutral resources of one job kind; each executor translates them.

    ``slurm_*`` fields are read by the SLURM executor only.
    """

    gpus: ty.Gpus | None = None
    """GPUs per job."""
    cpus: ty.Cpus | None = None
    """CPU cores per job."""
    mem_gb: ty.MemGb | None = None
    """Memory per job, in GB."""
    time_min: ty.TimeMin | None = None
    """Time limit per job, in minutes."""
    slurm_partition: ty.SlurmName | None = None
    """The SLURM partition of this kind's arrays; default: executor.slurm_partition."""
    slurm_jobs_per_task: ty.JobsPerTask | None = None
    """Jobs of this kind packed into one array task."""


class ExecutorSpec(_Model):
    """Where the job graph runs: this machine (``local``) or a SLURM cluster."""

    kind: Literal["local", "slurm"] = "local"
    """local: this machine; slurm: job arrays through submitit."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """The torch device of training jobs; auto takes CUDA when present."""
    threads: ty.Threads | None = None
    """Torch threads per job process; default: the CPUs the process is allotted (affinity
    mask, SLURM_CPUS_PER_TASK, cgroup quota)."""
    workers: ty.Workers = 1
    """Local executor: jobs (or packs) run at once, each in a worker process pinned to an
    equal share of the CPUs this process is allotted (threads then default to that share);
    1 runs every job in this process. SLURM runs ignore it (each array task is a process)."""
    resources: dict[JobKind, ResourceSpec] = {}  # noqa: RUF012
    """Resources per job kind, over the defaults."""
    slurm_partition: ty.SlurmName | None = None
    """The SLURM partition (sbatch --partition)."""
    slurm_account: ty.SlurmName | None = None
    """The SLURM account (sbatch --account)."""
    slurm_qos: ty.SlurmName | None = None
    """The SLURM quality of service (sbatch --qos)."""
    slurm_array_parallelism: ty.ArrayParallelism | None = None
    """The most array tasks running at once (sbatch --array=...%N)."""
    slurm_jobs_per_task: ty.JobsPerTask | None = None
    """Jobs packed into one array task, for every kind."""
    slurm_extra_flags: list[ty.ExtraFlag] = Field([], max_length=100)
    """Further sbatch long options, '--name=value' or '--name' (e.g. '--constraint=a100')."""
    slurm_max_retries: ty.Retries = 2
    """Resubmissions of a job that failed for a cluster reason (preemption, node failure)."""
    slurm_oom_mem_factor: ty.MemFactor | None = None
    """After an out-of-memory kill, resubmit in the same run with mem x factor (off: None)."""
    slurm_max_mem_gb: ty.MemGb | None = None
    """The most memory an out-of-memory retry may ask for (GB)."""
