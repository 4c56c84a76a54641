"""Runs a job graph: the artifact store, jobs in this process, the local executor, and
SLURM (``slurm/``). The executors receive the job bodies; they never import them.

Importing this package imports neither torch nor submitit; backends import them lazily.
"""

from taskonomy.executor.store import ArtifactStore

__all__ = ["ArtifactStore"]
