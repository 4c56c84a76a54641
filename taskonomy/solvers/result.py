"""What every backend reports, in one vocabulary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SolveStatus(enum.StrEnum):
    """Backend-native statuses mapped onto one set."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"


@dataclass(frozen=True)
class SolveOptions:
    """Backend-neutral solver settings.

    Args:
        time_limit_s: wall-clock limit per instance (None: no limit).
        threads: solver threads (None: the backend's default).
        form: the linking-constraint form (see :mod:`taskonomy.solvers.formulation`).
    """

    time_limit_s: float | None = None
    threads: int | None = None
    form: str = "target-source"


@dataclass(frozen=True)
class Solution:
    """One taxonomy: the answer for one (budget, max order) pair.

    ``supervised`` lists the sources implied by the chosen edges (sorted), which can be
    fewer than the backend switched on when the budget does not bind. ``edges`` maps
    every target to its chosen sources, ``["self"]`` for its own network. ``objective``
    and ``gap`` are None unless a solution was found; ``reason`` explains an
    infeasible, time-limited or failed instance.
    """

    budget: float
    max_order: int
    solver: str
    status: SolveStatus
    objective: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    supervised: list[str] = field(default_factory=list)
    edges: dict[str, list[str]] = field(default_factory=dict)
    cost: float | None = None
    reason: str | None = None
