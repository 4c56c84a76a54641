"""The job graph of literal small specs, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskonomy.kinds import JobKind
from taskonomy.planner import build_plan, execution_order
from taskonomy.spec import Spec, load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tiny(**changes: object) -> Spec:
    base: dict[str, object] = {
        "name": "tiny",
        "tasks": [{"name": "ae", "kind": "autoencoder", "role": "source"}, "rgb2depth", "rgb2mist"],
        "transfers": {"max_order": 2},
        "taxonomy": {"budgets": [1, 2]},
    }
    base.update(changes)
    return Spec.model_validate(base)


def per_target(t: str, other: str) -> set[str]:
    return {
        f"evaluate/encoder/{t}",
        f"scratch/{t}",
        f"evaluate/scratch/{t}",
        f"transfer/1/ae->{t}",
        f"transfer/1/{other}->{t}",
        f"evaluate/transfer/1/ae->{t}",
        f"evaluate/transfer/1/{other}->{t}",
        f"rank/{t}",
        f"transfer/2/{t}/00",
        f"evaluate/transfer/2/{t}/00",
        f"affinity/{t}",
    }


def test_exact_jobs_of_a_tiny_spec() -> None:
    plan = build_plan(tiny())
    expected = {
        "dataset",
        *(f"{k}/{s}" for k in ("encoder", "features") for s in ("ae", "rgb2depth", "rgb2mist")),
        *per_target("rgb2depth", "rgb2mist"),
        *per_target("rgb2mist", "rgb2depth"),
        "taxonomy/o1/b1",
        "taxonomy/o1/b2",
        "taxonomy/o2/b1",
        "taxonomy/o2/b2",
        "assess",
        "bootstrap",
        "report",
    }
    assert set(plan.jobs) == expected
    assert len(plan) == 36
    assert plan.counts() == {
        "dataset": 1,
        "encoder": 3,
        "features": 3,
        "scratch": 2,
        "transfer": {"1": 4, "2": 2},
        "rank": 2,
        "evaluate": 10,
        "affinity": 2,
        "taxonomy": 4,
        "assess": 1,
        "bootstrap": 1,
        "report": 1,
    }
    assert plan.transfer_slots == {"rgb2depth": {1: 2, 2: 1}, "rgb2mist": {1: 2, 2: 1}}


def test_exact_dependencies() -> None:
    jobs = build_plan(tiny()).jobs
    assert jobs["encoder/ae"].deps == ("dataset",)
    assert jobs["features/ae"].deps == ("encoder/ae", "dataset")
    assert jobs["transfer/1/ae->rgb2depth"].deps == ("features/ae", "dataset")
    assert jobs["evaluate/transfer/1/ae->rgb2depth"].deps == (
        "transfer/1/ae->rgb2depth",
        "features/ae",
        "dataset",
    )
    assert jobs["rank/rgb2depth"].deps == (
        "evaluate/transfer/1/ae->rgb2depth",
        "evaluate/transfer/1/rgb2mist->rgb2depth",
    )
    assert jobs["transfer/2/rgb2depth/00"].deps == ("rank/rgb2depth", "dataset")
    assert jobs["transfer/2/rgb2depth/00"].bound_at_run_time
    assert not jobs["transfer/1/ae->rgb2depth"].bound_at_run_time
    assert set(jobs["affinity/rgb2depth"].deps) == {
        "evaluate/encoder/rgb2depth",
        "evaluate/scratch/rgb2depth",
        "evaluate/transfer/1/ae->rgb2depth",
        "evaluate/transfer/1/rgb2mist->rgb2depth",
        "evaluate/transfer/2/rgb2depth/00",
    }
    assert jobs["taxonomy/o2/b1"].deps == ("affinity/rgb2depth", "affinity/rgb2mist")
    assert jobs["report"].deps == ("assess", "bootstrap")
    assert set(jobs["bootstrap"].deps) == {
        j for j in jobs if j.startswith(("taxonomy/", "affinity/"))
    }


def test_plan_order_is_exact_and_dependency_first() -> None:
    spec = Spec(
        name="two",
        tasks=["rgb2depth", "rgb2mist"],
        taxonomy={"budgets": [1]},
        transfers={"baselines": {"scratch": False, "self": False}, "cache_features": False},
    )
    plan = build_plan(spec)
    assert list(plan.jobs) == [
        "dataset",
        "encoder/rgb2depth",
        "encoder/rgb2mist",
        "transfer/1/rgb2depth->rgb2mist",
        "evaluate/transfer/1/rgb2depth->rgb2mist",
        "affinity/rgb2mist",
        "transfer/1/rgb2mist->rgb2depth",
        "evaluate/transfer/1/rgb2mist->rgb2depth",
        "affinity/rgb2depth",
        "taxonomy/o1/b1",
        "assess",
        "bootstrap",
        "report",
    ]
    # naive mode: transfers read encoders directly
    assert plan.jobs["transfer/1/rgb2depth->rgb2mist"].deps == ("encoder/rgb2depth", "dataset")
    assert execution_order(plan) == list(plan.jobs)


def test_include_own_encoder_adds_t_to_t() -> None:
    plan = build_plan(tiny(transfers={"max_order": 1, "include_own_encoder": True}))
    assert "transfer/1/rgb2depth->rgb2depth" in plan.jobs
    assert plan.counts()["transfer"] == {"1": 6}


def test_source_only_and_target_only_tasks() -> None:
    spec = Spec(
        name="roles",
        tasks=[{"name": "rgb2depth", "role": "target"}, "rgb2mist", "colorization"],
        taxonomy={"budgets": [1]},
    )
    plan = build_plan(spec)
    assert "encoder/rgb2depth" not in plan.jobs  # a target-only task has no encoder, no self
    assert "evaluate/encoder/rgb2depth" not in plan.jobs
    assert "affinity/colorization" not in plan.jobs  # a source-only task is never solved
    assert {j.id for j in plan.of_kind(JobKind.TRANSFER)} == {
        "transfer/1/rgb2mist->rgb2depth",
        "transfer/1/colorization->rgb2depth",
        "transfer/1/colorization->rgb2mist",
    }


def test_default_budgets_and_orders() -> None:
    plan = build_plan(tiny(taxonomy={}))
    assert {j.id for j in plan.of_kind(JobKind.TAXONOMY)} == {
        f"taxonomy/o{k}/b{b}" for k in (1, 2) for b in (1, 2, 3)
    }
    params = plan.jobs["taxonomy/o2/b3"].params
    assert params["label_costs"] == {"ae": 0.0, "rgb2depth": 1.0, "rgb2mist": 1.0}
    assert params["importance"] == {"rgb2depth": 1.0, "rgb2mist": 1.0}


def test_paper_dictionary_counts() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    plan = build_plan(load_spec(examples / "taskonomy26.yaml").spec)
    counts = plan.counts()
    assert counts["transfer"] == {"1": 22 * 26, "2": 22 * 10, "3": 22 * 10, "4": 22 * 5}
    assert counts["encoder"] == 26 and counts["scratch"] == 22 and counts["affinity"] == 22
    assert counts["evaluate"] == 22 + 22 + 22 * (26 + 10 + 10 + 5)
    assert counts["taxonomy"] == 26 * 4


def test_resources_merge_spec_over_defaults() -> None:
    spec = tiny(
        executor={
            "kind": "slurm",
            "slurm_partition": "gpu",
            "resources": {
                "encoder": {"gpus": 2, "slurm_partition": "big"},
                "transfer": {"slurm_jobs_per_task": 4},
            },
        }
    )
    jobs = build_plan(spec).jobs
    enc = jobs["encoder/ae"].resources
    assert (enc.gpus, enc.cpus, enc.partition) == (2, 8, "big")
    assert jobs["transfer/1/ae->rgb2depth"].resources.partition == "gpu"
    assert jobs["transfer/1/ae->rgb2depth"].resources.jobs_per_task == 4
    assert jobs["affinity/rgb2depth"].resources.gpus == 0


def test_plans_that_explode_are_refused_before_building() -> None:
    """Issue 14: beam 26 at order 8 is C(26, 8) slots per target; count, then refuse."""
    import time

    from taskonomy.planner.build import PlanSizeError, check_plan_size

    paper = EXAMPLES / "taskonomy26.yaml"
    start = time.perf_counter()
    spec = load_spec(paper, ["transfers.beam=26", "transfers.max_order=8"]).spec
    with pytest.raises(
        PlanSizeError,
        match=r"^transfers\.max_order: the plan would have 111,495,758 jobs, more than "
        r"max_jobs 20,000 .*order 8: 34,370,050; .*GPU-hours.*raise the limit with max_jobs=",
    ):
        build_plan(spec)
    assert time.perf_counter() - start < 2.0
    budgets = load_spec(paper, ["taxonomy.budgets=1-100000"]).spec
    with pytest.raises(PlanSizeError, match=r"^taxonomy\.budgets: .*400,000 taxonomies"):
        build_plan(budgets)
    raised = load_spec(EXAMPLES / "mini.yaml", ["max_jobs=592"]).spec
    assert check_plan_size(raised).total == len(build_plan(raised)) == 592
    with pytest.raises(PlanSizeError, match=r"592 jobs, more than max_jobs 591"):
        build_plan(load_spec(EXAMPLES / "mini.yaml", ["max_jobs=591"]).spec)
