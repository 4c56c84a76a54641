"""The taxonomy problem (Stage IV) as data: candidate edges, costs, weights, limits."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from taskonomy.affinity.table import BASELINES, SELF, AffinityTable
from taskonomy.errors import SolverError


@dataclass(frozen=True, order=True)
class Edge:
    """A candidate hyperedge ``sources → target`` with affinity ``p``.

    ``sources == ("self",)`` is the target's own supervised network; it needs the target
    itself supervised.
    """

    target: str
    sources: tuple[str, ...]
    p: float = field(compare=False)
    #: Whether this is the target's own network (``sources == ("self",)``).
    is_self: bool = field(init=False, compare=False, repr=False)
    #: The source tasks that must be supervised for this edge (the ``y_s`` it links to).
    needs: tuple[str, ...] = field(init=False, compare=False, repr=False)
    #: ``|S_e|``; 1 for ``self``.
    order: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        is_self = self.sources == (SELF,)
        object.__setattr__(self, "is_self", is_self)
        object.__setattr__(self, "needs", (self.target,) if is_self else self.sources)
        object.__setattr__(self, "order", len(self.sources))


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


#: The largest label cost or importance accepted: the solvers' tolerances are absolute
#: (1e-6 and below), so weights far apart in scale would lose exactness.
MAX_WEIGHT = 1e6


def _check_weights(
    what: str, values: Mapping[str, float], known: list[str], kind: str, positive: bool
) -> None:
    for name, value in values.items():
        if name not in known:
            shown = list(known[:30]) + (["..."] if len(known) > 30 else [])
            raise SolverError(
                f"{what} given for {name!r}, which is not a {kind} in the affinities"
                f"{_did_you_mean(name, known)} ({kind}s: {', '.join(shown)})"
            )
        bound = "> 0" if positive else ">= 0"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise SolverError(
                f"{what} of {name!r} must be a number {bound} and at most {MAX_WEIGHT:g}, "
                f"got {value!r}"
            )
        try:
            v = float(value)
        except OverflowError:
            v = math.inf
        if not math.isfinite(v) or v < 0 or (positive and v == 0) or v > MAX_WEIGHT:
            raise SolverError(
                f"{what} of {name!r} must be a finite number {bound} and at most "
                f"{MAX_WEIGHT:g}, got {value!r}"
            )


@dataclass(frozen=True)
class TaxonomyProblem:
    """One BIP instance: choose supervised sources and one edge per target.

    Built with :meth:`from_table`. ``candidate_edges`` holds edges of every order in the
    table; :attr:`edges` are those allowed by ``max_order``. Scratch/pixels candidates are
    tournament players only and never edges; ``self`` edges exist only for targets that
    are also sources.
    """

    targets: tuple[str, ...]
    sources: tuple[str, ...]
    candidate_edges: tuple[Edge, ...]
    label_costs: Mapping[str, float]
    importance: Mapping[str, float]
    max_order: int
    budget: float
    #: ``candidate_edges`` grouped by target (derived; carried along by ``with_limits``).
    by_target: Mapping[str, tuple[Edge, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.by_target:
            groups: dict[str, list[Edge]] = {t: [] for t in self.targets}
            for e in self.candidate_edges:
                groups.setdefault(e.target, []).append(e)
            object.__setattr__(self, "by_target", {t: tuple(g) for t, g in groups.items()})
        order = self.max_order
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 2**31:
            raise SolverError(f"max order must be an integer >= 1, got {order!r}")
        if not math.isfinite(self.budget) or self.budget < 0:
            raise SolverError(f"budget must be a finite number >= 0, got {self.budget}")

    @classmethod
    def from_table(
        cls,
        table: AffinityTable,
        label_costs: Mapping[str, float] | None = None,
        importance: Mapping[str, float] | None = None,
        max_order: int = 1,
        budget: float = 1.0,
    ) -> TaxonomyProblem:
        """Build the problem from affinities; label costs and importances default to 1."""
        sources = table.sources
        targets = table.targets
        if not targets:
            raise SolverError("the affinity table is empty: no target to solve")
        _check_weights("label cost", label_costs or {}, sources, "source", positive=False)
        _check_weights("importance", importance or {}, targets, "target", positive=True)
        costs = {s: float((label_costs or {}).get(s, 1.0)) for s in sources}
        weights = {t: float((importance or {}).get(t, 1.0)) for t in targets}
        source_set = set(sources)
        edges = []
        for (srcs, target), p in table.entries.items():
            if srcs == (SELF,):
                if target not in source_set:
                    continue  # a target-only (novel) task has no network of its own
            elif BASELINES & set(srcs):
                continue  # scratch is a tournament player, never a taxonomy edge
            edges.append(Edge(target, srcs, p))
        edges.sort(key=lambda e: (e.target, e.order, sorted(e.sources)))
        return cls(
            targets=tuple(targets),
            sources=tuple(sources),
            candidate_edges=tuple(edges),
            label_costs=costs,
            importance=weights,
            max_order=max_order,
            budget=float(budget),
        )

    def with_limits(self, budget: float, max_order: int) -> TaxonomyProblem:
        return replace(self, budget=float(budget), max_order=max_order)

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        """The selectable edges: candidates of order at most ``max_order``."""
        return tuple(e for e in self.candidate_edges if e.order <= self.max_order)

    def edges_into(self, target: str) -> list[Edge]:
        """The selectable edges into ``target``."""
        return [e for e in self.by_target.get(target, ()) if e.order <= self.max_order]

    def value(self, edge: Edge) -> float:
        """The objective coefficient ``r_t · p_e``."""
        return self.importance[edge.target] * edge.p

    @property
    def uncoverable(self) -> list[str]:
        """Targets with no selectable edge at all (only baselines, or order too low)."""
        k = self.max_order
        return [t for t in self.targets if not any(e.order <= k for e in self.by_target[t])]


def targets_without_candidates(table: AffinityTable) -> list[str]:
    """Targets with no taxonomy edge of any order: only the scratch baseline, or only
    ``self`` for a task that is not a source. No taxonomy can cover them."""
    source_set = set(table.sources)
    covered = {
        t
        for srcs, t in table.entries
        if not (BASELINES & set(srcs)) or (srcs == (SELF,) and t in source_set)
    }
    return [t for t in table.targets if t not in covered]


def check_solvable(table: AffinityTable, where: str) -> None:
    """Refuse a table some target of which no taxonomy can cover (every instance would
    be infeasible).

    Raises:
        SolverError: naming ``where`` and the targets.
    """
    if not table.targets:
        raise SolverError(f"{where}: the affinity table is empty: no target to solve")
    lost = targets_without_candidates(table)
    if lost:
        shown = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
        raise SolverError(
            f"{where}: targets {shown} have no candidate transfer (only the scratch baseline "
            "'pixels__<target>', or 'self' for a task that is no source), so every taxonomy "
            "would be infeasible; add transfers into them or remove their entries"
        )


def check_weights(
    table: AffinityTable,
    label_costs: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
) -> None:
    """Check label costs (sources, finite, >= 0) and importances (targets, finite, > 0)
    against ``table``, as :meth:`TaxonomyProblem.from_table` does.

    Raises:
        SolverError: naming the first bad task and value.
    """
    _check_weights("label cost", label_costs or {}, table.sources, "source", positive=False)
    _check_weights("importance", importance or {}, table.targets, "target", positive=True)
