"""Decoding one view of each release domain into its built-in task's definition.

The release's conventions, per domain (:func:`decode`; the directory reader that calls
it is :mod:`taskonomy.data.taskonomy_dir`):

* ``rgb``: 8-bit RGB. ``depth_zbuffer`` / ``depth_euclidean``: 16-bit, 1/512 m per unit,
  65535 invalid (invalid pixels become the far value 1.0 after resizing without them).
* ``normal``: 8-bit RGB mapped to ``[-1, 1]`` and renormalised. ``reshading``: the first
  channel over its bit depth. ``principal_curvature``: the first two 8-bit channels,
  128 being zero, mapped to ``[-1, 1]``.
* ``edge_texture``, ``edge_occlusion``, ``keypoints2d``, ``keypoints3d``: 16-bit over
  65535.
* ``segment_semantic``: the release's ids as they are (0 uncertain, 1 background, 2-17
  its 16 COCO classes); an id outside them becomes 0 (uncertain).
  ``segment_unsup25d``: segment ids modulo the task's classes.
* ``class_object``, ``class_scene``: a ``.npy`` vector per view, the release's soft
  1000-way ImageNet and 365-way Places distributions. It must have exactly that many
  entries, all finite and non-negative; it is renormalised to sum to 1.
* ``room_layout``, ``vanishing_point``: a ``.npy`` vector per view, its first ``C``
  entries as they are.
* ``vanishing_point`` without its own folder is read from the release's ``point_info``
  JSON (``point_<p>_view_<v>_domain_point_info.json``): its
  ``vanishing_points_gaussian_sphere`` x, y and z directions, concatenated. Room layout
  has no such field and still needs its ``.npy`` vectors.

PNG decoding needs Pillow (installed with matplotlib); it is imported only here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from taskonomy.data.errors import DataError
from taskonomy.data.labels import DEPTH_SCALE_M
from taskonomy.errors import MissingDependencyError
from taskonomy.tasks.bank import OutputKind, TaskInfo, builtin_task

#: The release's domain holding each built-in task's label.
TASK_DOMAINS: dict[str, str] = {
    "edge2d": "edge_texture",
    "keypoint2d": "keypoints2d",
    "edge3d": "edge_occlusion",
    "keypoint3d": "keypoints3d",
    "rgb2depth": "depth_zbuffer",
    "rgb2mist": "depth_euclidean",
    "rgb2sfnorm": "normal",
    "reshade": "reshading",
    "curvature": "principal_curvature",
    "segment25d": "segment_unsup25d",
    "segmentsemantic": "segment_semantic",
    "class_object": "class_object",
    "class_scene": "class_scene",
    "room_layout": "room_layout",
    "vanishing_point": "vanishing_point",
}
VECTOR_DOMAINS = frozenset({"class_object", "class_scene", "room_layout", "vanishing_point"})
#: Where a task's label is read from when its own domain folder is missing.
FALLBACK_DOMAINS = {"vanishing_point": "point_info"}
#: The ``point_info`` field holding the vanishing points (x, y, z: 3 values each).
VP_FIELD = "vanishing_points_gaussian_sphere"


def view_file(folder: Path, point: int, view: int, domain: str) -> Path:
    ext = "json" if domain == "point_info" else "npy" if domain in VECTOR_DOMAINS else "png"
    return folder / f"point_{point}_view_{view}_domain_{domain}.{ext}"


def read_png(path: Path) -> tuple[np.ndarray, float]:
    """Pixels (``H x W`` or ``H x W x C``) and the maximum value of their bit depth."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow comes with matplotlib
        raise MissingDependencyError(
            "reading a Taskonomy directory needs Pillow; pip install pillow"
        ) from exc
    if not path.is_file():
        raise DataError(f"missing file {str(path)!r}; the domain folder is incomplete")
    with Image.open(path) as img:
        arr = np.asarray(img)
    full = 255.0 if arr.dtype == np.uint8 else 65535.0
    return arr, full


def _square(arr: np.ndarray) -> np.ndarray:
    h, w = arr.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return arr[top : top + s, left : left + s]


def _resize(arr: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Resize a square ``S x S [x C]`` array: box mean (or nearest) to ``size``."""
    arr = _square(arr)
    s = arr.shape[0]
    if nearest:
        pick = ((np.arange(size) + 0.5) * s / size).astype(int)
        return np.asarray(arr[pick][:, pick])
    a = arr.astype(np.float64)
    if s % size == 0:
        f = s // size
        shape = (size, f, size, f, *a.shape[2:])
        blocks = a.reshape(shape)
        valid = ~np.isnan(blocks)
        total = np.where(valid, blocks, 0.0).sum(axis=(1, 3))
        count = valid.sum(axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.where(count > 0, total / count, np.nan))
    zoom = (size / s, size / s) + (1,) * (a.ndim - 2)
    fill = float(a[~np.isnan(a)].max()) if (~np.isnan(a)).any() else 0.0
    return np.asarray(ndimage.zoom(np.nan_to_num(a, nan=fill), zoom, order=1))


def _point_info_vector(path: Path) -> np.ndarray:
    """The vanishing points a ``point_info`` JSON holds: x, y, z directions, 9 values."""
    try:
        vps = json.loads(path.read_text(encoding="utf-8"))[VP_FIELD]
        vec = np.asarray([float(c) for axis in "xyz" for c in vps[axis]], dtype=np.float64)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{str(path)!r} has no readable {VP_FIELD!r} (x, y and z lists): {exc}"
        ) from None
    return vec


def release_definition_problem(info: TaskInfo) -> str | None:
    """Why the reader cannot label ``info`` from its release domain, or None."""
    release = builtin_task(info.name, "taskonomy")
    if release is None or info == release:
        return None
    return (
        f"task {info.name!r} is defined as {info.output.value} with {info.channels} "
        f"channel(s), but the release labels it as {release.output.value} with "
        f"{release.channels} (its own label space); resolve the spec's tasks for "
        "dataset.kind taskonomy (taskonomy.spec.resolve_tasks), or give your own task "
        "another name"
    )


def _load_vector(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"missing file {str(path)!r}; the domain folder is incomplete")
    if path.suffix == ".json":
        return _point_info_vector(path)
    try:
        return np.asarray(np.load(path), dtype=np.float64).ravel()
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"{str(path)!r} is not a readable numeric .npy vector: {exc}") from None


def _distribution(info: TaskInfo, path: Path, vec: np.ndarray) -> np.ndarray:
    """The release's soft label ``vec`` checked and renormalised to sum to 1."""
    if vec.size != info.channels:
        raise DataError(
            f"{str(path)!r} holds {vec.size} values; task {info.name!r} is the release's "
            f"{info.channels}-way distribution; is the file from another domain?"
        )
    if not np.isfinite(vec).all() or (vec < 0).any() or vec.sum() <= 0:
        raise DataError(
            f"{str(path)!r} is not a probability vector (it has non-finite or negative "
            f"values, or sums to 0); task {info.name!r} reads the release's soft labels, "
            "not logits"
        )
    return np.asarray(vec / vec.sum(), dtype=np.float32)


def decode_rgb(path: Path, size: int) -> np.ndarray:
    """One view's image from the release's ``rgb`` file: uint8 ``(3, size, size)``."""
    rgb, full = read_png(path)
    img = _resize(rgb[..., :3].astype(np.float64) / full, size)
    return np.asarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8).transpose(2, 0, 1))


def decode(info: TaskInfo, path: Path, size: int) -> np.ndarray:
    """One view's label of built-in ``info`` from the release file ``path``."""
    domain = TASK_DOMAINS[info.name]
    if domain in VECTOR_DOMAINS:
        vec = _load_vector(path)
        if info.output is OutputKind.IMAGE_DISTRIBUTION:
            return _distribution(info, path, vec)
        if vec.size < max(info.channels, 1):
            raise DataError(
                f"{str(path)!r} holds {vec.size} values; task {info.name!r} needs at least "
                f"{info.channels}"
            )
        return vec[: info.channels].astype(np.float32)
    arr, full = read_png(path)
    if domain in ("depth_zbuffer", "depth_euclidean"):
        raw = (arr[..., 0] if arr.ndim == 3 else arr).astype(np.float64)
        metres = np.where(raw >= 65535, np.nan, raw / 512.0)
        with np.errstate(all="ignore"):
            small = _resize(metres, size)
        return np.nan_to_num(np.clip(small / DEPTH_SCALE_M, 0, 1), nan=1.0)[None]
    if domain in ("segment_semantic", "segment_unsup25d"):
        ids = _resize(arr[..., 0] if arr.ndim == 3 else arr, size, nearest=True).astype(np.int64)
        if domain == "segment_unsup25d":
            return np.asarray(ids % info.channels)
        return np.where(ids < info.channels, ids, 0)  # not a release class: uncertain
    if domain == "normal":
        n = _resize(arr[..., :3].astype(np.float64) / full * 2 - 1, size)
        norm = np.linalg.norm(n, axis=-1, keepdims=True)
        return np.asarray(np.where(norm > 1e-6, n / np.maximum(norm, 1e-6), 0.0).transpose(2, 0, 1))
    if domain == "principal_curvature":
        c = _resize(arr[..., :2].astype(np.float64) / full * 2 - 1, size)
        return np.asarray(c.transpose(2, 0, 1))
    grey = arr[..., 0] if arr.ndim == 3 else arr
    return _resize(grey.astype(np.float64) / full, size)[None]
