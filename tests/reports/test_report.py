"""``write_report`` on a synthetic finished run: figures, page, missing files, errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from taskonomy.affinity.table import AffinityTable
from taskonomy.affinity.tree import similarity_tree
from taskonomy.reports import ReportError, plot_taxonomies, report_tree, write_report
from taskonomy.reports._data import RunResults
from taskonomy.reports.affinity import first_order

FIGURES = {
    "affinity_before_ahp.png",
    "affinity_after_ahp.png",
    "similarity_tree.png",
    "taxonomy_order1.png",
    "taxonomy_order2.png",
    "scores_mean.png",
    "scores_per_target.png",
    "label_savings.png",
    "run_stages.png",
}


def assert_not_blank(png: Path) -> None:
    pixels = imread(png)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100, png.name
    assert float(pixels.std()) > 0.05, f"{png.name} is (nearly) one colour"
    assert float((pixels.mean(axis=2) < 0.9).mean()) > 0.01, f"{png.name} is nearly empty"


def test_every_figure_is_drawn_and_not_blank(mini_report: Path) -> None:
    pngs = {p.name for p in mini_report.parent.glob("*.png")}
    assert pngs == FIGURES
    for name in sorted(pngs):
        assert_not_blank(mini_report.parent / name)


def test_page_references_only_embedded_or_local_content(mini_report: Path) -> None:
    page = mini_report.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    images = re.findall(r'<img src="([^"]*)"', page)
    assert len(images) == len(FIGURES)
    for ref in refs:
        if ref.startswith("data:image/png;base64,") or ref.startswith("#"):
            continue
        assert (mini_report.parent / ref).is_file(), f"page links to missing {ref}"
    anchors = set(re.findall(r'id="([^"]+)"', page))
    assert {r[1:] for r in refs if r.startswith("#")} <= anchors
    assert "url(" not in page and "@import" not in page


def test_page_explains_each_figure_and_the_infeasible_budget(mini_report: Path) -> None:
    page = mini_report.read_text(encoding="utf-8")
    assert page.count("<figcaption>") == len(FIGURES)
    assert "infeasible" in page and "supervises no source" in page
    for heading in (
        "Affinity matrix",
        "similarity tree",
        "Taxonomies",
        "Gain and quality",
        "label savings",
        "Plan and run statistics",
    ):
        assert heading in page
    assert "Files this report looked for" not in page  # every file is present
    assert re.search(r"jobs: \d+ done\.", page)
    assert "GPU-hours used" in page


def test_report_is_deterministic(mini_run: Path, mini_report: Path, tmp_path: Path) -> None:
    again = write_report(mini_run, tmp_path / "again")
    for png in sorted(mini_report.parent.glob("*.png")):
        assert png.read_bytes() == (again.parent / png.name).read_bytes(), png.name
    assert mini_report.read_bytes() == again.read_bytes()


def test_default_output_is_workdir_report(mini_run: Path, tmp_path: Path) -> None:
    work = shutil.copytree(mini_run, tmp_path / "work")
    (work / "report").mkdir()
    (work / "report" / "stale.png").write_bytes(b"old")
    index = write_report(work)
    assert index == work / "report" / "index.html"
    assert not (work / "report" / "stale.png").exists()


def test_missing_optional_files_are_stated(tmp_path: Path, make_run: Callable[..., Path]) -> None:
    work = make_run(tmp_path / "work", with_optional=False)
    index = write_report(work)
    page = index.read_text(encoding="utf-8")
    for name in ("raw_affinities.json", "evaluation.json", "plan.json", "spec.json", "run.json"):
        assert f"No <code>{name}</code>" in page
    pngs = {p.name for p in index.parent.glob("*.png")}
    assert pngs == {
        "affinity_after_ahp.png",
        "similarity_tree.png",
        "taxonomy_order1.png",
        "taxonomy_order2.png",
        "label_savings.png",
    }
    for png in index.parent.glob("*.png"):
        assert_not_blank(png)


def test_taxonomy_only_workdir(mini_run: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(mini_run / "taxonomy.json", work)
    page = write_report(work).read_text(encoding="utf-8")
    assert "No <code>affinities.json</code>" in page
    assert "it needs first-order affinities" in page


def test_no_results_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(
        ReportError,
        match=r"has no affinities\.json or taxonomy\.json; run "
        r"`taskonomy run SPEC` first",
    ):
        write_report(tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        write_report(tmp_path / "nowhere")


def test_malformed_file_names_file_and_line(mini_run: Path, tmp_path: Path) -> None:
    work = shutil.copytree(mini_run, tmp_path / "work")
    (work / "evaluation.json").write_text('{"taxonomies": [\n  {"budget": }\n]}')
    with pytest.raises(ReportError, match=r"evaluation\.json is not valid JSON \(line 2"):
        write_report(work)
    (work / "evaluation.json").write_text('{"taxonomies": [{"targets": {}}]}')
    with pytest.raises(ReportError, match=r"taxonomies\[0\] is malformed"):
        write_report(work)
    (work / "affinities.json").write_text('{"rgb2depth": 0.5}')
    with pytest.raises(ReportError, match="entry 'rgb2depth'"):
        write_report(work)


def test_first_order_matrix_puts_self_on_the_diagonal() -> None:
    table = {
        (("a",), "b"): 0.3,
        (("self",), "b"): 0.5,
        (("pixels",), "b"): 0.2,
        (("b",), "a"): 0.4,
        (("self",), "a"): 0.6,
        (("a", "b"), "c"): 0.1,
        (("a",), "c"): 0.9,
    }
    fo = first_order(table, ["a", "b", "c"])
    assert fo.targets == ("a", "b", "c") and fo.sources == ("a", "b")
    expected = np.array([[0.6, 0.4], [0.3, 0.5], [0.9, np.nan]])
    np.testing.assert_array_equal(fo.values, expected)
    np.testing.assert_array_equal(fo.pixels, [np.nan, 0.2, np.nan])


def test_report_tree_groups_sources_that_help_the_same_targets() -> None:
    groups = {"d1": 0, "d2": 0, "d3": 0, "s1": 1, "s2": 1, "s3": 1}
    table = AffinityTable(
        {
            ((s,), t): (0.3 if groups[s] == groups[t] else 0.05) + 0.001 * i
            for i, (s, t) in enumerate((s, t) for s in groups for t in groups if s != t)
        }
    )
    tree = report_tree(RunResults(affinities=table))
    assert tree is not None
    leaves = tree.leaf_order
    assert leaves == similarity_tree(table).leaf_order  # the library's tree, not its own
    assert sorted(leaves) == sorted(groups)
    first_half = {groups[x] for x in leaves[:3]}
    assert len(first_half) == 1, leaves


def test_plot_taxonomies_for_solve(mini_run: Path, tmp_path: Path) -> None:
    doc = json.loads((mini_run / "taxonomy.json").read_text())
    paths = plot_taxonomies(doc, tmp_path / "plots")
    assert [p.name for p in paths] == ["taxonomy_order1.png", "taxonomy_order2.png"]
    affinities = json.loads((mini_run / "affinities.json").read_text())
    ordered = plot_taxonomies(doc, tmp_path / "ordered", affinities=affinities)
    for path in [*paths, *ordered]:
        assert_not_blank(path)
    with pytest.raises(ReportError, match="'solutions' list"):
        plot_taxonomies({"solution": []}, tmp_path / "bad")


def test_reports_do_not_import_torch(mini_run: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; "
        "from taskonomy.reports import table_results, write_report; "
        f"write_report(Path({str(mini_run)!r}), Path({str(tmp_path)!r})); "
        "table_results('paper', orders=[1], budgets=[1]); "  # loads, solves and scores
        "assert 'torch' not in sys.modules, 'reports imported torch'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_run_statistics_without_plan_and_higher_order_only_affinities(
    mini_run: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "affinities.json").write_text(json.dumps({"a__b__c": 0.7, "a__c": 0.3}))
    run = {
        "jobs": {
            "encoder/a": {
                "kind": "encoder",
                "stage": "encoder",
                "state": "done",
                "seconds": 30.0,
                "est_seconds": 20.0,
                "gpu_seconds": 30.0,
            },
            "encoder/b": {
                "kind": "encoder",
                "stage": "encoder",
                "state": "failed",
                "seconds": None,
                "est_seconds": 20.0,
                "gpu_seconds": None,
            },
        },
        "started": "s",
        "finished": "f",
    }
    (work / "run.json").write_text(json.dumps(run))
    index = write_report(work)
    page = index.read_text(encoding="utf-8")
    assert "jobs: 1 done, 1 failed." in page
    assert "No <code>plan.json</code>" in page
    assert {p.name for p in index.parent.glob("*.png")} == {
        "affinity_after_ahp.png",
        "run_stages.png",
    }
    assert_not_blank(index.parent / "run_stages.png")
    (work / "affinities.json").write_text(json.dumps({"a__b__c": 0.7}))
    page = write_report(work).read_text(encoding="utf-8")
    assert "has no first-order entries" in page
