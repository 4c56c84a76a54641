"""Task families, readable labels, and the original release's spelling of task names.

The paper groups its tasks into four families (its Figure 14 and the colours of its task
dictionary): 3D, 2D, low-dimensional geometric and semantic. Every built-in task
declares its family here; a user's task may declare one on its :class:`TaskInfo`.
Reports colour tasks by family, so a reader sees whether the computed structure
(the similarity tree) matches the expected one.
"""

from __future__ import annotations

import enum


class Family(enum.StrEnum):
    """The paper's task families."""

    THREE_D = "3d"
    TWO_D = "2d"
    GEOMETRIC = "geometric"
    SEMANTIC = "semantic"

    @property
    def heading(self) -> str:
        """The family's name in prose and legends."""
        return _TITLES[self]

    @property
    def colour(self) -> str:
        """The family's colour in figures (close to the paper's palette)."""
        return _COLOURS[self]


_TITLES = {
    Family.THREE_D: "3D",
    Family.TWO_D: "2D",
    Family.GEOMETRIC: "low-dimensional geometric",
    Family.SEMANTIC: "semantic",
}
_COLOURS = {
    Family.THREE_D: "#2e8b57",
    Family.TWO_D: "#1f6fb4",
    Family.GEOMETRIC: "#8e44ad",
    Family.SEMANTIC: "#d35400",
}

_3D, _2D, _GEO, _SEM = Family.THREE_D, Family.TWO_D, Family.GEOMETRIC, Family.SEMANTIC

#: ``name -> (label, family)`` for every built-in task, as the paper names it.
BUILTIN_PRESENTATION: dict[str, tuple[str, Family]] = {
    "autoencoder": ("Autoencoding", _2D),
    "denoise": ("Denoising", _2D),
    "colorization": ("Colorization", _2D),
    "inpainting": ("In-painting", _2D),
    "edge2d": ("2D Edges", _2D),
    "keypoint2d": ("2D Keypoints", _2D),
    "segment2d": ("2D Segm.", _2D),
    "edge3d": ("Occlusion Edges", _3D),
    "rgb2depth": ("Z-Depth", _3D),
    "rgb2mist": ("Distance", _3D),
    "rgb2sfnorm": ("Surface Normals", _3D),
    "reshade": ("Reshading", _3D),
    "curvature": ("Curvature", _3D),
    "keypoint3d": ("3D Keypoints", _3D),
    "segment25d": ("2.5D Segm.", _3D),
    "segmentsemantic": ("Semantic Segm.", _SEM),
    "class_object": ("Object Class.", _SEM),
    "class_scene": ("Scene Class.", _SEM),
    "room_layout": ("Layout", _GEO),
    "vanishing_point": ("Vanishing Pts.", _GEO),
    "jigsaw": ("Jigsaw", _GEO),
    "random_projection": ("Random Proj.", _GEO),
    "ego_motion": ("Egomotion", _GEO),
    "fix_pose": ("Cam. Pose (fix)", _GEO),
    "non_fixated_pose": ("Cam. Pose (nonfix)", _GEO),
    "point_match": ("Point Matching", _GEO),
}

#: The release's names for tasks that the bank spells otherwise. Outputs written in the
#: release's convention keep the release's names; only labels are translated.
RELEASE_ALIASES: dict[str, str] = {
    "segmentsemantic_rb": "segmentsemantic",
    "class_1000": "class_object",
    "class_places": "class_scene",
    "impainting_whole": "inpainting",
    "vanishing_point_well_defined": "vanishing_point",
    "random": "random_projection",
}

#: Tasks of the release that the bank does not have.
_RELEASE_ONLY: dict[str, tuple[str, Family]] = {
    "class_selected": ("Object Class. (selected)", _SEM),
}

_BASELINE_LABELS = {"self": "own network", "pixels": "scratch"}


def _presentation(name: str) -> tuple[str, Family] | None:
    canonical = RELEASE_ALIASES.get(name, name)
    return BUILTIN_PRESENTATION.get(canonical) or _RELEASE_ONLY.get(name)


def task_label(name: str) -> str:
    """A readable label for a task name (built-in, release spelling or baseline); other
    names are returned as they are."""
    found = _presentation(name)
    if found is not None:
        return found[0]
    return _BASELINE_LABELS.get(name, name)


def builtin_family(name: str) -> Family | None:
    """The family of a built-in or release task name, or None for any other name."""
    found = _presentation(name)
    return found[1] if found is not None else None
