"""The local executor's worker processes (``executor.workers``), with cheap bodies that
the workers import by reference (``tests/slurm/bodies.py``, as array tasks do)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest
from rich.console import Console

from taskonomy.executor.local import run_local
from taskonomy.executor.runner import BodyResolver, OutcomeState, prepare_workdir
from taskonomy.executor.slurm.task import load_object
from taskonomy.executor.store import ArtifactStore
from taskonomy.executor.workers import cpu_shares
from taskonomy.planner import JobState
from taskonomy.spec import loaded_from_python

from .conftest import tiny_spec

BODIES_FILE = Path(__file__).resolve().parents[1] / "slurm" / "bodies.py"


def _bodies() -> BodyResolver:
    ref = f"{BODIES_FILE}:BODIES"  # what the workers import
    resolver: BodyResolver = attrs.evolve(load_object(ref), ref=ref)
    return resolver


def _calls(workdir: Path) -> list[tuple[str, int]]:
    lines = (workdir / "calls.log").read_text().splitlines()
    return [(line.split("\t")[0], int(line.split("\t")[3])) for line in lines]


def test_cpu_shares_split_the_allotted_cpus() -> None:
    assert cpu_shares(2, [0, 1]) == [[0], [1]]
    assert cpu_shares(2, [0, 1, 2, 3, 4]) == [[0, 1, 2], [3, 4]]
    assert cpu_shares(3, [4, 5]) == [[4], [5], [4]]  # more workers than CPUs: shared
    with pytest.raises(ValueError, match="at least one worker"):
        cpu_shares(0, [0])


def test_workers_run_every_job_once_in_other_processes(tmp_path: Path) -> None:
    loaded = loaded_from_python(tiny_spec(executor={"workers": 2}), tmp_path / "work")
    spec, plan, workdir = prepare_workdir(loaded)
    result = run_local(spec, plan, workdir, bodies=_bodies(), display=False)
    assert result.ok and set(result.outcomes) == set(plan.jobs)
    calls = _calls(workdir)
    assert sorted(j for j, _ in calls) == sorted(plan.jobs)  # each job once
    pids = {pid for _, pid in calls}
    assert len(pids) == 2 and os.getpid() not in pids
    store = ArtifactStore(workdir)
    assert all(s is JobState.DONE for s in store.states(plan).values())
    # Everything is recorded by the parent: a second run skips it all.
    again = run_local(spec, plan, workdir, bodies=_bodies(), display=False)
    assert {o.state for o in again.outcomes.values()} == {OutcomeState.SKIPPED}


def test_a_worker_that_dies_fails_its_jobs_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = loaded_from_python(tiny_spec(executor={"workers": 2}), tmp_path / "work")
    spec, plan, workdir = prepare_workdir(loaded)
    monkeypatch.setenv("TASKONOMY_TEST_DIE", "features/rgb2mist")
    result = run_local(spec, plan, workdir, bodies=_bodies(), display=False)
    assert [o.job_id for o in result.failed] == ["features/rgb2mist"]
    reason = result.outcomes["features/rgb2mist"].reason or ""
    assert "worker process running it died (exit 9)" in reason
    blocked = {j for j, o in result.outcomes.items() if o.state is OutcomeState.UPSTREAM_FAILED}
    assert blocked == set(plan.descendants("features/rgb2mist"))
    done = {j for j, o in result.outcomes.items() if o.state is OutcomeState.DONE}
    assert done == set(plan.jobs) - blocked - {"features/rgb2mist"}
    # A new worker took the dead one's place, and the next run finishes the rest.
    monkeypatch.delenv("TASKONOMY_TEST_DIE")
    again = run_local(spec, plan, workdir, bodies=_bodies(), display=False)
    assert again.ok
    ran = {j for j, o in again.outcomes.items() if o.state is OutcomeState.DONE}
    assert ran == blocked | {"features/rgb2mist"}


def test_workers_are_a_spec_setting_with_bounds() -> None:
    assert tiny_spec().executor.workers == 1
    with pytest.raises(ValueError, match="workers"):
        tiny_spec(executor={"workers": 0})


SIGTERM_SCRIPT = """
import sys
import attrs
from pathlib import Path
from taskonomy.executor.local import run_local
from taskonomy.executor.signals import Terminated
from taskonomy.executor.runner import prepare_workdir
from taskonomy.executor.slurm.task import load_object
from taskonomy.spec import Spec, loaded_from_python

ref, work = sys.argv[1], Path(sys.argv[2])
spec = Spec.model_validate({
    "name": "tiny", "tasks": ["rgb2depth", "rgb2mist", "reshade"],
    "transfers": {"max_order": 2, "beam": 2}, "taxonomy": {"budgets": "1-2"},
    "executor": {"workers": 2},
})
spec, plan, workdir = prepare_workdir(loaded_from_python(spec, work))
try:
    run_local(spec, plan, workdir, bodies=attrs.evolve(load_object(ref), ref=ref), display=False)
except Terminated:
    sys.exit(143)
"""


def test_sigterm_stops_the_workers_and_records_the_run(tmp_path: Path) -> None:
    """SIGTERM while two workers train: both stop, discarding their temporary files, the
    run is recorded as interrupted, and the next run resumes."""
    work = tmp_path / "work"
    env = {**os.environ, "TASKONOMY_TEST_SLOW": "encoder/rgb2depth=300,encoder/rgb2mist=300"}
    cmd = [sys.executable, "-c", SIGTERM_SCRIPT, f"{BODIES_FILE}:BODIES", str(work)]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started = list((work / "scratch").glob("*/started")) if work.exists() else []
            if len(started) >= 2:
                break
            time.sleep(0.05)
        assert len(started) >= 2, "the two slow encoders never started side by side"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    pids = {pid for _, pid in _calls(work)}
    assert pids and not any(_alive(pid) for pid in pids)
    record = json.loads((work / "run.json").read_text())
    assert record["interrupted"] is True
    assert not [p for p in (work / "store" / "tmp").iterdir()]
    spec, plan, workdir = prepare_workdir(
        loaded_from_python(tiny_spec(executor={"workers": 2}), work)
    )
    assert run_local(spec, plan, workdir, bodies=_bodies(), display=False).ok


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_steps_of_jobs_in_workers_reach_the_display(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("taskonomy.executor.progress.PLAIN_STEP_INTERVAL", 0.0)
    monkeypatch.setenv("TASKONOMY_TEST_SLOW", "encoder/rgb2depth=8")
    loaded = loaded_from_python(tiny_spec(executor={"workers": 2}), tmp_path / "work")
    spec, plan, workdir = prepare_workdir(loaded)
    out = io.StringIO()
    console = Console(file=out, width=200, highlight=False)
    result = run_local(spec, plan, workdir, bodies=_bodies(), console=console, live=False)
    assert result.ok
    text = out.getvalue()
    assert "    encoder/rgb2depth: step 8/8 counting" in text
    assert "-> encoder: encoder/rgb2depth" in text and "all " in text
