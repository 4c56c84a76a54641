"""Reports of affinity tables that did not come from a run, the library's tree, families."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from matplotlib.colors import to_hex
from matplotlib.image import imread

from taskonomy.affinity.paper import load_source, resolve_affinities
from taskonomy.affinity.table import AffinityTable
from taskonomy.affinity.tree import similarity_tree
from taskonomy.cli import main
from taskonomy.reports import report_tree, table_results, write_report
from taskonomy.reports._data import load_results
from taskonomy.reports._figures import new_figure
from taskonomy.reports._tasks import NO_FAMILY, task_style
from taskonomy.reports.affinity import draw_dendrogram
from taskonomy.reports.taxonomy import merge_budgets
from taskonomy.solvers import solve_sweep
from taskonomy.tasks.families import Family, builtin_family, task_label


def assert_not_blank(png: Path) -> None:
    pixels = imread(png)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100, png.name
    assert float(pixels.std()) > 0.05, f"{png.name} is (nearly) one colour"


@pytest.fixture(scope="module")
def paper16k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``taskonomy report --affinities paper:16k --out DIR``, run once for the module."""
    out = tmp_path_factory.mktemp("paper16k")
    assert main(["report", "--affinities", "paper:16k", "--out", str(out)]) == 0
    return out / "index.html"


def test_paper16k_report_draws_every_figure(paper16k: Path) -> None:
    pngs = {p.name for p in paper16k.parent.glob("*.png")}
    for name in (
        "affinity_after_ahp.png",
        "similarity_tree.png",
        "scores_mean.png",
        "scores_per_target.png",
        "label_savings.png",
    ):
        assert name in pngs
    grids = {p for p in pngs if p.startswith("taxonomy_order")}
    # Default orders 1..4 (the table goes to order 24); each long sweep spans figures.
    orders = {m.group(1) for g in grids if (m := re.match(r"taxonomy_order(\d+)", g))}
    assert orders == {"1", "2", "3", "4"}
    assert "taxonomy_order1_2.png" in grids
    # Nothing only a run has: no win rates before AHP, no run statistics.
    assert "affinity_before_ahp.png" not in pngs and "run_stages.png" not in pngs
    for name in sorted(pngs):
        assert_not_blank(paper16k.parent / name)
    page = paper16k.read_text(encoding="utf-8")
    assert page.count("<img ") == len(pngs)
    assert "Plan and run statistics" not in page


def test_paper16k_page_gives_mean_gain_and_quality_from_the_win_rates(paper16k: Path) -> None:
    page = paper16k.read_text(encoding="utf-8")
    assert "mean gain" in page and "mean quality" in page
    assert "published win rates" in page
    table, winrates = load_source(resolve_affinities("paper:16k"))
    assert winrates is not None
    (sol,) = solve_sweep(table, [3], [2])
    scores = winrates.assess(sol.edges)
    # The row of order 2, budget 3 in the taxonomy table carries these means.
    row = re.search(r'<tr><td class="num">2</td><td class="num">3</td>(.*?)</tr>', page)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert f"{scores['mean_gain']:.3f}" in cells and f"{scores['mean_quality']:.3f}" in cells
    # Readable labels, not the release's spellings.
    assert "Semantic Segm." in page and "Object Class." in page


def test_paper16k_tree_is_the_librarys(paper16k: Path) -> None:
    results = table_results("paper:16k", orders=[1], budgets=[1])
    tree = report_tree(results)
    assert results.affinities is not None and tree is not None
    library = similarity_tree(results.affinities)
    assert tree.leaf_order == library.leaf_order
    assert library.to_newick() in paper16k.read_text(encoding="utf-8")


def test_run_report_tree_is_the_librarys(mini_run: Path, mini_report: Path) -> None:
    results = load_results(mini_run)
    doc = json.loads((mini_run / "affinities.json").read_text())
    library = similarity_tree(AffinityTable.from_release_dict(doc))
    tree = report_tree(results)
    assert tree is not None and tree.leaf_order == library.leaf_order
    assert library.to_newick() in mini_report.read_text(encoding="utf-8")


def test_dendrogram_leaves_are_labelled_and_coloured_by_family() -> None:
    table, _ = load_source(resolve_affinities("paper"))
    tree = similarity_tree(table)
    style = task_style(tree.labels)
    ax = new_figure(6, 6).add_subplot()
    leaves = draw_dendrogram(ax, tree, style)
    assert leaves == tree.leaf_order
    ticks = ax.get_yticklabels()
    assert [t.get_text() for t in ticks] == [task_label(n) for n in leaves]
    for text, name in zip(ticks, leaves, strict=True):
        family = builtin_family(name)
        assert family is not None, name  # every release task has a family
        assert to_hex(text.get_color()) == family.colour, name
    assert {to_hex(t.get_color()) for t in ticks} == {f.colour for f in Family}


def test_spec_task_kind_decides_the_family() -> None:
    spec = {"tasks": [{"name": "ae", "kind": "autoencoder"}, "rgb2depth", {"name": "mine"}]}
    style = task_style(["ae", "rgb2depth", "mine"], spec)
    assert style.family("ae") is Family.TWO_D  # from its kind, not its name
    assert style.family("rgb2depth") is Family.THREE_D
    assert style.family("mine") is None and style.colour("mine") == NO_FAMILY
    assert style.label("rgb2depth") == "Z-Depth" and style.label("ae") == "ae"
    handles = style.legend_handles(["ae", "rgb2depth", "mine"])
    assert [h.get_label() for h in handles] == ["3D", "2D", "other"]


def test_run_report_colours_leaves_by_spec_kind(mini_run: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    doc = json.loads((mini_run / "affinities.json").read_text())
    renamed = {k.replace("autoencoder", "ae"): v for k, v in doc.items()}
    (work / "affinities.json").write_text(json.dumps(renamed))
    spec = {"name": "s", "tasks": [{"name": "ae", "kind": "autoencoder"}, "edge2d"]}
    (work / "spec.json").write_text(json.dumps(spec))
    results = load_results(work)
    tree = report_tree(results)
    assert tree is not None and "ae" in tree.labels
    style = task_style(tree.labels, results.spec)
    assert style.colour("ae") == Family.TWO_D.colour
    assert (write_report(work).parent / "similarity_tree.png").is_file()


def test_identical_budgets_share_a_panel() -> None:
    results = table_results("paper", orders=[1])
    panels = merge_budgets(results.solutions)
    assert sum(len(p.budgets) for p in panels) == len(results.solutions)
    assert len(panels) < len(results.solutions)
    last = panels[-1]
    assert len(last.budgets) > 1 and last.title.startswith(f"budgets {last.budgets[0]:g}–")


def test_table_without_win_rates_says_so(tmp_path: Path) -> None:
    table = {
        "a__b": 0.3,
        "c__b": 0.2,
        "self__b": 0.5,
        "b__a": 0.4,
        "c__a": 0.1,
        "self__a": 0.5,
        "a__c": 0.2,
        "b__c": 0.3,
        "self__c": 0.5,
        "a__b__c": 0.1,
    }
    path = tmp_path / "table.json"
    path.write_text(json.dumps(table))
    out = tmp_path / "out"
    assert main(["report", "--affinities", str(path), "--out", str(out), "-k", "1"]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "No win rates are known for this table" in page
    pngs = {p.name for p in out.glob("*.png")}
    assert "scores_mean.png" not in pngs and "taxonomy_order1.png" in pngs
    assert not any(p.startswith("taxonomy_order2") for p in pngs)  # only the order asked for
