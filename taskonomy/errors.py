"""The exceptions users see.

Every error a user can cause derives from :class:`TaskonomyError`; the CLI prints its
message and exits with code 2 instead of showing a traceback. Subclasses mix in the
built-in they specialise so callers can also catch ``ValueError`` and friends.
"""

from __future__ import annotations


class TaskonomyError(Exception):
    """Base class of every error the toolkit raises on purpose."""

    exit_code: int = 2


class SpecError(TaskonomyError, ValueError):
    """An experiment spec (file, Python object or override) is invalid."""


class PlanError(TaskonomyError, ValueError):
    """A job graph is malformed: a cycle, a dangling dependency, an unknown job."""


class AffinityError(TaskonomyError, ValueError):
    """An affinity table or loss matrix cannot be read or is inconsistent."""


class SolverError(TaskonomyError, RuntimeError):
    """A taxonomy solver could not be used (missing package, licence limit, crash)."""


class ExecutionError(TaskonomyError, RuntimeError):
    """Running a job graph failed (a job raised, an artifact is corrupt, ...)."""


class MissingDependencyError(TaskonomyError, ImportError):
    """An optional package is needed for what was asked; the message names it."""
