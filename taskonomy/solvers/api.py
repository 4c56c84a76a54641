"""Solve one taxonomy or a sweep over budgets × orders with any backend."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

import numpy as np

from taskonomy.affinity.table import AffinityTable
from taskonomy.errors import SolverError
from taskonomy.solvers.backends._base import Backend, FloatArray, RawResult
from taskonomy.solvers.certificate import CertificateError, certify
from taskonomy.solvers.formulation import MilpModel, build_model, nondominated, parse_form
from taskonomy.solvers.problem import Edge, TaxonomyProblem
from taskonomy.solvers.registry import get_backend
from taskonomy.solvers.result import Solution, SolveOptions, SolveStatus

#: Solver options as :class:`SolveOptions`, a mapping of its fields, or an object with them.
OptionsLike = SolveOptions | Mapping[str, Any] | object | None


def _tie_key(problem: TaxonomyProblem, edge: Edge) -> tuple[float, int, tuple[str, ...]]:
    return (-problem.value(edge), edge.order, tuple(sorted(edge.sources)))


class _Runner:
    """One loaded model, re-solved for each (budget, order) with warm starts."""

    def __init__(self, problem: TaxonomyProblem, solver: str, options: OptionsLike) -> None:
        self.problem = problem
        self.options = SolveOptions.of(options)
        self.form = parse_form(self.options.form)
        self.backend_cls = get_backend(solver)
        self.columns = (
            nondominated(problem) if self.options.prune_dominated else problem.candidate_edges
        )
        self.model: MilpModel = build_model(problem, self.form, edges=self.columns)
        self._backend: Backend | None = None
        self._min_cost: dict[int, float | None] = {}
        self._col = {e: j for j, e in enumerate(self.columns)}
        # Every candidate into each target, best first under the deterministic tie-break.
        self._ranked = {
            t: sorted(edges, key=lambda e: _tie_key(problem, e))
            for t, edges in problem.by_target.items()
        }
        self._by_key = {(e.target, e.sources): j for e, j in self._col.items()}
        self._ycol = {s: len(self.columns) + i for i, s in enumerate(problem.sources)}
        costs = problem.label_costs
        self._need_cost = np.array([math.fsum(costs[s] for s in e.needs) for e in self.columns])

    def col_upper(self, budget: float, order: int) -> FloatArray:
        """Upper bounds for an instance: 0 for edges above the order or whose sources
        alone cost more than the budget (exact; it spares the solver finding out)."""
        ub = self.model.col_upper_for(order)
        ub[: len(self.columns)][self._need_cost > budget + 1e-9] = 0.0
        return ub

    def __enter__(self) -> _Runner:
        return self

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._backend is not None:
            self._backend.close()

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = self.backend_cls(self.model, self.options)
        return self._backend

    def vector(self, solution: Solution) -> FloatArray | None:
        """A solution as a column vector, for warm starts."""
        if not solution.edges:
            return None
        v = np.zeros(self.model.n_cols)
        for target, sources in solution.edges.items():
            j = self._by_key.get((target, tuple(sources)))
            if j is None:
                return None  # not a column (pruned): no warm start
            v[j] = 1.0
        for s in solution.supervised:
            v[self._ycol[s]] = 1.0
        return v

    def run(self, budget: float, order: int, warm: FloatArray | None = None) -> Solution:
        inst = self.problem.with_limits(budget, order)
        name = self.backend_cls.name
        if inst.uncoverable:
            return Solution(
                budget, order, name, SolveStatus.INFEASIBLE,
                reason=f"targets {', '.join(inst.uncoverable)} have no candidate transfer "
                f"of order <= {order} (scratch/pixels is not a taxonomy edge)",
            )  # fmt: skip
        raw = self.backend.solve(budget, self.col_upper(budget, order), warm)
        if raw.status is SolveStatus.INFEASIBLE:
            return Solution(
                budget, order, name, raw.status, solve_seconds=raw.seconds,
                reason=self.explain(inst),
            )  # fmt: skip
        if raw.x is None:
            why = (
                f"time limit {self.options.time_limit_s:g} s reached before a solution"
                if raw.status is SolveStatus.TIME_LIMIT
                else f"{name} failed: {raw.native}"
            )
            return Solution(budget, order, name, raw.status, solve_seconds=raw.seconds, reason=why)
        try:
            return self._decode(inst, raw)
        except CertificateError as exc:
            return Solution(
                budget, order, name, SolveStatus.ERROR, solve_seconds=raw.seconds,
                reason=f"{name}'s solution failed the certificate check: {exc}",
            )  # fmt: skip

    def _decode(self, inst: TaxonomyProblem, raw: RawResult) -> Solution:
        assert raw.x is not None
        x = raw.x
        chosen: dict[str, list[Edge]] = {t: [] for t in inst.targets}
        for j in np.flatnonzero(x[: len(self.columns)] > 0.5):
            e = self.columns[j]
            chosen[e.target].append(e)
        on = [s for s, j in self._ycol.items() if x[j] > 0.5]
        certify(inst, chosen, on, raw.objective)  # what the backend returned
        # Canonical form: sources implied by the chosen edges, and per target the best
        # edge those sources allow, ties broken by order then names (deterministic
        # across backends; it can only raise the objective).
        implied = {s for edges in chosen.values() for s in edges[0].needs}
        k = inst.max_order
        best = {
            t: next(e for e in self._ranked[t] if e.order <= k and implied.issuperset(e.needs))
            for t in inst.targets
        }
        supervised = sorted({s for e in best.values() for s in e.needs})
        objective = certify(inst, {t: [e] for t, e in best.items()}, supervised)
        if raw.objective is not None and objective < raw.objective - 1e-6:
            raise CertificateError("canonicalisation lowered the objective")  # pragma: no cover
        return Solution(
            budget=inst.budget,
            max_order=inst.max_order,
            solver=self.backend_cls.name,
            status=raw.status,
            objective=objective,
            gap=raw.gap,
            solve_seconds=raw.seconds,
            supervised=supervised,
            edges={t: list(best[t].sources) for t in inst.targets},
            cost=math.fsum(inst.label_costs[s] for s in supervised),
            reason=None if raw.status is SolveStatus.OPTIMAL else "time limit reached",
        )

    def _aux(self, inst: TaxonomyProblem, **kw: object) -> RawResult:
        model = build_model(inst, self.form, edges=self.columns, **kw)  # type: ignore[arg-type]
        backend = self.backend_cls(model, self.options)
        try:
            return backend.solve(model.row_upper[model.budget_row], model.col_upper, None)
        finally:
            backend.close()

    def explain(self, inst: TaxonomyProblem) -> str:
        """Why ``inst`` is infeasible: the targets no affordable source set can cover."""
        lead = f"budget {inst.budget:g} at max order {inst.max_order}"
        try:
            cover = self._aux(inst, objective="coverage", cover_exactly=False)
            if inst.max_order not in self._min_cost:
                cheapest = self._aux(inst, objective="min-cost", with_budget=False)
                ok = cheapest.status is SolveStatus.OPTIMAL and cheapest.objective is not None
                self._min_cost[inst.max_order] = -cheapest.objective if ok else None  # type: ignore[operator]
        except SolverError:
            return f"{lead} is infeasible"
        if cover.x is None:
            return f"{lead} is infeasible"
        covered = {e.target for e, j in self._col.items() if cover.x[j] > 0.5}
        missing = [t for t in inst.targets if t not in covered]
        text = (
            f"budget {inst.budget:g} cannot cover targets {', '.join(missing)} that have no "
            f"transfer of order <= {inst.max_order} from a supervised source"
        )
        cheapest_cost = self._min_cost.get(inst.max_order)
        if cheapest_cost is not None:
            text += f" (covering every target needs a label budget of {cheapest_cost:g})"
        return text


def solve(problem: TaxonomyProblem, solver: str = "auto", options: OptionsLike = None) -> Solution:
    """Solve one instance; infeasibility is a :class:`Solution`, not an exception."""
    with _Runner(problem, solver, options) as runner:
        return runner.run(problem.budget, problem.max_order)


def solve_sweep(
    table: AffinityTable,
    budgets: Iterable[float],
    orders: Iterable[int],
    label_costs: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    solver: str = "auto",
    options: OptionsLike = None,
) -> list[Solution]:
    """Solve every (budget, max order) pair with one model, warm-starting each instance.

    The model holds edges of the largest order; lower orders set the upper bound of
    higher-order edges to 0. Each instance is warm-started from the better of the
    solutions at the next smaller budget and the next lower order, both feasible for it.
    Instances whose models are identical (same budget, same open columns: a higher order
    whose edges were all pruned as dominated) are solved once. Returns the solutions
    sorted by budget, then order.
    """
    bs = sorted({float(b) for b in budgets})
    ks = sorted({int(k) for k in orders})
    if not bs or not ks:
        raise SolverError("a sweep needs at least one budget and one max order")
    base = TaxonomyProblem.from_table(table, label_costs, importance, ks[-1], bs[-1])
    out: dict[tuple[float, int], Solution] = {}
    with _Runner(base, solver, options) as runner:
        solved: dict[tuple[float, bytes], Solution] = {}
        for ki, k in enumerate(ks):
            for bi, b in enumerate(bs):
                same = (b, runner.col_upper(b, k).tobytes())
                if same in solved:
                    out[(b, k)] = replace(solved[same], max_order=k, solve_seconds=0.0)
                    continue
                prior = [
                    out.get((bs[bi - 1], k)) if bi else None,
                    out.get((b, ks[ki - 1])) if ki else None,
                ]
                found = [s for s in prior if s is not None and s.objective is not None]
                best = max(found, key=lambda s: s.objective or 0.0, default=None)
                warm = runner.vector(best) if best and runner.backend_cls.WARM_START else None
                out[(b, k)] = solved[same] = runner.run(b, k, warm)
    return [out[(b, k)] for b in bs for k in ks]


def solve_many(
    problem: TaxonomyProblem,
    pairs: Sequence[tuple[float, int]],
    solver: str = "auto",
    options: OptionsLike = None,
) -> list[Solution]:
    """Solve ``problem`` at each (budget, order) pair, cold, reusing one loaded model."""
    with _Runner(problem, solver, options) as runner:
        return [runner.run(b, k) for b, k in pairs]


__all__ = ["solve", "solve_many", "solve_sweep"]
