"""The data layer's error."""

from __future__ import annotations

from taskonomy.errors import TaskonomyError


class DataError(TaskonomyError, ValueError):
    """A dataset cannot be generated, read or used as asked; the message says how to fix it."""
