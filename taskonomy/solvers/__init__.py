"""Stage IV: the taxonomy BIP, its backends (HiGHS, Gurobi, CBC) and sweeps.

Nothing here imports torch, and no solver package is imported until a backend is used.
"""

from __future__ import annotations

from taskonomy.solvers.api import solve, solve_many, solve_sweep
from taskonomy.solvers.certificate import CertificateError, certify
from taskonomy.solvers.formulation import Form, MilpModel, build_model, nondominated
from taskonomy.solvers.output import (
    CurvePoint,
    budget_curve,
    json_lines,
    solution_from_dict,
    solution_to_dict,
    solutions_to_dot,
    solutions_to_json,
    solutions_to_text,
)
from taskonomy.solvers.problem import Edge, TaxonomyProblem
from taskonomy.solvers.registry import BACKENDS, available_solvers, get_backend, open_solvers
from taskonomy.solvers.result import Solution, SolveOptions, SolveStatus

__all__ = [
    "BACKENDS",
    "CertificateError",
    "CurvePoint",
    "Edge",
    "Form",
    "MilpModel",
    "Solution",
    "SolveOptions",
    "SolveStatus",
    "TaxonomyProblem",
    "available_solvers",
    "budget_curve",
    "build_model",
    "certify",
    "get_backend",
    "json_lines",
    "nondominated",
    "open_solvers",
    "solution_from_dict",
    "solution_to_dict",
    "solutions_to_dot",
    "solutions_to_json",
    "solutions_to_text",
    "solve",
    "solve_many",
    "solve_sweep",
]
