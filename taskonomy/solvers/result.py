"""What every backend reports, in one vocabulary."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from taskonomy.errors import SolverError


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
        prune_dominated: leave out edges dominated by a cheaper edge into the same
            target (exact; see :func:`taskonomy.solvers.formulation.nondominated`).
    """

    time_limit_s: float | None = None
    threads: int | None = None
    form: str = "target-source"
    prune_dominated: bool = True

    @classmethod
    def of(cls, value: SolveOptions | Mapping[str, Any] | object | None) -> SolveOptions:
        """Options from None, a mapping, or any object with these attributes (e.g. the
        spec's ``taxonomy.solver_options``)."""
        if value is None:
            return cls()
        if isinstance(value, SolveOptions):
            return value
        names = [f.name for f in fields(cls)]
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise SolverError(
                    f"unknown solver options {unknown}; valid options: {', '.join(names)}"
                )
            given = {k: v for k, v in value.items() if v is not None}
        else:
            given = {n: getattr(value, n) for n in names if getattr(value, n, None) is not None}
        out = cls(**given)
        if out.time_limit_s is not None and out.time_limit_s <= 0:
            raise SolverError(f"time_limit_s must be > 0, got {out.time_limit_s}")
        if out.threads is not None and out.threads < 1:
            raise SolverError(f"threads must be >= 1, got {out.threads}")
        return out


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
    #: Bootstrap support of each target's chosen edge (fraction of resamples choosing
    #: it), where a bootstrap ran; not part of the answer's identity.
    support: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def solved(self) -> bool:
        """Whether there is a taxonomy to show (optimal, or the best found in time)."""
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT) and bool(self.edges)
