"""Calibration: measured job times make the next plan's estimates follow this machine."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from taskonomy.errors import SpecError
from taskonomy.executor.calibration import Measurement, merge, record
from taskonomy.executor.context import JobContext
from taskonomy.executor.local import run_local
from taskonomy.executor.runner import prepare_workdir
from taskonomy.planner import Plan, build_plan
from taskonomy.planner.cost import load_calibration
from taskonomy.spec import LoadedSpec

from .conftest import FakeBodies

#: Seconds each fake body sleeps, per kind: far from the reference table's figures.
SLEEP = {"encoder": 0.08, "transfer": 0.03, "evaluate": 0.01, "scratch": 0.02}


class SleepyBodies(FakeBodies):
    def body(self, ctx: JobContext) -> Mapping[str, Any] | None:
        time.sleep(SLEEP.get(str(ctx.job.kind), 0.002))
        super().body(ctx)
        return {"device": "cpu"}


def per_kind(values: Mapping[str, float], plan: Plan) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for jid, v in values.items():
        out[str(plan.jobs[jid].kind)] += v
    return dict(out)


def test_after_one_run_the_next_estimate_is_within_2x_of_what_was_measured(
    loaded: LoadedSpec,
) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    assert not (workdir / "calibration.json").exists()
    result = run_local(spec, plan, workdir, bodies=SleepyBodies().resolver(), display=False)
    assert result.ok
    run = json.loads((workdir / "run.json").read_text())["jobs"]
    measured = per_kind({j: e["seconds"] for j, e in run.items()}, plan)
    before = per_kind({j.id: j.est_seconds for j in plan}, plan)
    # The reference table is far off on this machine (it assumes a GPU and real work).
    assert any(not 0.5 <= before[k] / measured[k] <= 2 for k in SLEEP)

    doc = json.loads((workdir / "calibration.json").read_text())
    assert doc["format"] == 2 and doc["latest_device"] == "cpu"
    assert doc["devices"]["cpu"]["transfer"]["jobs"] == sum(
        1 for j in plan if str(j.kind) == "transfer"
    )

    _, replanned, _ = prepare_workdir(loaded)  # what `taskonomy plan` / the next run sees
    assert replanned.hash == plan.hash  # estimates never change job hashes
    after = per_kind({j.id: j.est_seconds for j in replanned}, replanned)
    for kind in SLEEP:
        assert 0.5 <= after[kind] / measured[kind] <= 2.0, (kind, after[kind], measured[kind])


def test_calibration_is_per_device(tmp_path: Path) -> None:
    record(tmp_path, [Measurement("encoder", "cuda:0", 30.0, 10.0)])
    record(tmp_path, [Measurement("encoder", "cpu", 200.0, 10.0)])
    assert load_calibration(tmp_path, "cuda") == {"encoder": pytest.approx(3.0)}
    assert load_calibration(tmp_path, "cpu") == {"encoder": pytest.approx(20.0)}
    assert load_calibration(tmp_path, "auto") == {"encoder": pytest.approx(20.0)}  # latest
    assert load_calibration(tmp_path, "mps") == {}


def test_measurements_accumulate() -> None:
    doc = merge({}, [Measurement("transfer", "cpu", 2.0, 4.0)])
    doc = merge(doc, [Measurement("transfer", "cpu", 4.0, 4.0)])
    entry = doc["devices"]["cpu"]["transfer"]
    assert entry["jobs"] == 2 and entry["factor"] == pytest.approx(0.75)


def test_calibration_scales_the_reference_estimate(tmp_path: Path) -> None:
    from taskonomy.spec import Spec

    spec = Spec(name="c", tasks=["rgb2depth", "rgb2mist"], training={"encoder": {"steps": 100}})
    plain = build_plan(spec).jobs["encoder/rgb2depth"].est_seconds
    calibrated = build_plan(spec, {"encoder": 2.5}).jobs["encoder/rgb2depth"].est_seconds
    assert calibrated == pytest.approx(2.5 * plain, rel=1e-3)


def test_old_or_broken_calibration_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "calibration.json").write_text(json.dumps({"seconds_per_step": {"encoder": 1}}))
    with pytest.raises(SpecError, match=r"old seconds_per_step format.*delete it"):
        load_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(SpecError, match=r"calibration file .* is unreadable.*delete it"):
        load_calibration(tmp_path)
    # A broken file never fails a run: recording starts a new one.
    record(tmp_path, [Measurement("rank", "cpu", 1.0, 1.0)])
    assert load_calibration(tmp_path, "cpu") == {"rank": pytest.approx(1.0)}
