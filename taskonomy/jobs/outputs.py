"""The run's top-level outputs, gathered from whatever artifacts are complete.

* ``affinities.json``: the release's convention ``{"src1__src2__target": p}`` (AHP).
* ``raw_affinities.json``: the same keys, each candidate's raw mean win rate before AHP.
* ``taxonomy.json``: the ``taskonomy solve`` JSON schema, one solution per (budget, order).
* ``evaluation.json``: gain and quality per budget, order and target.
* ``support.json``: bootstrap support of every taxonomy edge and tree cluster; each
  solution in ``taxonomy.json`` also carries its edges' ``support``.
* ``test_losses.npz``: every candidate's per-image test losses (release keys), what
  ``taskonomy solve --losses`` needs to redo the bootstrap.

A partial run publishes what it has, so a user can look at finished targets while the
rest is still running or after some jobs failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.affinity.table import KEY_SEPARATOR, format_key
from taskonomy.artifacts import (
    AFFINITIES_OUTPUT,
    AFFINITY_FILE,
    CANDIDATE_LOSSES_FILE,
    EVALUATION_FILE,
    EVALUATION_OUTPUT,
    RAW_AFFINITIES_OUTPUT,
    SOLUTION_FILE,
    SUPPORT_FILE,
    SUPPORT_OUTPUT,
    TAXONOMY_OUTPUT,
    TEST_LOSSES_OUTPUT,
)
from taskonomy.executor.durable import write_atomic, write_json_atomic
from taskonomy.executor.store import ArtifactStore
from taskonomy.kinds import JobKind
from taskonomy.planner.jobs import Plan


def _done(store: ArtifactStore, plan: Plan, kind: JobKind) -> list[Path]:
    return [
        store.path(j.hash)
        for j in plan.of_kind(kind)
        if store.path(j.hash).is_dir() and store.verify(j.hash)
    ]


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_candidate_losses(artifact: Path) -> tuple[Any, dict[tuple[str, ...], np.ndarray]]:
    """An ``affinity`` artifact's ``affinity.json`` document and every candidate's
    per-image test losses (``losses.npz``), keyed by its source set (``("self",)``, ...)."""
    doc = _read(artifact / AFFINITY_FILE)
    with np.load(artifact / CANDIDATE_LOSSES_FILE, allow_pickle=False) as npz:
        return doc, {tuple(k.split(KEY_SEPARATOR)): npz[k] for k in npz.files}


def _problem(plan: Plan) -> dict[str, Any]:
    """What re-solving the run's affinities needs besides them: label costs, importances,
    the budgets and orders solved, and the solver (``taskonomy solve`` reads it)."""
    jobs = plan.of_kind(JobKind.TAXONOMY)
    first = jobs[0].params if jobs else {}
    return {
        "label_costs": {str(k): float(v) for k, v in first.get("label_costs", {}).items()},
        "importance": {str(k): float(v) for k, v in first.get("importance", {}).items()},
        "budgets": sorted({float(j.params["budget"]) for j in jobs}),
        "orders": sorted({int(j.params["max_order"]) for j in jobs}),
        "solver": first.get("solver", "auto"),
    }


def publish_outputs(workdir: Path, plan: Plan, store: ArtifactStore) -> list[Path]:
    """Write the top-level output files from complete artifacts; return the paths written."""
    workdir = Path(workdir)
    written: list[Path] = []
    affinities: dict[str, float] = {}
    raw: dict[str, float] = {}
    losses: dict[str, Any] = {}  # per-image losses by release key (np.savez keywords)
    for art in _done(store, plan, JobKind.AFFINITY):
        doc, candidates = read_candidate_losses(art)
        for c in doc["candidates"]:
            key = format_key(c["sources"], doc["target"])
            affinities[key] = float(c["p"])
            raw[key] = float(c["win_rate"])
        losses.update({format_key(s, doc["target"]): v for s, v in candidates.items()})
    if affinities:
        for name, value in ((AFFINITIES_OUTPUT, affinities), (RAW_AFFINITIES_OUTPUT, raw)):
            write_json_atomic(workdir / name, value)
            written.append(workdir / name)
        write_atomic(workdir / TEST_LOSSES_OUTPUT, lambda fh: np.savez(fh, **losses))
        written.append(workdir / TEST_LOSSES_OUTPUT)

    support = [_read(art / SUPPORT_FILE) for art in _done(store, plan, JobKind.BOOTSTRAP)]
    edge_support = {
        (float(e["budget"]), int(e["max_order"])): e["targets"]
        for doc in support
        for e in doc["edges"]
    }
    solutions = [_read(art / SOLUTION_FILE) for art in _done(store, plan, JobKind.TAXONOMY)]
    if solutions:
        solutions.sort(key=lambda s: (s["max_order"], s["budget"]))
        for s in solutions:
            found = edge_support.get((float(s["budget"]), int(s["max_order"])))
            if found is not None:
                s["support"] = found
        doc = {"problem": _problem(plan), "solutions": solutions}
        write_json_atomic(workdir / TAXONOMY_OUTPUT, doc)
        written.append(workdir / TAXONOMY_OUTPUT)
    for doc in support:
        write_json_atomic(workdir / SUPPORT_OUTPUT, doc)
        written.append(workdir / SUPPORT_OUTPUT)

    for art in _done(store, plan, JobKind.ASSESS):
        write_json_atomic(workdir / EVALUATION_OUTPUT, _read(art / EVALUATION_FILE))
        written.append(workdir / EVALUATION_OUTPUT)
    return written
