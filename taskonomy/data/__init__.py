"""The data layer: the bundled generated mini Taskonomy, a reader of the real layout, splits.

Import-light by design: numpy and scipy only (never torch), so planning and data
preparation run anywhere. Public API:

* :func:`prepare_dataset` writes the three splits (``encoder_train``, ``transfer_train``,
  ``test``) with the labels of the given tasks into a directory;
* :func:`open_split` opens one split as a :class:`Split` (images, labels, Stage I batches);
* :class:`SceneBuffers` is what a user task's ``make_label(buffers)`` receives;
* :class:`DataError` is raised for anything a user can fix.
"""

from __future__ import annotations

from taskonomy.data.errors import DataError
from taskonomy.data.formats import UserTask, label_shape
from taskonomy.data.labels import LABEL_FUNCTIONS
from taskonomy.data.reader import Split, SplitName, open_split
from taskonomy.data.render import SceneBuffers, render, render_random
from taskonomy.data.scenes import Scenes, sample_scenes
from taskonomy.data.store import SPLITS, prepare_dataset
from taskonomy.data.transforms import apply_input_transform, jigsaw_permutations

__all__ = [
    "LABEL_FUNCTIONS",
    "SPLITS",
    "DataError",
    "SceneBuffers",
    "Scenes",
    "Split",
    "SplitName",
    "UserTask",
    "apply_input_transform",
    "jigsaw_permutations",
    "label_shape",
    "open_split",
    "prepare_dataset",
    "render",
    "render_random",
    "sample_scenes",
]
