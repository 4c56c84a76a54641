"""Read a prepared dataset: images, labels and Stage I batches of one split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from taskonomy.data.errors import DataError
from taskonomy.data.formats import TaskLike, is_builtin, memory_dtype, task_info
from taskonomy.data.labels import IMAGE_TARGET_TASKS
from taskonomy.data.splits import FORMAT_VERSION, INDEX_FILE, SPLITS
from taskonomy.data.transforms import apply_input_transform
from taskonomy.tasks.bank import InputTransform, OutputKind, TaskInfo

SplitName = Literal["encoder_train", "transfer_train", "test"]


def _read_index(dataset_dir: Path) -> dict[str, Any]:
    path = dataset_dir / INDEX_FILE
    if not dataset_dir.is_dir():
        raise DataError(f"dataset directory {str(dataset_dir)!r} does not exist; prepare it first")
    if not path.is_file():
        raise DataError(
            f"dataset at {str(dataset_dir)!r} is incomplete (no {INDEX_FILE}); "
            "prepare_dataset did not finish there; run it again"
        )
    index: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if index.get("format") != FORMAT_VERSION:
        raise DataError(
            f"dataset at {str(dataset_dir)!r} has format {index.get('format')!r}, this "
            f"version reads format {FORMAT_VERSION}; prepare it again"
        )
    return index


class Split:
    """One split of a prepared dataset, memory-mapped.

    Every method takes optional indices ``idx`` (an integer array) and returns a fresh
    array with a leading batch dimension; ``None`` means the whole split.
    """

    def __init__(self, dataset_dir: Path, name: SplitName, index: dict[str, Any]) -> None:
        self.dataset_dir = dataset_dir
        self.name = name
        self._index = index
        self._folder = dataset_dir / name
        self._images = np.load(self._folder / "images.npy", mmap_mode="r")
        self._labels: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"Split({str(self.dataset_dir)!r}, {self.name!r}, n={self.n})"

    @property
    def n(self) -> int:
        return int(self._images.shape[0])

    @property
    def image_size(self) -> int:
        return int(self._index["image_size"])

    @property
    def tasks(self) -> tuple[str, ...]:
        """Names of the tasks with a stored label."""
        return tuple(self._index["tasks"])

    def _take(self, arr: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        if idx is None:
            return np.asarray(arr)
        idx = np.asarray(idx)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise DataError(f"indices must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < -self.n or idx.max() >= self.n):
            raise DataError(f"index out of range for split {self.name!r} of {self.n} images")
        return np.asarray(arr[idx])

    def images(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Clean RGB images, float32 ``(B, 3, H, W)`` in ``[0, 1]``."""
        raw = self._take(self._images, idx)
        return raw.astype(np.float32) / np.float32(255.0)

    def _label_array(self, name: str) -> np.ndarray:
        if name not in self._labels:
            path = self._folder / self._index["tasks"][name]["file"]
            self._labels[name] = np.load(path, mmap_mode="r")
        return self._labels[name]

    def label(self, task: TaskLike, idx: np.ndarray | None = None) -> np.ndarray:
        """Labels of ``task`` in the bank's format, with a leading batch dimension."""
        info = task_info(task)
        if info.output is OutputKind.NONE:
            raise DataError(f"task {info.name!r} has no label (it is an untrained source)")
        if is_builtin(info) and info.name in IMAGE_TARGET_TASKS:
            return self.images(idx)
        if info.input_transform is InputTransform.SHUFFLE:
            raise DataError(
                f"task {info.name!r} is labelled by the permutation drawn with its input; "
                "use encoder_batch(task, idx, rng)"
            )
        entry = self._index["tasks"].get(info.name)
        if entry is None:
            raise DataError(
                f"dataset at {str(self.dataset_dir)!r} has no labels for task {info.name!r} "
                f"(it has {', '.join(self.tasks) or 'none'}); prepare it again with this task"
            )
        if entry["output"] != info.output.value or entry["channels"] != info.channels:
            raise DataError(
                f"stored labels of {info.name!r} are {entry['output']} with "
                f"{entry['channels']} channels, but the task declares {info.output.value} "
                f"with {info.channels}; prepare the dataset again"
            )
        raw = self._take(self._label_array(info.name), idx)
        return raw.astype(memory_dtype(info))

    def encoder_batch(
        self, task: TaskLike, idx: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage I inputs (after the task's input transform) and labels of ``task``."""
        info: TaskInfo = task_info(task)
        if info.output is OutputKind.NONE or not info.trainable:
            raise DataError(f"task {info.name!r} is not trained; it has no encoder batches")
        images = self.images(idx)
        inputs, perms = apply_input_transform(info.input_transform, images, rng)
        if perms is not None:
            return inputs, perms
        if is_builtin(info) and info.name in IMAGE_TARGET_TASKS:
            return inputs, images
        return inputs, self.label(info, idx)


def open_split(dataset_dir: Path, split: SplitName) -> Split:
    """Open one split of the dataset prepared in ``dataset_dir``."""
    dataset_dir = Path(dataset_dir)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    index = _read_index(dataset_dir)
    if split not in index.get("splits", {}):
        raise DataError(f"dataset at {str(dataset_dir)!r} has no split {split!r}")
    return Split(dataset_dir, split, index)
