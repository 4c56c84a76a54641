"""The task similarity tree: agglomerative clustering of transfer-out patterns.

Each source task is described by its first-order affinities into every target (the
paper's Figure 14 clusters these columns of the affinity matrix). Affinities of different
targets are not on one scale: AHP scores are a ratio scale (only ``p_i / p_j`` means
something: how many times i beats j), and each target's scores sum to 1 over its own
number of candidates. The default normalisation therefore takes logarithms, which turn
ratios into differences, and standardises each target's log-affinities (zero mean, unit
spread over the sources), so every target counts the same whatever its number of
candidates or how decisive its tournament was. Sources are then compared by the cosine
of their patterns (which targets a source helps more than average, not how much it helps
overall) and merged with average linkage (UPGMA).

A source's entry for its own target is not a transfer out, but it is where the strongest
evidence of kinship sits: when ``a`` is among the best sources for ``b`` and ``b`` among
the best for ``a``, the cosine of the two patterns weighs column ``b`` by ``a``'s entry
there times ``b``'s own. Left at the target's mean (zero after standardising), that
product vanishes and mutual transfer counts for nothing; the default therefore counts a
task as the best source for itself (the column's highest value), as the paper's matrices
do with the task's own network on the diagonal. ``own="mean"`` gives the older pattern.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from taskonomy.affinity.table import AffinityTable
from taskonomy.errors import AffinityError

Method = Literal["single", "complete", "average", "weighted", "centroid", "median", "ward"]
#: ``zlog``: per-target standardised log-affinities (default); ``log``: per-target centred
#: log-affinities; ``sum``: each target's first-order affinities divided by their sum;
#: ``none``: the affinities as they are.
Normalisation = Literal["zlog", "log", "sum", "none"]
NORMALISATIONS: tuple[str, ...] = get_args(Normalisation)
#: A source's entry for its own target: ``best`` (the target's highest normalised
#: affinity, default) or ``mean`` (the target's mean: neither attracts nor repels).
Own = Literal["best", "mean"]
OWN_ENTRIES: tuple[str, ...] = get_args(Own)
DEFAULT_OWN: Own = "best"
METHODS: tuple[str, ...] = get_args(Method)
DEFAULT_NORMALISATION: Normalisation = "zlog"
DEFAULT_METHOD: Method = "average"
DEFAULT_METRIC = "cosine"
#: The ``scipy.spatial.distance.pdist`` metrics meaningful for real-valued patterns.
METRICS: tuple[str, ...] = (
    "braycurtis", "canberra", "chebyshev", "cityblock", "correlation", "cosine",
    "euclidean", "jensenshannon", "minkowski", "seuclidean", "sqeuclidean",
)  # fmt: skip
_EUCLIDEAN_ONLY = frozenset({"centroid", "median", "ward"})


@dataclass(frozen=True)
class SimilarityTree:
    """A dendrogram over source tasks (scipy linkage format) with helpers."""

    labels: tuple[str, ...]
    linkage: npt.NDArray[np.float64]
    method: str
    metric: str
    normalisation: str = DEFAULT_NORMALISATION
    own: str = DEFAULT_OWN

    @property
    def leaf_order(self) -> list[str]:
        """Task names in dendrogram leaf order (similar tasks adjacent)."""
        from scipy.cluster.hierarchy import leaves_list

        if len(self.labels) == 1:
            return list(self.labels)
        return [self.labels[i] for i in leaves_list(self.linkage)]

    def clusters(self, k: int) -> list[list[str]]:
        """Cut the tree into at most ``k`` groups, each in leaf order, groups in leaf order."""
        from scipy.cluster.hierarchy import fcluster

        if isinstance(k, bool) or k < 1:
            raise AffinityError(f"number of clusters must be an integer >= 1, got {k}")
        if len(self.labels) == 1:
            return [list(self.labels)]
        k = min(k, len(self.labels))
        ids = dict(zip(self.labels, fcluster(self.linkage, t=k, criterion="maxclust"), strict=True))
        groups: dict[int, list[str]] = {}
        for name in self.leaf_order:
            groups.setdefault(int(ids[name]), []).append(name)
        return list(groups.values())

    def to_newick(self) -> str:
        """The tree in Newick format (branch lengths from merge heights)."""
        from scipy.cluster.hierarchy import to_tree

        if len(self.labels) == 1:
            return f"{self.labels[0]};"
        root = to_tree(self.linkage)

        def walk(node: object, parent_height: float) -> str:
            height = float(node.dist)  # type: ignore[attr-defined]
            length = f":{parent_height - height:.6g}"
            if node.is_leaf():  # type: ignore[attr-defined]
                return f"{self.labels[node.id]}{length}"  # type: ignore[attr-defined]
            left = walk(node.left, height)  # type: ignore[attr-defined]
            right = walk(node.right, height)  # type: ignore[attr-defined]
            return f"({left},{right}){length}"

        return walk(root, float(root.dist)).rsplit(":", 1)[0] + ";"

    def to_text(self, label: Callable[[str], str] = str) -> list[str]:
        """The dendrogram drawn sideways with box-drawing characters, one leaf a line."""
        from scipy.cluster.hierarchy import to_tree

        if len(self.labels) == 1:
            return [f"── {label(self.labels[0])}"]

        def walk(node: object) -> list[str]:
            if node.is_leaf():  # type: ignore[attr-defined]
                return [f"── {label(self.labels[node.id])}"]  # type: ignore[attr-defined]
            first, second = walk(node.left), walk(node.right)  # type: ignore[attr-defined]
            return [
                f"┬{first[0]}",
                *(f"│{line}" for line in first[1:]),
                f"└{second[0]}",
                *(f" {line}" for line in second[1:]),
            ]

        return walk(to_tree(self.linkage))

    def clades(self) -> list[tuple[str, ...]]:
        """The tasks under each internal node of the tree, in merge order (the last is
        the root, holding every task); each clade's names in leaf order."""
        n = len(self.labels)
        members: list[list[int]] = [[i] for i in range(n)]
        for left, right, *_ in self.linkage:
            members.append(members[int(left)] + members[int(right)])
        rank = {name: i for i, name in enumerate(self.leaf_order)}
        return [
            tuple(sorted((self.labels[i] for i in group), key=rank.__getitem__))
            for group in members[n:]
        ]

    def agreement(self, expected: Mapping[str, Hashable], k: int) -> float:
        """Adjusted Rand index between the tree cut into ``k`` groups and ``expected``
        (task -> group), over the tasks that both know."""
        found = {name: i for i, group in enumerate(self.clusters(k)) for name in group}
        common = [t for t in self.labels if t in expected]
        return adjusted_rand_index([expected[t] for t in common], [found[t] for t in common])


def adjusted_rand_index(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Hubert and Arabie's adjusted Rand index of two labellings of the same items:
    1 for identical partitions, about 0 for chance agreement."""
    if len(a) != len(b):
        raise ValueError("both labellings must cover the same items")
    n = len(a)

    def pairs(counts: Counter[Hashable] | Counter[tuple[Hashable, Hashable]]) -> float:
        return float(sum(c * (c - 1) / 2 for c in counts.values()))

    both, sa, sb = pairs(Counter(zip(a, b, strict=True))), pairs(Counter(a)), pairs(Counter(b))
    total = n * (n - 1) / 2
    expected = sa * sb / total if total else 0.0
    top = (sa + sb) / 2
    return 1.0 if top == expected else (both - expected) / (top - expected)


def _normalise(x: npt.NDArray[np.float64], how: str) -> npt.NDArray[np.float64]:
    """Per-target (column) normalisation of a sources x targets matrix with NaN holes."""
    if how == "none":
        return x
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        if how == "sum":
            sums = np.nansum(x, axis=0, keepdims=True)
            out: npt.NDArray[np.float64] = np.divide(
                x, sums, out=np.full_like(x, np.nan), where=sums > 0
            )
            return out
        # Logs: a zero affinity counts as the target's smallest positive one.
        floor = np.nan_to_num(np.nanmin(np.where(x > 0, x, np.nan), axis=0), nan=1.0)
        logs = np.log(np.where(np.isnan(x), np.nan, np.fmax(x, floor[None, :])))
        centred: npt.NDArray[np.float64] = logs - np.nanmean(logs, axis=0, keepdims=True)
        if how == "log":
            return centred
        spread = np.nanstd(logs, axis=0, keepdims=True)
        scaled = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
        result: npt.NDArray[np.float64] = np.where(np.isnan(centred), np.nan, scaled)
        return result


def transfer_out_patterns(
    table: AffinityTable,
    normalisation: Normalisation = DEFAULT_NORMALISATION,
    own: Own = DEFAULT_OWN,
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """For each source task, its normalised first-order affinities into every target.

    A task's transfer into itself is left out of the normalisation (``self`` and ``t__t``
    are not transfers out) and its entry is then the target's highest value
    (``own="best"``) or its mean (``own="mean"``); missing transfers take the target's
    mean, so a missing entry neither attracts nor repels tasks.
    """
    if normalisation not in NORMALISATIONS:
        raise AffinityError(
            f"unknown normalisation {normalisation!r}; choose one of {', '.join(NORMALISATIONS)}"
        )
    if own not in OWN_ENTRIES:
        raise AffinityError(
            f"unknown own-entry rule {str(own)[:40]!r}; choose one of {', '.join(OWN_ENTRIES)}"
        )
    matrix = table.first_order_matrix()
    index = {name: i for i, name in enumerate(matrix.labels)}
    sources, targets = table.sources, table.targets
    shape = (len(sources), len(targets))
    mine = np.array([[s == t for t in targets] for s in sources], dtype=bool).reshape(shape)
    rows = np.array(
        [[matrix.values[index[s], index[t]] for t in targets] for s in sources],
        dtype=np.float64,
    ).reshape(shape)
    rows = _normalise(np.where(mine, np.nan, rows), normalisation)
    with np.errstate(all="ignore"):
        present = ~np.isnan(rows)
        sums = np.where(present, rows, 0.0).sum(axis=0)
        counts = present.sum(axis=0)
        col_mean = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        col_best = np.where(present, rows, -np.inf).max(axis=0, initial=-np.inf)
    filled = np.where(np.isnan(rows), col_mean[None, :], rows)
    if own == "best":
        best_known = mine & np.isfinite(col_best)[None, :]
        filled = np.where(best_known, col_best[None, :], filled)
    return sources, filled


def similarity_tree(
    table: AffinityTable,
    method: Method = DEFAULT_METHOD,
    metric: str = DEFAULT_METRIC,
    normalisation: Normalisation = DEFAULT_NORMALISATION,
    own: Own = DEFAULT_OWN,
) -> SimilarityTree:
    """Cluster source tasks by their transfer-out patterns (the paper's task tree).

    Args:
        table: affinities with first-order transfers.
        method: scipy linkage method (default average linkage).
        metric: any ``scipy.spatial.distance.pdist`` metric (default cosine); centroid,
            median and ward need euclidean.
        normalisation: how each target's affinities are put on a common scale (see the
            module docstring; default ``zlog``).
        own: a source's entry for its own target: ``best`` (default) or ``mean`` (see
            the module docstring).
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist

    if method not in METHODS:
        raise AffinityError(f"unknown linkage {method!r}; choose one of {', '.join(METHODS)}")
    if method in _EUCLIDEAN_ONLY and metric != "euclidean":
        raise AffinityError(f"linkage {method!r} needs metric 'euclidean', got {metric!r}")
    labels, patterns = transfer_out_patterns(table, normalisation, own)
    if not labels:
        raise AffinityError("no source tasks with first-order transfers to cluster")
    if len(labels) == 1:
        return SimilarityTree(tuple(labels), np.zeros((0, 4)), method, metric, normalisation, own)
    if not isinstance(metric, str) or metric not in METRICS:
        raise AffinityError(
            f"unknown metric {str(metric)[:40]!r}; choose one of {', '.join(METRICS)}"
        )
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dist = pdist(patterns, metric=metric)
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        raise AffinityError(f"unusable metric {metric!r} for this table: {exc}") from None
    # A pattern with no spread (cosine and correlation are undefined) is unlike any other.
    dist = np.nan_to_num(dist, nan=1.0 if metric in ("cosine", "correlation") else 0.0)
    if not np.isfinite(dist).all():
        raise AffinityError(
            f"the {metric} distances between transfer-out patterns overflow; use the default "
            "normalisation (zlog) or rescale the affinities"
        )
    z = linkage(dist, method=method, optimal_ordering=len(labels) > 2)
    return SimilarityTree(tuple(labels), z, method, metric, normalisation, own)
