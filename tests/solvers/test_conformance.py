"""One conformance suite for every backend: same optimum, statuses and reasons.

Every installed backend runs it; a missing one is skipped with the package to install.
"""

from __future__ import annotations

import pytest

from taskonomy.affinity import AffinityTable
from taskonomy.solvers import (
    BACKENDS,
    SolveOptions,
    SolveStatus,
    TaxonomyProblem,
    solve,
    solve_many,
    solve_sweep,
)
from taskonomy.solvers.backends._base import Backend
from taskonomy.solvers.synthetic import synthetic_table
from tests.solvers.instances import brute_force


def _param(backend: type[Backend]) -> object:
    reason = f"{backend.name} needs 'pip install {backend.INSTALL}'"
    return pytest.param(
        backend.name,
        id=backend.name,
        marks=pytest.mark.skipif(not backend.installed(), reason=reason),
    )


ALL = [_param(b) for b in BACKENDS]
SMALL = synthetic_table(n_targets=6, n_source_only=2, max_order=3, beam=3, seed=3)
BUDGETS = [1, 2, 3, 5, 8]
ORDERS = [1, 2, 3]


@pytest.fixture(scope="module")
def reference() -> dict[tuple[float, int], float | None]:
    out = {}
    for b in BUDGETS:
        for k in ORDERS:
            out[(float(b), k)] = brute_force(TaxonomyProblem.from_table(SMALL, None, None, k, b))
    return out


@pytest.mark.parametrize("solver", ALL)
def test_sweep_matches_brute_force(
    solver: str, reference: dict[tuple[float, int], float | None]
) -> None:
    sols = solve_sweep(SMALL, BUDGETS, ORDERS, solver=solver)
    assert [(s.budget, s.max_order) for s in sols] == list(reference)
    for sol in sols:
        expected = reference[(sol.budget, sol.max_order)]
        assert sol.solver == solver
        assert sol.status is SolveStatus.OPTIMAL
        assert sol.objective == pytest.approx(expected, abs=1e-6)
        assert sol.gap is not None and sol.gap <= 1e-9
        assert sol.solve_seconds >= 0


@pytest.mark.parametrize("solver", ALL)
def test_same_taxonomy_as_highs_on_unique_optima(solver: str) -> None:
    mine = solve_sweep(SMALL, BUDGETS, [2], solver=solver)
    ref = solve_sweep(SMALL, BUDGETS, [2], solver="highs")
    for a, b in zip(mine, ref, strict=True):
        assert a.objective == pytest.approx(b.objective, abs=1e-6)
        assert (a.supervised, a.edges) == (b.supervised, b.edges)


@pytest.mark.parametrize("solver", ALL)
def test_cold_solves_reuse_one_model(solver: str) -> None:
    problem = TaxonomyProblem.from_table(SMALL, max_order=3, budget=8)
    pairs = [(8.0, 3), (2.0, 1), (5.0, 2)]
    sols = solve_many(problem, pairs, solver=solver)
    for sol, (b, k) in zip(sols, pairs, strict=True):
        expected = brute_force(problem.with_limits(b, k))
        assert sol.objective == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("solver", ALL)
def test_infeasible_is_a_result_with_reason(solver: str) -> None:
    # Three novel targets reachable only from `a` or only from `b`; budget 1 covers one side.
    table = AffinityTable.from_release_dict(
        {"a__x": 0.5, "b__y": 0.5, "b__z": 0.4, "self__a": 1.0, "self__b": 1.0}
    )
    sol = solve(TaxonomyProblem.from_table(table, max_order=1, budget=1), solver)
    assert sol.status is SolveStatus.INFEASIBLE
    assert sol.objective is None and sol.edges == {} and sol.supervised == []
    assert sol.reason is not None
    assert sol.reason.startswith("budget 1 cannot cover targets ")
    assert "y, z" in sol.reason or "a, x" in sol.reason
    assert "needs a label budget of 2" in sol.reason


@pytest.mark.parametrize("solver", ALL)
def test_target_without_candidates(solver: str) -> None:
    table = AffinityTable.from_release_dict({"pixels__x": 1.0, "a__y": 1.0, "a__b__z": 1.0})
    sol = solve(TaxonomyProblem.from_table(table, max_order=1, budget=5), solver)
    assert sol.status is SolveStatus.INFEASIBLE
    assert sol.reason == (
        "targets x, z have no candidate transfer of order <= 1 "
        "(scratch/pixels is not a taxonomy edge)"
    )


@pytest.mark.parametrize("solver", ALL)
def test_time_limit_option_accepted(solver: str) -> None:
    sol = solve(
        TaxonomyProblem.from_table(SMALL, max_order=2, budget=3),
        solver,
        SolveOptions(time_limit_s=30, threads=1),
    )
    assert sol.status is SolveStatus.OPTIMAL
