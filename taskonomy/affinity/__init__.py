"""Stage III: affinities from per-image losses (AHP), the affinity table, release IO.

Needs numpy (and scipy for the similarity tree, imported when used); never torch.
"""

from __future__ import annotations

from taskonomy.affinity.ahp import (
    DEFAULT_CLIP,
    ahp_scores,
    principal_scores,
    ratio_matrix,
    tournament,
)
from taskonomy.affinity.release import load_affinities, read_release_dict, save_affinities
from taskonomy.affinity.table import (
    BASELINES,
    PIXELS,
    SELF,
    AffinityTable,
    FirstOrderMatrix,
    affinities_from_losses,
)
from taskonomy.affinity.tree import SimilarityTree, similarity_tree, transfer_out_patterns

__all__ = [
    "BASELINES",
    "DEFAULT_CLIP",
    "PIXELS",
    "SELF",
    "AffinityTable",
    "FirstOrderMatrix",
    "SimilarityTree",
    "affinities_from_losses",
    "ahp_scores",
    "load_affinities",
    "principal_scores",
    "ratio_matrix",
    "read_release_dict",
    "save_affinities",
    "similarity_tree",
    "tournament",
    "transfer_out_patterns",
]
