"""CBC through PuLP, using the CBC binary PuLP bundles.

``PULP_CBC_CMD`` is deprecated in PuLP 3 (and its warning fails ``-W error`` test runs),
so this backend drives the same bundled binary through ``COIN_CMD(path=...)``, falling
back to a ``cbc`` on ``PATH`` where PuLP bundles none (PuLP 4 will not). Every solve is
a subprocess with temporary files (~30 ms); the PuLP model itself is built once.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, ClassVar

import numpy as np

from taskonomy.errors import SolverError
from taskonomy.solvers.backends._base import Backend, FloatArray, RawResult
from taskonomy.solvers.formulation import MilpModel
from taskonomy.solvers.result import SolveOptions, SolveStatus


def cbc_path() -> str | None:
    """The bundled CBC binary if PuLP ships one, else ``cbc`` on PATH."""
    from pulp.apis import coin_api

    bundled = getattr(coin_api, "pulp_cbc_path", None)
    if isinstance(bundled, str) and os.path.isfile(bundled) and os.access(bundled, os.X_OK):
        return bundled
    return shutil.which("cbc")


class CbcBackend(Backend):
    name: ClassVar[str] = "cbc"
    REQUIRED_MODULES: ClassVar[tuple[str, ...]] = ("pulp",)
    INSTALL: ClassVar[str] = "pulp"

    def __init__(self, model: MilpModel, options: SolveOptions) -> None:
        super().__init__(model, options)
        import pulp

        path = cbc_path()
        if path is None:
            raise SolverError(
                "cbc: PuLP bundles no CBC binary here and none is on PATH; install CBC "
                "(e.g. 'apt install coinor-cbc') or use another solver"
            )
        self._pulp = pulp
        # Tiny objective increment: CBC's default (1e-5) stops above real differences.
        self._solver = pulp.COIN_CMD(
            path=path,
            msg=False,
            gapRel=0.0,
            gapAbs=0.0,
            timeLimit=options.time_limit_s,
            threads=options.threads,
            warmStart=True,
            options=["increment 1e-10"],
        )
        prob = pulp.LpProblem("taxonomy", pulp.LpMaximize)
        # PuLP 3 attaches variables to the model (LpVariable(...) alone is deprecated).
        add = getattr(prob, "add_variable", None)
        if add is None:  # pragma: no cover - PuLP < 3

            def add(name: str, lo: float, hi: float, cat: str) -> Any:
                return pulp.LpVariable(name, lo, hi, cat=cat)

        xs = [add(f"v{j}", 0, 1, cat=pulp.LpBinary) for j in range(model.n_cols)]
        prob.setObjective(
            pulp.LpAffineExpression((xs[j], float(c)) for j, c in enumerate(model.c) if c)
        )
        for i in range(model.n_rows):
            lo, hi = model.indices_of(i)
            expr = pulp.LpAffineExpression(
                (xs[int(j)], float(v))
                for j, v in zip(model.a_indices[lo:hi], model.a_data[lo:hi], strict=True)
            )
            if model.row_lower[i] == model.row_upper[i]:
                con = expr == float(model.row_upper[i])
            else:
                con = expr <= float(min(model.row_upper[i], 1e30))
            prob.addConstraint(con, name=f"r{i}")
            if i == model.budget_row:
                self._budget: Any = con
        self._prob, self._xs = prob, xs

    def solve(
        self, budget: float, col_upper: FloatArray, warm_start: FloatArray | None
    ) -> RawResult:
        pulp = self._pulp
        self._budget.constant = -min(float(budget), 1e30)
        for var, ub in zip(self._xs, col_upper, strict=True):
            var.upBound = float(ub)
        if warm_start is not None:
            for var, value in zip(self._xs, warm_start, strict=True):
                var.setInitialValue(float(value))
        self._solver.optionsDict["warmStart"] = warm_start is not None
        start = time.perf_counter()
        try:
            self._prob.solve(self._solver)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"cbc failed: {exc}") from None
        seconds = time.perf_counter() - start
        status, sol = self._prob.status, self._prob.sol_status
        native = f"{pulp.LpStatus[status]} / {pulp.LpSolution.get(sol, sol)}"
        has_x = sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        x = np.array([v.varValue or 0.0 for v in self._xs]) if has_x else None
        obj = float(pulp.value(self._prob.objective) or 0.0) if has_x else None
        if status == pulp.LpStatusOptimal and sol == pulp.LpSolutionOptimal:
            return RawResult(SolveStatus.OPTIMAL, x, obj, 0.0, seconds, native)
        if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
            return RawResult(SolveStatus.INFEASIBLE, None, None, None, seconds, native)
        if sol == pulp.LpSolutionIntegerFeasible or (
            self.options.time_limit_s is not None and status == pulp.LpStatusNotSolved
        ):
            return RawResult(SolveStatus.TIME_LIMIT, x, obj, None, seconds, native)
        return RawResult(SolveStatus.ERROR, None, None, None, seconds, native)
