"""Runs a job graph: the artifact store, the local executor and (later) SLURM.

Importing this package imports neither torch nor submitit; backends import them lazily.
"""

from taskonomy.executor.store import ArtifactStore

__all__ = ["ArtifactStore"]
