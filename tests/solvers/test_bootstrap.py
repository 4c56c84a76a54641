"""Bootstrap support of taxonomy edges and tree clusters (designed cases)."""

from __future__ import annotations

import numpy as np
import pytest

from taskonomy.affinity import affinities_from_losses, similarity_tree
from taskonomy.errors import SolverError
from taskonomy.solvers import solve_sweep
from taskonomy.solvers.bootstrap import bootstrap_support

N_IMAGES = 120


def _losses(means: dict[str, dict[tuple[str, ...], float]], noise: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        t: {k: m + noise * rng.standard_normal(N_IMAGES) for k, m in cands.items()}
        for t, cands in means.items()
    }


def _support(losses: dict, budgets: list[float], seed: int = 0, resamples: int = 60) -> object:
    table = affinities_from_losses(losses)
    sols = solve_sweep(table, budgets, [1])
    return bootstrap_support(losses, sols, resamples=resamples, seed=seed), sols


def test_a_clearly_best_edge_gets_support_near_one() -> None:
    means = {t: {("a",): 0.2, ("b",): 1.0, ("c",): 1.0, ("pixels",): 1.2} for t in ("x", "y", "z")}
    support, sols = _support(_losses(means, noise=0.3, seed=1), [1.0])
    assert sols[0].edges == {t: ["a"] for t in ("x", "y", "z")}
    assert all(v >= 0.95 for v in support.edges[(1.0, 1)].values())  # type: ignore[attr-defined]


def test_pure_noise_gets_low_support() -> None:
    means = {t: {("a",): 1.0, ("b",): 1.0, ("c",): 1.0, ("pixels",): 1.0} for t in ("x", "y")}
    values = []
    for seed in range(3):
        support, _ = _support(_losses(means, noise=0.5, seed=seed), [1.0], seed=seed)
        values += list(support.edges[(1.0, 1)].values())  # type: ignore[attr-defined]
    assert np.mean(values) < 0.6 and max(values) < 0.9


def test_cluster_support_follows_the_designed_families() -> None:
    sources = ["a1", "a2", "a3", "b1", "b2", "b3"]
    targets = ["t1", "t2", "t3", "t4"]

    def means(noise_only: bool) -> dict[str, dict[tuple[str, ...], float]]:
        out = {}
        for t in targets:
            good = "a" if t in ("t1", "t2") else "b"
            out[t] = {(s,): 1.0 if noise_only else (0.3 if s[0] == good else 1.0) for s in sources}
            out[t][("pixels",)] = 1.2
        return out

    designed = _losses(means(False), noise=0.4, seed=3)
    table = affinities_from_losses(designed)
    tree = similarity_tree(table)
    assert {frozenset(g) for g in tree.clusters(2)} == {
        frozenset({"a1", "a2", "a3"}),
        frozenset({"b1", "b2", "b3"}),
    }
    support = bootstrap_support(designed, [], tree=tree, resamples=60, seed=0)
    by_clade = {frozenset(c): s for c, s in support.clusters}
    assert by_clade[frozenset({"a1", "a2", "a3"})] >= 0.9
    assert by_clade[frozenset({"b1", "b2", "b3"})] >= 0.9

    noise = _losses(means(True), noise=0.4, seed=3)
    noise_tree = similarity_tree(affinities_from_losses(noise))
    noisy = bootstrap_support(noise, [], tree=noise_tree, resamples=60, seed=0)
    assert np.mean([s for _, s in noisy.clusters]) < 0.5


def test_support_is_seeded_and_serialises() -> None:
    means = {t: {("a",): 0.5, ("b",): 0.6, ("pixels",): 1.0} for t in ("x", "y")}
    losses = _losses(means, noise=0.5, seed=0)
    first, _ = _support(losses, [1.0], seed=7, resamples=20)
    again, _ = _support(losses, [1.0], seed=7, resamples=20)
    assert first == again
    doc = first.to_json()  # type: ignore[attr-defined]
    assert doc["resamples"] == 20 and doc["edges"][0]["budget"] == 1.0
    assert set(doc["edges"][0]["targets"]) == {"x", "y"}
    with pytest.raises(SolverError, match="resamples must be an integer >= 1"):
        bootstrap_support(losses, [], resamples=0)
