"""The same tiny spec, real job bodies, through ``taskonomy run``: local and on SLURM.

The taxonomy the SLURM executor produces must be the local executor's: same supervised
sets, same edges, same objective (solve times aside), and the affinities equal. Runs on
the real single-node SLURM (``scripts/slurm-local``); about a minute on two cores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from taskonomy.cli import main
from taskonomy.executor.slurm.journal import Journal
from taskonomy.kinds import JobKind

pytestmark = pytest.mark.slurm

SPEC = """\
name: e2e
seed: 0
tasks: [autoencoder, rgb2depth, edge2d]
dataset:
  kind: mini
  image_size: 16
  splits: {encoder_train: 64, transfer_train: 32, test: 32}
model:
  encoder: {family: resnet_mini, width: 8, blocks: [1, 1]}
  representation: {channels: 4, size: 4}
  readout: {hidden: 8}
training:
  encoder: {steps: 5, batch_size: 16}
  transfer: {steps: 5, batch_size: 16}
  scratch: {steps: 5, batch_size: 16}
transfers: {max_order: 2, beam: 2}
taxonomy: {budgets: "1-2", orders: [1, 2]}
executor: {kind: local, device: cpu}
"""
#: The test node has no GPU; one pack per wave keeps process start-ups (torch) few.
SLURM = [
    "executor.kind=slurm",
    "executor.slurm_jobs_per_task=64",
    *(
        f"executor.resources.{k}.{field}={value}"
        for k in JobKind
        for field, value in (("gpus", 0), ("cpus", 1), ("mem_gb", 1), ("time_min", 10))
    ),
]


def _solutions(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    return [
        {k: v for k, v in s.items() if k not in ("solve_seconds", "objective")}
        | {"objective": round(float(s["objective"]), 9)}
        for s in doc["solutions"]
    ]


def test_the_slurm_executor_finds_the_local_executors_taxonomy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKONOMY_SLURM_POLL_S", "0.5")
    spec = tmp_path / "e2e.yaml"
    spec.write_text(SPEC)
    local, slurm = tmp_path / "local", tmp_path / "on slurm"
    assert main(["run", str(spec), "--no-progress", "-w", str(local)]) == 0
    assert main(["run", str(spec), *SLURM, "-w", str(slurm)]) == 0

    assert _solutions(slurm / "taxonomy.json") == _solutions(local / "taxonomy.json")
    a = json.loads((local / "affinities.json").read_text())
    b = json.loads((slurm / "affinities.json").read_text())
    assert a.keys() == b.keys()
    assert all(math.isclose(a[k], b[k], rel_tol=1e-6, abs_tol=1e-9) for k in a)
    journal = Journal.load(slurm)
    assert len(journal.entries) == len(json.loads((slurm / "plan.json").read_text())["jobs"])
    assert {str(e.state) for e in journal} == {"completed"}
