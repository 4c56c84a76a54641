"""The task similarity tree: agglomerative clustering of transfer-out patterns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from taskonomy.affinity.table import AffinityTable
from taskonomy.errors import AffinityError

Method = Literal["single", "complete", "average", "weighted", "centroid", "median", "ward"]
_EUCLIDEAN_ONLY = frozenset({"centroid", "median", "ward"})


@dataclass(frozen=True)
class SimilarityTree:
    """A dendrogram over source tasks (scipy linkage format) with helpers."""

    labels: tuple[str, ...]
    linkage: npt.NDArray[np.float64]
    method: str
    metric: str

    @property
    def leaf_order(self) -> list[str]:
        """Task names in dendrogram leaf order (similar tasks adjacent)."""
        from scipy.cluster.hierarchy import leaves_list

        if len(self.labels) == 1:
            return list(self.labels)
        return [self.labels[i] for i in leaves_list(self.linkage)]

    def clusters(self, k: int) -> list[list[str]]:
        """Cut the tree into at most ``k`` groups, each sorted, groups by first member."""
        from scipy.cluster.hierarchy import fcluster

        if k < 1:
            raise AffinityError(f"number of clusters must be >= 1, got {k}")
        if len(self.labels) == 1:
            return [list(self.labels)]
        ids = fcluster(self.linkage, t=k, criterion="maxclust")
        groups: dict[int, list[str]] = {}
        for name, cid in zip(self.labels, ids, strict=True):
            groups.setdefault(int(cid), []).append(name)
        return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])

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


def transfer_out_patterns(table: AffinityTable) -> tuple[list[str], npt.NDArray[np.float64]]:
    """For each source task, its first-order affinities into every target.

    Missing transfers (the task itself, unevaluated pairs) are filled with that target's
    mean affinity, so a missing entry neither attracts nor repels tasks.
    """
    matrix = table.first_order_matrix()
    index = {name: i for i, name in enumerate(matrix.labels)}
    sources, targets = table.sources, table.targets
    rows = np.array([[matrix.values[index[s], index[t]] for t in targets] for s in sources])
    for j, t in enumerate(targets):
        if t in sources:
            rows[sources.index(t), j] = np.nan  # the diagonal is `self`, not a transfer
    with np.errstate(all="ignore"):
        present = ~np.isnan(rows)
        sums = np.where(present, rows, 0.0).sum(axis=0)
        counts = present.sum(axis=0)
        col_mean = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    filled = np.where(np.isnan(rows), col_mean[None, :], rows)
    return sources, filled


def similarity_tree(
    table: AffinityTable, method: Method = "average", metric: str = "euclidean"
) -> SimilarityTree:
    """Cluster source tasks by their transfer-out patterns (the paper's task tree).

    Args:
        table: affinities with first-order transfers.
        method: scipy linkage method.
        metric: any ``scipy.spatial.distance.pdist`` metric; centroid, median and ward
            need euclidean.
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist

    if method in _EUCLIDEAN_ONLY and metric != "euclidean":
        raise AffinityError(f"linkage {method!r} needs metric 'euclidean', got {metric!r}")
    labels, patterns = transfer_out_patterns(table)
    if not labels:
        raise AffinityError("no source tasks with first-order transfers to cluster")
    if len(labels) == 1:
        return SimilarityTree(tuple(labels), np.zeros((0, 4)), method, metric)
    try:
        dist = pdist(patterns, metric=metric)
    except ValueError as exc:
        raise AffinityError(f"unknown or unusable metric {metric!r}: {exc}") from None
    dist = np.nan_to_num(dist, nan=0.0)
    return SimilarityTree(tuple(labels), linkage(dist, method=method), method, metric)
