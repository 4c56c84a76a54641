"""Solutions as JSON, readable text and Graphviz dot; the budget-vs-objective curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taskonomy.solvers.result import Solution


@dataclass(frozen=True)
class CurvePoint:
    """One point of the budget curve: what the last budget increase bought."""

    max_order: int
    budget: float
    objective: float | None
    gain: float | None
    supervised: int


def budget_curve(solutions: Sequence[Solution]) -> list[CurvePoint]:
    """Objective against budget per max order, with the gain over the previous budget."""
    points: list[CurvePoint] = []
    for order in sorted({s.max_order for s in solutions}):
        prev: float | None = None
        for sol in sorted((s for s in solutions if s.max_order == order), key=lambda s: s.budget):
            gain = None if sol.objective is None or prev is None else sol.objective - prev
            points.append(CurvePoint(order, sol.budget, sol.objective, gain, len(sol.supervised)))
            if sol.objective is not None:
                prev = sol.objective
    return points


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def solution_to_dict(sol: Solution) -> dict[str, Any]:
    return {
        "budget": _num(sol.budget),
        "max_order": sol.max_order,
        "solver": sol.solver,
        "status": sol.status.value,
        "objective": sol.objective,
        "gap": sol.gap,
        "solve_seconds": round(sol.solve_seconds, 6),
        "cost": sol.cost,
        "supervised": list(sol.supervised),
        "edges": {t: list(s) for t, s in sol.edges.items()},
        "reason": sol.reason,
    }


def solutions_to_json(solutions: Sequence[Solution]) -> dict[str, Any]:
    """``{"solutions": [...], "curve": [...]}`` (the curve is the budget sweep summary)."""
    return {
        "solutions": [solution_to_dict(s) for s in solutions],
        "curve": [
            {
                "max_order": p.max_order,
                "budget": _num(p.budget),
                "objective": p.objective,
                "gain": p.gain,
                "supervised": p.supervised,
            }
            for p in budget_curve(solutions)
        ],
    }


def _fmt(value: float | None, digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def solutions_to_text(solutions: Sequence[Solution]) -> str:
    """A readable block per solution, then the budget curve."""
    lines: list[str] = []
    for sol in solutions:
        head = f"budget {sol.budget:g}, max order {sol.max_order}: {sol.status.value}"
        if sol.objective is not None:
            head += (
                f", objective {sol.objective:.6f}, gap {_fmt(sol.gap, 2)}, "
                f"{sol.solve_seconds * 1000:.1f} ms with {sol.solver}"
            )
        lines.append(head)
        if sol.reason:
            lines.append(f"  {sol.reason}")
        if sol.edges:
            lines.append(f"  supervised ({len(sol.supervised)}): {', '.join(sol.supervised)}")
            width = max(len(t) for t in sol.edges)
            for target, sources in sol.edges.items():
                lines.append(f"    {target:<{width}}  <-  {' + '.join(sources)}")
        lines.append("")
    points = budget_curve(solutions)
    if len(points) > 1:
        lines.append("budget curve (gain = objective bought by the extra budget):")
        lines.append(f"  {'order':>5}  {'budget':>6}  {'objective':>10}  {'gain':>10}  sup")
        for p in points:
            lines.append(
                f"  {p.max_order:>5}  {p.budget:>6g}  {_fmt(p.objective):>10}  "
                f"{_fmt(p.gain):>10}  {p.supervised:>3}"
            )
    return "\n".join(lines).rstrip() + "\n"


def _q(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def solutions_to_dot(solutions: Sequence[Solution]) -> str:
    """One Graphviz digraph per solution: supervised sources boxed, transfers as arrows.

    A higher-order transfer gets a small junction node joining its sources.
    """
    out: list[str] = []
    for sol in solutions:
        name = f"taxonomy_b{sol.budget:g}_k{sol.max_order}".replace(".", "_")
        out.append(f"digraph {name} {{")
        title = f"budget {sol.budget:g}, max order {sol.max_order}: {sol.status.value}"
        out.append(f"  label={_q(title)};")
        out.append("  rankdir=LR;")
        for s in sol.supervised:
            out.append(f"  {_q(s)} [shape=box, style=filled, fillcolor=lightblue];")
        for target, sources in sol.edges.items():
            if sources == ["self"]:
                continue
            out.append(f"  {_q(target)} [shape=ellipse];")
            if len(sources) == 1:
                out.append(f"  {_q(sources[0])} -> {_q(target)};")
            else:
                hub = _q(f"{'+'.join(sources)}->{target}")
                out.append(f"  {hub} [shape=point];")
                out.extend(f"  {_q(s)} -> {hub} [arrowhead=none];" for s in sources)
                out.append(f"  {hub} -> {_q(target)};")
        out.append("}")
    return "\n".join(out) + "\n"
