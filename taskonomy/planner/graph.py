"""Pure functions over job graphs: build, check and order them.

Ordering is deterministic (ties broken by job id) so the same spec always yields the
same sequence, and malformed graphs (a cycle, a dependency on a job that does not exist)
are domain errors rather than networkx exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import networkx as nx

from taskonomy.errors import PlanError


class _HasDeps(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def deps(self) -> tuple[str, ...]: ...


def to_graph(jobs: Iterable[_HasDeps]) -> nx.DiGraph:
    """A DiGraph with an edge ``dep -> job`` for every dependency.

    Raises:
        PlanError: a job is listed twice or depends on a job not in ``jobs``.
    """
    jobs = list(jobs)
    graph = nx.DiGraph()
    for job in jobs:
        if job.id in graph:
            raise PlanError(f"job {job.id!r} appears twice in the plan")
        graph.add_node(job.id, job=job)
    for job in jobs:
        for dep in job.deps:
            if dep not in graph:
                raise PlanError(f"job {job.id!r} depends on {dep!r}, which is not in the plan")
            graph.add_edge(dep, job.id)
    return graph


def execution_order(jobs: Iterable[_HasDeps]) -> list[str]:
    """Job ids, dependencies first, ties broken alphabetically.

    Raises:
        PlanError: on a cycle (naming the jobs on it) or a dangling dependency.
    """
    graph = to_graph(jobs)
    try:
        return list(nx.lexicographical_topological_sort(graph))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise PlanError(f"the job graph has a cycle: {path}") from None


def critical_path(graph: nx.DiGraph, seconds: Mapping[str, float]) -> tuple[list[str], float]:
    """The chain of jobs with the largest total ``seconds`` and that total."""
    best: dict[str, tuple[float, str | None]] = {}
    for node in nx.lexicographical_topological_sort(graph):
        preds = [(best[p][0], p) for p in graph.predecessors(node)]
        start, parent = max(preds, default=(0.0, None))
        best[node] = (start + seconds.get(node, 0.0), parent)
    if not best:
        return [], 0.0
    end = max(best, key=lambda n: (best[n][0], n))
    total = best[end][0]
    chain: list[str] = []
    cursor: str | None = end
    while cursor is not None:
        chain.append(cursor)
        cursor = best[cursor][1]
    return chain[::-1], total


def generations(graph: nx.DiGraph) -> list[list[str]]:
    """Jobs grouped into waves that could run at once (each sorted by id)."""
    return [sorted(g) for g in nx.topological_generations(graph)]
