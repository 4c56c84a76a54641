"""Label formats of the task bank, on disk and in memory, and where each task's label comes from.

In memory every label has the bank's format (see :mod:`taskonomy.tasks.bank`) with a
leading batch dimension. On disk dense regression labels are stored as float16 and
classes as the smallest integer type that holds them, halving the cache; readers cast
back to the bank's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from taskonomy.data.errors import DataError
from taskonomy.data.labels import (
    IMAGE_TARGET_TASKS,
    LABEL_FUNCTIONS,
    NO_STORED_LABEL_TASKS,
    LabelFn,
)
from taskonomy.data.render import SceneBuffers
from taskonomy.tasks.bank import BUILTIN_TASKS, OutputKind, TaskInfo


@runtime_checkable
class UserTask(Protocol):
    """A user task object: its :class:`TaskInfo` and a batched label function."""

    @property
    def info(self) -> TaskInfo: ...

    def make_label(self, buffers: SceneBuffers) -> np.ndarray: ...


TaskLike = TaskInfo | UserTask


def task_info(task: TaskLike) -> TaskInfo:
    """The :class:`TaskInfo` of a task or of a user task object."""
    return task if isinstance(task, TaskInfo) else task.info


def is_builtin(info: TaskInfo) -> bool:
    return BUILTIN_TASKS.get(info.name) == info


def label_shape(info: TaskInfo, size: int) -> tuple[int, ...]:
    """Shape of one label of ``info`` for ``size x size`` images (no batch dimension)."""
    kind = info.output
    if kind is OutputKind.DENSE_REGRESSION:
        return (info.channels, size, size)
    if kind is OutputKind.DENSE_CLASSIFICATION:
        return (size, size)
    if kind is OutputKind.IMAGE_CLASSIFICATION:
        return ()
    if kind in (
        OutputKind.IMAGE_MULTILABEL,
        OutputKind.IMAGE_DISTRIBUTION,
        OutputKind.IMAGE_REGRESSION,
    ):
        return (info.channels,)
    raise DataError(f"task {info.name!r} has no label (output kind {kind.value!r})")


def memory_dtype(info: TaskInfo) -> type[np.generic]:
    """The bank's dtype of ``info``'s labels."""
    if info.output in (OutputKind.DENSE_CLASSIFICATION, OutputKind.IMAGE_CLASSIFICATION):
        return np.int64
    return np.float32


def storage_dtype(info: TaskInfo) -> type[np.generic]:
    """The dtype ``info``'s labels are stored with."""
    if info.output is OutputKind.DENSE_REGRESSION:
        return np.float16
    if info.output in (OutputKind.DENSE_CLASSIFICATION, OutputKind.IMAGE_CLASSIFICATION):
        return np.uint8 if info.channels <= 256 else np.int32
    return np.float32


def check_label(info: TaskInfo, label: np.ndarray, batch: int, size: int) -> np.ndarray:
    """``label`` cast to the bank's dtype, or a :class:`DataError` naming what is wrong."""
    want = (batch, *label_shape(info, size))
    arr = np.asarray(label)
    if arr.shape != want:
        raise DataError(
            f"labels of task {info.name!r} have shape {arr.shape}, expected {want} "
            f"(batch, then the {info.output.value} format of the task bank); fix make_label"
        )
    arr = arr.astype(memory_dtype(info), copy=False)
    if info.output in (OutputKind.DENSE_CLASSIFICATION, OutputKind.IMAGE_CLASSIFICATION) and (
        arr.size and (arr.min() < 0 or arr.max() >= info.channels)
    ):
        raise DataError(
            f"labels of task {info.name!r} hold classes outside [0, {info.channels}); fix "
            "make_label or the task's channels"
        )
    if info.output is OutputKind.IMAGE_DISTRIBUTION and arr.size:
        sums = arr.sum(axis=1)
        if not np.isfinite(arr).all() or arr.min() < 0 or not np.allclose(sums, 1, atol=1e-3):
            raise DataError(
                f"labels of task {info.name!r} are not probability vectors (each must be "
                "non-negative and sum to 1); fix make_label"
            )
    return arr


def stores_label(info: TaskInfo) -> bool:
    """Whether ``info`` has a label file (not the image itself, not a transform's output)."""
    if info.output is OutputKind.NONE:
        return False
    if is_builtin(info):
        return info.name not in IMAGE_TARGET_TASKS | NO_STORED_LABEL_TASKS
    return True


def label_maker(task: TaskLike) -> LabelFn:
    """The function producing ``task``'s labels from render buffers.

    Built-in tasks use :data:`~taskonomy.data.labels.LABEL_FUNCTIONS`; a user task must
    carry a callable ``make_label(buffers)`` (on the object holding ``info``, or on a
    :class:`TaskInfo` subclass).
    """
    info = task_info(task)
    maker: Callable[[SceneBuffers], np.ndarray] | None = getattr(task, "make_label", None)
    if callable(maker):
        return maker
    if is_builtin(info) and info.name in LABEL_FUNCTIONS:
        return LABEL_FUNCTIONS[info.name]
    if is_builtin(info):
        raise DataError(f"built-in task {info.name!r} has no stored label")
    raise DataError(
        f"task {info.name!r} is not built in and has no make_label(buffers) function; give "
        "the object named in the spec (the one holding 'info') a method "
        "make_label(buffers: taskonomy.data.SceneBuffers) -> np.ndarray returning a batch "
        "of labels, and pass that object (not only its info) to prepare_dataset"
    )
