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
from taskonomy.solvers.certificate import CertificateError, certify, tolerance
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
        self._min_cost: dict[int, tuple[float, dict[str, list[Edge]]] | None] = {}
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
        self._total_cost = math.fsum(costs.values())
        index = {t: i for i, t in enumerate(problem.targets)}
        self._col_target = np.array([index[e.target] for e in self.columns], dtype=np.int64)

    def col_upper(self, budget: float, order: int) -> FloatArray:
        """Upper bounds for an instance: 0 for edges above the order or whose sources
        alone cost more than the budget (exact; it spares the solver finding out)."""
        ub = self.model.col_upper_for(order)
        ub[: len(self.columns)][self._need_cost > budget + tolerance(budget)] = 0.0
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

    def unaffordable(self, budget: float, order: int) -> list[str]:
        """Targets none of whose candidate columns fits ``budget`` at ``order`` (a proof
        of infeasibility that needs no solver)."""
        open_cols = self.col_upper(budget, order)[: len(self.columns)] > 0.5
        reachable = np.zeros(len(self.problem.targets), dtype=bool)
        reachable[self._col_target[open_cols]] = True
        return [t for t, ok in zip(self.problem.targets, reachable, strict=True) if not ok]

    def _cheapest_need(self, target: str, order: int) -> float:
        costs = [c for e, c in zip(self.columns, self._need_cost, strict=True)
                 if e.target == target and e.order <= order]  # fmt: skip
        return float(min(costs, default=math.inf))

    def run(self, budget: float, order: int, warm: FloatArray | None = None) -> Solution:
        inst = self.problem.with_limits(budget, order)
        name = self.backend_cls.name
        if inst.uncoverable:
            return Solution(
                budget, order, name, SolveStatus.INFEASIBLE,
                reason=f"targets {', '.join(inst.uncoverable)} have no candidate transfer "
                f"of order <= {order} (scratch/pixels is not a taxonomy edge)",
            )  # fmt: skip
        short = self.unaffordable(budget, order)
        if short:
            cheapest = max(self._cheapest_need(t, order) for t in short)
            return Solution(
                budget, order, name, SolveStatus.INFEASIBLE,
                reason=f"budget {budget:g} cannot cover targets {', '.join(short)}: each of "
                f"their transfers of order <= {order} needs sources whose label cost is "
                f"above the budget (the cheapest needs {cheapest:g})",
            )  # fmt: skip
        raw = self.backend.solve(self.solver_budget(budget), self.col_upper(budget, order), warm)
        if raw.status is SolveStatus.INFEASIBLE:
            return self._check_infeasible(inst, raw)
        if raw.x is None:
            why = (
                f"time limit {self.options.time_limit_s:g} s reached before {name} found a "
                "solution (feasibility not proven either way)"
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

    def solver_budget(self, budget: float) -> float:
        """The budget bound given to the backend: a budget above the total label cost does
        not bind, and passing the total instead keeps huge numbers out of the solver."""
        return min(float(budget), self._total_cost + 1.0)

    def _decode(self, inst: TaxonomyProblem, raw: RawResult) -> Solution:
        assert raw.x is not None
        x = raw.x
        chosen: dict[str, list[Edge]] = {t: [] for t in inst.targets}
        for j in np.flatnonzero(x[: len(self.columns)] > 0.5):
            e = self.columns[j]
            chosen[e.target].append(e)
        on = [s for s, j in self._ycol.items() if x[j] > 0.5]
        certify(inst, chosen, on, raw.objective)  # what the backend returned
        return self._canonical(inst, chosen, raw)

    def _canonical(
        self, inst: TaxonomyProblem, chosen: dict[str, list[Edge]], raw: RawResult,
        status: SolveStatus | None = None, reason: str | None = None,
    ) -> Solution:  # fmt: skip
        """Canonical form: sources implied by the chosen edges, and per target the best
        edge those sources allow, ties broken by order then names (deterministic across
        backends; it can only raise the objective)."""
        implied = {s for edges in chosen.values() for s in edges[0].needs}
        k = inst.max_order
        best = {
            t: next(e for e in self._ranked[t] if e.order <= k and implied.issuperset(e.needs))
            for t in inst.targets
        }
        supervised = sorted({s for e in best.values() for s in e.needs})
        objective = certify(inst, {t: [e] for t, e in best.items()}, supervised)
        if raw.objective is not None and objective < raw.objective - tolerance(objective):
            raise CertificateError("canonicalisation lowered the objective")  # pragma: no cover
        status = raw.status if status is None else status
        if reason is None and status is SolveStatus.TIME_LIMIT:
            known = raw.gap is not None and math.isfinite(raw.gap)
            gap = f" (gap {raw.gap:.3g})" if known else ""
            reason = (
                f"time limit {self.options.time_limit_s:g} s reached: the best solution "
                f"found, not proven optimal{gap}"
            )
        return Solution(
            budget=inst.budget,
            max_order=inst.max_order,
            solver=self.backend_cls.name,
            status=status,
            objective=objective,
            gap=raw.gap if raw.gap is not None and math.isfinite(raw.gap) else None,
            solve_seconds=raw.seconds,
            supervised=supervised,
            edges={t: list(best[t].sources) for t in inst.targets},
            cost=math.fsum(inst.label_costs[s] for s in supervised),
            reason=reason,
        )

    def _aux(self, inst: TaxonomyProblem, **kw: object) -> RawResult:
        model = build_model(inst, self.form, edges=self.columns, **kw)  # type: ignore[arg-type]
        backend = self.backend_cls(model, self.options)
        try:
            budget = model.row_upper[model.budget_row]
            return backend.solve(self.solver_budget(budget), model.col_upper, None)
        finally:
            backend.close()

    def _min_cover(self, inst: TaxonomyProblem) -> tuple[float, dict[str, list[Edge]]] | None:
        """The cheapest full cover at ``inst``'s order, proven optimal, as (label cost of
        the sources its edges need, its edges); None when the backend proved nothing."""
        k = inst.max_order
        if k not in self._min_cost:
            found = None
            try:
                raw = self._aux(inst, objective="min-cost", with_budget=False)
            except SolverError:
                raw = None
            if raw is not None and raw.status is SolveStatus.OPTIMAL and raw.x is not None:
                x = raw.x
                chosen: dict[str, list[Edge]] = {t: [] for t in inst.targets}
                for j in np.flatnonzero(x[: len(self.columns)] > 0.5):
                    chosen[self.columns[j].target].append(self.columns[j])
                if all(len(edges) == 1 for edges in chosen.values()):
                    needs = {s for edges in chosen.values() for s in edges[0].needs}
                    found = (math.fsum(inst.label_costs[s] for s in needs), chosen)
            self._min_cost[k] = found
        return self._min_cost[k]

    def _check_infeasible(self, inst: TaxonomyProblem, raw: RawResult) -> Solution:
        """A backend's "infeasible", kept only when proven: the cheapest full cover
        (solved to proven optimality) must cost more than the budget. Otherwise the claim
        was wrong (CBC says "integer infeasible" when a time limit stops it): that cover
        is returned as the best solution found, under the time-limit status."""
        name = self.backend_cls.name
        b, k = inst.budget, inst.max_order
        limited = self.options.time_limit_s is not None
        cover = self._min_cover(inst)
        if cover is None:
            status = SolveStatus.TIME_LIMIT if limited else SolveStatus.ERROR
            why = (
                f"time limit {self.options.time_limit_s:g} s reached before {name} proved "
                f"budget {b:g} feasible or infeasible"
                if limited
                else f"{name} reported budget {b:g} infeasible but could not prove it "
                f"({raw.native})"
            )
            return Solution(b, k, name, status, solve_seconds=raw.seconds, reason=why)
        cost, chosen = cover
        if cost <= b + tolerance(b):
            status = SolveStatus.TIME_LIMIT if limited else SolveStatus.ERROR
            why = (
                f"{name} stopped at the time limit with no proof (it reported "
                f"{raw.native!r}); a cover of label cost {cost:g} fits budget {b:g}, shown "
                "here, not proven optimal"
            )
            fallback = RawResult(status, None, None, None, raw.seconds, raw.native)
            return self._canonical(inst, chosen, fallback, status, why)
        return Solution(
            b, k, name, SolveStatus.INFEASIBLE, solve_seconds=raw.seconds,
            reason=self.explain(inst, cost),
        )  # fmt: skip

    def explain(self, inst: TaxonomyProblem, cheapest_cost: float) -> str:
        """Why ``inst`` is infeasible, proven by the cheapest full cover costing more than
        the budget: the targets no affordable source set covers, where the backend can
        name them."""
        b, k = inst.budget, inst.max_order
        proof = f"covering every target needs a label budget of {cheapest_cost:g}"
        try:
            cover = self._aux(inst, objective="coverage", cover_exactly=False)
        except SolverError:
            cover = None
        missing: list[str] = []
        if cover is not None and cover.status is SolveStatus.OPTIMAL and cover.x is not None:
            x = cover.x
            covered = {e.target for e, j in self._col.items() if x[j] > 0.5}
            missing = [t for t in inst.targets if t not in covered]
        if not missing:
            return f"budget {b:g} at max order {k} is infeasible: {proof}"
        return (
            f"budget {b:g} cannot cover targets {', '.join(missing)} that have no "
            f"transfer of order <= {k} from a supervised source ({proof})"
        )


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
