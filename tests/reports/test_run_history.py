"""A no-op rerun is kept in the history but the report shows the run that did work."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from taskonomy.cli._app import log_level
from taskonomy.executor.local import run_local
from taskonomy.executor.runner import prepare_workdir
from taskonomy.reports._data import load_results
from taskonomy.spec import loaded_from_python

from ..executor.conftest import FakeBodies, tiny_spec


def test_the_report_shows_the_last_run_that_did_work(tmp_path: Path) -> None:
    loaded = loaded_from_python(tiny_spec(), tmp_path / "work")
    for _ in range(2):  # the second run finds everything done
        spec, plan, wd = prepare_workdir(loaded)
        assert run_local(spec, plan, wd, bodies=FakeBodies().resolver(), display=False).ok
    runs = sorted((wd / "runs").glob("*.json"))
    assert len(runs) == 2
    latest = json.loads((wd / "run.json").read_text())
    assert {e["state"] for e in latest["jobs"].values()} == {"skipped"}
    (wd / "affinities.json").write_text("{}")  # load_results needs one result file
    shown = load_results(wd).run
    assert shown is not None
    assert {e["state"] for e in shown["jobs"].values()} == {"done"}
    assert shown["started"] == json.loads(runs[0].read_text())["started"]


def test_verbosity_maps_to_standard_logging_levels() -> None:
    assert log_level(0, False) == logging.WARNING
    assert log_level(1, False) == logging.INFO
    assert log_level(2, False) == logging.DEBUG
    assert log_level(2, True) == logging.ERROR
