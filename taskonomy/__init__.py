"""taskonomy: the Taskonomy method (Zamir et al., CVPR 2018) as a tool.

The public API is small: build or load a spec, plan it, run it; load affinities (your
run's or the paper's), draw the similarity tree, solve taxonomies, write a report.
Everything else is importable from its subpackage but private. Names are imported when
first used, so ``import taskonomy`` stays light and never imports torch.

    import taskonomy as tx
    loaded = tx.load_spec("examples/mini.yaml")
    plan = tx.build_plan(loaded.spec)          # the dry run, as a value
    summary = tx.run(loaded)                   # the whole chain, resumable
    table, winrates = tx.load_published("paper:16k")
    best = tx.solve_sweep(table, budgets=range(1, 28), orders=[1, 2])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskonomy.errors import (
    AffinityError,
    ExecutionError,
    PlanError,
    SolverError,
    SpecError,
    TaskonomyError,
)

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    # the spec (what a user asks for)
    "Spec": "taskonomy.spec",
    "TaskSpec": "taskonomy.spec",
    "DatasetSpec": "taskonomy.spec",
    "ModelSpec": "taskonomy.spec",
    "TrainingSpec": "taskonomy.spec",
    "StageTraining": "taskonomy.spec",
    "TransfersSpec": "taskonomy.spec",
    "TaxonomySpec": "taskonomy.spec",
    "ExecutorSpec": "taskonomy.spec",
    "TaskInfo": "taskonomy.tasks",
    "load_spec": "taskonomy.spec",
    # plan and run
    "build_plan": "taskonomy.planner",
    "run": "taskonomy.api",
    # affinities, the tree, taxonomies, reports
    "AffinityTable": "taskonomy.affinity",
    "load_affinities": "taskonomy.affinity",
    "load_published": "taskonomy.api",
    "similarity_tree": "taskonomy.affinity",
    "TaxonomyProblem": "taskonomy.solvers",
    "SolveOptions": "taskonomy.solvers",
    "solve": "taskonomy.solvers",
    "solve_sweep": "taskonomy.solvers",
    "write_report": "taskonomy.reports",
}

__all__ = [
    "AffinityError",
    "AffinityTable",
    "DatasetSpec",
    "ExecutionError",
    "ExecutorSpec",
    "ModelSpec",
    "PlanError",
    "SolveOptions",
    "SolverError",
    "Spec",
    "SpecError",
    "StageTraining",
    "TaskInfo",
    "TaskSpec",
    "TaskonomyError",
    "TaxonomyProblem",
    "TaxonomySpec",
    "TrainingSpec",
    "TransfersSpec",
    "__version__",
    "build_plan",
    "load_affinities",
    "load_published",
    "load_spec",
    "run",
    "similarity_tree",
    "solve",
    "solve_sweep",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'taskonomy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from taskonomy.affinity import AffinityTable, load_affinities, similarity_tree
    from taskonomy.api import load_published, run
    from taskonomy.planner import build_plan
    from taskonomy.reports import write_report
    from taskonomy.solvers import SolveOptions, TaxonomyProblem, solve, solve_sweep
    from taskonomy.spec import (
        DatasetSpec,
        ExecutorSpec,
        ModelSpec,
        Spec,
        StageTraining,
        TaskSpec,
        TaxonomySpec,
        TrainingSpec,
        TransfersSpec,
        load_spec,
    )
    from taskonomy.tasks import TaskInfo
