"""The SLURM backend. :mod:`.header` is pure and needs neither submitit nor a cluster."""

from taskonomy.executor.slurm.header import jobs_per_task, sbatch_header, sbatch_headers

__all__ = ["jobs_per_task", "sbatch_header", "sbatch_headers"]
