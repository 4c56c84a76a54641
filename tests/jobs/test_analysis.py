"""The torch-free bodies (rank, affinity, taxonomy, assess) and the published outputs,
run on evaluation artifacts with known per-image losses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from taskonomy.artifacts import RANKING_FILE
from taskonomy.executor.context import JobContext, JobFailed
from taskonomy.executor.store import ArtifactStore
from taskonomy.jobs import analysis
from taskonomy.jobs.analysis import assess_solution, win_rate
from taskonomy.jobs.binding import bound_sources
from taskonomy.jobs.outputs import publish_outputs
from taskonomy.kinds import JobKind
from taskonomy.planner import build_plan
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec

from .conftest import job_context

N_TEST = 64
#: Mean loss of each source when transferred to each target: lower is better.
QUALITY = {
    "rgb2mist": {"rgb2depth": 0.1, "edge2d": 0.6, "reshade": 0.4},
    "rgb2depth": {"rgb2mist": 0.1, "edge2d": 0.7, "reshade": 0.5},
    "reshade": {"rgb2depth": 0.3, "rgb2mist": 0.35, "edge2d": 0.8},
    "edge2d": {"rgb2depth": 0.5, "rgb2mist": 0.5, "reshade": 0.45},
}


def _spec() -> Spec:
    return Spec.model_validate(
        {
            "name": "analysis",
            "tasks": ["edge2d", "rgb2depth", "rgb2mist", "reshade"],
            "transfers": {"max_order": 2, "beam": 2},
            "taxonomy": {"budgets": "1-3", "orders": [1, 2], "solver": "highs"},
        }
    )


def _losses(plan: Plan, eval_id: str, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    model = plan.jobs[plan.jobs[eval_id].params["model"]]
    target = str(plan.jobs[eval_id].params["target"])
    if model.kind is JobKind.ENCODER:
        sources, mean = ["self"], 0.05
    elif model.kind is JobKind.SCRATCH:
        sources, mean = ["pixels"], 0.9
    elif "sources" in model.params:
        sources = list(model.params["sources"])
        mean = QUALITY[target][sources[0]]
    else:  # a higher-order slot: a little better than its best member would be
        sources, mean = ["?"], 0.08
    noise = rng.normal(0, 0.02, N_TEST)
    return sources, np.abs(mean + noise).astype(np.float32)


class Runner:
    def __init__(self, tmp_path: Path) -> None:
        self.spec = _spec()
        self.plan = build_plan(self.spec)
        self.store = ArtifactStore(tmp_path)
        self.workdir = tmp_path
        self.rng = np.random.default_rng(0)

    def ctx(self, job_id: str) -> JobContext:
        return job_context(self.spec, self.plan, self.workdir, self.store, job_id)

    def fake_evaluation(self, job_id: str) -> None:
        ctx = self.ctx(job_id)
        sources, losses = _losses(self.plan, job_id, self.rng)
        if sources == ["?"]:
            sources = list(bound_sources(ctx))
        (ctx.out / "candidate.json").write_text(
            json.dumps(
                {"model": ctx.params["model"], "target": ctx.params["target"], "sources": sources}
            )
        )
        np.save(ctx.out / "losses.npy", losses)
        self.store.commit(ctx.job, ctx.out)

    def run(self, job_id: str) -> None:
        ctx = self.ctx(job_id)
        kind = ctx.job.kind
        body = {
            JobKind.RANK: analysis.run_rank,
            JobKind.AFFINITY: analysis.run_affinity,
            JobKind.TAXONOMY: analysis.run_taxonomy,
            JobKind.ASSESS: analysis.run_assess,
        }[kind]
        meta = body(ctx)
        self.store.commit(ctx.job, ctx.out, meta)

    def run_all(self) -> None:
        for job in self.plan:
            if job.kind is JobKind.EVALUATE:
                self.fake_evaluation(job.id)
            elif job.kind in (JobKind.RANK, JobKind.AFFINITY, JobKind.TAXONOMY, JobKind.ASSESS):
                self.run(job.id)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    r = Runner(tmp_path)
    r.run_all()
    return r


def test_rank_orders_sources_by_their_transfers(runner: Runner) -> None:
    ranking = json.loads(
        (runner.store.path(runner.plan.jobs["rank/reshade"].hash) / RANKING_FILE).read_text()
    )
    assert ranking["ranked"] == ["rgb2depth", "rgb2mist", "edge2d"]
    assert ranking["scores"]["rgb2depth"] > ranking["scores"]["edge2d"]


def test_affinity_holds_every_candidate_with_ahp_scores_summing_to_one(runner: Runner) -> None:
    art = runner.store.path(runner.plan.jobs["affinity/reshade"].hash)
    doc = json.loads((art / "affinity.json").read_text())
    keys = {"__".join(c["sources"]) for c in doc["candidates"]}
    # self, pixels, three first-order sources and C(2, 2) = 1 second-order slot
    assert keys == {"self", "pixels", "rgb2depth", "rgb2mist", "edge2d", "rgb2depth__rgb2mist"}
    assert sum(c["p"] for c in doc["candidates"]) == pytest.approx(1.0)
    assert doc["candidates"][0]["sources"] == ["self"]
    assert doc["candidates"][-1]["sources"] == ["pixels"]


def test_taxonomy_and_published_outputs(runner: Runner) -> None:
    written = publish_outputs(runner.workdir, runner.plan, runner.store)
    names = {p.name for p in written}
    assert names == {
        "affinities.json",
        "raw_affinities.json",
        "test_losses.npz",
        "taxonomy.json",
        "evaluation.json",
    }
    with np.load(runner.workdir / "test_losses.npz") as npz:  # every candidate, per image
        assert set(npz.files) == set(json.loads((runner.workdir / "affinities.json").read_text()))
    aff = json.loads((runner.workdir / "affinities.json").read_text())
    assert "rgb2depth__rgb2mist__reshade" in aff and "self__reshade" in aff
    sols = json.loads((runner.workdir / "taxonomy.json").read_text())["solutions"]
    assert [(s["max_order"], s["budget"]) for s in sols] == [
        (k, b) for k in (1, 2) for b in (1.0, 2.0, 3.0)
    ]
    assert all(s["status"] == "optimal" for s in sols)
    # One supervised task among depth and mist solves both through each other.
    b1 = sols[0]
    assert len(b1["supervised"]) == 1
    assert set(b1["edges"]) == {"edge2d", "rgb2depth", "rgb2mist", "reshade"}
    ev = json.loads((runner.workdir / "evaluation.json").read_text())["taxonomies"]
    assert len(ev) == 6
    for row in ev:
        for target, t in row["targets"].items():
            assert 0.0 <= t["gain"] <= 1.0, target
            if t["sources"] == ["self"]:
                assert t["quality"] == 0.5


def test_win_rate_counts_ties_half() -> None:
    a = np.array([0.1, 0.2, 0.3, 0.4])
    b = np.array([0.2, 0.2, 0.1, 0.5])
    assert win_rate(a, b) == pytest.approx((1 + 0.5 + 0 + 1) / 4)


def test_assess_target_without_own_network_has_no_quality() -> None:
    losses = {"t": {"a": np.zeros(4), "pixels": np.ones(4)}}
    row = assess_solution(
        {"budget": 1, "max_order": 1, "status": "optimal", "edges": {"t": ["a"]}}, losses
    )
    assert row["targets"]["t"] == {"sources": ["a"], "gain": 1.0, "quality": None}
    assert row["mean_quality"] is None and row["mean_gain"] == 1.0


def test_non_finite_losses_fail_the_affinity_job_with_the_culprit(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    for job in r.plan:
        if job.target == "edge2d" and job.kind is JobKind.EVALUATE:
            r.fake_evaluation(job.id)
        elif job.target == "edge2d" and job.kind is JobKind.RANK:
            r.run(job.id)
    bad = r.plan.jobs["evaluate/transfer/1/rgb2depth->edge2d"]
    np.save(r.store.path(bad.hash) / "losses.npy", np.full(N_TEST, np.nan, np.float32))
    with pytest.raises(JobFailed, match=r"non-finite test losses for rgb2depth"):
        analysis.run_affinity(r.ctx("affinity/edge2d"))


def test_analysis_bodies_do_not_import_torch() -> None:
    """Property: rank/affinity/taxonomy/assess run on a login node without torch."""
    import subprocess

    code = (
        "import sys, taskonomy.jobs.analysis, taskonomy.jobs.outputs;"
        "import taskonomy.affinity, taskonomy.solvers;"
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_re_solving_a_runs_affinities_reproduces_its_taxonomy(
    runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    """``taskonomy solve`` on a run's affinities.json reads the costs, importances,
    budgets and orders the run recorded in taxonomy.json, so it gives the run's answer."""
    from taskonomy.cli import main

    publish_outputs(runner.workdir, runner.plan, runner.store)
    tax_path = runner.workdir / "taxonomy.json"
    doc = json.loads(tax_path.read_text())
    assert doc["problem"]["budgets"] == [1.0, 2.0, 3.0] and doc["problem"]["orders"] == [1, 2]
    assert set(doc["problem"]["label_costs"]) == {"edge2d", "rgb2depth", "rgb2mist", "reshade"}
    capsys.readouterr()
    assert main(["solve", "-a", str(runner.workdir / "affinities.json"), "-f", "json"]) == 0
    out = capsys.readouterr()
    assert "the run recorded" in out.err
    again = json.loads(out.out)["solutions"]
    key = ("budget", "max_order", "supervised", "edges", "objective")
    assert [{k: s[k] for k in key} for s in again] == [
        {k: s[k] for k in key}
        for s in sorted(doc["solutions"], key=lambda s: (s["budget"], s["max_order"]))
    ]
    # The recorded costs are what solve uses: make one source expensive, and it is avoided.
    doc["problem"]["label_costs"]["rgb2depth"] = 10.0
    tax_path.write_text(json.dumps(doc))
    assert main(["solve", "-a", str(runner.workdir / "affinities.json"), "-f", "json"]) == 0
    assert all(
        "rgb2depth" not in s["supervised"] for s in json.loads(capsys.readouterr().out)["solutions"]
    )
    assert main(["solve", "-a", str(runner.workdir / "affinities.json"), "-k", "5"]) == 0
    assert "highest order is 2" in capsys.readouterr().err
