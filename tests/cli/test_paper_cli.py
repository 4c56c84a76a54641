"""``taskonomy solve`` and ``taskonomy tree`` on the shipped original release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from taskonomy.affinity.paper import DATA_DIR, PAPER_SETS, load_source, resolve_affinities
from taskonomy.cli import main
from taskonomy.solvers import TaxonomyProblem, solve_many, solve_sweep

FOUR_ORDERS = ["-k", "1", "-k", "2", "-k", "3", "-k", "4"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_paper_16k_sweep_reports_gain_and_quality(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _run(capsys, "solve", "-a", "paper:16k", "--budgets", "1-27", *FOUR_ORDERS, "-f", "json")
    sols = doc["solutions"]
    assert len(sols) == 108 and {s["status"] for s in sols} == {"optimal"}
    for s in sols:
        assert 0.0 < s["mean_gain"] <= 1.0 and 0.0 < s["mean_quality"] <= 1.0
        assert set(s["targets"]) == set(s["edges"])
        for target, scored in s["targets"].items():
            assert scored["sources"] == s["edges"][target]
            assert scored["gain"] is not None and scored["quality"] is not None
            if scored["sources"] == ["self"]:
                assert scored["quality"] == 0.5
    # more budget never lowers the objective; the curve's step is an increase, not a gain
    curve = [p for p in doc["curve"] if p["max_order"] == 1]
    assert all(p["increase"] is None or p["increase"] >= -1e-9 for p in curve)


def test_the_release_pickles_by_path_give_the_same_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aff, gain, quality = (DATA_DIR / rel for rel in PAPER_SETS["paper:16k"])
    for src in (aff, gain, quality):
        shutil.copy(src, tmp_path / src.name)
    by_path = _run(
        capsys,
        "solve",
        "-a",
        str(tmp_path / aff.name),
        "--winrates-gain",
        str(tmp_path / gain.name),
        "--winrates-quality",
        str(tmp_path / quality.name),
        "--budgets",
        "1-27",
        *FOUR_ORDERS,
        "-f",
        "json",
    )
    shipped = _run(
        capsys, "solve", "-a", "paper:16k", "--budgets", "1-27", *FOUR_ORDERS, "-f", "json"
    )
    strip = ("solve_seconds",)
    for a, b in zip(by_path["solutions"], shipped["solutions"], strict=True):
        assert {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }


@pytest.mark.parametrize("name", ["paper", "paper:1k"])
def test_the_other_published_tables_solve(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _run(capsys, "solve", "-a", name, "--budgets", "1-27", "-f", "json")
    assert {s["status"] for s in doc["solutions"]} == {"optimal"}
    assert all(s["mean_gain"] is not None for s in doc["solutions"])


def test_every_max_order_up_to_24_solves_and_reuse_is_exact() -> None:
    """Property: the sweep (warm starts, identical instances solved once) equals solving
    every instance cold, at every order of the 16k file."""
    table, _ = load_source(resolve_affinities("paper:16k"))
    budgets, orders = [2.0, 9.0, 16.0], list(range(1, 25))
    swept = solve_sweep(table, budgets, orders)
    problem = TaxonomyProblem.from_table(table, max_order=24, budget=27)
    cold = solve_many(problem, [(b, k) for b in budgets for k in orders])
    for a, b in zip(swept, cold, strict=True):
        assert (a.budget, a.max_order, a.status) == (b.budget, b.max_order, b.status)
        assert a.objective == pytest.approx(b.objective, abs=1e-9)
        assert (a.supervised, a.edges) == (b.supervised, b.edges)
    assert any(len(srcs) > 4 for s in swept for srcs in s.edges.values())


def test_text_shows_readable_labels_and_scores(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["solve", "-a", "paper", "--budget", "3", "-k", "1"]) == 0
    text = capsys.readouterr().out
    assert "Semantic Segm." in text and "segmentsemantic_rb" not in text
    assert "gain " in text and "quality " in text and "mean gain" in text


def test_bad_published_inputs_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "-a", "paper:3k", "--budget", "1"]) == 2
    assert "choose one of paper, paper:1k, paper:16k" in capsys.readouterr().err
    gain = str(DATA_DIR / PAPER_SETS["paper"][1])
    assert main(["solve", "-a", "paper", "--winrates-gain", gain, "--budget", "1"]) == 2
    assert "--winrates-quality" in capsys.readouterr().err
    assert main(["tree", "-a", "paper", "--normalisation", "zscore"]) == 2
    assert "unknown normalisation 'zscore'" in capsys.readouterr().err
    assert main(["tree", "-a", "paper", "--own", "diagonal"]) == 2
    assert "unknown own-entry rule 'diagonal'; choose one of best, mean" in capsys.readouterr().err


def test_tree_json_text_and_newick(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _run(capsys, "tree", "-a", "paper:16k", "--clusters", "5", "--format", "json")
    assert {"labels", "clusters", "newick", "leaf_order", "normalisation"} <= set(doc)
    assert len(doc["clusters"]) == 5
    assert sorted(t for g in doc["clusters"] for t in g) == sorted(doc["labels"])
    three_d = {"rgb2sfnorm", "segment25d", "curvature", "keypoint3d", "rgb2depth", "rgb2mist"}
    assert any(three_d <= set(g) for g in doc["clusters"])
    assert doc["newick"].endswith(";") and doc["newick"].count("(") == len(doc["labels"]) - 1
    assert doc["families"]["rgb2depth"] == "3d" and doc["families"]["class_1000"] == "semantic"
    capsys.readouterr()
    assert main(["tree", "-a", "paper:16k", "-c", "5"]) == 0
    text = capsys.readouterr().out
    assert "5 cluster(s):" in text and "Surface Normals [3d]" in text
    assert sum(line.count("── ") for line in text.splitlines()) == len(doc["labels"])
    capsys.readouterr()
    assert main(["tree", "-a", "paper:16k", "-f", "newick"]) == 0
    assert capsys.readouterr().out.strip() == doc["newick"]
    # The four families, exactly, with each task counted as its own best source (the
    # default); the older rule (own entries at the target's mean) puts the random
    # projection among the 2D tasks.
    four = _run(capsys, "tree", "-a", "paper:16k", "-c", "4", "-f", "json")
    assert four["own"] == "best"
    families = [{four["families"][t] for t in g} for g in four["clusters"]]
    assert sorted(map(sorted, families)) == [["2d"], ["3d"], ["geometric"], ["semantic"]]
    older = _run(capsys, "tree", "-a", "paper:16k", "-c", "4", "-f", "json", "--own", "mean")
    assert older["own"] == "mean"
    assert any(len({older["families"][t] for t in g}) > 1 for g in older["clusters"])
