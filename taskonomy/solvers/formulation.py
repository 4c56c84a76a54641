"""The BIP of docs/method.md, Stage IV, as a sparse matrix model any backend can load.

Variables: ``x_e`` per candidate edge (all orders; edges above the instance's max order
get upper bound 0, so one model serves a whole sweep), then ``y_s`` per source.
Maximise ``Σ r_t p_e x_e`` subject to

* cover: ``Σ_{e→t} x_e = 1`` for every target;
* linking, in one of three forms with the same integer solutions:
  ``target-source`` (default, tightest and smallest): ``Σ_{e→t, s∈S_e} x_e ≤ y_s``,
  valid because exactly one edge enters ``t``;
  ``edge-source``: ``x_e ≤ y_s`` for every ``s ∈ S_e``;
  ``aggregated`` (the paper): ``|S_e| x_e ≤ Σ_{s∈S_e} y_s``;
* budget: ``Σ_s l_s y_s ≤ γ`` (always the last row, so sweeps change one bound).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from taskonomy.errors import SolverError
from taskonomy.solvers.problem import Edge, TaxonomyProblem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Form(enum.StrEnum):
    """Forms of the edge-needs-source constraint."""

    TARGET_SOURCE = "target-source"
    EDGE_SOURCE = "edge-source"
    AGGREGATED = "aggregated"


def parse_form(value: str) -> Form:
    try:
        return Form(value)
    except ValueError:
        choices = ", ".join(f.value for f in Form)
        raise SolverError(f"unknown constraint form {value!r}; choose one of {choices}") from None


@dataclass(frozen=True, eq=False)
class MilpModel:
    """``max c·v  s.t.  row_lower ≤ A v ≤ row_upper, 0 ≤ v ≤ col_upper, v binary``.

    ``a_indptr/a_indices/a_data`` are the CSR arrays of ``A``.
    """

    c: FloatArray
    a_indptr: IntArray
    a_indices: IntArray
    a_data: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    col_upper: FloatArray
    n_edges: int
    edge_orders: IntArray
    budget_row: int
    form: Form

    @property
    def n_cols(self) -> int:
        return int(self.c.size)

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.size)

    def indices_of(self, row: int) -> tuple[int, int]:
        """The slice of ``a_indices``/``a_data`` holding ``row``."""
        return int(self.a_indptr[row]), int(self.a_indptr[row + 1])

    def col_upper_for(self, max_order: int) -> FloatArray:
        """Column upper bounds for an instance of the given max order."""
        ub = np.ones(self.n_cols)
        ub[: self.n_edges] = np.where(self.edge_orders <= max_order, 1.0, 0.0)
        return ub


class _Rows:
    def __init__(self) -> None:
        self.indptr: list[int] = [0]
        self.indices: list[int] = []
        self.data: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, coefs: dict[int, float], lower: float, upper: float) -> None:
        for col, val in sorted(coefs.items()):
            self.indices.append(col)
            self.data.append(val)
        self.indptr.append(len(self.indices))
        self.lower.append(lower)
        self.upper.append(upper)


def nondominated(problem: TaxonomyProblem) -> tuple[Edge, ...]:
    """Candidate edges not dominated by an edge into the same target that needs a proper
    subset of its sources and is worth at least as much.

    Dropping dominated edges keeps the optimum: a solution using one can switch to its
    dominator without unsupervising anything or losing value. Each edge is compared only
    with the edges that exist for its target (source sets as bit masks), so the cost is
    quadratic in a target's candidates, whatever their order.
    """
    bit = {s: 1 << i for i, s in enumerate(problem.sources)}
    dominated: set[Edge] = set()
    for edges in problem.by_target.values():
        masks = [sum(bit[s] for s in set(e.needs)) for e in edges]
        values = [problem.value(e) for e in edges]
        # Best first, smaller sets first among equals: a dominator always comes earlier,
        # and one dominated edge's dominator dominates what it would have.
        ranked = sorted(range(len(edges)), key=lambda i: (-values[i], masks[i].bit_count()))
        kept: list[int] = []
        for i in ranked:
            m, v = masks[i], values[i]
            if any(masks[j] & m == masks[j] != m and values[j] >= v for j in kept):
                dominated.add(edges[i])
            else:
                kept.append(i)
    return tuple(e for e in problem.candidate_edges if e not in dominated)


def build_model(
    problem: TaxonomyProblem,
    form: Form = Form.TARGET_SOURCE,
    *,
    edges: Sequence[Edge] | None = None,
    objective: str = "affinity",
    cover_exactly: bool = True,
    with_budget: bool = True,
) -> MilpModel:
    """The sparse model of ``problem`` (edges of every candidate order are columns).

    ``edges`` restricts the columns to a subset of the candidates (e.g.
    :func:`nondominated`). ``objective="coverage"`` with ``cover_exactly=False`` counts
    covered targets and ``objective="min-cost"`` with ``with_budget=False`` minimises the
    label cost of a full cover: the two auxiliary models that explain an infeasible
    budget.
    """
    edges = tuple(problem.candidate_edges if edges is None else edges)
    n_e = len(edges)
    y_col = {s: n_e + i for i, s in enumerate(problem.sources)}
    n = n_e + len(problem.sources)
    c = np.zeros(n)
    if objective == "affinity":
        c[:n_e] = [problem.value(e) for e in edges]
    elif objective == "coverage":
        c[:n_e] = 1.0
    elif objective == "min-cost":
        for s, col in y_col.items():
            c[col] = -problem.label_costs[s]
    else:
        raise ValueError(f"unknown objective {objective!r}")
    rows = _Rows()
    into: dict[str, dict[int, float]] = {t: {} for t in problem.targets}
    for j, e in enumerate(edges):
        into[e.target][j] = 1.0
    for t in problem.targets:
        rows.add(into[t], 1.0 if cover_exactly else 0.0, 1.0)
    if form is Form.TARGET_SOURCE:
        link: dict[tuple[str, str], dict[int, float]] = {}
        for j, e in enumerate(edges):
            for s in e.needs:
                link.setdefault((e.target, s), {})[j] = 1.0
        for (_, s), coefs in link.items():
            rows.add({**coefs, y_col[s]: -1.0}, -np.inf, 0.0)
    elif form is Form.EDGE_SOURCE:
        for j, e in enumerate(edges):
            for s in e.needs:
                rows.add({j: 1.0, y_col[s]: -1.0}, -np.inf, 0.0)
    else:
        for j, e in enumerate(edges):
            coefs = {j: float(len(e.needs))}
            coefs.update({y_col[s]: -1.0 for s in e.needs})
            rows.add(coefs, -np.inf, 0.0)
    budget = problem.budget if with_budget else np.inf
    rows.add({y_col[s]: problem.label_costs[s] for s in problem.sources}, -np.inf, budget)
    orders = np.asarray([e.order for e in edges], dtype=np.int64)
    col_upper = np.ones(n)
    col_upper[:n_e] = np.where(orders <= problem.max_order, 1.0, 0.0)
    return MilpModel(
        c=c,
        a_indptr=np.asarray(rows.indptr, dtype=np.int64),
        a_indices=np.asarray(rows.indices, dtype=np.int64),
        a_data=np.asarray(rows.data, dtype=np.float64),
        row_lower=np.asarray(rows.lower, dtype=np.float64),
        row_upper=np.asarray(rows.upper, dtype=np.float64),
        col_upper=col_upper,
        n_edges=n_e,
        edge_orders=orders,
        budget_row=len(rows.lower) - 1,
        form=form,
    )
