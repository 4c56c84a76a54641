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
