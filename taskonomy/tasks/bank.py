"""The built-in task bank: what each task is, without importing torch.

This module is the contract between the spec (which names tasks), the data layer
(which produces each task's label) and the models (which pick a decoder and a loss
from a task's declared output). It holds metadata only; losses and decoders are
implemented in :mod:`taskonomy.models`, ground truth in :mod:`taskonomy.data`.

A built-in task can have a different label space on each dataset kind (``dataset.kind``
in a spec): :data:`BUILTIN_TASKS` holds the mini generator's definitions, and
:data:`RELEASE_LABEL_SPACES` the tasks that the real release labels in its own, larger
spaces. :func:`builtin_task` picks by dataset kind; it is the only place that choice is
made (``taskonomy.spec.rules.resolve_tasks`` calls it).

Label formats, for an image of ``H x W`` pixels (the image itself is float32
``3 x H x W`` in ``[0, 1]``):

* ``DENSE_REGRESSION``: float32 ``C x H x W``.
* ``DENSE_CLASSIFICATION``: int64 ``H x W`` class indices in ``[0, C)``.
* ``IMAGE_CLASSIFICATION``: int64 scalar in ``[0, C)``.
* ``IMAGE_MULTILABEL``: float32 ``C`` of 0/1.
* ``IMAGE_DISTRIBUTION``: float32 ``C``, a probability vector (non-negative, sums to 1),
  such as the release's soft ImageNet and Places labels.
* ``IMAGE_REGRESSION``: float32 ``C``.
* ``NONE``: no label (an untrained source such as the random projection).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal

from taskonomy.tasks.families import BUILTIN_PRESENTATION, Family

#: Semantic object classes of the mini dataset (sphere, box, cylinder, cone, torus-like ring).
N_OBJECT_CLASSES = 5
#: Room types of the mini dataset (decide palettes and which objects appear).
N_SCENE_TYPES = 4
#: Geometric surface segments: floor, ceiling, wall facing x, wall facing z, planar object face,
#: curved object surface.
N_SEGMENT25D_CLASSES = 6
#: Version of how built-in tasks' data are made: the mini generator, the label functions
#: and the Stage I input transforms. Part of the dataset job's identity, so that a store
#: filled by an older version never answers for a newer one (2: creases in ``curvature``,
#: gaps between the jigsaw's tiles).
DATA_VERSION = 2
#: Fixed permutations of the 3x3 jigsaw tiles, chosen deterministically.
N_JIGSAW_PERMUTATIONS = 24
#: Room layout: camera yaw, pitch, roll; camera position in the room (3, normalised);
#: room half-extents (3, normalised), as in the release's 9-number layout.
ROOM_LAYOUT_DIM = 9
#: Vanishing points: the camera-space unit directions of the room's three axes.
VANISHING_POINT_DIM = 9

#: The release's object labels: a soft 1000-way ImageNet distribution per view.
N_IMAGENET_CLASSES = 1000
#: The release's scene labels: a soft 365-way Places distribution per view.
N_PLACES_CLASSES = 365
#: The release's semantic segmentation ids: 0 uncertain, 1 background, 2-17 for its 16
#: COCO classes.
N_RELEASE_SEMANTIC_CLASSES = 18

#: What ``dataset.kind`` can be; it decides the label space of some built-in tasks.
DatasetKind = Literal["mini", "taskonomy"]


class Role(enum.StrEnum):
    """Whether a task may be supervised (source), must be solved (target), or both."""

    SOURCE = "source"
    TARGET = "target"
    BOTH = "both"

    @property
    def is_source(self) -> bool:
        return self in (Role.SOURCE, Role.BOTH)

    @property
    def is_target(self) -> bool:
        return self in (Role.TARGET, Role.BOTH)


class OutputKind(enum.StrEnum):
    """Shape family of a task's label; picks the decoder."""

    DENSE_REGRESSION = "dense_regression"
    DENSE_CLASSIFICATION = "dense_classification"
    IMAGE_CLASSIFICATION = "image_classification"
    IMAGE_MULTILABEL = "image_multilabel"
    IMAGE_DISTRIBUTION = "image_distribution"
    IMAGE_REGRESSION = "image_regression"
    NONE = "none"


class InputTransform(enum.StrEnum):
    """How a task's encoder input is derived from the RGB image during Stage I.

    Transfers (Stage II) always feed the clean RGB image to frozen encoders.
    """

    NONE = "none"
    NOISE = "noise"  # additive Gaussian noise (denoise)
    MASK = "mask"  # a masked square (inpainting)
    GREY = "grey"  # luminance replicated to 3 channels (colorization)
    SHUFFLE = "shuffle"  # 3x3 tiles permuted (jigsaw)


class Loss(enum.StrEnum):
    """Training loss; the per-image loss used in Stage III is the same loss per image.

    ``CROSS_ENTROPY`` is against class indices for the classification kinds and against
    the soft target distribution for ``IMAGE_DISTRIBUTION``.
    """

    L1 = "l1"
    L2 = "l2"
    CROSS_ENTROPY = "cross_entropy"
    BCE = "bce"
    NONE = "none"


@dataclass(frozen=True)
class TaskInfo:
    """Metadata of one task kind.

    Attributes:
        name: the kind's name, as in the original release where one exists.
        description: one line for ``taskonomy tasks`` and error messages.
        output: label shape family.
        channels: ``C`` in the label formats above (classes for classification).
        loss: training and per-image loss.
        input_transform: how the encoder's training input is derived from RGB.
        default_role: role when the spec does not say.
        label_cost: default label cost ``l`` (0 for self-supervised tasks).
        trainable: False for a source whose encoder is never trained (random projection).
        views: images per sample (2 or 3 for the paper's pose and matching tasks).
        mini: whether the bundled mini generator produces this task's labels.
        family: the paper's task family, if any (reports colour tasks by it).
        label: a readable name for figures and text ("" means the name itself).
    """

    name: str
    description: str
    output: OutputKind
    channels: int
    loss: Loss
    input_transform: InputTransform = InputTransform.NONE
    default_role: Role = Role.BOTH
    label_cost: float = 1.0
    trainable: bool = True
    views: int = 1
    mini: bool = True
    # Presentation only: neither decides what the task is (equality) nor a job's hash.
    family: Family | None = field(default=None, compare=False)
    label: str = field(default="", compare=False)


def _presented(tasks: list[TaskInfo]) -> dict[str, TaskInfo]:
    """The tasks by name, each with its label and family from the paper's naming."""
    out = {}
    for t in tasks:
        label, family = BUILTIN_PRESENTATION[t.name]
        out[t.name] = replace(t, label=label, family=family)
    return out


_D = OutputKind.DENSE_REGRESSION
#: What a label space is made of: a dataset kind may change these fields and no others.
_SPACE_FIELDS = ("description", "output", "channels", "loss")

BUILTIN_TASKS: dict[str, TaskInfo] = _presented(
    [
        TaskInfo("autoencoder", "reconstruct the RGB image", _D, 3, Loss.L1, label_cost=0.0),
        TaskInfo(
            "denoise",
            "remove additive Gaussian noise",
            _D,
            3,
            Loss.L1,
            InputTransform.NOISE,
            label_cost=0.0,
        ),
        TaskInfo("edge2d", "image gradient magnitude (Sobel on luminance)", _D, 1, Loss.L1),
        TaskInfo("keypoint2d", "corner response (Harris on luminance)", _D, 1, Loss.L1),
        TaskInfo("edge3d", "occlusion edges from depth discontinuities", _D, 1, Loss.L1),
        TaskInfo("rgb2depth", "z-buffer depth, normalised", _D, 1, Loss.L1),
        TaskInfo("rgb2mist", "Euclidean distance to the camera, normalised", _D, 1, Loss.L1),
        TaskInfo("rgb2sfnorm", "camera-space surface normals", _D, 3, Loss.L1),
        TaskInfo("reshade", "shading under a canonical light with unit albedo", _D, 1, Loss.L1),
        TaskInfo("curvature", "principal curvatures, creases included", _D, 2, Loss.L1),
        TaskInfo("keypoint3d", "3D keypoint response from geometry", _D, 1, Loss.L1),
        TaskInfo(
            "segment25d",
            "geometric surface segments",
            OutputKind.DENSE_CLASSIFICATION,
            N_SEGMENT25D_CLASSES,
            Loss.CROSS_ENTROPY,
        ),
        TaskInfo(
            "segmentsemantic",
            "per-pixel object class (0 is the room)",
            OutputKind.DENSE_CLASSIFICATION,
            N_OBJECT_CLASSES + 1,
            Loss.CROSS_ENTROPY,
        ),
        TaskInfo(
            "class_object",
            "which object classes are present",
            OutputKind.IMAGE_MULTILABEL,
            N_OBJECT_CLASSES,
            Loss.BCE,
        ),
        TaskInfo(
            "class_scene",
            "room type",
            OutputKind.IMAGE_CLASSIFICATION,
            N_SCENE_TYPES,
            Loss.CROSS_ENTROPY,
        ),
        TaskInfo(
            "room_layout",
            "camera pose and room extents",
            OutputKind.IMAGE_REGRESSION,
            ROOM_LAYOUT_DIM,
            Loss.L2,
        ),
        TaskInfo(
            "vanishing_point",
            "camera-space directions of the room axes",
            OutputKind.IMAGE_REGRESSION,
            VANISHING_POINT_DIM,
            Loss.L2,
        ),
        TaskInfo(
            "inpainting",
            "fill in a masked square",
            _D,
            3,
            Loss.L1,
            InputTransform.MASK,
            Role.SOURCE,
            label_cost=0.0,
        ),
        TaskInfo(
            "colorization",
            "colour from luminance",
            _D,
            3,
            Loss.L1,
            InputTransform.GREY,
            Role.SOURCE,
            label_cost=0.0,
        ),
        TaskInfo(
            "jigsaw",
            "which permutation shuffled the 3x3 tiles",
            OutputKind.IMAGE_CLASSIFICATION,
            N_JIGSAW_PERMUTATIONS,
            Loss.CROSS_ENTROPY,
            InputTransform.SHUFFLE,
            Role.SOURCE,
            label_cost=0.0,
        ),
        TaskInfo(
            "random_projection",
            "an untrained random encoder (a baseline source)",
            OutputKind.NONE,
            0,
            Loss.NONE,
            default_role=Role.SOURCE,
            label_cost=0.0,
            trainable=False,
        ),
    ]
)


#: Tasks of the paper that need the real dataset (several views, or unsupervised 2D
#: segmentation); they plan and dry-run, but the mini generator has no labels for them.
TASKONOMY_ONLY_TASKS: dict[str, TaskInfo] = _presented(
    [
        TaskInfo(
            "segment2d", "unsupervised 2D segmentation embedding", _D, 64, Loss.L2, mini=False
        ),
        TaskInfo(
            "ego_motion",
            "camera motion across three views",
            OutputKind.IMAGE_REGRESSION,
            12,
            Loss.L2,
            views=3,
            mini=False,
        ),
        TaskInfo(
            "fix_pose",
            "relative pose of two views of one fixated point",
            OutputKind.IMAGE_REGRESSION,
            6,
            Loss.L2,
            views=2,
            mini=False,
        ),
        TaskInfo(
            "non_fixated_pose",
            "relative pose of two views",
            OutputKind.IMAGE_REGRESSION,
            6,
            Loss.L2,
            views=2,
            mini=False,
        ),
        TaskInfo(
            "point_match",
            "whether two patches show the same 3D point",
            OutputKind.IMAGE_CLASSIFICATION,
            2,
            Loss.CROSS_ENTROPY,
            views=2,
            mini=False,
        ),
    ]
)


#: Built-in tasks whose label space in the real release is not the mini generator's: the
#: definition a ``dataset.kind: taskonomy`` spec resolves them to. Everything else about
#: each task (role, label cost, input, presentation) is its mini definition's.
RELEASE_LABEL_SPACES: dict[str, TaskInfo] = {
    t.name: replace(BUILTIN_TASKS[t.name], **{k: getattr(t, k) for k in _SPACE_FIELDS})
    for t in [
        TaskInfo(
            "segmentsemantic",
            "per-pixel class: 0 uncertain, 1 background, 2-17 the release's 16 COCO classes",
            OutputKind.DENSE_CLASSIFICATION,
            N_RELEASE_SEMANTIC_CLASSES,
            Loss.CROSS_ENTROPY,
        ),
        TaskInfo(
            "class_object",
            "soft 1000-way ImageNet object distribution",
            OutputKind.IMAGE_DISTRIBUTION,
            N_IMAGENET_CLASSES,
            Loss.CROSS_ENTROPY,
        ),
        TaskInfo(
            "class_scene",
            "soft 365-way Places scene distribution",
            OutputKind.IMAGE_DISTRIBUTION,
            N_PLACES_CLASSES,
            Loss.CROSS_ENTROPY,
        ),
    ]
}


def builtin_task(name: str, dataset: DatasetKind = "mini") -> TaskInfo | None:
    """The built-in task called ``name`` as defined for ``dataset``, or None.

    ``mini`` gives the mini generator's label spaces, ``taskonomy`` the release's own
    (:data:`RELEASE_LABEL_SPACES`) where they differ. Real-dataset-only tasks are found
    for both; whether a spec may use them is a rule of the spec.
    """
    if dataset == "taskonomy" and name in RELEASE_LABEL_SPACES:
        return RELEASE_LABEL_SPACES[name]
    return BUILTIN_TASKS.get(name) or TASKONOMY_ONLY_TASKS.get(name)
