"""The JSON Schema exported for editors."""

from __future__ import annotations

from taskonomy.spec import spec_schema


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
