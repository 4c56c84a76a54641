"""Taxonomy solver benchmark: the paper-sized sweep on every installed backend.

A synthetic affinity table shaped like the paper's (26 tasks, 22 of them targets; first
order from every source, orders 2-4 from the beam best first-order sources of each
target), solved for budgets 1-26 x max orders 1-4 by each backend in one run. Prints
total and worst instance per backend, side by side, and checks every backend reaches
the same optimum (against Gurobi where installed).

    python benchmarks/solvers.py [--beam 5] [--seed 0] [--solvers highs,cbc] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from taskonomy.solvers import (
    BACKENDS,
    Solution,
    SolveOptions,
    SolveStatus,
    TaxonomyProblem,
    build_model,
    nondominated,
    solve_sweep,
)
from taskonomy.solvers.backends.highs import HighsBackend
from taskonomy.solvers.synthetic import synthetic_table

TARGET_SECONDS = 2.0


@dataclass
class Run:
    label: str
    wall: float
    cpu: float
    solutions: list[Solution]

    @property
    def worst(self) -> Solution:
        return max(self.solutions, key=lambda s: s.solve_seconds)

    @property
    def optimal(self) -> int:
        return sum(s.status is SolveStatus.OPTIMAL for s in self.solutions)


@contextlib.contextmanager
def _highs_mip_only() -> Iterator[None]:
    old = HighsBackend.LP_FIRST
    HighsBackend.LP_FIRST = False
    try:
        yield
    finally:
        HighsBackend.LP_FIRST = old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--solvers", default=",".join(b.name for b in BACKENDS))
    parser.add_argument(
        "--mip-only", action="store_true", help="also run HiGHS without its LP shortcut"
    )
    args = parser.parse_args()

    table = synthetic_table(beam=args.beam, seed=args.seed)
    problem = TaxonomyProblem.from_table(table, max_order=4, budget=26)
    kept = nondominated(problem)
    model = build_model(problem, edges=kept)
    budgets, orders = list(range(1, 27)), [1, 2, 3, 4]
    print(
        f"table: {len(table.targets)} targets, {len(table.sources)} sources, "
        f"{len(problem.candidate_edges)} edges (orders <= 4, beam {args.beam}, seed {args.seed}), "
        f"{len(kept)} not dominated; model {model.n_cols} columns x {model.n_rows} rows "
        "(target-source form)"
    )
    print(
        f"sweep: budgets 1-26 x orders 1-4 = {len(budgets) * len(orders)} instances; "
        f"{os.cpu_count()} CPUs visible, solver threads {args.threads}\n"
    )
    options = SolveOptions(threads=args.threads)
    wanted = args.solvers.split(",")
    plan = [(b.name, b.name, False) for b in BACKENDS if b.name in wanted and b.installed()]
    if args.mip_only and "highs" in wanted:
        plan.insert(1, ("highs (MIP only)", "highs", True))
    runs: list[Run] = []
    for label, name, mip_only in plan:
        ctx = _highs_mip_only() if mip_only else contextlib.nullcontext()
        with ctx:
            start, cpu = time.perf_counter(), time.process_time()
            sols = solve_sweep(table, budgets, orders, solver=name, options=options)
            wall = time.perf_counter() - start
            runs.append(Run(label, wall, time.process_time() - cpu, sols))

    reference = next((r for r in runs if r.label == "gurobi"), runs[0])
    fastest = min(r.wall for r in runs)
    header = (
        f"{'backend':<18}{'total s':>9}{'cpu s':>7}{'x fastest':>10}{'solve sum s':>12}"
        f"{'median ms':>10}{'worst ms':>10}  {'worst at':<14}{'optimal':>8}{'max |Δobj|':>12}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        times = sorted(s.solve_seconds for s in run.solutions)
        diff = max(
            abs((a.objective or 0.0) - (b.objective or 0.0))
            for a, b in zip(run.solutions, reference.solutions, strict=True)
        )
        worst = run.worst
        print(
            f"{run.label:<18}{run.wall:>9.3f}{run.cpu:>7.2f}{run.wall / fastest:>10.2f}"
            f"{sum(times):>12.3f}{times[len(times) // 2] * 1000:>10.1f}"
            f"{worst.solve_seconds * 1000:>10.1f}  "
            f"{f'b={worst.budget:g} k={worst.max_order}':<14}"
            f"{run.optimal:>5}/{len(run.solutions):<3}{diff:>11.1e}"
        )
    print(
        f"\nreference optimum: {reference.label}. total: wall seconds for the whole sweep "
        "(model build, solves, certificates); cpu: this process's CPU seconds (CBC's "
        "subprocesses excluded)."
    )
    open_runs = [r for r in runs if r.label in ("highs", "cbc")]
    if open_runs:
        best = min(open_runs, key=lambda r: r.wall)
        verdict = "meets" if best.wall < TARGET_SECONDS else "misses"
        print(
            f"target: whole sweep under {TARGET_SECONDS:g} s with an open backend: "
            f"{best.label} {best.wall:.2f} s {verdict} it"
        )


if __name__ == "__main__":
    main()
