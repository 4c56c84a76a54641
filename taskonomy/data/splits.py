"""The on-disk format of a prepared dataset, shared by every dataset kind.

Layout of a prepared dataset directory::

    index.json                  # written last: format, kind, image size, splits, tasks
    <split>/images.npy          # uint8 (N, 3, H, W)
    <split>/<task>.npy          # one label array per task that stores one

Arrays are plain ``.npy`` files, opened memory-mapped by :mod:`taskonomy.data.reader`.
Dense regression labels are float16 on disk, classes uint8 (see
:mod:`taskonomy.data.formats`); the reader returns the bank's dtypes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.data import labels as _labels
from taskonomy.data.errors import DataError
from taskonomy.data.formats import label_shape, storage_dtype
from taskonomy.tasks.bank import TaskInfo

SPLITS = ("encoder_train", "transfer_train", "test")
INDEX_FILE = "index.json"
FORMAT_VERSION = 1


class SplitWriter:
    """Memory-mapped arrays of one split, filled slice by slice."""

    def __init__(self, folder: Path, n: int, size: int, tasks: Sequence[TaskInfo]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.n = n
        self.images = np.lib.format.open_memmap(
            folder / "images.npy", mode="w+", dtype=np.uint8, shape=(n, 3, size, size)
        )
        self.labels = {
            t.name: np.lib.format.open_memmap(
                folder / f"{t.name}.npy",
                mode="w+",
                dtype=storage_dtype(t),
                shape=(n, *label_shape(t, size)),
            )
            for t in tasks
        }

    def close(self) -> None:
        for arr in (self.images, *self.labels.values()):
            arr.flush()
        self.labels.clear()


def _tasks_entry(tasks: Sequence[TaskInfo]) -> dict[str, Any]:
    return {
        t.name: {
            "output": t.output.value,
            "channels": t.channels,
            "file": f"{t.name}.npy",
            "dtype": np.dtype(storage_dtype(t)).name,
        }
        for t in tasks
    }


def write_index(out_dir: Path, index: Mapping[str, Any]) -> None:
    """Write ``index.json`` atomically; its presence marks a complete dataset."""
    tmp = out_dir / (INDEX_FILE + ".tmp")
    tmp.write_text(json.dumps(index, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out_dir / INDEX_FILE)


def split_sizes(params: Mapping[str, Any]) -> dict[str, int]:
    splits = params.get("splits") or {}
    try:
        return {s: int(splits[s]) for s in SPLITS}
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"dataset params need splits with {', '.join(SPLITS)} image counts; got {splits!r}"
        ) from exc


def common_index(params: Mapping[str, Any], size: int, tasks: Sequence[TaskInfo]) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "kind": params.get("kind", "mini"),
        "image_size": size,
        "seed": int(params.get("seed") or 0),
        "tasks": _tasks_entry(tasks),
        "normalisation": {
            "depth_scale_m": _labels.DEPTH_SCALE_M,
            "curvature_scale_m": _labels.CURVATURE_SCALE_M,
            "edge2d_scale": _labels.EDGE2D_SCALE,
            "keypoint2d_scale": _labels.KEYPOINT2D_SCALE,
            "edge3d_scale": _labels.EDGE3D_SCALE,
            "keypoint3d_scale": _labels.KEYPOINT3D_SCALE,
        },
    }


def split_seed(seed: int, split: str) -> np.random.SeedSequence:
    """The seed of one split: different per split, fixed by the dataset seed."""
    return np.random.SeedSequence([seed, SPLITS.index(split), 0x7A5C])
