"""JSON Schema of the spec, for editors (e.g. the YAML language server)."""

from __future__ import annotations

from typing import Any

from taskonomy.spec.models import Spec


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec file."""
    schema = Spec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "taskonomy experiment spec"
    return schema
