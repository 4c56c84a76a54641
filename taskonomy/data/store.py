"""The on-disk dataset: generate (``mini``) or import (``taskonomy``) the three splits.

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
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.data import labels as _labels
from taskonomy.data.errors import DataError
from taskonomy.data.formats import (
    TaskLike,
    check_label,
    label_maker,
    label_shape,
    storage_dtype,
    stores_label,
    task_info,
)
from taskonomy.data.render import render_random
from taskonomy.tasks.bank import TaskInfo

SPLITS = ("encoder_train", "transfer_train", "test")
INDEX_FILE = "index.json"
FORMAT_VERSION = 1
#: Images rendered together; each chunk has its own seed, so chunks render in parallel
#: and the result does not depend on the number of threads.
CHUNK = 128


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


def prepare_dataset(
    params: Mapping[str, Any], tasks: Sequence[TaskLike], out_dir: Path
) -> dict[str, Any]:
    """Write the three splits with the labels of ``tasks`` into ``out_dir``.

    Args:
        params: ``DatasetSpec.model_dump(mode="json")`` plus ``seed`` (extra keys are
            ignored).
        tasks: the tasks to store labels for: :class:`TaskInfo`\\ s, or user task objects
            with ``info`` and ``make_label(buffers)``. Tasks whose label is the image or
            comes with their input transform store nothing.
        out_dir: the dataset directory (created).

    Returns:
        Stats: images per split, seconds, images per second.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / INDEX_FILE).unlink(missing_ok=True)
    size = int(params.get("image_size", 64))
    kind = params.get("kind", "mini")
    if kind == "mini":
        return _prepare_mini(params, tasks, out_dir, size)
    if kind == "taskonomy":
        from taskonomy.data.taskonomy_dir import prepare_taskonomy

        return prepare_taskonomy(params, [task_info(t) for t in tasks], out_dir, size)
    raise DataError(f"unknown dataset kind {kind!r}; use 'mini' or 'taskonomy'")


def split_seed(seed: int, split: str) -> np.random.SeedSequence:
    """The seed of one split: different per split, fixed by the dataset seed."""
    return np.random.SeedSequence([seed, SPLITS.index(split), 0x7A5C])


def _prepare_mini(
    params: Mapping[str, Any], tasks: Sequence[TaskLike], out_dir: Path, size: int
) -> dict[str, Any]:
    seed = int(params.get("seed") or 0)
    sizes = split_sizes(params)
    stored = [t for t in tasks if stores_label(task_info(t))]
    makers = {task_info(t).name: label_maker(t) for t in stored}
    infos = [task_info(t) for t in stored]
    start = time.perf_counter()
    index = common_index(params, size, infos)
    index["splits"] = {}
    for split in SPLITS:
        n = sizes[split]
        writer = SplitWriter(out_dir / split, n, size, infos)
        chunks = split_seed(seed, split).spawn((n + CHUNK - 1) // CHUNK)

        def work(i: int, writer: SplitWriter = writer, chunks: Any = chunks, n: int = n) -> None:
            lo, hi = i * CHUNK, min(n, (i + 1) * CHUNK)
            buf = render_random(np.random.default_rng(chunks[i]), hi - lo, size)
            writer.images[lo:hi] = buf.image
            for info in infos:
                label = check_label(info, makers[info.name](buf), hi - lo, size)
                writer.labels[info.name][lo:hi] = label

        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(work, range(len(chunks))))
        writer.close()
        index["splits"][split] = {"n": n}
    seconds = time.perf_counter() - start
    write_index(out_dir, index)
    total = sum(sizes.values())
    return {
        "kind": "mini",
        "image_size": size,
        "images": dict(sizes),
        "tasks": [t.name for t in infos],
        "seconds": round(seconds, 3),
        "images_per_s": round(total / seconds, 1) if seconds > 0 else float("inf"),
    }
