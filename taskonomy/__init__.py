"""taskonomy: the Taskonomy method (Zamir et al., CVPR 2018) as a tool.

The public API is deliberately small; everything else is importable but private.
Importing this package has no side effects and does not import torch.
"""

from __future__ import annotations

from taskonomy.errors import (
    AffinityError,
    ExecutionError,
    PlanError,
    SolverError,
    SpecError,
    TaskonomyError,
)

__version__ = "0.1.0"

__all__ = [
    "AffinityError",
    "ExecutionError",
    "PlanError",
    "SolverError",
    "SpecError",
    "TaskonomyError",
    "__version__",
]
