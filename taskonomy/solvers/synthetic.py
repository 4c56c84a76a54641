"""Synthetic affinity tables shaped like the paper's, for tests and benchmarks."""

from __future__ import annotations

import itertools

import numpy as np

from taskonomy.affinity.table import PIXELS, SELF, AffinityTable, Key


def synthetic_table(
    n_targets: int = 22,
    n_source_only: int = 4,
    max_order: int = 4,
    beam: int = 5,
    seed: int = 0,
) -> AffinityTable:
    """A table with the paper's shape: first order from every source, higher orders from
    the ``beam`` best first-order sources of each target (all ``C(beam, k)`` subsets),
    plus ``self`` and ``pixels``; each target's candidates sum to 1 like the release.

    Tasks live at random points of a latent space; closer tasks transfer better, and a
    combination transfers a little better than its best member.
    """
    rng = np.random.default_rng(seed)
    targets = [f"task{i:02d}" for i in range(n_targets)]
    sources = targets + [f"src{i:02d}" for i in range(n_source_only)]
    where = {t: rng.normal(size=3) for t in sources}
    entries: dict[Key, float] = {}
    for t in targets:
        raw: dict[tuple[str, ...], float] = {}
        for s in sources:
            if s != t:
                dist = float(np.sum((where[s] - where[t]) ** 2))
                raw[(s,)] = float(np.exp(-dist / 4.0) * rng.uniform(0.7, 1.0))
        best = sorted((s for (s,) in raw), key=lambda s: -raw[(s,)])[:beam]
        for k in range(2, max_order + 1):
            for combo in itertools.combinations(best, k):
                top = max(raw[(s,)] for s in combo)
                raw[combo] = top * float(rng.uniform(0.95, 1.0 + 0.04 * k))
        raw[(SELF,)] = max(raw.values()) * float(rng.uniform(1.0, 1.3))
        raw[(PIXELS,)] = min(raw.values()) * float(rng.uniform(0.5, 1.0))
        total = sum(raw.values())
        for srcs, value in raw.items():
            entries[(srcs, t)] = value / total
    return AffinityTable(entries)
