"""Dry-run views of a plan: text tables, JSON, Graphviz dot and Mermaid.

Views are pure: they take a plan and, optionally, the job states read from a work
directory and the SLURM headers an executor would use, and return text or data.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from taskonomy.kinds import JobKind
from taskonomy.planner.graph import critical_path, generations, to_graph
from taskonomy.planner.jobs import JobState, Plan


def stage_seconds(plan: Plan) -> dict[str, tuple[int, float, float]]:
    """Per stage, in pipeline order: (jobs, estimated seconds, estimated GPU-seconds)."""
    kinds = list(JobKind)
    pipeline = sorted(plan, key=lambda j: (kinds.index(j.kind), j.order or 0))
    out: dict[str, list[float]] = {}
    for job in pipeline:
        row = out.setdefault(job.stage, [0, 0.0, 0.0])
        row[0] += 1
        row[1] += job.est_seconds
        row[2] += job.est_gpu_seconds
    return {k: (int(v[0]), v[1], v[2]) for k, v in out.items()}


def summarize(plan: Plan, states: Mapping[str, JobState] | None = None) -> dict[str, Any]:
    """The numbers every view shows."""
    graph = to_graph(plan)
    chain, chain_seconds = critical_path(graph, {j.id: j.est_seconds for j in plan})
    waves = generations(graph)
    widest = max(waves, key=len) if waves else []
    summary: dict[str, Any] = {
        "name": plan.name,
        "plan_hash": plan.hash,
        "jobs_total": len(plan),
        "counts": plan.counts(),
        "est_gpu_hours": round(sum(j.est_gpu_seconds for j in plan) / 3600, 4),
        "stages": {
            stage: {"jobs": n, "est_hours": round(s / 3600, 4), "est_gpu_hours": round(g / 3600, 4)}
            for stage, (n, s, g) in stage_seconds(plan).items()
        },
        "critical_path": {"jobs": chain, "est_hours": round(chain_seconds / 3600, 4)},
        "widest_stage": {
            "jobs": len(widest),
            "kinds": dict(sorted(Counter(str(plan.jobs[j].kind) for j in widest).items())),
        },
    }
    if states is not None:
        tally = Counter(str(states[j.id]) for j in plan)
        summary["states"] = dict(sorted(tally.items()))
        summary["would_run"] = sum(1 for j in plan if states[j.id].would_run)
    return summary


def plan_to_json(
    plan: Plan,
    states: Mapping[str, JobState] | None = None,
    sbatch: Mapping[str, Sequence[str]] | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``--format json`` document (schema in the README)."""
    doc = summarize(plan, states)
    doc["warnings"] = list(warnings)
    if sbatch is not None:
        doc["sbatch"] = {k: list(v) for k, v in sbatch.items()}
    doc["jobs"] = [
        {
            "id": j.id,
            "kind": str(j.kind),
            "stage": j.stage,
            "order": j.order,
            "target": j.target,
            "deps": list(j.deps),
            "hash": j.hash,
            "resources": j.resources.as_dict(),
            "est_seconds": j.est_seconds,
            "est_gpu_seconds": round(j.est_gpu_seconds, 3),
            "bound_at_run_time": j.bound_at_run_time,
            **({"state": str(states[j.id])} if states is not None else {}),
        }
        for j in plan
    ]
    return doc


def _hours(seconds_or_hours: float) -> str:
    return f"{seconds_or_hours:,.2f}"


def plan_to_text(
    plan: Plan,
    states: Mapping[str, JobState] | None = None,
    sbatch: Mapping[str, Sequence[str]] | None = None,
    warnings: Sequence[str] = (),
    *,
    list_jobs: bool = False,
) -> RenderableType:
    """Rich tables for the terminal."""
    s = summarize(plan, states)
    parts: list[RenderableType] = [
        Text.assemble(
            ("plan ", "bold"),
            (plan.name, "bold cyan"),
            f"  hash {plan.hash[:16]}  ",
            f"{len(plan)} jobs, ~{_hours(s['est_gpu_hours'])} GPU-hours",
        )
    ]
    table = Table(title="jobs per stage", title_justify="left")
    for col in ("stage", "jobs", "est. hours", "est. GPU-hours"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for stage, row in s["stages"].items():
        table.add_row(
            stage, str(row["jobs"]), _hours(row["est_hours"]), _hours(row["est_gpu_hours"])
        )
    table.add_row("total", str(len(plan)), "", _hours(s["est_gpu_hours"]), style="bold")
    parts.append(table)
    chain = s["critical_path"]
    kinds = (
        " -> ".join(chain["jobs"])
        if len(chain["jobs"]) <= 8
        else " -> ".join([*chain["jobs"][:4], "...", *chain["jobs"][-3:]])
    )
    parts.append(
        Text(
            f"critical path: {_hours(chain['est_hours'])} h over {len(chain['jobs'])} jobs: {kinds}"
        )
    )
    widest = s["widest_stage"]
    parts.append(
        Text(
            f"widest stage: {widest['jobs']} jobs could run at once ("
            + ", ".join(f"{n} {k}" for k, n in widest["kinds"].items())
            + ")"
        )
    )
    if states is not None:
        parts.append(_states_text(plan, states, list_jobs))
    for stage, lines in (sbatch or {}).items():
        parts.append(Text(f"sbatch header for {stage}:", style="bold"))
        parts.append(Text("\n".join(f"  {line}" for line in lines)))
    for warning in warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def _states_text(plan: Plan, states: Mapping[str, JobState], list_jobs: bool) -> RenderableType:
    would = [j for j in plan if states[j.id].would_run]
    tally = Counter(str(states[j.id]) for j in would)
    if not would:
        return Text(f"up to date: all {len(plan)} jobs are done", style="green")
    why = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()))
    head = Text(
        f"{len(would)} of {len(plan)} jobs would run ({why}); {len(plan) - len(would)} done"
    )
    if not list_jobs:
        return head
    table = Table(title="jobs", title_justify="left")
    table.add_column("job")
    table.add_column("state")
    for job in plan:
        table.add_row(job.id, str(states[job.id]))
    return Group(head, table)


def _clusters(plan: Plan) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for job in plan:
        groups[job.stage].append(job.id)
    return groups


def plan_to_dot(plan: Plan) -> str:
    """Graphviz source, one cluster per stage."""
    lines = [f"digraph {json.dumps(plan.name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    for i, (stage, ids) in enumerate(_clusters(plan).items()):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={json.dumps(stage)};")
        lines.extend(f"    {json.dumps(jid)};" for jid in ids)
        lines.append("  }")
    for job in plan:
        lines.extend(f"  {json.dumps(dep)} -> {json.dumps(job.id)};" for dep in job.deps)
    lines.append("}")
    return "\n".join(lines) + "\n"


def plan_to_mermaid(plan: Plan) -> str:
    """Mermaid flowchart source, one subgraph per stage."""
    ids = {job.id: f"j{i}" for i, job in enumerate(plan)}
    lines = ["flowchart LR"]
    for i, (stage, members) in enumerate(_clusters(plan).items()):
        lines.append(f'  subgraph s{i}["{stage}"]')
        lines.extend(f'    {ids[m]}["{m.replace(">", "&gt;")}"]' for m in members)
        lines.append("  end")
    for job in plan:
        lines.extend(f"  {ids[dep]} --> {ids[job.id]}" for dep in job.deps)
    return "\n".join(lines) + "\n"


def stage_graph(plan: Plan) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """The plan collapsed to one node per stage (each stage is one job kind, and for
    transfers one order): jobs per stage, and dependency edges between stages with the
    number of job-level edges each stands for (like Snakemake's rule graph)."""
    nodes: dict[str, int] = {}
    edges: dict[tuple[str, str], int] = {}
    for job in plan:
        nodes[job.stage] = nodes.get(job.stage, 0) + 1
    for job in plan:
        for dep in job.deps:
            key = (plan.jobs[dep].stage, job.stage)
            edges[key] = edges.get(key, 0) + 1
    return nodes, edges


def plan_to_rule_dot(plan: Plan) -> str:
    """Graphviz source of :func:`stage_graph`: readable at any plan size."""
    nodes, edges = stage_graph(plan)
    lines = [f"digraph {json.dumps(plan.name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    for stage, n in nodes.items():
        label = f"{stage}\n{n} job{'s' if n != 1 else ''}"  # json's \n is dot's line break
        lines.append(f"  {json.dumps(stage)} [label={json.dumps(label)}];")
    for (a, b), n in edges.items():
        lines.append(f"  {json.dumps(a)} -> {json.dumps(b)} [label={json.dumps(str(n))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def plan_to_rule_mermaid(plan: Plan) -> str:
    """Mermaid source of :func:`stage_graph`."""
    nodes, edges = stage_graph(plan)
    ids = {stage: f"s{i}" for i, stage in enumerate(nodes)}
    lines = ["flowchart LR"]
    lines += [f'  {ids[s]}["{s}<br/>{n} jobs"]' for s, n in nodes.items()]
    lines += [f"  {ids[a]} -->|{n}| {ids[b]}" for (a, b), n in edges.items()]
    return "\n".join(lines) + "\n"
