"""The torch-free job bodies: ranking, affinities (AHP), taxonomies, assessment, report.

They read the per-image test losses the evaluation jobs wrote and never import torch,
so they run anywhere the planner runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.affinity.table import format_key
from taskonomy.affinity.table import sources_key as candidate_key
from taskonomy.affinity.winrates import mean_of
from taskonomy.artifacts import (
    AFFINITY_FILE,
    CANDIDATE_FILE,
    CANDIDATE_LOSSES_FILE,
    EVALUATION_FILE,
    RANKING_FILE,
    REPORT_DIR,
    REPORT_OUTPUT,
    SOLUTION_FILE,
    SUPPORT_FILE,
    TEST_LOSSES_FILE,
)
from taskonomy.executor.context import JobContext, JobFailed
from taskonomy.jobs.outputs import read_candidate_losses
from taskonomy.kinds import JobKind


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_candidates(ctx: JobContext) -> tuple[list[list[str]], np.ndarray]:
    """The sources and per-image test losses of every evaluation this job depends on."""
    names: list[list[str]] = []
    rows: list[np.ndarray] = []
    for dep in ctx.job.deps:
        if ctx.plan.jobs[dep].kind is not JobKind.EVALUATE:
            continue
        art = ctx.artifact(dep)
        names.append([str(s) for s in _read_json(art / CANDIDATE_FILE)["sources"]])
        rows.append(np.load(art / TEST_LOSSES_FILE).astype(np.float64))
    if not rows:
        raise JobFailed(f"{ctx.job.id} has no evaluated candidates to compare")
    sizes = {r.shape for r in rows}
    if len(sizes) != 1:
        raise JobFailed(f"{ctx.job.id}: candidates were evaluated on different test sets {sizes}")
    losses = np.stack(rows)
    if not np.isfinite(losses).all():
        bad = [
            candidate_key(n) for n, r in zip(names, rows, strict=True) if not np.isfinite(r).all()
        ]
        raise JobFailed(f"{ctx.job.id}: non-finite test losses for {', '.join(bad)}")
    return names, losses


def run_rank(ctx: JobContext) -> Mapping[str, Any]:
    """Rank a target's first-order sources by AHP over their transfers (best first)."""
    from taskonomy.affinity import ahp_scores

    names, losses = _load_candidates(ctx)
    scores = ahp_scores(losses)
    order = sorted(range(len(names)), key=lambda i: (-float(scores[i]), names[i]))
    ranked = [names[i][0] for i in order]
    out = {
        "target": ctx.params["target"],
        "ranked": ranked,
        "scores": {names[i][0]: float(scores[i]) for i in order},
    }
    _write_json(ctx.out / RANKING_FILE, out)
    ctx.log.info("ranking of sources into %s: %s", ctx.params["target"], ", ".join(ranked))
    return {"best": ranked[0]}


def run_affinity(ctx: JobContext) -> Mapping[str, Any]:
    """One tournament over all of a target's candidates, normalised with AHP (Stage III)."""
    from taskonomy.affinity import ahp_scores, tournament

    names, losses = _load_candidates(ctx)
    lo, hi = (float(x) for x in ctx.params.get("clip", (0.001, 0.999)))
    scores = ahp_scores(losses, clip=(lo, hi))
    wins = tournament(losses)
    n = len(names)
    # Raw (pre-AHP) strength: mean win rate against every other candidate.
    raw = (wins.sum(axis=1) - np.diag(wins)) / max(n - 1, 1)
    candidates: list[dict[str, Any]] = [
        {
            "sources": names[i],
            "p": float(scores[i]),
            "win_rate": float(raw[i]),
            "mean_loss": float(losses[i].mean()),
        }
        for i in range(n)
    ]
    candidates.sort(key=lambda c: (-c["p"], candidate_key(c["sources"])))
    target = str(ctx.params["target"])
    _write_json(ctx.out / AFFINITY_FILE, {"target": target, "candidates": candidates})
    np.savez(
        ctx.out / CANDIDATE_LOSSES_FILE,
        **{candidate_key(nm): losses[i] for i, nm in enumerate(names)},
    )
    best = candidates[0]
    ctx.log.info("best candidate for %s: %s (p=%.4f)", target, best["sources"], best["p"])
    return {"candidates": n, "best": candidate_key(best["sources"])}


def affinity_entries(ctx: JobContext) -> dict[str, float]:
    """``{"src1__src2__target": p}`` from every affinity artifact this job depends on."""
    entries: dict[str, float] = {}
    for dep in ctx.job.deps:
        if ctx.plan.jobs[dep].kind is JobKind.AFFINITY:
            doc = _read_json(ctx.artifact(dep) / AFFINITY_FILE)
            for c in doc["candidates"]:
                entries[format_key(c["sources"], doc["target"])] = float(c["p"])
    return entries


def run_taxonomy(ctx: JobContext) -> Mapping[str, Any]:
    """Solve the BIP for one (budget, max order) over the affinities (Stage IV)."""
    from taskonomy.affinity import AffinityTable
    from taskonomy.solvers import SolveOptions, solutions_to_json, solve_sweep

    table = AffinityTable.from_release_dict(affinity_entries(ctx))
    p = ctx.params
    solutions = solve_sweep(
        table,
        budgets=[float(p["budget"])],
        orders=[int(p["max_order"])],
        label_costs={str(k): float(v) for k, v in p["label_costs"].items()},
        importance={str(k): float(v) for k, v in p["importance"].items()},
        solver=str(p["solver"]),
        options=SolveOptions(**dict(p.get("solver_options") or {})),
    )
    doc = solutions_to_json(solutions)["solutions"][0]
    _write_json(ctx.out / SOLUTION_FILE, doc)
    ctx.log.info(
        "budget %s, order %s: %s, supervised %s",
        p["budget"],
        p["max_order"],
        doc["status"],
        doc.get("supervised"),
    )
    return {"status": doc["status"], "objective": doc.get("objective")}


def win_rate(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of images on which losses ``a`` beat ``b`` (ties count half)."""
    return float(np.mean((a < b) + 0.5 * (a == b)))


def assess_solution(
    solution: Mapping[str, Any], losses: Mapping[str, Mapping[str, np.ndarray]]
) -> dict[str, Any]:
    """Gain (vs scratch) and quality (vs the target's own network) of one taxonomy."""
    targets: dict[str, Any] = {}
    for target, sources in sorted((solution.get("edges") or {}).items()):
        cand = losses[target]
        chosen = cand.get(candidate_key(sources))
        gain = quality = None
        if chosen is not None:
            if "pixels" in cand:
                gain = win_rate(chosen, cand["pixels"])
            if list(sources) == ["self"]:
                quality = 0.5
            elif "self" in cand:
                quality = win_rate(chosen, cand["self"])
        targets[target] = {"sources": list(sources), "gain": gain, "quality": quality}

    def mean(key: str) -> float | None:
        vals = [t[key] for t in targets.values() if t[key] is not None]
        return float(np.mean(vals)) if vals else None

    return {
        "budget": solution["budget"],
        "max_order": solution["max_order"],
        "status": solution["status"],
        "supervised": list(solution.get("supervised") or []),
        "targets": targets,
        "n_targets": len(targets),
        "mean_gain": mean("gain"),
        "mean_quality": mean("quality"),
    }


def run_assess(ctx: JobContext) -> Mapping[str, Any]:
    """Evaluate every chosen taxonomy by its win rates on the test images."""
    losses = {
        t: {candidate_key(k): v for k, v in cands.items()}
        for t, cands in _candidate_losses(ctx).items()
    }
    solutions = [
        _read_json(ctx.artifact(dep) / SOLUTION_FILE)
        for dep in ctx.job.deps
        if ctx.plan.jobs[dep].kind is JobKind.TAXONOMY
    ]
    rows = [assess_solution(s, losses) for s in solutions]
    rows.sort(key=lambda r: (r["max_order"], r["budget"]))
    _write_json(ctx.out / EVALUATION_FILE, {"taxonomies": rows})
    return {"taxonomies": len(rows)}


def _candidate_losses(ctx: JobContext) -> dict[str, dict[tuple[str, ...], np.ndarray]]:
    """Every target's candidates with their per-image test losses (the affinity jobs')."""
    losses: dict[str, dict[tuple[str, ...], np.ndarray]] = {}
    for dep in ctx.job.deps:
        if ctx.plan.jobs[dep].kind is JobKind.AFFINITY:
            doc, candidates = read_candidate_losses(ctx.artifact(dep))
            losses[str(doc["target"])] = candidates
    return losses


def run_bootstrap(ctx: JobContext) -> Mapping[str, Any]:
    """Bootstrap support of every taxonomy edge and tree cluster (resampled test images)."""
    from taskonomy.affinity import affinities_from_losses, similarity_tree
    from taskonomy.errors import AffinityError
    from taskonomy.solvers import SolveOptions, solution_from_dict
    from taskonomy.solvers.bootstrap import bootstrap_support

    p = ctx.params
    losses = _candidate_losses(ctx)
    solutions = [
        solution_from_dict(_read_json(ctx.artifact(dep) / SOLUTION_FILE))
        for dep in ctx.job.deps
        if ctx.plan.jobs[dep].kind is JobKind.TAXONOMY
    ]
    try:
        tree = similarity_tree(affinities_from_losses(losses))
    except AffinityError:
        tree = None  # fewer than two sources with first-order transfers: nothing to cluster
    support = bootstrap_support(
        losses,
        solutions,
        tree=tree,
        resamples=int(p["resamples"]),
        seed=int(p["seed"]),
        label_costs={str(k): float(v) for k, v in p["label_costs"].items()},
        importance={str(k): float(v) for k, v in p["importance"].items()},
        solver=str(p["solver"]),
        options=SolveOptions(**dict(p.get("solver_options") or {})),
    )
    _write_json(ctx.out / SUPPORT_FILE, support.to_json())
    edges = [v for targets in support.edges.values() for v in targets.values()]
    return {"resamples": support.resamples, "mean_edge_support": mean_of(edges)}


def run_report(ctx: JobContext) -> Mapping[str, Any]:
    """Publish the run's top-level outputs and draw the report from them."""
    from taskonomy.executor.durable import replace_dir_atomic
    from taskonomy.jobs.outputs import publish_outputs
    from taskonomy.reports import write_report

    publish_outputs(ctx.workdir, ctx.plan, ctx.store)
    index = write_report(ctx.workdir, ctx.out / REPORT_DIR)
    published = ctx.workdir / REPORT_OUTPUT
    replace_dir_atomic(index.parent, published)
    return {"index": str(published / index.name)}
