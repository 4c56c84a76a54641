"""Gurobi through gurobipy: the user's licence if present, else the pip size-limited one."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from taskonomy.errors import SolverError
from taskonomy.solvers.backends._base import Backend, FloatArray, RawResult
from taskonomy.solvers.formulation import MilpModel
from taskonomy.solvers.result import SolveOptions, SolveStatus

#: gurobipy's error code when a model exceeds the size-limited licence.
SIZE_LIMIT_ERROR = 10010
#: The pip licence's limits (variables and linear constraints).
PIP_LICENCE_LIMIT = 2000


def size_limit_message(model: MilpModel) -> str:
    return (
        f"gurobi: this model has {model.n_cols:,} variables and {model.n_rows:,} "
        f"constraints, over the size-limited licence shipped with the gurobipy wheel "
        f"(at most {PIP_LICENCE_LIMIT:,} variables and {PIP_LICENCE_LIMIT:,} constraints). "
        "Use an open backend (highs, cbc), both installed with taskonomy (--solver highs), "
        "the 'target-source' constraint form, or install a full Gurobi licence (gurobi.lic)"
    )


class GurobiBackend(Backend):
    name: ClassVar[str] = "gurobi"
    REQUIRED_MODULES: ClassVar[tuple[str, ...]] = ("gurobipy",)
    INSTALL: ClassVar[str] = "gurobipy"
    OPEN_SOURCE: ClassVar[bool] = False

    def __init__(self, model: MilpModel, options: SolveOptions) -> None:
        super().__init__(model, options)
        import gurobipy as gp
        import scipy.sparse as sp

        self._gp = gp
        try:
            # An empty environment with console output off: no licence banner.
            env = gp.Env(empty=True)
            env.setParam("OutputFlag", 0)
            env.start()
        except gp.GurobiError as exc:
            raise SolverError(f"gurobi could not start: {exc}") from None
        self._env = env
        m = gp.Model(env=env)
        m.Params.MIPGap = 0.0
        m.Params.MIPGapAbs = 0.0
        if options.time_limit_s is not None:
            m.Params.TimeLimit = float(options.time_limit_s)
        if options.threads is not None:
            m.Params.Threads = int(options.threads)
        x = m.addMVar(model.n_cols, vtype=gp.GRB.BINARY, ub=model.col_upper)
        a = sp.csr_matrix(
            (model.a_data, model.a_indices, model.a_indptr), shape=(model.n_rows, model.n_cols)
        )
        equal = model.row_lower == model.row_upper
        sense = np.where(equal, gp.GRB.EQUAL, gp.GRB.LESS_EQUAL)
        constrs = m.addMConstr(a, x, sense, model.row_upper)
        m.setObjective(model.c @ x, gp.GRB.MAXIMIZE)
        self._m, self._x = m, x
        self._budget = constrs.tolist()[model.budget_row]

    def solve(
        self, budget: float, col_upper: FloatArray, warm_start: FloatArray | None
    ) -> RawResult:
        gp, m = self._gp, self._m
        self._budget.RHS = float(budget)
        self._x.setAttr("UB", col_upper)
        undefined = np.full(col_upper.size, gp.GRB.UNDEFINED)
        self._x.setAttr("Start", warm_start if warm_start is not None else undefined)
        start = time.perf_counter()
        try:
            m.optimize()
        except gp.GurobiError as exc:
            if exc.errno == SIZE_LIMIT_ERROR:
                raise SolverError(size_limit_message(self.model)) from None
            raise SolverError(f"gurobi failed: {exc}") from None
        seconds = time.perf_counter() - start
        GRB: Any = gp.GRB
        native = str(m.Status)
        has_x = m.SolCount > 0
        x = np.asarray(self._x.X, dtype=np.float64) if has_x else None
        obj = float(m.ObjVal) if has_x else None
        gap = float(m.MIPGap) if has_x else None
        if m.Status == GRB.OPTIMAL:
            return RawResult(SolveStatus.OPTIMAL, x, obj, gap, seconds, native)
        if m.Status in (GRB.INFEASIBLE, GRB.INF_OR_UNBD):
            return RawResult(SolveStatus.INFEASIBLE, None, None, None, seconds, native)
        if m.Status == GRB.TIME_LIMIT:
            return RawResult(SolveStatus.TIME_LIMIT, x, obj, gap, seconds, native)
        return RawResult(SolveStatus.ERROR, None, None, None, seconds, f"status {native}")

    def close(self) -> None:
        self._m.dispose()
        self._env.dispose()
