"""HiGHS through highspy: the model is passed once and re-solved in place."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from typing import Any, ClassVar

import numpy as np

from taskonomy.errors import SolverError
from taskonomy.solvers.backends._base import Backend, FloatArray, RawResult
from taskonomy.solvers.formulation import MilpModel
from taskonomy.solvers.result import SolveOptions, SolveStatus

_banner_silenced = False


def _new_highs() -> Any:
    """A ``highspy.Highs``; the first one per process prints a banner on C stdout.

    That banner would corrupt ``--format json`` output, so the first construction runs
    with file descriptor 1 pointed at /dev/null (C stdio flushed before restoring).
    """
    global _banner_silenced
    import highspy

    make: Any = highspy.Highs
    if _banner_silenced:
        return make()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)
        try:
            return make()
        finally:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _banner_silenced = True


class HighsBackend(Backend):
    """Two HiGHS instances over one model: the LP relaxation and the MIP.

    Each instance is first solved as an LP, re-using the previous simplex basis after
    the budget or order changed (milliseconds). The LP optimum bounds the BIP from
    above, so an integral LP solution is a proven optimum (gap 0); the target-source
    form's relaxation is integral on most taxonomy instances. Only fractional
    instances go to the MIP solver, warm-started from the previous solution.
    """

    name: ClassVar[str] = "highs"
    REQUIRED_MODULES: ClassVar[tuple[str, ...]] = ("highspy",)
    INSTALL: ClassVar[str] = "highspy"
    INTEGRALITY_TOL: ClassVar[float] = 1e-9
    #: Try the LP relaxation before the MIP (off: always branch and bound).
    LP_FIRST: ClassVar[bool] = True
    #: HiGHS options for the MIP instance only. Restarts and the sub-MIP heuristics
    #: (RINS, RENS, root reduced cost) cost more than they save here: the sweep's warm
    #: start is already a good incumbent, and on paper-sized instances these settings
    #: cut the hardest solves 3-10x (measured with benchmarks/solvers.py).
    MIP_OPTIONS: ClassVar[dict[str, bool | int | float | str]] = {
        "mip_allow_restart": False,
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        "mip_heuristic_run_root_reduced_cost": False,
    }

    def __init__(self, model: MilpModel, options: SolveOptions) -> None:
        super().__init__(model, options)
        import highspy

        self._hs = highspy
        self._lp = self._load(model, options, integer=False)
        self._mip = self._load(model, options, integer=True)
        self._col_upper = model.col_upper.copy()

    def _load(self, model: MilpModel, options: SolveOptions, integer: bool) -> Any:
        hs = self._hs
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
        if options.time_limit_s is not None:
            h.setOptionValue("time_limit", float(options.time_limit_s))
        if options.threads is not None:
            h.setOptionValue("threads", int(options.threads))
            # HiGHS fixes its thread pool at first use; a new count needs a new pool.
            h.resetGlobalScheduler(True)
        inf = hs.kHighsInf
        lp = hs.HighsLp()
        lp.num_col_ = model.n_cols
        lp.num_row_ = model.n_rows
        lp.col_cost_ = model.c
        lp.col_lower_ = np.zeros(model.n_cols)
        lp.col_upper_ = model.col_upper
        lp.row_lower_ = np.where(np.isinf(model.row_lower), -inf, model.row_lower)
        lp.row_upper_ = np.where(np.isinf(model.row_upper), inf, model.row_upper)
        lp.sense_ = hs.ObjSense.kMaximize
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = model.n_cols
        lp.a_matrix_.num_row_ = model.n_rows
        lp.a_matrix_.start_ = model.a_indptr.astype(np.int32)
        lp.a_matrix_.index_ = model.a_indices.astype(np.int32)
        lp.a_matrix_.value_ = model.a_data
        if integer:
            for key, value in self.MIP_OPTIONS.items():
                h.setOptionValue(key, value)
            lp.integrality_ = [hs.HighsVarType.kInteger] * model.n_cols
        if h.passModel(lp) != hs.HighsStatus.kOk:
            raise SolverError("highs rejected the model (passModel failed)")
        return h

    def solve(
        self, budget: float, col_upper: FloatArray, warm_start: FloatArray | None
    ) -> RawResult:
        hs = self._hs
        changed = np.flatnonzero(col_upper != self._col_upper).astype(np.int32)
        for h in (self._lp, self._mip):
            h.changeRowBounds(self.model.budget_row, -hs.kHighsInf, float(budget))
            if changed.size:
                h.changeColsBounds(
                    changed.size, changed, np.zeros(changed.size), col_upper[changed]
                )
        self._col_upper = col_upper.copy()
        start = time.perf_counter()
        relaxed = self._solve_relaxation() if self.LP_FIRST else None
        if relaxed is not None:
            status, x, obj = relaxed
            seconds = time.perf_counter() - start
            return RawResult(status, x, obj, 0.0 if x is not None else None, seconds, "LP")
        result = self._solve_mip(warm_start)
        return RawResult(
            result.status,
            result.x,
            result.objective,
            result.gap,
            time.perf_counter() - start,
            result.native,
        )

    def _solve_relaxation(self) -> tuple[SolveStatus, FloatArray | None, float | None] | None:
        """Infeasible or integral-optimal from the LP alone, else None (go to the MIP)."""
        h, M = self._lp, self._hs.HighsModelStatus
        h.run()
        status = h.getModelStatus()
        if status == M.kInfeasible:
            return SolveStatus.INFEASIBLE, None, None
        if status != M.kOptimal:
            return None
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        rounded = np.round(x)
        if np.max(np.abs(x - rounded), initial=0.0) > self.INTEGRALITY_TOL:
            return None
        return SolveStatus.OPTIMAL, rounded, float(self.model.c @ rounded)

    def _solve_mip(self, warm_start: FloatArray | None) -> RawResult:
        hs, h = self._hs, self._mip
        if warm_start is not None:
            sol = hs.HighsSolution()
            sol.col_value = list(warm_start)
            sol.value_valid = True
            h.setSolution(sol)
        start = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - start
        status = h.getModelStatus()
        info = h.getInfo()
        native = h.modelStatusToString(status)
        M = hs.HighsModelStatus
        has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_x else None
        obj = float(info.objective_function_value) if has_x else None
        if status == M.kOptimal:
            return RawResult(SolveStatus.OPTIMAL, x, obj, float(info.mip_gap), seconds, native)
        if status == M.kInfeasible:
            return RawResult(SolveStatus.INFEASIBLE, None, None, None, seconds, native)
        if status == M.kTimeLimit:
            gap = float(info.mip_gap) if has_x else None
            return RawResult(SolveStatus.TIME_LIMIT, x, obj, gap, seconds, native)
        return RawResult(SolveStatus.ERROR, None, None, None, seconds, native)

    def close(self) -> None:
        self._lp.clear()
        self._mip.clear()
