"""Building problems, the registry, the certificate and the Gurobi size limit."""

from __future__ import annotations

import pytest

from taskonomy.affinity import AffinityTable
from taskonomy.errors import SolverError
from taskonomy.solvers import (
    BACKENDS,
    CertificateError,
    Form,
    SolveOptions,
    TaxonomyProblem,
    available_solvers,
    build_model,
    certify,
    get_backend,
    nondominated,
    solve,
)
from taskonomy.solvers.backends.gurobi import GurobiBackend
from taskonomy.solvers.backends.highs import HighsBackend
from taskonomy.solvers.synthetic import synthetic_table

TABLE = AffinityTable.from_release_dict(
    {
        "depth__normals": 0.4,
        "edges__normals": 0.2,
        "depth__edges__normals": 0.5,
        "self__normals": 0.7,
        "pixels__normals": 0.1,
        "normals__depth": 0.3,
        "self__depth": 0.6,
        "depth__novel": 0.2,
        "self__novel": 0.9,  # novel is not a source: ignored
    }
)


def test_problem_edges_and_defaults() -> None:
    problem = TaxonomyProblem.from_table(TABLE, max_order=1, budget=2)
    assert problem.sources == ("depth", "edges", "normals")
    assert problem.targets == ("depth", "normals", "novel")
    assert problem.label_costs == {"depth": 1.0, "edges": 1.0, "normals": 1.0}
    keys = [(e.target, e.sources) for e in problem.candidate_edges]
    assert ("novel", ("self",)) not in keys  # a target-only task has no network
    assert not any("pixels" in s for _, s in keys)  # scratch is not an edge
    assert ("normals", ("depth", "edges")) in keys
    assert [e.sources for e in problem.edges_into("normals")] == [
        ("depth",),
        ("edges",),
        ("self",),
    ]
    assert problem.with_limits(2, 2).edges_into("normals")[-1].sources == ("depth", "edges")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label_costs": {"dpeth": 2.0}}, "did you mean 'depth'"),
        ({"label_costs": {"depth": -1.0}}, "finite number >= 0"),
        ({"importance": {"normals": 0.0}}, "finite number > 0"),
        ({"importance": {"edges": 1.0}}, "not a target"),
        ({"max_order": 0}, "max order must be an integer >= 1"),
        ({"budget": float("nan")}, "budget must be a finite number"),
    ],
)
def test_problem_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SolverError, match=match):
        TaxonomyProblem.from_table(TABLE, **kwargs)  # type: ignore[arg-type]


def test_label_costs_and_importance_change_the_answer() -> None:
    base = solve(TaxonomyProblem.from_table(TABLE, max_order=1, budget=1))
    assert base.supervised == ["depth"]
    pricey = TaxonomyProblem.from_table(TABLE, {"depth": 2.0}, max_order=1, budget=1)
    assert solve(pricey).reason is not None  # nothing covers depth+novel for 1
    weighted = TaxonomyProblem.from_table(TABLE, None, {"normals": 10.0}, 2, 2)
    sol = solve(weighted)
    assert sol.edges["normals"] == ["self"] and sol.objective == pytest.approx(7.0 + 0.6 + 0.2)


def test_registry() -> None:
    assert [b.name for b in BACKENDS] == ["highs", "gurobi", "cbc"]
    assert available_solvers()[0] == "highs"
    assert get_backend("auto") is HighsBackend
    with pytest.raises(SolverError, match="unknown solver 'cplex'; choose one of auto, highs"):
        get_backend("cplex")


def test_missing_backend_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GurobiBackend, "installed", classmethod(lambda cls: False))
    with pytest.raises(SolverError, match=r"needs the package 'gurobipy': run 'pip install"):
        get_backend("gurobi")
    monkeypatch.setattr(HighsBackend, "installed", classmethod(lambda cls: False))
    assert get_backend("auto").name == "cbc"


def test_options_coercion() -> None:
    assert SolveOptions.of({"time_limit_s": 5}).time_limit_s == 5
    assert SolveOptions.of(None) == SolveOptions()
    with pytest.raises(SolverError, match="unknown solver options"):
        SolveOptions.of({"gap": 0})
    with pytest.raises(SolverError, match="unknown constraint form"):
        solve(TaxonomyProblem.from_table(TABLE), options=SolveOptions(form="loose"))


def test_certificate_catches_violations() -> None:
    problem = TaxonomyProblem.from_table(TABLE, max_order=2, budget=2)
    e = {(x.target, x.sources): x for x in problem.candidate_edges}
    good = {
        "normals": [e[("normals", ("depth", "edges"))]],
        "depth": [e[("depth", ("self",))]],
        "novel": [e[("novel", ("depth",))]],
    }
    assert certify(problem, good, ["depth", "edges"]) == pytest.approx(1.3)
    with pytest.raises(CertificateError, match="needs unsupervised sources"):
        certify(problem, good, ["depth"])
    with pytest.raises(CertificateError, match="exceeds the budget"):
        certify(problem, good, ["depth", "edges", "normals"])
    with pytest.raises(CertificateError, match="solver claimed"):
        certify(problem, good, ["depth", "edges"], claimed_objective=2.0)
    with pytest.raises(CertificateError, match="has 0 chosen edges"):
        certify(problem, {**good, "novel": []}, ["depth", "edges"])
    low = problem.with_limits(2, 1)
    with pytest.raises(CertificateError, match="is not selectable"):
        certify(low, good, ["depth", "edges"])


def test_model_sizes_by_form() -> None:
    problem = TaxonomyProblem.from_table(synthetic_table(seed=1), max_order=4, budget=5)
    sizes = {f: build_model(problem, f).n_rows for f in Form}
    n_t, n_s = len(problem.targets), len(problem.sources)
    assert sizes[Form.TARGET_SOURCE] <= n_t + n_t * n_s + 1
    assert sizes[Form.AGGREGATED] == n_t + len(problem.candidate_edges) + 1
    assert sizes[Form.EDGE_SOURCE] > 2000  # over the Gurobi pip licence


def _gurobi_is_size_limited() -> bool:
    import gurobipy as gp

    env = gp.Env(empty=True)
    env.setParam("OutputFlag", 0)
    env.start()
    model = gp.Model(env=env)
    model.addVars(2001)
    try:
        model.optimize()
    except gp.GurobiError as exc:
        return exc.errno == 10010
    finally:
        model.dispose()
        env.dispose()
    return False


@pytest.mark.skipif(not GurobiBackend.installed(), reason="needs 'pip install gurobipy'")
def test_gurobi_over_the_licence_limit() -> None:
    problem = TaxonomyProblem.from_table(synthetic_table(seed=1), max_order=4, budget=5)
    # Without pruning, the per-edge form breaks the pip licence at order 4.
    options = SolveOptions(form=Form.EDGE_SOURCE.value, prune_dominated=False)
    if _gurobi_is_size_limited():
        with pytest.raises(
            SolverError, match=r"at most 2,000 variables.*open backend \(highs, cbc\)"
        ):
            solve(problem, "gurobi", options)
    else:  # a full licence: the same model simply solves
        ref = solve(problem, "highs", options)
        assert solve(problem, "gurobi", options).objective == pytest.approx(ref.objective)
    # The default (target-source) form fits the free licence at paper size.
    assert solve(problem, "gurobi").objective == pytest.approx(solve(problem, "highs").objective)


def test_dominated_edges_are_pruned() -> None:
    table = AffinityTable.from_release_dict(
        {"a__x": 0.4, "b__x": 0.1, "a__b__x": 0.3, "b__c__x": 0.2, "self__a": 1.0}
    )
    problem = TaxonomyProblem.from_table(table, max_order=2, budget=2)
    kept = [e.sources for e in nondominated(problem)]
    # a+b is worth less than a alone; b+c beats both of its members.
    assert kept == [("self",), ("a",), ("b",), ("b", "c")]
