"""Hypothesis properties of the taxonomy BIP (docs/method.md, Stage IV), solved with HiGHS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskonomy.affinity import AffinityTable
from taskonomy.solvers import (
    Form,
    SolveOptions,
    SolveStatus,
    TaxonomyProblem,
    certify,
    solve,
    solve_sweep,
)
from taskonomy.solvers.problem import Edge
from tests.solvers.instances import brute_force, problems, tables

PROPS = settings(derandomize=True, deadline=None, max_examples=40)


def _chosen(problem: TaxonomyProblem, edges: dict[str, list[str]]) -> dict[str, list[Edge]]:
    by_key = {(e.target, e.sources): e for e in problem.candidate_edges}
    return {t: [by_key[(t, tuple(s))]] for t, s in edges.items()}


@PROPS
@given(problems())
def test_optimum_equals_brute_force(problem: TaxonomyProblem) -> None:
    """Property: on small random instances the optimum equals brute-force enumeration,
    and the solver says infeasible exactly when no affordable source set covers all."""
    sol = solve(problem, "highs")
    expected = brute_force(problem)
    if expected is None:
        assert sol.status is SolveStatus.INFEASIBLE
        assert sol.reason
    else:
        assert sol.status is SolveStatus.OPTIMAL
        assert sol.objective == pytest.approx(expected, abs=1e-9)


@PROPS
@given(problems())
def test_every_solution_satisfies_every_constraint(problem: TaxonomyProblem) -> None:
    """Property: a reported solution passes the independent certificate, its supervised
    set is exactly what its edges need, and its cost is within the budget."""
    sol = solve(problem, "highs")
    if sol.status is not SolveStatus.OPTIMAL:
        return
    chosen = _chosen(problem, sol.edges)
    assert certify(problem, chosen, sol.supervised, sol.objective) == pytest.approx(sol.objective)
    needed = sorted({s for edges in chosen.values() for s in edges[0].needs})
    assert sol.supervised == needed
    assert sol.cost is not None and sol.cost <= problem.budget + 1e-9
    assert all(len(s) <= problem.max_order for s in sol.edges.values())


@PROPS
@given(tables(), st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_objective_monotone_in_budget_and_order(table: AffinityTable, orders: list[int]) -> None:
    """Property: more budget or a higher max order never lowers the optimum (and never
    turns a feasible instance infeasible)."""
    sols = solve_sweep(table, [0, 1, 2, 3, 4, 6], orders, solver="highs")
    value = {(s.budget, s.max_order): s.objective for s in sols}
    for (b, k), obj in value.items():
        for (b2, k2), obj2 in value.items():
            if b2 >= b and k2 >= k and obj is not None:
                assert obj2 is not None and obj2 >= obj - 1e-9


@PROPS
@given(problems())
def test_constraint_forms_share_the_optimum(problem: TaxonomyProblem) -> None:
    """Property: the tight target-source form, the per-edge form and the paper's
    aggregated form have the same optimum (they have the same integer solutions), with
    and without pruning dominated edges."""
    results = [
        solve(problem, "highs", SolveOptions(form=f.value, prune_dominated=prune))
        for f in Form
        for prune in (True, False)
    ]
    assert len({r.status for r in results}) == 1
    if results[0].objective is not None:
        objectives = [r.objective for r in results]
        assert max(objectives) - min(objectives) <= 1e-9  # type: ignore[operator]


@PROPS
@given(problems())
def test_highs_branch_and_bound_path_matches_brute_force(
    monkeypatch_lp_first: None, problem: TaxonomyProblem
) -> None:
    """Property: with the LP shortcut off, HiGHS's MIP path reaches the same optimum."""
    sol = solve(problem, "highs")
    expected = brute_force(problem)
    assert (sol.objective is None) == (expected is None)
    if expected is not None:
        assert sol.objective == pytest.approx(expected, abs=1e-9)
