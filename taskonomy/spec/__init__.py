"""The experiment spec: what a user asks for, validated.

Build one in Python (``Spec(...)``) or load YAML (``load_spec(path, overrides)``).
"""

from taskonomy.budgets import parse_budgets
from taskonomy.spec.executor import ExecutorSpec, ResourceSpec
from taskonomy.spec.loading import (
    LoadedSpec,
    load_spec,
    loaded_from_python,
    parse_override,
    spec_from_mapping,
)
from taskonomy.spec.models import (
    DatasetSpec,
    ModelSpec,
    Spec,
    StageTraining,
    TaskSpec,
    TaxonomySpec,
    TrainingSpec,
    TransfersSpec,
)
from taskonomy.spec.rules import ResolvedTask, resolve_tasks
from taskonomy.spec.schema import spec_schema

__all__ = [
    "DatasetSpec",
    "ExecutorSpec",
    "LoadedSpec",
    "ModelSpec",
    "ResolvedTask",
    "ResourceSpec",
    "Spec",
    "StageTraining",
    "TaskSpec",
    "TaxonomySpec",
    "TrainingSpec",
    "TransfersSpec",
    "load_spec",
    "loaded_from_python",
    "parse_budgets",
    "parse_override",
    "resolve_tasks",
    "spec_from_mapping",
    "spec_schema",
]
