"""Prepare a dataset directory: generate (``mini``) or import (``taskonomy``) the three
splits in the on-disk format of :mod:`taskonomy.data.splits`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from taskonomy.data.errors import DataError
from taskonomy.data.formats import TaskLike, task_info
from taskonomy.data.splits import INDEX_FILE, SPLITS

__all__ = ["SPLITS", "prepare_dataset"]


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
        from taskonomy.data.mini import prepare_mini

        return prepare_mini(params, tasks, out_dir, size)
    if kind == "taskonomy":
        from taskonomy.data.taskonomy_dir import prepare_taskonomy

        return prepare_taskonomy(params, [task_info(t) for t in tasks], out_dir, size)
    raise DataError(f"unknown dataset kind {kind!r}; use 'mini' or 'taskonomy'")
