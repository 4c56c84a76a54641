"""``taskonomy report WORKDIR`` as users run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskonomy.cli import main

AFFINITIES = {
    "rgb2depth__reshade": 0.30,
    "rgb2mist__reshade": 0.25,
    "rgb2depth__rgb2mist__reshade": 0.35,
    "pixels__reshade": 0.10,
    "rgb2mist__rgb2depth": 0.50,
    "self__rgb2depth": 0.40,
    "pixels__rgb2depth": 0.10,
    "rgb2depth__rgb2mist": 0.45,
    "self__rgb2mist": 0.45,
    "pixels__rgb2mist": 0.10,
}
TAXONOMY = {
    "solutions": [
        {
            "budget": 1.0,
            "max_order": 2,
            "solver": "highs",
            "status": "optimal",
            "objective": 1.25,
            "gap": 0.0,
            "solve_seconds": 0.01,
            "supervised": ["rgb2depth"],
            "edges": {"reshade": ["rgb2depth"], "rgb2depth": ["self"], "rgb2mist": ["rgb2depth"]},
            "reason": None,
        },
        {
            "budget": 2.0,
            "max_order": 2,
            "solver": "highs",
            "status": "optimal",
            "objective": 1.2,
            "gap": 0.0,
            "solve_seconds": 0.01,
            "supervised": ["rgb2depth", "rgb2mist"],
            "edges": {
                "reshade": ["rgb2depth", "rgb2mist"],
                "rgb2depth": ["self"],
                "rgb2mist": ["self"],
            },
            "reason": None,
        },
        {
            "budget": 0.0,
            "max_order": 2,
            "solver": "highs",
            "status": "infeasible",
            "objective": None,
            "gap": None,
            "solve_seconds": 0.0,
            "supervised": [],
            "edges": {},
            "reason": "no source fits in budget 0",
        },
    ]
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "affinities.json").write_text(json.dumps(AFFINITIES))
    (work / "taxonomy.json").write_text(json.dumps(TAXONOMY))
    return work


def test_report_writes_page_into_workdir(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(workdir)]) == 0
    index = workdir / "report" / "index.html"
    assert index.is_file()
    assert "report written to" in capsys.readouterr().out
    page = index.read_text(encoding="utf-8")
    assert "No <code>evaluation.json</code>" in page and "no source fits in budget 0" in page
    assert (workdir / "report" / "taxonomy_order2.png").is_file()


def test_report_out_option(workdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert main(["report", str(workdir), "--out", str(out)]) == 0
    assert (out / "index.html").is_file() and not (workdir / "report").exists()


def test_report_on_empty_workdir_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert "has no affinities.json or taxonomy.json" in err
    assert "run `taskonomy run SPEC` first or pass a work directory of a finished run" in err
    assert "Traceback" not in err


def test_report_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--help"]) == 0
    assert "WORKDIR" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to report on: give a run's WORKDIR or --affinities"),
        (["WORK", "--affinities", "paper"], "not both"),
        (["--affinities", "paper"], "--affinities needs --out DIR"),
        (["WORK", "--max-order", "2"], "--max-order applies only with --affinities"),
        (
            ["--affinities", "paper", "--out", "OUT", "--winrates-gain", "g.json"],
            "give both --winrates-gain and --winrates-quality",
        ),
        (["--affinities", "paper", "--out", "OUT", "-k", "3"], "orders 1 to 2"),
        (["--affinities", "paper:2k", "--out", "OUT"], "unknown published table 'paper:2k'"),
    ],
)
def test_report_argument_errors_exit_2(
    args: list[str],
    message: str,
    workdir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    argv = [str(workdir) if a == "WORK" else str(out) if a == "OUT" else a for a in args]
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in " ".join(err.split())
    assert "Traceback" not in err
    assert not out.exists() and not (workdir / "report").exists()


def test_report_of_an_affinity_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "affinities.json"
    path.write_text(json.dumps(AFFINITIES))
    out = tmp_path / "out"
    assert main(["report", "--affinities", str(path), "--out", str(out)]) == 0
    assert "report written to" in capsys.readouterr().out
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "solved from an affinity table" in page
    assert "No <code>" not in page  # no notes about a run's missing files
    # Orders 1 and 2 (the file's highest), budgets 1 and 2 (its two sources).
    assert {p.name for p in out.glob("taxonomy_order*.png")} == {
        "taxonomy_order1.png",
        "taxonomy_order2.png",
    }
    assert page.count('<tr><td class="num">2</td>') == 2
