"""``kill -9`` of ``taskonomy run`` at seeded points, then the same command again.

Each trial kills a fresh run once its store holds a seeded number of artifacts (plus a
seeded few milliseconds, so kills land inside bodies and inside commits), reruns it to
the end, and checks against an uninterrupted run of the same spec: no artifact that
was complete at the kill was written again (its manifest, read from the store, is
unchanged), nothing was moved aside as invalid, no temporary directory is left, and
``affinities.json`` and ``taxonomy.json`` are equal. Fake training bodies
(``fakerun.py``) under the real analysis bodies for most trials; one trial trains for
real.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from taskonomy.executor.store import ArtifactStore

FAKERUN = Path(__file__).with_name("fakerun.py")
TASKONOMY = Path(sys.executable).with_name("taskonomy")
FAKE_SPEC = """\
name: crash
tasks: [rgb2depth, rgb2mist, reshade]
dataset: {image_size: 16, splits: {encoder_train: 64, transfer_train: 32, test: 64}}
transfers: {max_order: 2, beam: 2}
taxonomy: {budgets: "1-2", bootstrap: 20}
"""
REAL_SPEC = """\
name: crashreal
seed: 3
tasks: [rgb2depth, edge2d]
dataset: {image_size: 16, splits: {encoder_train: 64, transfer_train: 32, test: 32}}
model:
  encoder: {width: 8, blocks: [1, 1]}
  representation: {channels: 4, size: 4}
  readout: {hidden: 8}
training:
  encoder: {steps: 6, batch_size: 16}
  transfer: {steps: 4, batch_size: 16}
  scratch: {steps: 4, batch_size: 16}
transfers: {max_order: 2, beam: 2}
taxonomy: {budgets: "1-2", orders: [1, 2], bootstrap: 20}
executor: {device: cpu}
"""


def _artifacts(workdir: Path) -> dict[str, tuple[float, int]]:
    """Every artifact in the store that verifies: hash -> (completed, writer pid)."""
    store = ArtifactStore(workdir)
    found = {}
    for d in (workdir / "store" / "objects").glob("*/*"):
        manifest = store.manifest(d.name)
        if ".invalid." not in d.name and manifest and store.verify(d.name):
            found[d.name] = (float(manifest["completed"]), int(manifest["meta"]["pid"]))
    return found


def _count(workdir: Path) -> int:
    return sum(1 for d in (workdir / "store" / "objects").glob("*/*") if ".invalid." not in d.name)


def _cmd(real: bool, spec: Path, workdir: Path) -> list[str]:
    head = [str(TASKONOMY)] if real else [sys.executable, str(FAKERUN)]
    return [*head, "run", str(spec), "--workdir", str(workdir), "--no-progress"]


def _run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _kill_at(cmd: list[str], env: dict[str, str], workdir: Path, n: int, delay: float) -> bool:
    """Start ``cmd``; SIGKILL it ``delay`` s after its store holds ``n`` artifacts.
    Returns whether it was killed (False: it finished first)."""
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        deadline = time.monotonic() + 600
        while proc.poll() is None and _count(workdir) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return proc.returncode == -signal.SIGKILL


def _taxonomy(workdir: Path) -> Any:
    doc = json.loads((workdir / "taxonomy.json").read_text())
    for s in doc["solutions"]:
        s.pop("solve_seconds", None)  # a timing, not a result
    return doc


def _trial(real: bool, spec: Path, ref: Path, workdir: Path, n: int, delay: float) -> bool:
    env = {**os.environ, "FAKE_SLEEP": "0.01"}
    killed = _kill_at(_cmd(real, spec, workdir), env, workdir, n, delay)
    before = _artifacts(workdir)
    _run(_cmd(real, spec, workdir), env)
    after = _artifacts(workdir)
    rerun = sorted(h for h, v in before.items() if after.get(h) != v)
    assert rerun == [], f"completed artifacts written again after a kill at {n}: {rerun}"
    assert set(after) == set(_artifacts(ref))
    assert not list(workdir.glob("store/objects/*/*.invalid.*"))
    assert not list((workdir / "store" / "tmp").iterdir())
    assert (workdir / "affinities.json").read_bytes() == (ref / "affinities.json").read_bytes()
    assert _taxonomy(workdir) == _taxonomy(ref)
    assert json.loads((workdir / "run.json").read_text())["interrupted"] is False
    return killed


@pytest.mark.slow
def test_kill_9_at_seeded_points_with_fake_training(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(FAKE_SPEC, encoding="utf-8")
    ref = tmp_path / "ref"
    _run(_cmd(False, spec, ref), {**os.environ, "FAKE_SLEEP": "0.01"})
    total = len(_artifacts(ref))
    rng = random.Random(14)
    points = sorted(rng.sample(range(1, total), 7))
    killed = sum(
        _trial(False, spec, ref, tmp_path / f"t{n}", n, rng.uniform(0.0, 0.02)) for n in points
    )
    assert killed >= 6, f"only {killed} of {len(points)} trials were killed before finishing"


@pytest.mark.slow
def test_kill_9_with_real_training(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(REAL_SPEC, encoding="utf-8")
    ref = tmp_path / "ref"
    _run(_cmd(True, spec, ref), dict(os.environ))
    rng = random.Random(10)
    n = rng.randint(2, 6)  # among the encoders, the features and the first transfers
    assert _trial(True, spec, ref, tmp_path / "trial", n, rng.uniform(0.0, 0.3))
