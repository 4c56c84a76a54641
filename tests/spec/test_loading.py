"""Spec files, overrides and the error messages users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskonomy.errors import SpecError
from taskonomy.spec import Spec, load_spec, parse_budgets, parse_override, resolve_tasks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
name: tiny
tasks:
  - rgb2depth
  - name: mist
    kind: rgb2mist
    importance: 2
  - {name: ae, kind: autoencoder, role: source}
transfers:
  max_order: 2
taxonomy:
  budgets: "1-3"
"""


def test_examples_validate() -> None:
    for name in ("mini.yaml", "taskonomy26.yaml"):
        loaded = load_spec(EXAMPLES / name)
        assert loaded.source == EXAMPLES / name
    paper = load_spec(EXAMPLES / "taskonomy26.yaml").spec
    tasks = resolve_tasks(paper)
    assert len(tasks) == 26
    assert sum(t.is_target for t in tasks) == 22
    assert {t.name for t in tasks if not t.is_target} == {
        "colorization",
        "jigsaw",
        "inpainting",
        "random_projection",
    }


def test_defaults_come_from_the_task_bank(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, GOOD))
    tasks = {t.name: t for t in resolve_tasks(loaded.spec)}
    assert tasks["ae"].label_cost == 0.0  # self-supervised
    assert tasks["rgb2depth"].label_cost == 1.0
    assert tasks["mist"].importance == 2.0
    assert tasks["ae"].is_source and not tasks["ae"].is_target
    assert loaded.spec.taxonomy.budgets == [1.0, 2.0, 3.0]
    assert loaded.workdir == (tmp_path / "work" / "tiny").resolve()


def test_workdir_relative_to_spec_file_and_explicit(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "workdir: runs/x\n")
    assert load_spec(path).workdir == (tmp_path / "runs" / "x").resolve()
    assert load_spec(path, workdir=tmp_path / "other").workdir == (tmp_path / "other").resolve()


def test_unknown_task_names_line_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\ntasks:\n  - rgb2depth\n  - name: d\n    kind: rgb2dpeth\n")
    with pytest.raises(
        SpecError,
        match=r"tasks\.1\.kind \(line 5\): unknown task 'rgb2dpeth'; "
        r"did you mean 'rgb2depth'\?",
    ) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    assert "package.module:OBJECT" in str(info.value)


def test_unknown_key_suggests_and_lists_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("max_order: 2", "max_ordr: 2"))
    with pytest.raises(
        SpecError,
        match=r"transfers\.max_ordr \(line 9\): unknown key 'max_ordr'; "
        r"did you mean 'max_order'\? Valid keys here: .*beam",
    ):
        load_spec(path)


def test_bad_choice_lists_choices(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "executor:\n  kind: slurmm\n")
    with pytest.raises(
        SpecError,
        match=r"executor\.kind \(line 13\): 'slurmm' is not allowed; "
        r"did you mean 'slurm'\? Choose one of: local, slurm",
    ):
        load_spec(path)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = GOOD + "executor:\n  kind: nope\ndataset:\n  image_size: 8\n"
    with pytest.raises(SpecError, match=r"\(2 problems\)") as info:
        load_spec(write(tmp_path, text))
    assert "executor.kind" in str(info.value) and "dataset.image_size" in str(info.value)


def test_cross_field_rule_points_at_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  orders: [1, 3]\n")
    with pytest.raises(
        SpecError,
        match=r"taxonomy\.orders\.1 \(line 12\): taxonomy order 3 "
        r"exceeds transfers\.max_order 2",
    ):
        load_spec(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: t\ntasks: [rgb2depth, rgb2depth]\n", r"tasks\.1\.name.*listed twice"),
        ("name: t\ntasks: [random_projection, rgb2depth]\ntasks_: 1\n", r"unknown key 'tasks_'"),
        (
            "name: t\ntasks:\n  - {name: r, kind: random_projection, role: target}\n"
            "  - rgb2depth\n",
            r"tasks\.0\.role.*can only be a source",
        ),
        ("name: t\ntasks: [ego_motion, rgb2depth]\n", r"needs the real Taskonomy data"),
        ("name: t\ntasks: [rgb2depth, self]\n", r"reserved for a baseline"),
        ("name: t\ntasks: [rgb2depth, a__b]\n", r"single underscores"),
        ("name: t\ntasks: [rgb2depth]\n", r"tasks.*at least 2"),
        (
            "name: t\ntasks: [rgb2depth, rgb2mist]\ndataset: {kind: taskonomy}\n",
            r"needs dataset\.root",
        ),
        ("name: t\ntasks: [rgb2depth, rgb2mist]\ntaxonomy: {budgets: '5-1'}\n", r"is empty"),
        (
            "name: t\ntasks: [rgb2depth, rgb2mist]\ntraining: {encoder: {steps: 1, epochs: 1}}\n",
            r"either steps or epochs",
        ),
        (
            "name: t\ntasks:\n  - {name: x, kind: 'no.such.module:THING'}\n  - rgb2depth\n",
            r"cannot import module 'no\.such\.module'",
        ),
        (
            "name: t\ntasks:\n  - {name: x, kind: 'not a path'}\n  - rgb2depth\n",
            r"unknown task 'not a path'",
        ),
        (
            "name: t\ntasks: [rgb2depth, rgb2mist]\ndataset: {image_size: 16}\n"
            "model: {encoder: {blocks: [1]}, representation: {size: 4}}\n",
            r"model\.representation\.size.*reaches stride at most 2.*add a stage",
        ),
        (
            "name: t\ntasks: [rgb2depth, rgb2mist]\nmodel: {representation: {size: 24}}\n",
            r"must be a power of two",
        ),
        (
            "name: t\ntasks: [rgb2depth, rgb2mist]\nexecutor: {slurm_oom_mem_factor: 0.5}\n",
            r"executor\.slurm_oom_mem_factor",
        ),
    ],
)
def test_invalid_specs(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(write(tmp_path, text))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError,
        match=r"spec\.yaml: line 3: while parsing a flow sequence; line 4, column 1: expected",
    ):
        load_spec(write(tmp_path, "name: t\ntasks:\n  - [unclosed\n"))


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"duplicate key|found duplicate"):
        load_spec(write(tmp_path, "name: t\nname: u\ntasks: [rgb2depth, rgb2mist]\n"))


def test_yaml_cannot_construct_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = (
        f"name: !!python/object/apply:os.system ['touch {marker}']\ntasks: [rgb2depth, reshade]\n"
    )
    with pytest.raises(SpecError):
        load_spec(write(tmp_path, text))
    assert not marker.exists()


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="a spec is a YAML mapping"):
        load_spec(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "absent.yaml")


def test_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    spec = load_spec(
        path,
        [
            "transfers.max_order=3",
            "executor.kind=slurm",
            "tasks.mist.role=target",
            "tasks.0.label_cost=2.5",
            "taxonomy.budgets=[1, 4]",
            "dataset.splits.test=10",
        ],
    ).spec
    assert spec.transfers.max_order == 3
    assert spec.executor.kind == "slurm"
    assert spec.tasks[1].role == "target"
    assert spec.tasks[0].label_cost == 2.5 and spec.tasks[0].name == "rgb2depth"
    assert spec.taxonomy.budgets == [1.0, 4.0]
    assert spec.dataset.splits.test == 10


def test_bad_override_names_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(
        SpecError,
        match=r"transfers\.max_order \(set by override "
        r"'transfers\.max_order=0'\)",
    ):
        load_spec(path, ["transfers.max_order=0"])
    with pytest.raises(SpecError, match=r"not of the form dotted\.key=value"):
        load_spec(path, ["transfers.max_order"])
    with pytest.raises(SpecError, match=r"no list item is named 'nope'"):
        load_spec(path, ["tasks.nope.role=source"])
    with pytest.raises(SpecError, match=r"max_ordr \(set by override .*unknown key 'max_ordr'"):
        load_spec(path, ["transfers.max_ordr=2"])


def test_parse_override_values() -> None:
    assert parse_override("a.b=3") == (("a", "b"), 3)
    assert parse_override("a.0=x") == (("a", 0), "x")
    assert parse_override("a=[1, 2]") == (("a",), [1, 2])
    assert parse_override("a=null") == (("a",), None)


def test_parse_budgets() -> None:
    assert parse_budgets("1-4") == [1.0, 2.0, 3.0, 4.0]
    assert parse_budgets("2-10:4") == [2.0, 6.0, 10.0]
    assert parse_budgets("1,3,5") == [1.0, 3.0, 5.0]
    assert parse_budgets(7) == [7.0]
    with pytest.raises(ValueError, match="cannot read budgets"):
        parse_budgets("a-b")


def test_python_built_spec_equals_yaml(tmp_path: Path) -> None:
    from_yaml = load_spec(write(tmp_path, GOOD)).spec
    built = Spec(
        name="tiny",
        tasks=[
            "rgb2depth",
            {"name": "mist", "kind": "rgb2mist", "importance": 2},
            {"name": "ae", "kind": "autoencoder", "role": "source"},
        ],
        transfers={"max_order": 2},
        taxonomy={"budgets": "1-3"},
    )
    assert built == from_yaml


def test_spec_is_frozen() -> None:
    spec = Spec(name="t", tasks=["rgb2depth", "reshade"])
    with pytest.raises(ValueError, match="frozen"):
        spec.name = "u"  # type: ignore[misc]
