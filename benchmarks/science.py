"""Does the main job show the method working? The main spec over several seeds.

For each seed (the spec's ``seed``, which seeds the data, every network and the
bootstrap), runs the whole chain and prints, side by side:

* wall seconds per stage (from the run's ``run.json``) and in total;
* the adjusted Rand index between the similarity tree, cut into as many clusters as the
  dictionary has task families, and the families the tasks declare (1: the families
  exactly, 0: chance), and the same for the tree of the older rule (each task's own
  entry at the target's mean, ``own="mean"``) on the same affinities: before and after;
* mean gain and quality of the taxonomy at a third of the sources (max order 2, or the
  spec's highest), from ``evaluation.json``;
* the bootstrap support of that taxonomy's edges (mean and least) and of the tree's
  family clusters;

then the mean and spread across seeds.

    python benchmarks/science.py [--spec examples/mini.yaml] [--seeds 0,1,2] [--workdir DIR]
        [override ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import taskonomy as tx
from taskonomy.affinity.tree import similarity_tree
from taskonomy.spec import load_spec
from taskonomy.spec.rules import resolve_tasks

HERE = Path(__file__).resolve().parents[1]


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def families(spec: tx.Spec) -> dict[str, str]:
    """Each task's declared family (built-in tasks declare the paper's)."""
    return {t.name: t.info.family.value for t in resolve_tasks(spec) if t.info.family}


def measure(spec_path: Path, seed: int, workdir: Path, overrides: list[str]) -> dict[str, Any]:
    loaded = load_spec(spec_path, [*overrides, f"seed={seed}"], workdir=workdir)
    start = time.perf_counter()
    summary = tx.run(loaded, live=False)
    wall = time.perf_counter() - start
    run = _read(workdir / "run.json")
    stages: dict[str, float] = {}
    for job in run["jobs"].values():
        stage = str(job.get("stage") or job.get("kind"))
        stages[stage] = stages.get(stage, 0.0) + float(job.get("seconds") or 0.0)
    expected = families(loaded.spec)
    table = tx.load_affinities(workdir / "affinities.json")
    tree = similarity_tree(table)
    k = len(set(expected.values()))
    ari = tree.agreement(expected, k)
    # The same affinities under the older rule (a task's own entry at the target's mean).
    ari_before = similarity_tree(table, own="mean").agreement(expected, k)
    sources = [t for t in resolve_tasks(loaded.spec) if t.is_source]
    budget = max(1, round(len(sources) / 3))
    evaluation = _read(workdir / "evaluation.json")["taxonomies"]
    order = min(2, max(r["max_order"] for r in evaluation))
    row = min(
        (r for r in evaluation if r["max_order"] == order),
        key=lambda r: abs(float(r["budget"]) - budget),
    )
    solutions = _read(workdir / "taxonomy.json")["solutions"]
    chosen = next(s for s in solutions if s["max_order"] == order and s["budget"] == row["budget"])
    edge_support = list((chosen.get("support") or {}).values())
    support = _read(workdir / "support.json") if (workdir / "support.json").is_file() else {}
    by_clade = {frozenset(c["tasks"]): c["support"] for c in support.get("clusters", [])}
    family_support = [by_clade.get(frozenset(g), 0.0) for g in tree.clusters(k) if len(g) > 1]
    return {
        "seed": seed,
        "ok": summary.ok,
        "wall": wall,
        "stages": stages,
        "ari": ari,
        "ari_own_mean": ari_before,
        "clusters": tree.clusters(k),
        "budget": row["budget"],
        "order": order,
        "gain": row["mean_gain"],
        "quality": row["mean_quality"],
        "edge_support_mean": statistics.fmean(edge_support) if edge_support else None,
        "edge_support_min": min(edge_support) if edge_support else None,
        "cluster_support": statistics.fmean(family_support) if family_support else None,
    }


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=HERE / "examples" / "mini.yaml")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("overrides", nargs="*", help="spec overrides, dotted.key=value")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    root = args.workdir or Path(tempfile.mkdtemp(prefix="tx-science-"))
    rows = [measure(args.spec, s, root / f"seed{s}", args.overrides) for s in seeds]

    planned = list(_read(root / f"seed{seeds[0]}" / "plan.json").get("stages") or {})
    stages = list(dict.fromkeys([*planned, *(st for r in rows for st in r["stages"])]))
    print(f"spec {args.spec} {' '.join(args.overrides)}; work directories under {root}\n")
    print("wall seconds per stage (sum over the stage's jobs)")
    print(f"{'stage':<20}" + "".join(f"{'seed ' + str(r['seed']):>10}" for r in rows))
    for st in stages:
        print(f"{st:<20}" + "".join(f"{r['stages'].get(st, 0.0):>10.1f}" for r in rows))
    print(f"{'total (wall)':<20}" + "".join(f"{r['wall']:>10.1f}" for r in rows))
    print()
    head = (
        f"{'seed':>4} {'ok':>3} {'ARI':>6} {'ARI own=mean':>13} {'budget':>7} {'gain':>6} "
        f"{'quality':>8} {'edge support mean/min':>22} {'cluster support':>16}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['seed']:>4} {'yes' if r['ok'] else 'no':>3} {r['ari']:>6.2f} "
            f"{r['ari_own_mean']:>13.2f} "
            f"{r['budget']:>7g} {_f(r['gain']):>6} {_f(r['quality']):>8} "
            f"{_f(r['edge_support_mean']) + ' / ' + _f(r['edge_support_min']):>22} "
            f"{_f(r['cluster_support']):>16}"
        )
    for key in ("ari", "ari_own_mean", "gain", "quality", "wall"):
        values = [float(r[key]) for r in rows if r[key] is not None]
        spread = statistics.pstdev(values) if len(values) > 1 else 0.0
        print(
            f"{key:>12}: mean {statistics.fmean(values):.3f}, sd {spread:.3f}, "
            f"min {min(values):.3f}, max {max(values):.3f}"
        )
    print("\nclusters (seed by seed):")
    for r in rows:
        print(f"  seed {r['seed']}: " + " | ".join(", ".join(g) for g in r["clusters"]))


if __name__ == "__main__":
    main()
