"""The run's top-level outputs, gathered from whatever artifacts are complete.

* ``affinities.json``: the release's convention ``{"src1__src2__target": p}`` (AHP).
* ``raw_affinities.json``: the same keys, each candidate's raw mean win rate before AHP.
* ``taxonomy.json``: the ``taskonomy solve`` JSON schema, one solution per (budget, order).
* ``evaluation.json``: gain and quality per budget, order and target.

A partial run publishes what it has, so a user can look at finished targets while the
rest is still running or after some jobs failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taskonomy.affinity.table import format_key
from taskonomy.artifacts import (
    AFFINITIES_OUTPUT,
    AFFINITY_FILE,
    EVALUATION_FILE,
    EVALUATION_OUTPUT,
    RAW_AFFINITIES_OUTPUT,
    SOLUTION_FILE,
    TAXONOMY_OUTPUT,
)
from taskonomy.executor.store import ArtifactStore, write_json_atomic
from taskonomy.planner.jobs import Plan
from taskonomy.spec.models import JobKind


def _done(store: ArtifactStore, plan: Plan, kind: JobKind) -> list[Path]:
    return [
        store.path(j.hash)
        for j in plan.of_kind(kind)
        if store.path(j.hash).is_dir() and store.verify(j.hash)
    ]


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def publish_outputs(workdir: Path, plan: Plan, store: ArtifactStore) -> list[Path]:
    """Write the top-level output files from complete artifacts; return the paths written."""
    workdir = Path(workdir)
    written: list[Path] = []
    affinities: dict[str, float] = {}
    raw: dict[str, float] = {}
    for art in _done(store, plan, JobKind.AFFINITY):
        doc = _read(art / AFFINITY_FILE)
        for c in doc["candidates"]:
            key = format_key(c["sources"], doc["target"])
            affinities[key] = float(c["p"])
            raw[key] = float(c["win_rate"])
    if affinities:
        for name, value in ((AFFINITIES_OUTPUT, affinities), (RAW_AFFINITIES_OUTPUT, raw)):
            write_json_atomic(workdir / name, value)
            written.append(workdir / name)

    solutions = [_read(art / SOLUTION_FILE) for art in _done(store, plan, JobKind.TAXONOMY)]
    if solutions:
        solutions.sort(key=lambda s: (s["max_order"], s["budget"]))
        write_json_atomic(workdir / TAXONOMY_OUTPUT, {"solutions": solutions})
        written.append(workdir / TAXONOMY_OUTPUT)

    for art in _done(store, plan, JobKind.ASSESS):
        write_json_atomic(workdir / EVALUATION_OUTPUT, _read(art / EVALUATION_FILE))
        written.append(workdir / EVALUATION_OUTPUT)
    return written
