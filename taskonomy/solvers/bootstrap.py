"""How sure a run's taxonomy and tree are: a bootstrap over the test images.

One run's affinities come from one sample of test images. Resampling the images with
replacement and redoing everything downstream (every target's tournament and AHP, the
BIP at every budget and order, the similarity tree) shows which answers the data
support: an edge chosen in 95% of the resamples is a finding, one chosen in 30% is a
coin toss. The support of an edge is the fraction of resamples whose taxonomy at the
same (budget, order) solves its target from the same sources; the support of a cluster
of the tree is the fraction of resamples whose tree has a node with exactly its tasks
(Felsenstein's bootstrap for trees). The paper reports neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from taskonomy.affinity.ahp import DEFAULT_CLIP
from taskonomy.affinity.table import Sources, affinities_from_losses
from taskonomy.affinity.tree import SimilarityTree, similarity_tree
from taskonomy.errors import SolverError
from taskonomy.solvers.api import OptionsLike, solve_sweep
from taskonomy.solvers.result import Solution

#: Resamples when nobody says otherwise.
DEFAULT_RESAMPLES = 200

Losses = Mapping[str, Mapping[Sources, npt.ArrayLike]]


@dataclass(frozen=True)
class Support:
    """Bootstrap support of a run's answers.

    Attributes:
        resamples: how many resamples were drawn.
        edges: per ``(budget, max_order)``, per target, the fraction of resamples that
            chose the same sources as the original taxonomy.
        clusters: every clade of the original tree (its tasks) with its support.
    """

    resamples: int
    edges: Mapping[tuple[float, int], Mapping[str, float]]
    clusters: Sequence[tuple[tuple[str, ...], float]]

    def to_json(self) -> dict[str, Any]:
        return {
            "resamples": self.resamples,
            "edges": [
                {"budget": b, "max_order": k, "targets": dict(targets)}
                for (b, k), targets in sorted(self.edges.items())
            ],
            "clusters": [{"tasks": list(c), "support": s} for c, s in self.clusters],
        }


def _arrays(losses: Losses) -> dict[str, dict[Sources, npt.NDArray[np.float64]]]:
    # Unequal image counts within a target are refused by the first resample's AHP
    # (affinities_from_losses), with the message that names the target.
    return {
        t: {tuple(k): np.asarray(v, dtype=np.float64).ravel() for k, v in cands.items()}
        for t, cands in losses.items()
    }


def bootstrap_support(
    losses: Losses,
    solutions: Sequence[Solution],
    *,
    tree: SimilarityTree | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    label_costs: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    solver: str = "auto",
    options: OptionsLike = None,
    clip: tuple[float, float] = DEFAULT_CLIP,
) -> Support:
    """Resample the test images ``resamples`` times and redo AHP, the BIP and the tree.

    Args:
        losses: ``{target: {sources: per-image test losses}}`` (every candidate of a
            target on the same images; targets that share a test set share each draw).
        solutions: the original taxonomies, whose edges get a support each.
        tree: the original similarity tree, whose clades get a support each.
        resamples: number of bootstrap resamples (>= 1).
        seed: the resampling seed (same seed, same support).
        label_costs, importance, solver, options: as for the original solve.
        clip: the tournament clip range.
    """
    if isinstance(resamples, bool) or resamples < 1:
        raise SolverError(f"bootstrap resamples must be an integer >= 1, got {resamples}")
    arrays = _arrays(losses)
    wanted = [s for s in solutions if s.edges]
    budgets = sorted({s.budget for s in wanted})
    orders = sorted({s.max_order for s in wanted})
    same_edge = {(s.budget, s.max_order): {t: 0 for t in s.edges} for s in wanted}
    clades = tree.clades()[:-1] if tree is not None and len(tree.labels) > 2 else []
    clade_hits = dict.fromkeys(map(frozenset, clades), 0)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB007]))
    sizes = sorted({a.size for cands in arrays.values() for a in cands.values()})
    for _ in range(resamples):
        draw = {n: rng.integers(0, n, size=n) for n in sizes}
        table = affinities_from_losses(
            {t: {k: a[draw[a.size]] for k, a in c.items()} for t, c in arrays.items()}, clip
        )
        if wanted:
            again = solve_sweep(table, budgets, orders, label_costs, importance, solver, options)
            by_pair = {(s.budget, s.max_order): s.edges for s in again}
            for original in wanted:
                key = (original.budget, original.max_order)
                chosen = by_pair.get(key, {})
                for target, sources in original.edges.items():
                    if chosen.get(target) == sources:
                        same_edge[key][target] += 1
        if clades and tree is not None:
            found = set(map(frozenset, similarity_tree(
                table, tree.method, tree.metric, tree.normalisation, tree.own  # type: ignore[arg-type]
            ).clades()))  # fmt: skip
            for clade in clade_hits:
                clade_hits[clade] += clade in found
    return Support(
        resamples=resamples,
        edges={k: {t: n / resamples for t, n in v.items()} for k, v in same_edge.items()},
        clusters=[(c, clade_hits[frozenset(c)] / resamples) for c in clades],
    )
