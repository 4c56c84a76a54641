"""Solutions as JSON, readable text and Graphviz dot; the budget-vs-objective curve."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taskonomy.affinity.winrates import WinRates
from taskonomy.errors import SolverError
from taskonomy.solvers.result import Solution, SolveStatus
from taskonomy.tasks.families import task_label


@dataclass(frozen=True)
class CurvePoint:
    """One point of the budget curve: what the last budget increase bought.

    ``increase`` is the objective bought by the extra budget (not the paper's *gain*,
    which is a win rate against scratch).
    """

    max_order: int
    budget: float
    objective: float | None
    increase: float | None
    supervised: int


def budget_curve(solutions: Sequence[Solution]) -> list[CurvePoint]:
    """Objective against budget per max order, with the increase over the previous budget."""
    points: list[CurvePoint] = []
    for order in sorted({s.max_order for s in solutions}):
        prev: float | None = None
        for sol in sorted((s for s in solutions if s.max_order == order), key=lambda s: s.budget):
            up = None if sol.objective is None or prev is None else sol.objective - prev
            points.append(CurvePoint(order, sol.budget, sol.objective, up, len(sol.supervised)))
            if sol.objective is not None:
                prev = sol.objective
    return points


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


#: Bootstrap support per (budget, max order), per target (see :mod:`.bootstrap`).
EdgeSupport = Mapping[tuple[float, int], Mapping[str, float]]


def solution_to_dict(
    sol: Solution, winrates: WinRates | None = None, support: EdgeSupport | None = None
) -> dict[str, Any]:
    """One solution as JSON; with win rates, also ``targets`` (per target ``sources``,
    ``gain``, ``quality``), ``mean_gain`` and ``mean_quality`` as in ``evaluation.json``;
    with bootstrap support, ``support`` (per target, the fraction of resamples choosing
    the same edge)."""
    doc: dict[str, Any] = {
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
    if winrates is not None:
        doc.update(winrates.assess(sol.edges))
    found = (support or {}).get((sol.budget, sol.max_order)) or sol.support or None
    if found is not None:
        doc["support"] = dict(found)
    return doc


def solution_from_dict(doc: Mapping[str, Any]) -> Solution:
    """The inverse of :func:`solution_to_dict` (extra fields such as scores are ignored).

    Raises:
        SolverError: a field is missing or of the wrong type (the message names it).
    """
    try:
        return Solution(
            budget=float(doc["budget"]),
            max_order=int(doc["max_order"]),
            solver=str(doc["solver"]),
            status=SolveStatus(doc["status"]),
            objective=None if doc.get("objective") is None else float(doc["objective"]),
            gap=None if doc.get("gap") is None else float(doc["gap"]),
            solve_seconds=float(doc.get("solve_seconds") or 0.0),
            supervised=[str(s) for s in doc.get("supervised") or []],
            edges={str(t): [str(s) for s in v] for t, v in (doc.get("edges") or {}).items()},
            cost=None if doc.get("cost") is None else float(doc["cost"]),
            reason=doc.get("reason"),
            support={str(t): float(v) for t, v in (doc.get("support") or {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SolverError(f"not a taxonomy solution ({type(exc).__name__}: {exc})") from None


def solutions_to_json(
    solutions: Sequence[Solution],
    winrates: WinRates | None = None,
    support: EdgeSupport | None = None,
) -> dict[str, Any]:
    """``{"solutions": [...], "curve": [...]}`` (the curve is the budget sweep summary)."""
    return {
        "solutions": [solution_to_dict(s, winrates, support) for s in solutions],
        "curve": [
            {
                "max_order": p.max_order,
                "budget": _num(p.budget),
                "objective": p.objective,
                "increase": p.increase,
                "supervised": p.supervised,
            }
            for p in budget_curve(solutions)
        ],
    }


def json_lines(doc: Mapping[str, Any]) -> str:
    """``doc`` as JSON with one line per element of its top-level lists (readable, easy to
    diff, and written by the C encoder: a paper-sized sweep in milliseconds)."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list):
            body = ",\n".join(f"    {json.dumps(v)}" for v in value)
            parts.append(
                f"  {json.dumps(key)}: [\n{body}\n  ]" if value else f"  {json.dumps(key)}: []"
            )
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _fmt(value: float | None, digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def solutions_to_text(
    solutions: Sequence[Solution],
    winrates: WinRates | None = None,
    support: EdgeSupport | None = None,
) -> str:
    """A readable block per solution (tasks by their readable labels), then the budget
    curve; with win rates, each target's gain and quality and their means; with
    bootstrap support, each edge's."""
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
            names = ", ".join(task_label(s) for s in sol.supervised)
            lines.append(f"  supervised ({len(sol.supervised)}): {names}")
            scores = winrates.assess(sol.edges) if winrates is not None else None
            width = max(len(task_label(t)) for t in sol.edges)
            srcs = {t: " + ".join(task_label(s) for s in src) for t, src in sol.edges.items()}
            src_width = max(len(v) for v in srcs.values())
            backing = (support or {}).get((sol.budget, sol.max_order), {})
            for target in sol.edges:
                line = f"    {task_label(target):<{width}}  <-  {srcs[target]:<{src_width}}"
                if scores is not None:
                    t = scores["targets"][target]
                    line += f"  gain {_score(t['gain'])}  quality {_score(t['quality'])}"
                if target in backing:
                    line += f"  support {backing[target]:.2f}"
                lines.append(line.rstrip())
            if scores is not None:
                lines.append(
                    f"  mean gain {_score(scores['mean_gain'])}, "
                    f"mean quality {_score(scores['mean_quality'])}"
                )
        lines.append("")
    points = budget_curve(solutions)
    if len(points) > 1:
        lines.append("budget curve (increase = objective bought by the extra budget):")
        lines.append(f"  {'order':>5}  {'budget':>6}  {'objective':>10}  {'increase':>10}  sup")
        for p in points:
            lines.append(
                f"  {p.max_order:>5}  {p.budget:>6g}  {_fmt(p.objective):>10}  "
                f"{_fmt(p.increase):>10}  {p.supervised:>3}"
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
