"""Hypothesis properties of the planner: closed-form counts and content hashes."""

from __future__ import annotations

from math import comb
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskonomy.planner import bind_slot, build_plan, slot_count
from taskonomy.spec import Spec
from taskonomy.tasks import BUILTIN_TASKS

TRAINABLE = sorted(n for n, t in BUILTIN_TASKS.items() if t.trainable)
PROPS = settings(derandomize=True, deadline=None, max_examples=40)


@st.composite
def dictionaries(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(TRAINABLE), min_size=2, max_size=7, unique=True))
    roles = draw(
        st.lists(
            st.sampled_from(["source", "target", "both"]), min_size=len(names), max_size=len(names)
        )
    )
    roles[0], roles[1] = "source", "target"  # valid by construction: >= 1 source and target
    max_order = draw(st.integers(1, 4))
    return {
        "name": "h",
        "tasks": [{"name": n, "role": r} for n, r in zip(names, roles, strict=True)],
        "transfers": {
            "max_order": max_order,
            "beam": draw(st.integers(1, 5)),
            "beam_per_order": draw(
                st.dictionaries(st.integers(2, 4), st.integers(1, 6), max_size=2)
            ),
            "include_own_encoder": draw(st.booleans()),
            "baselines": {"scratch": draw(st.booleans()), "self": draw(st.booleans())},
            "cache_features": draw(st.booleans()),
        },
        "taxonomy": {
            "budgets": draw(st.lists(st.integers(1, 9), min_size=1, max_size=4, unique=True))
        },
    }


@given(dictionaries())
@PROPS
def test_counts_match_the_closed_form(data: dict[str, Any]) -> None:
    """Property: job counts equal the closed form of docs/method.md, Stage II, for any spec."""
    spec = Spec.model_validate(data)
    tr = spec.transfers
    roles = {t.name: t.role for t in spec.tasks}
    sources = [n for n, r in roles.items() if r in ("source", "both")]
    targets = [n for n, r in roles.items() if r in ("target", "both")]
    expected: dict[int, int] = {}
    for t in targets:
        n = len([s for s in sources if s != t or tr.include_own_encoder])
        expected[1] = expected.get(1, 0) + n
        for k in range(2, tr.max_order + 1):
            if n == 0:
                continue
            beam = tr.beam_per_order.get(k, tr.beam)
            expected[k] = expected.get(k, 0) + (comb(min(beam, n), k) if k <= beam else int(k <= n))
    counts = build_plan(spec).counts()
    assert counts["transfer"] == {str(k): v for k, v in sorted(expected.items()) if v}
    n_transfers = sum(expected.values())
    self_evals = len([t for t in targets if t in sources]) if tr.baselines.self_ else 0
    scratch = len(targets) if tr.baselines.scratch else 0
    assert counts["evaluate"] == n_transfers + self_evals + scratch
    assert counts["scratch"] == scratch
    assert counts["encoder"] == len(sources)
    assert counts["features"] == (len(sources) if tr.cache_features else 0)
    assert counts["affinity"] == len(targets)
    assert counts["taxonomy"] == tr.max_order * len(set(spec.taxonomy.budgets or []))


@given(dictionaries())
@PROPS
def test_hashes_are_stable(data: dict[str, Any]) -> None:
    """Property: the same spec gives the same plan and job hashes, whatever the key order."""
    first = build_plan(Spec.model_validate(data))
    shuffled = dict(reversed(list(data.items())))
    second = build_plan(Spec.model_validate(shuffled))
    assert first.hash == second.hash
    assert [(j.id, j.hash) for j in first] == [(j.id, j.hash) for j in second]


CHANGES = [
    ("seed", 1),
    ("dataset.image_size", 32),
    ("dataset.splits.test", 77),
    ("model.encoder.width", 8),
    ("model.representation.channels", 4),
    ("model.readout.hidden", 16),
    ("training.encoder.lr", 0.5),
    ("training.transfer.steps", 3),
    ("training.scratch.batch_size", 3),
    ("transfers.beam", 1),
    ("taxonomy.solver", "cbc"),
    ("tasks.0.label_cost", 5.0),
    ("tasks.1.importance", 3.0),
]


def with_change(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    node: Any = out
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    node[keys[-1]] = value
    return out


BASE = {
    "name": "h",
    "tasks": [{"name": "rgb2depth"}, {"name": "rgb2mist"}, {"name": "reshade"}],
    "transfers": {"max_order": 2},
    "taxonomy": {"budgets": [1, 2]},
}


@given(st.sampled_from(CHANGES))
@PROPS
def test_any_parameter_change_changes_the_plan_hash(change: tuple[str, Any]) -> None:
    """Property: changing any parameter changes the plan hash, and never job ids alone."""
    before = build_plan(Spec.model_validate(BASE))
    after = build_plan(Spec.model_validate(with_change(BASE, *change)))
    assert before.hash != after.hash
    changed = {
        j.id for j in after if before.jobs.get(j.id) is None or before.jobs[j.id].hash != j.hash
    }
    assert changed  # some job is affected


def test_changes_touch_only_downstream_jobs() -> None:
    before = build_plan(Spec.model_validate(BASE))
    after = build_plan(Spec.model_validate(with_change(BASE, "training.transfer.lr", 0.5)))
    same = {j.id for j in after if before.jobs[j.id].hash == j.hash}
    assert {
        "dataset",
        "encoder/rgb2depth",
        "features/rgb2depth",
        "scratch/reshade",
        "evaluate/encoder/reshade",
    } <= same
    assert "transfer/1/rgb2depth->reshade" not in same
    assert "taxonomy/o1/b1" not in same


def test_executor_settings_do_not_change_job_hashes() -> None:
    before = build_plan(Spec.model_validate(BASE))
    after = build_plan(
        Spec.model_validate(
            {
                **BASE,
                "executor": {
                    "kind": "slurm",
                    "slurm_partition": "x",
                    "resources": {"encoder": {"gpus": 4}},
                },
            }
        )
    )
    assert before.hash == after.hash


def test_golden_plan_hash() -> None:
    """The hash is a pure function of the spec: this literal must hold on any machine."""
    assert build_plan(Spec.model_validate(BASE)).hash == GOLDEN


GOLDEN = "e945d87ee6a293e54b58812046dae93ea56e6ff04b21d480c76a5ef7b9bcb08f"


def test_a_new_data_version_changes_every_trained_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed generator (labels, input transforms) must never be answered from a store
    filled by the old one: the dataset job's hash, and so every job below it, changes."""
    import taskonomy.planner.build as build

    before = build_plan(Spec.model_validate(BASE))
    monkeypatch.setattr(build, "DATA_VERSION", build.DATA_VERSION + 1)
    after = build_plan(Spec.model_validate(BASE))
    assert before.jobs["dataset"].hash != after.jobs["dataset"].hash
    trained = [j for j in before.jobs if j.startswith(("encoder/", "transfer/"))]
    assert trained and all(before.jobs[j].hash != after.jobs[j].hash for j in trained)


@given(st.integers(0, 12), st.integers(2, 8), st.integers(1, 6))
@PROPS
def test_bind_slot_enumerates_exactly_the_slots(n: int, order: int, beam: int) -> None:
    """Property: the slots bind to distinct source sets drawn from the top of the ranking."""
    ranked = [f"s{i}" for i in range(n)]
    count = slot_count(n, order, beam)
    bound = [bind_slot(ranked, order, beam, i) for i in range(count)]
    assert len(set(bound)) == count
    for sources in bound:
        assert len(sources) == order
        allowed = ranked[:beam] if order <= beam else ranked[:order]
        assert set(sources) <= set(allowed)
    if count:
        assert bound[0] == tuple(ranked[:order])


@given(dictionaries())
@PROPS
def test_plan_size_counts_the_plan_before_it_is_built(data: dict[str, Any]) -> None:
    """Property: the closed-form count the planner refuses by equals the built plan."""
    from taskonomy.planner.pruning import plan_size
    from taskonomy.spec import resolve_tasks

    spec = Spec.model_validate(data)
    size = plan_size(spec, resolve_tasks(spec))
    plan = build_plan(spec)
    counts = plan.counts()
    assert size.total == len(plan)
    assert {str(k): v for k, v in size.transfers.items() if v} == counts["transfer"]
    assert size.evaluations == counts["evaluate"] and size.taxonomies == counts["taxonomy"]
