"""Spec -> job graph: typed jobs, pruning, cost model and dry-run views.

Nothing here imports torch, submitit or a solver.
"""

from taskonomy.kinds import JobKind
from taskonomy.planner.build import DEFAULT_RESOURCES, build_plan, derive_seed
from taskonomy.planner.graph import critical_path, execution_order, generations, to_graph
from taskonomy.planner.jobs import Job, JobState, Plan, Resources, job_hash
from taskonomy.planner.pruning import bind_slot, slot_count

__all__ = [
    "DEFAULT_RESOURCES",
    "Job",
    "JobKind",
    "JobState",
    "Plan",
    "Resources",
    "bind_slot",
    "build_plan",
    "critical_path",
    "derive_seed",
    "execution_order",
    "generations",
    "job_hash",
    "slot_count",
    "to_graph",
]
