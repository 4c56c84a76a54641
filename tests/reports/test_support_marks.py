"""Bootstrap support on the page: edge widths in the taxonomy grids, numbers at the
similarity tree's joins, read from ``taxonomy.json`` and ``support.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from taskonomy.affinity.table import AffinityTable
from taskonomy.affinity.tree import similarity_tree
from taskonomy.reports import affinity
from taskonomy.reports._data import load_results
from taskonomy.reports._marks import LINE_PT, support_width
from taskonomy.reports._tasks import TaskStyle
from taskonomy.reports.report import write_report
from taskonomy.reports.taxonomy import plot_grid
from taskonomy.solvers.output import solution_from_dict, solution_to_dict
from taskonomy.solvers.result import Solution, SolveStatus

matplotlib.use("Agg")

SOURCES = ("a", "b", "c", "d")


def _tree_table() -> AffinityTable:
    """Two designed pairs: a, b help t1/t2; c, d help t3/t4."""
    entries = {}
    for s in SOURCES:
        for i, t in enumerate(("t1", "t2", "t3", "t4")):
            near = (s in "ab") == (i < 2)
            entries[((s,), t)] = (0.4 if near else 0.1) + 0.01 * SOURCES.index(s)
    return AffinityTable(entries)


def test_support_travels_with_a_solution_and_does_not_change_its_identity() -> None:
    sol = Solution(
        budget=2.0,
        max_order=1,
        solver="highs",
        status=SolveStatus.OPTIMAL,
        objective=1.0,
        supervised=["a"],
        edges={"t1": ["a"]},
        support={"t1": 0.75},
    )
    doc = solution_to_dict(sol)
    assert doc["support"] == {"t1": 0.75}
    back = solution_from_dict(json.loads(json.dumps(doc)))
    assert back.support == {"t1": 0.75}
    assert back == Solution(**{**back.__dict__, "support": {}})  # support is not identity
    assert "support" not in solution_to_dict(Solution(2.0, 1, "highs", SolveStatus.OPTIMAL))


def test_edge_width_grows_with_support() -> None:
    assert support_width(None) == LINE_PT
    assert support_width(0.0) < support_width(0.5) < support_width(1.0)
    assert support_width(7.0) == support_width(1.0)


def test_join_support_places_each_known_clade_at_its_join() -> None:
    tree = similarity_tree(_tree_table())
    leaves = tree.leaf_order
    support = {frozenset("ab"): 0.9, frozenset("cd"): 0.2, frozenset(SOURCES): 1.0}
    marks = affinity.join_support(tree, leaves, support)
    assert sorted(v for _, v in marks) == [0.2, 0.9]  # the root (every task) is left out
    for (x, y), value in marks:
        pair = "ab" if value == 0.9 else "cd"
        ys = [10.0 * leaves.index(n) + 5.0 for n in pair]
        assert y == pytest.approx(np.mean(ys))
        heights = [h for *_, h, _ in tree.linkage]
        assert x in heights


def test_the_dendrogram_shows_support_numbers(tmp_path: Path) -> None:
    from matplotlib import pyplot as plt

    tree = similarity_tree(_tree_table())
    fig, ax = plt.subplots()
    affinity.draw_dendrogram(ax, tree, TaskStyle(), {frozenset("ab"): 0.93})
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    assert "0.93" in texts
    fig, ax = plt.subplots()
    affinity.draw_dendrogram(ax, tree, TaskStyle())
    assert not ax.texts
    plt.close(fig)


def test_a_grid_with_support_draws_edges_of_different_widths(tmp_path: Path) -> None:
    from matplotlib.quiver import Quiver

    sol = Solution(
        budget=1.0,
        max_order=1,
        solver="highs",
        status=SolveStatus.OPTIMAL,
        objective=1.0,
        supervised=["a"],
        edges={"t1": ["a"], "t2": ["a"]},
        support={"t1": 1.0, "t2": 0.1},
    )
    drawn: list[float] = []
    original = Quiver.__init__

    def spy(self: Quiver, *args: object, **kwargs: object) -> None:
        drawn.append(float(kwargs["width"]))  # type: ignore[arg-type]
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    mp = pytest.MonkeyPatch()
    mp.setattr(Quiver, "__init__", spy)
    try:
        plot_grid([sol], ["a", "t1", "t2"], tmp_path / "grid.png")
    finally:
        mp.undo()
    assert sorted(drawn) == pytest.approx([support_width(0.1) / 72, support_width(1.0) / 72])


def test_a_run_with_support_json_puts_support_on_the_page(
    make_run: Callable[..., Path], tmp_path: Path
) -> None:
    run = make_run(tmp_path / "run", with_optional=False)
    results = load_results(run)
    assert results.clade_support == {}
    tree = similarity_tree(results.affinities)  # type: ignore[arg-type]
    clusters = [{"tasks": list(c), "support": 0.61} for c in tree.clades()[:-1]]
    (run / "support.json").write_text(json.dumps({"clusters": clusters, "resamples": 10}))
    doc = json.loads((run / "taxonomy.json").read_text())
    for s in doc["solutions"]:
        s["support"] = {t: 0.5 for t in s["edges"]}
    (run / "taxonomy.json").write_text(json.dumps(doc))
    results = load_results(run)
    assert set(results.clade_support.values()) == {0.61}
    assert all(s.support for s in results.solutions if s.edges)
    page = write_report(run, tmp_path / "out").read_text()
    assert "The number at each join is its bootstrap support" in page
    assert "width is its support" in page
