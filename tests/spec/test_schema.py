"""The JSON Schema exported for editors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from taskonomy.errors import SpecError
from taskonomy.spec import load_spec, spec_from_mapping, spec_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_schema_describes_every_section() -> None:
    schema = spec_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["required"] == ["name", "tasks"]
    props = schema["properties"]
    for key in ("tasks", "dataset", "model", "training", "transfers", "taxonomy", "executor"):
        assert key in props
    defs = schema["$defs"]
    assert defs["ExecutorSpec"]["properties"]["kind"]["enum"] == ["local", "slurm"]
    assert defs["Baselines"]["properties"]["self"]["type"] == "boolean"  # alias, as users write it
    assert defs["ExecutorSpec"]["additionalProperties"] is False


def _walk_properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [(f"(top).{k}", v) for k, v in schema["properties"].items()]
    for name, model in schema["$defs"].items():
        out += [(f"{name}.{k}", v) for k, v in model.get("properties", {}).items()]
    return out


def test_schema_describes_every_field() -> None:
    props = _walk_properties(spec_schema())
    assert len(props) > 60
    missing = [name for name, prop in props if not prop.get("description", "").strip()]
    assert not missing, missing
    models = spec_schema()["$defs"]
    assert all(m.get("description") for m in models.values() if m.get("type") == "object")


def _as_json(data: Any) -> Any:
    """YAML data as an editor's YAML plugin hands it to a JSON Schema validator."""
    return json.loads(json.dumps(data))


def _yaml_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yml"))
    assert len(files) >= 2
    return files


def test_every_example_validates_against_the_schema() -> None:
    validator = Draft202012Validator(spec_schema())
    for path in _yaml_files():
        data = _as_json(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")))
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (path.name, errors)
        load_spec(path)  # and the loader takes it too
    # the Python example, as the spec.json a run writes
    module_spec = importlib.util.spec_from_file_location("example_spec", EXAMPLES / "spec.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    dumped = _as_json(module.mini_spec().model_dump(mode="json", by_alias=True))
    assert not list(validator.iter_errors(dumped))


ACCEPTED = [
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"]},
    {"name": "t", "tasks": ["rgb2depth", {"name": "m", "kind": "rgb2mist"}]},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "taxonomy": {"budgets": "1-6"}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "taxonomy": {"budgets": 3}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "taxonomy": {"budgets": [1, 2.5]}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "transfers": {"beam_per_order": {"2": 3}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "transfers": {"baselines": {"self": False}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "executor": {"resources": {"encoder": {}}}},
]
REJECTED = [
    {"name": "t", "tasks": ["rgb2depth"]},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "zzz": 1},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "dataset": {"splits": {"test": True}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "dataset": {"splits": {"test": 0}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "taxonomy": {"budgets": []}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "taxonomy": {"orders": []}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "taxonomy": {"orders": [9]}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "transfers": {"baselines": {"self_": 1}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "executor": {"gpus": 1}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "executor": {"resources": {"x": {}}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "executor": {"slurm_partition": "a\nb"}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "training": {"encoder": {"lr": 100}}},
    {"name": "t", "tasks": ["rgb2depth", "rgb2mist"], "max_jobs": 0},
]


def test_schema_and_loader_agree() -> None:
    """What the schema accepts the loader accepts, and the same for what they reject."""
    validator = Draft202012Validator(spec_schema())
    for data in ACCEPTED:
        assert not list(validator.iter_errors(data)), data
        spec_from_mapping(data)
    for data in REJECTED:
        assert list(validator.iter_errors(data)), data
        with pytest.raises(SpecError, match=r"invalid spec"):
            spec_from_mapping(data)
