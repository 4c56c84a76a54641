"""A synthetic finished mini run: every result file a report reads, in the run's formats.

Nine tasks in three clusters (2D, 3D, semantic); ``autoencoder`` is a source only and
``class_scene`` a target only (a novel task, so it has no ``self`` and no quality).
Affinities come from a fixed cluster structure plus seeded noise; taxonomies from brute
force over source subsets (what the BIP would return on this small instance); one
budget is infeasible, as the solver reports it. ``plan.json`` and ``spec.json`` come from
the real planner and spec so their format is the one ``taskonomy plan -f json`` writes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taskonomy import load_affinities
from taskonomy.affinity.tree import similarity_tree
from taskonomy.planner import build_plan
from taskonomy.planner.views import plan_to_json
from taskonomy.spec.loading import spec_from_mapping

CLUSTERS = {
    "autoencoder": 0,
    "edge2d": 0,
    "keypoint2d": 0,
    "edge3d": 1,
    "rgb2depth": 1,
    "reshade": 1,
    "rgb2sfnorm": 1,
    "segmentsemantic": 2,
    "class_scene": 2,
}
TASKS = list(CLUSTERS)
SOURCES = TASKS[:-1]
TARGETS = TASKS[1:]
BUDGETS = [1.0, 2.0, 3.0, 4.0]
ORDERS = [1, 2]


def _strengths(rng: np.random.Generator) -> dict[tuple[tuple[str, ...], str], float]:
    """Unnormalised quality of every candidate into every target."""
    out: dict[tuple[tuple[str, ...], str], float] = {}
    for t in TARGETS:
        first = {}
        for s in SOURCES:
            if s == t:
                continue
            base = 3.0 if CLUSTERS[s] == CLUSTERS[t] else 1.0
            first[s] = base * float(rng.uniform(0.7, 1.3))
            out[((s,), t)] = first[s]
        top = sorted(first, key=lambda s: -first[s])[:3]
        for a, b in itertools.combinations(top, 2):
            out[((a, b), t)] = 1.15 * max(first[a], first[b])
        if t in SOURCES:
            out[(("self",), t)] = 4.0
        out[(("pixels",), t)] = 0.6
    return out


def _key(sources: tuple[str, ...], target: str) -> str:
    return "__".join((*sources, target))


def _solve(p: dict[tuple[tuple[str, ...], str], float], budget: float, order: int) -> Any:
    best: tuple[float, tuple[str, ...], dict[str, list[str]]] | None = None
    for k in range(1, int(budget) + 1):
        for chosen in itertools.combinations(SOURCES, k):
            edges, total = {}, 0.0
            for t in TARGETS:
                options = [
                    (v, ["self"] if srcs == ("self",) else list(srcs))
                    for (srcs, tt), v in p.items()
                    if tt == t
                    and len(srcs) <= order
                    and srcs != ("pixels",)
                    and all((s == "self" and t in chosen) or s in chosen for s in srcs)
                ]
                if not options:
                    break
                v, srcs = max(options)
                edges[t], total = srcs, total + v
            else:
                if best is None or total > best[0] + 1e-12:
                    best = (total, chosen, edges)
    return best


def build_run(workdir: Path, *, with_optional: bool = True) -> Path:
    rng = np.random.default_rng(0)
    strengths = _strengths(rng)
    p = {}
    for t in TARGETS:
        total = sum(v for (_, tt), v in strengths.items() if tt == t)
        p.update({(s, tt): v / total for (s, tt), v in strengths.items() if tt == t})
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "affinities.json").write_text(
        json.dumps({_key(s, t): v for (s, t), v in sorted(p.items())}, indent=1)
    )
    solutions, evaluations = [], []
    for order in ORDERS:
        for budget in [0.0, *BUDGETS] if order == 1 else BUDGETS:
            found = _solve(p, budget, order)
            if found is None:
                solutions.append(
                    {
                        "budget": budget,
                        "max_order": order,
                        "solver": "highs",
                        "status": "infeasible",
                        "objective": None,
                        "gap": None,
                        "solve_seconds": 0.01,
                        "supervised": [],
                        "edges": {},
                        "reason": f"budget {budget:g} supervises no source, but every target "
                        "needs one",
                    }
                )
                continue
            objective, chosen, edges = found
            solutions.append(
                {
                    "budget": budget,
                    "max_order": order,
                    "solver": "highs",
                    "status": "optimal",
                    "objective": objective,
                    "gap": 0.0,
                    "solve_seconds": 0.02,
                    "supervised": list(chosen),
                    "edges": edges,
                    "reason": None,
                }
            )
            scores = {}
            for t, srcs in edges.items():
                own = srcs == ["self"]
                v = p[(tuple(srcs), t)]
                scores[t] = {
                    "sources": srcs,
                    "gain": 0.95 if own else float(min(0.95, 0.5 + 3 * v)),
                    "quality": None if t not in SOURCES else 0.5 if own else float(min(0.5, 4 * v)),
                }
            gains = [s["gain"] for s in scores.values()]
            qualities = [s["quality"] for s in scores.values() if s["quality"] is not None]
            evaluations.append(
                {
                    "budget": budget,
                    "max_order": order,
                    "targets": scores,
                    "mean_gain": float(np.mean(gains)),
                    "mean_quality": float(np.mean(qualities)),
                    "supervised": list(chosen),
                    "n_targets": len(scores),
                }
            )
    (workdir / "taxonomy.json").write_text(json.dumps({"solutions": solutions}, indent=1))
    if not with_optional:
        return workdir
    raw = {_key(s, t): float(min(0.99, 0.25 + 2.5 * v)) for (s, t), v in p.items() if len(s) == 1}
    (workdir / "raw_affinities.json").write_text(json.dumps(raw, indent=1))
    (workdir / "evaluation.json").write_text(json.dumps({"taxonomies": evaluations}, indent=1))
    tree = similarity_tree(load_affinities(workdir / "affinities.json"))
    draws = np.random.default_rng(1).uniform(0.3, 1.0, len(tree.clades()))
    clusters = [
        {"tasks": list(c), "support": round(float(d), 2)}
        for c, d in zip(tree.clades(), draws, strict=True)
    ]
    (workdir / "support.json").write_text(
        json.dumps({"resamples": 20, "clusters": clusters, "edges": []}, indent=1)
    )
    spec = spec_from_mapping(
        {
            "name": "synthetic",
            "tasks": TASKS,
            "transfers": {"max_order": 2, "beam": 3},
            "taxonomy": {"budgets": "1-4", "orders": ORDERS},
        }
    )
    plan = build_plan(spec)
    doc = plan_to_json(plan)
    (workdir / "plan.json").write_text(json.dumps(doc, indent=1))
    (workdir / "spec.json").write_text(spec.model_dump_json(indent=1))
    jobs = {
        j["id"]: {
            "kind": j["kind"],
            "stage": j["stage"],
            "state": "done",
            "seconds": j["est_seconds"] * float(rng.uniform(0.6, 1.6)),
            "est_seconds": j["est_seconds"],
            "gpu_seconds": j["est_gpu_seconds"] * float(rng.uniform(0.6, 1.6)),
        }
        for j in doc["jobs"]
    }
    run = {"jobs": jobs, "started": "2025-01-01T10:00:00", "finished": "2025-01-01T10:21:00"}
    (workdir / "run.json").write_text(json.dumps(run, indent=1))
    return workdir


@pytest.fixture
def make_run() -> Callable[..., Path]:
    """:func:`build_run` itself, for tests that need a variant (conftest is not importable)."""
    return build_run


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished synthetic run's work directory (read-only for tests)."""
    return build_run(tmp_path_factory.mktemp("mini_run") / "work")


@pytest.fixture(scope="session")
def mini_report(mini_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``index.html`` of the report of :func:`mini_run`."""
    from taskonomy.reports import write_report

    return write_report(mini_run, tmp_path_factory.mktemp("report"))
