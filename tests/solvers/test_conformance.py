"""One conformance suite for every backend: same optimum, statuses and reasons.

Every installed backend runs it; a missing one is skipped with the package to install.
"""

from __future__ import annotations

import pytest

from taskonomy.affinity import AffinityTable
from taskonomy.errors import SolverError
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


BIGGER = synthetic_table(n_targets=10, n_source_only=3, max_order=3, beam=4, seed=1)


@pytest.mark.parametrize("solver", ALL)
def test_a_time_limit_never_claims_infeasible(solver: str) -> None:
    """Under a time limit too short to prove anything, a feasible budget is reported as
    ``time_limit`` (with the best solution found, if any, and a valid one), never as
    ``infeasible``; budget 0 is infeasible with a reason naming its targets."""
    problem = TaxonomyProblem.from_table(BIGGER, max_order=3, budget=5)
    options = SolveOptions(time_limit_s=0.001)
    for _ in range(3):
        sols = solve_sweep(BIGGER, [0, 1, 2, 3, 4, 5], [3], solver=solver, options=options)
        zero, *rest = sols
        assert zero.status is SolveStatus.INFEASIBLE
        assert zero.reason is not None and zero.reason.startswith("budget 0 cannot cover targets")
        assert "task00" in zero.reason
        for sol in rest:
            assert sol.status in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT), sol
            assert sol.reason is None or "time limit" in sol.reason
            if sol.objective is not None:
                best = brute_force(problem.with_limits(sol.budget, 3))
                assert best is not None and sol.objective <= best + 1e-6
                assert len(sol.edges) == len(BIGGER.targets) and sol.cost is not None
                assert sol.cost <= sol.budget


def _liar(backend: type[Backend]) -> type[Backend]:
    """``backend`` whose first instance (the sweep's model) always says "infeasible", as
    CBC does ("integer infeasible") when a time limit stops it; later instances (the
    models that check the claim) answer truthfully."""
    from taskonomy.solvers.backends._base import RawResult

    made: list[int] = []

    class Liar(backend):  # type: ignore[misc,valid-type]
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            made.append(1)
            self.lies = len(made) == 1

        def solve(self, budget, col_upper, warm_start):  # type: ignore[no-untyped-def]
            raw = super().solve(budget, col_upper, warm_start)
            if not self.lies:
                return raw
            return RawResult(SolveStatus.INFEASIBLE, None, None, None, raw.seconds, "lie")

    return Liar


@pytest.mark.parametrize("solver", ALL)
@pytest.mark.parametrize("limit", [None, 30.0])
def test_an_unproven_infeasible_claim_is_not_reported(
    solver: str, limit: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backend's "infeasible" stands only when the cheapest full cover (proven optimal)
    exceeds the budget. A wrong claim gives the cover as the best solution found: under
    ``time_limit`` where a time limit was set, as ``error`` otherwise."""
    from taskonomy.solvers import api
    from taskonomy.solvers.registry import get_backend

    monkeypatch.setattr(api, "get_backend", lambda name: _liar(get_backend(name)))
    problem = TaxonomyProblem.from_table(SMALL, max_order=2, budget=3)
    sol = solve(problem, solver, SolveOptions(time_limit_s=limit))
    expected = SolveStatus.TIME_LIMIT if limit else SolveStatus.ERROR
    assert sol.status is expected
    assert sol.reason is not None and "fits budget 3" in sol.reason
    assert sol.objective is not None and sol.cost is not None and sol.cost <= 3
    assert sol.objective <= (brute_force(problem) or 0.0) + 1e-6
    # A true claim is kept, with a reason that names the targets and the proof.
    table = AffinityTable.from_release_dict(
        {"a__x": 0.5, "b__y": 0.5, "b__z": 0.4, "self__a": 1.0, "self__b": 1.0}
    )
    sol = solve(TaxonomyProblem.from_table(table, max_order=1, budget=1), solver)
    assert sol.status is SolveStatus.INFEASIBLE
    assert sol.reason is not None and sol.reason.startswith("budget 1 cannot cover targets ")
    assert "needs a label budget of 2" in sol.reason


@pytest.mark.parametrize("solver", ALL)
def test_huge_budgets_and_weights(solver: str) -> None:
    """A budget far above every label cost solves like the total cost; weights beyond
    the solvers' exact range are refused with the task named."""
    sols = solve_sweep(SMALL, [1e300, 1e6, float(len(SMALL.sources))], [2], solver=solver)
    assert {s.status for s in sols} == {SolveStatus.OPTIMAL}
    assert len({round(s.objective or 0.0, 9) for s in sols}) == 1
    with pytest.raises(SolverError, match="label cost of 'src00' must be a finite number"):
        TaxonomyProblem.from_table(SMALL, {"src00": 1e300})
    with pytest.raises(SolverError, match="importance of 'task00' must be a finite number > 0"):
        TaxonomyProblem.from_table(SMALL, None, {"task00": float("nan")})
