"""Ordering, malformed graphs, pruning edge cases and the cost model."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from taskonomy.errors import PlanError, SpecError
from taskonomy.kinds import JobKind
from taskonomy.planner import bind_slot, build_plan, critical_path, execution_order, slot_count
from taskonomy.planner.cost import load_calibration
from taskonomy.planner.graph import to_graph
from taskonomy.spec import Spec


@attrs.frozen
class J:
    id: str
    deps: tuple[str, ...] = ()


def test_order_is_dependency_first_then_alphabetical() -> None:
    jobs = [J("c", ("a",)), J("b", ("a",)), J("a"), J("d", ("c", "b"))]
    assert execution_order(jobs) == ["a", "b", "c", "d"]


def test_cycle_is_a_domain_error_naming_the_cycle() -> None:
    with pytest.raises(PlanError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        execution_order([J("a", ("b",)), J("b", ("a",))])


def test_dangling_and_duplicate_jobs() -> None:
    with pytest.raises(PlanError, match=r"'a' depends on 'ghost', which is not in the plan"):
        execution_order([J("a", ("ghost",))])
    with pytest.raises(PlanError, match="appears twice"):
        execution_order([J("a"), J("a")])


def test_critical_path() -> None:
    graph = to_graph([J("a"), J("b", ("a",)), J("c", ("a",)), J("d", ("b", "c"))])
    chain, total = critical_path(graph, {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0})
    assert chain == ["a", "b", "d"]
    assert total == 7.0


@pytest.mark.parametrize(
    ("n", "order", "beam", "expected"),
    [
        (25, 1, 5, 25),
        (25, 2, 5, 10),
        (25, 3, 5, 10),
        (25, 4, 5, 5),
        (25, 5, 5, 1),
        (25, 6, 5, 1),
        (25, 4, 6, 15),
        (3, 2, 5, 3),
        (3, 4, 2, 0),
        (1, 2, 5, 0),
    ],
)
def test_slot_count_literal(n: int, order: int, beam: int, expected: int) -> None:
    assert slot_count(n, order, beam) == expected


def test_bind_slot_literal_and_errors() -> None:
    ranked = ["a", "b", "c", "d", "e", "f"]
    assert bind_slot(ranked, 2, 3, 0) == ("a", "b")
    assert bind_slot(ranked, 2, 3, 2) == ("b", "c")
    assert bind_slot(ranked, 5, 3, 0) == ("a", "b", "c", "d", "e")
    with pytest.raises(PlanError, match="slot 3 does not exist: order 2 has 3 slot"):
        bind_slot(ranked, 2, 3, 3)


def test_calibration_replaces_reference_step_times(tmp_path: Path) -> None:
    spec = Spec(name="c", tasks=["rgb2depth", "rgb2mist"], training={"encoder": {"steps": 100}})
    plain = build_plan(spec).jobs["encoder/rgb2depth"].est_seconds
    doc = {
        "format": 2,
        "latest_device": "cpu",
        "devices": {
            "cpu": {
                "encoder": {"jobs": 1, "seconds": 40.0, "reference_seconds": 20.0},
                "bogus": {"jobs": 1, "seconds": 1.0, "reference_seconds": 1.0},
            }
        },
    }
    (tmp_path / "calibration.json").write_text(json.dumps(doc))
    calibration = load_calibration(tmp_path)
    assert calibration == {"encoder": 2.0}
    calibrated = build_plan(spec, calibration).jobs["encoder/rgb2depth"].est_seconds
    assert calibrated == pytest.approx(2.0 * plain, rel=1e-3)  # measured / reference


def test_broken_calibration_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(SpecError, match=r"calibration file .* is unreadable.*delete it"):
        load_calibration(tmp_path)


def test_gpu_seconds_follow_requested_gpus() -> None:
    spec = Spec(
        name="g", tasks=["rgb2depth", "rgb2mist"], executor={"resources": {"encoder": {"gpus": 2}}}
    )
    job = build_plan(spec).jobs["encoder/rgb2depth"]
    assert job.est_gpu_seconds == pytest.approx(2 * job.est_seconds)
    assert build_plan(spec).jobs["affinity/rgb2depth"].est_gpu_seconds == 0.0
    assert job.kind is JobKind.ENCODER


def test_descendants_are_every_job_a_failure_stops() -> None:
    from taskonomy.planner import build_plan
    from taskonomy.spec import Spec

    plan = build_plan(Spec(name="d", tasks=["rgb2depth", "edge2d", "reshade"]))
    graph = to_graph(plan)
    import networkx as nx

    for job_id in ("dataset", "encoder/edge2d", "transfer/1/edge2d->reshade", "report"):
        got = plan.descendants(job_id)
        assert set(got) == nx.descendants(graph, job_id)
        assert got == [j for j in plan.jobs if j in set(got)]  # plan order
    assert plan.descendants("report") == []


def test_rule_graph_has_one_node_per_stage() -> None:
    from taskonomy.planner.views import plan_to_rule_dot, plan_to_rule_mermaid, stage_graph

    plan = build_plan(Spec(name="r", tasks=["rgb2depth", "rgb2mist", "reshade"]))
    nodes, edges = stage_graph(plan)
    assert sum(nodes.values()) == len(plan)
    assert set(nodes) == {j.stage for j in plan}
    assert edges[("dataset", "encoder")] == 3
    assert sum(edges.values()) == sum(len(j.deps) for j in plan)
    dot = plan_to_rule_dot(plan)
    assert dot.count("[label=") == len(nodes) + len(edges)
    assert '"encoder" [label="encoder\\n3 jobs"];' in dot
    assert plan_to_rule_mermaid(plan).startswith("flowchart LR\n")
