"""An independent check of every solution against the problem, not the model matrix.

Whatever a backend claims, a solution is only reported after this check: every target
has exactly one selectable edge, each edge's sources are supervised, the label cost fits
the budget, and the objective recomputed from the affinities matches the claim.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from taskonomy.errors import SolverError
from taskonomy.solvers.problem import Edge, TaxonomyProblem

#: Tolerance of the budget and objective checks: absolute up to 1, relative above.
TOLERANCE = 1e-6


def tolerance(value: float) -> float:
    """The tolerance of a check against ``value`` (:data:`TOLERANCE`, relative above 1)."""
    return TOLERANCE * max(1.0, abs(value))


class CertificateError(SolverError):
    """A solution violates the problem it claims to solve."""


def certify(
    problem: TaxonomyProblem,
    chosen: Mapping[str, Sequence[Edge]],
    supervised: Sequence[str],
    claimed_objective: float | None = None,
) -> float:
    """Check a solution and return its recomputed objective.

    Args:
        problem: the instance (its budget and max order apply).
        chosen: the edges selected into each target.
        supervised: the sources switched on.
        claimed_objective: the objective the backend reported, if any.

    Raises:
        CertificateError: naming the first violated constraint.
    """
    on = set(supervised)
    unknown = on - set(problem.sources)
    if unknown:
        raise CertificateError(f"supervised tasks {sorted(unknown)} are not sources")
    for target in problem.targets:
        edges = list(chosen.get(target, ()))
        if len(edges) != 1:
            raise CertificateError(f"target {target!r} has {len(edges)} chosen edges, not 1")
        edge = edges[0]
        allowed = edge.order <= problem.max_order and edge in problem.by_target.get(target, ())
        if not allowed or edge.target != target:
            raise CertificateError(f"edge {edge.sources} -> {target!r} is not selectable")
        missing = [s for s in edge.needs if s not in on]
        if missing:
            raise CertificateError(
                f"edge {edge.sources} -> {target!r} needs unsupervised sources {missing}"
            )
    extra = set(chosen) - set(problem.targets)
    if extra:
        raise CertificateError(f"edges chosen into unknown targets {sorted(extra)}")
    cost = math.fsum(problem.label_costs[s] for s in on)
    if cost > problem.budget + tolerance(problem.budget):
        raise CertificateError(f"label cost {cost:g} exceeds the budget {problem.budget:g}")
    objective = math.fsum(problem.value(chosen[t][0]) for t in problem.targets)
    if claimed_objective is not None and abs(objective - claimed_objective) > tolerance(objective):
        raise CertificateError(
            f"objective recomputed from the affinities is {objective:.9g}, "
            f"the solver claimed {claimed_objective:.9g}"
        )
    return objective
