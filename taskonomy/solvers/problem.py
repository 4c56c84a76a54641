"""The taxonomy problem (Stage IV) as data: candidate edges, costs, weights, limits."""

from __future__ import annotations

import difflib
import math
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


def _check_weights(
    what: str, values: Mapping[str, float], known: list[str], kind: str, positive: bool
) -> None:
    for name, value in values.items():
        if name not in known:
            raise SolverError(
                f"{what} given for {name!r}, which is not a {kind} in the affinities"
                f"{_did_you_mean(name, known)} ({kind}s: {', '.join(known)})"
            )
        v = float(value)
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            bound = "> 0" if positive else ">= 0"
            raise SolverError(f"{what} of {name!r} must be a finite number {bound}, got {value}")


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
        if isinstance(self.max_order, bool) or self.max_order < 1:
            raise SolverError(f"max order must be an integer >= 1, got {self.max_order}")
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
