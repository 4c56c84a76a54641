"""Shared helpers: small instances and a brute-force reference optimum."""

from __future__ import annotations

import itertools
import math

from hypothesis import strategies as st

from taskonomy.affinity import AffinityTable
from taskonomy.solvers import TaxonomyProblem


def brute_force(problem: TaxonomyProblem) -> float | None:
    """The optimum by enumerating every affordable source set (None: infeasible)."""
    best: float | None = None
    sources = problem.sources
    for r in range(len(sources) + 1):
        for chosen in itertools.combinations(sources, r):
            if math.fsum(problem.label_costs[s] for s in chosen) > problem.budget + 1e-9:
                continue
            on = set(chosen)
            total = 0.0
            for t in problem.targets:
                vals = [problem.value(e) for e in problem.edges_into(t) if set(e.needs) <= on]
                if not vals:
                    break
                total += max(vals)
            else:
                best = total if best is None else max(best, total)
    return best


@st.composite
def tables(draw: st.DrawFn, max_tasks: int = 5) -> AffinityTable:
    """Random release-style tables, valid by construction.

    Tasks ``t0..tn``; each task is a target, a source, or both; every target gets some
    first- and higher-order candidates from other sources, maybe ``self`` (ignored when
    the target is not a source) and maybe ``pixels``.
    """
    n = draw(st.integers(2, max_tasks))
    names = [f"t{i}" for i in range(n)]
    roles = draw(st.lists(st.sampled_from(["both", "source", "target"]), min_size=n, max_size=n))
    roles[0] = "both"  # at least one source and one target
    sources = [t for t, r in zip(names, roles, strict=True) if r != "target"]
    targets = [t for t, r in zip(names, roles, strict=True) if r != "source"]
    p = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)
    data: dict[str, float] = {}
    for t in targets:
        others = [s for s in sources if s != t]
        for k in range(1, min(3, len(others)) + 1):
            for combo in itertools.combinations(others, k):
                if draw(st.booleans()):
                    data["__".join((*combo, t))] = draw(p)
        if draw(st.booleans()):
            data[f"self__{t}"] = draw(p)
        if draw(st.booleans()):
            data[f"pixels__{t}"] = draw(p)
    if not data:
        data[f"self__{names[0]}"] = 0.5
    return AffinityTable.from_release_dict(data)


@st.composite
def problems(draw: st.DrawFn) -> TaxonomyProblem:
    table = draw(tables())
    costs = {s: float(draw(st.integers(0, 3))) for s in table.sources}
    importance = {t: draw(st.sampled_from([0.5, 1.0, 2.0])) for t in table.targets}
    return TaxonomyProblem.from_table(
        table,
        label_costs=costs,
        importance=importance,
        max_order=draw(st.integers(1, 3)),
        budget=float(draw(st.integers(0, 6))),
    )
