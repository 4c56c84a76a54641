"""Taxonomy solver benchmark on the paper's own data (the shipped release, 16k file).

Two parts, side by side in one run:

1. From the shell, CLI start-up included: `taskonomy solve -a paper:16k --budgets 1-27`
   for orders 1-4 (108 instances) and orders 1-24 (648 instances), against the
   straightforward reference (the per-edge linking form, no dominance pruning, default
   HiGHS settings, each instance solved on its own) started the same way. Prints wall
   seconds, the ratio to the reference and the goal (1 s and 3 s).
2. Every installed backend on the orders 1-4 sweep, in this process: total, median and
   worst instance, and the largest objective difference from the reference optimum.

    python benchmarks/solvers.py [--affinities paper:16k] [--repeat 3] [--solvers highs,cbc,gurobi]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOALS = {4: 1.0, 24: 3.0}
BUDGETS = "1-27"


def _orders(k: int) -> list[str]:
    return [arg for i in range(1, k + 1) for arg in ("-k", str(i))]


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("taskonomy")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "taskonomy.cli"]


def _run(cmd: list[str]) -> tuple[float, list[dict[str, object]]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return wall, json.loads(done.stdout)["solutions"]


def reference_child(affinities: str, max_order: int) -> None:
    """The reference, run as its own process: per-edge form, no pruning, HiGHS defaults,
    every (budget, order) instance solved cold."""
    from taskonomy.affinity.paper import load_source, resolve_affinities
    from taskonomy.budgets import parse_budgets
    from taskonomy.solvers import SolveOptions, TaxonomyProblem, solutions_to_json, solve_many
    from taskonomy.solvers.backends.highs import HighsBackend

    HighsBackend.LP_FIRST = False
    HighsBackend.MIP_OPTIONS = {}
    table, _ = load_source(resolve_affinities(affinities))
    problem = TaxonomyProblem.from_table(table, max_order=max_order, budget=27)
    pairs = [(b, k) for b in parse_budgets(BUDGETS) for k in range(1, max_order + 1)]
    options = SolveOptions(form="edge-source", prune_dominated=False)
    sols = solve_many(problem, pairs, solver="highs", options=options)
    print(json.dumps(solutions_to_json(sols)))


def _key(s: dict[str, object]) -> tuple[float, int]:
    return float(s["budget"]), int(s["max_order"])  # type: ignore[arg-type]


def _max_diff(a: list[dict[str, object]], b: list[dict[str, object]]) -> float:
    ref = {_key(s): s["objective"] for s in b}
    return max(abs(float(s["objective"]) - float(ref[_key(s)])) for s in a)  # type: ignore[arg-type]


def shell_part(affinities: str, repeat: int) -> dict[int, list[dict[str, object]]]:
    print(
        f"1. from the shell, CLI start-up included ({affinities}, budgets {BUDGETS}; "
        f"best of {repeat})"
    )
    header = (
        f"{'sweep':<22}{'instances':>10}{'taskonomy s':>13}{'reference s':>13}"
        f"{'ratio':>8}{'goal s':>8}  {'optimal':>8}{'max |Δobj|':>12}  verdict"
    )
    print(header)
    print("-" * len(header))
    references: dict[int, list[dict[str, object]]] = {}
    for k, goal in GOALS.items():
        ours_cmd = [
            *_cli(),
            "solve",
            "-a",
            affinities,
            "--budgets",
            BUDGETS,
            *_orders(k),
            "-f",
            "json",
        ]
        ref_cmd = [
            sys.executable,
            __file__,
            "--reference-child",
            str(k),
            "--affinities",
            affinities,
        ]
        ours = [_run(ours_cmd) for _ in range(repeat)]
        ref = [_run(ref_cmd) for _ in range(max(1, repeat // 2))]
        wall, sols = min(ours, key=lambda r: r[0])
        ref_wall, ref_sols = min(ref, key=lambda r: r[0])
        references[k] = ref_sols
        optimal = sum(s["status"] == "optimal" for s in sols)
        diff = _max_diff(sols, ref_sols)
        verdict = "meets" if wall <= goal and diff <= 1e-6 else "misses"
        print(
            f"{f'orders 1-{k}':<22}{len(sols):>10}{wall:>13.3f}{ref_wall:>13.3f}"
            f"{ref_wall / wall:>7.1f}x{goal:>8.1f}  {optimal:>4}/{len(sols):<3}{diff:>12.1e}"
            f"  {verdict} the goal"
        )
    print()
    return references


def backend_part(affinities: str, wanted: list[str], reference: list[dict[str, object]]) -> None:
    from taskonomy.affinity.paper import load_source, resolve_affinities
    from taskonomy.budgets import parse_budgets
    from taskonomy.solvers import BACKENDS, SolveOptions, solutions_to_json, solve_sweep

    table, _ = load_source(resolve_affinities(affinities))
    budgets = parse_budgets(BUDGETS)
    print(
        f"2. every installed backend, orders 1-4 x budgets {BUDGETS} in this process "
        f"({os.cpu_count()} CPUs visible, solver threads 2)"
    )
    header = (
        f"{'backend':<10}{'total s':>9}{'median ms':>11}{'worst ms':>10}  {'worst at':<12}"
        f"{'optimal':>9}{'max |Δobj| vs reference':>26}"
    )
    print(header)
    print("-" * len(header))
    for backend in BACKENDS:
        if backend.name not in wanted or not backend.installed():
            continue
        start = time.perf_counter()
        sols = solve_sweep(
            table, budgets, [1, 2, 3, 4], solver=backend.name, options=SolveOptions(threads=2)
        )
        wall = time.perf_counter() - start
        docs = solutions_to_json(sols)["solutions"]
        times = [s.solve_seconds for s in sols]
        worst = max(sols, key=lambda s: s.solve_seconds)
        optimal = sum(s.status.value == "optimal" for s in sols)
        print(
            f"{backend.name:<10}{wall:>9.3f}{statistics.median(times) * 1000:>11.1f}"
            f"{worst.solve_seconds * 1000:>10.1f}  "
            f"{f'b={worst.budget:g} k={worst.max_order}':<12}{optimal:>5}/{len(sols):<3}"
            f"{_max_diff(docs, reference):>26.1e}"
        )
    print(
        "\nreference: per-edge linking rows, no dominance pruning, HiGHS defaults, each "
        "instance cold. Δobj: largest objective difference over the sweep."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--affinities", default="paper:16k")
    parser.add_argument("--repeat", type=int, default=3, help="shell runs per sweep (best kept)")
    parser.add_argument("--solvers", default="highs,cbc,gurobi")
    parser.add_argument("--reference-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_child:
        reference_child(args.affinities, args.reference_child)
        return
    references = shell_part(args.affinities, args.repeat)
    backend_part(args.affinities, args.solvers.split(","), references[4])


if __name__ == "__main__":
    main()
