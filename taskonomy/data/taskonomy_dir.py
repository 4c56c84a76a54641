"""Import a directory in the real Taskonomy on-disk layout into the prepared format.

Layouts read (detected from the folder names):

* per building, as the release's ``<building>_<domain>.tar`` archives unpack:
  ``root/<building>/<domain>/point_<p>_view_<v>_domain_<domain>.png``;
* per domain, as the Omnidata downloader writes it:
  ``root/<domain>/<building>/...`` or ``root/<domain>/taskonomy/<building>/...``.

Each domain is decoded by the release's conventions and centre-cropped to a square and
resized to ``image_size``. Dense regression labels are mapped onto the mini generator's
ranges (:mod:`taskonomy.data.labels`); class labels keep the release's own label spaces,
the built-in tasks as resolved for ``dataset.kind: taskonomy``
(:data:`taskonomy.tasks.bank.RELEASE_LABEL_SPACES`). The reader decodes each release
domain into exactly that definition of its task and reports any other as a problem:

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
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from taskonomy.data.errors import DataError
from taskonomy.data.formats import stores_label
from taskonomy.data.labels import DEPTH_SCALE_M
from taskonomy.data.splits import (
    SPLITS,
    SplitWriter,
    common_index,
    split_seed,
    split_sizes,
    write_index,
)
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
_VECTOR_DOMAINS = frozenset({"class_object", "class_scene", "room_layout", "vanishing_point"})
#: Where a task's label is read from when its own domain folder is missing.
_FALLBACK_DOMAINS = {"vanishing_point": "point_info"}
#: The ``point_info`` field holding the vanishing points (x, y, z: 3 values each).
VP_FIELD = "vanishing_points_gaussian_sphere"
_RGB_NAME = re.compile(r"^point_(\d+)_view_(\d+)_domain_rgb\.png$")


def _view_file(folder: Path, point: int, view: int, domain: str) -> Path:
    ext = "json" if domain == "point_info" else "npy" if domain in _VECTOR_DOMAINS else "png"
    return folder / f"point_{point}_view_{view}_domain_{domain}.{ext}"


class _Layout:
    """Where the folder of one (building, domain) is under ``root``."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise DataError(
                f"dataset.root {str(root)!r} does not exist or is not a directory; set "
                "dataset.root to the folder holding one folder per building "
                "(root/<building>/rgb/point_<p>_view_<v>_domain_rgb.png)"
            )
        self.root = root
        self.per_domain = (root / "rgb").is_dir()
        if self.per_domain:
            rgb = root / "rgb"
            inner = rgb / "taskonomy" if (rgb / "taskonomy").is_dir() else rgb
            self.buildings = sorted(p.name for p in inner.iterdir() if p.is_dir())
        else:
            self.buildings = sorted(
                p.name for p in root.iterdir() if p.is_dir() and (p / "rgb").is_dir()
            )
        if not self.buildings:
            raise DataError(
                f"no building with an 'rgb' folder under {str(root)!r}; expected "
                "root/<building>/rgb/*.png or root/rgb/<building>/*.png"
            )

    def folder(self, building: str, domain: str) -> Path:
        if not self.per_domain:
            return self.root / building / domain
        base = self.root / domain
        nested = base / "taskonomy" / building
        return nested if nested.is_dir() else base / building

    def domain(self, building: str, task: str) -> str:
        """The domain ``task``'s labels come from for ``building`` (its own, or the
        fallback when only that was downloaded)."""
        own = TASK_DOMAINS[task]
        fallback = _FALLBACK_DOMAINS.get(task)
        missing = not self.folder(building, own).is_dir()
        if fallback and missing and self.folder(building, fallback).is_dir():
            return fallback
        return own

    def views(self, building: str) -> list[tuple[int, int]]:
        files = self.folder(building, "rgb").iterdir()
        names = (m for p in files if (m := _RGB_NAME.match(p.name)))
        return sorted((int(m.group(1)), int(m.group(2))) for m in names)


def _assign_buildings(
    params: Mapping[str, Any], buildings: list[str], sizes: dict[str, int], seed: int
) -> dict[str, list[str]]:
    given = params.get("buildings")
    if given:
        unknown = sorted({b for bs in given.values() for b in bs} - set(buildings))
        if unknown:
            raise DataError(
                f"dataset.buildings names {', '.join(map(repr, unknown))}, not found under "
                f"dataset.root (found: {', '.join(buildings)})"
            )
        missing = [s for s in SPLITS if not given.get(s)]
        if missing:
            raise DataError(f"dataset.buildings gives no building for {', '.join(missing)}")
        return {s: list(given[s]) for s in SPLITS}
    if len(buildings) < len(SPLITS):
        raise DataError(
            f"found {len(buildings)} building(s) under dataset.root; splitting by building "
            "needs at least 3, or give dataset.buildings for each split"
        )
    order = [buildings[i] for i in np.random.default_rng(seed).permutation(len(buildings))]
    total = sum(sizes.values())
    n_test = max(1, round(len(order) * sizes["test"] / total))
    n_transfer = max(1, round(len(order) * sizes["transfer_train"] / total))
    n_test = min(n_test, len(order) - 2)
    n_transfer = min(n_transfer, len(order) - n_test - 1)
    return {
        "test": sorted(order[:n_test]),
        "transfer_train": sorted(order[n_test : n_test + n_transfer]),
        "encoder_train": sorted(order[n_test + n_transfer :]),
    }


def _read_png(path: Path) -> tuple[np.ndarray, float]:
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


def _release_definition_problem(info: TaskInfo) -> str | None:
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


def _decode(info: TaskInfo, path: Path, size: int) -> np.ndarray:
    """One view's label of built-in ``info`` from the release file ``path``."""
    domain = TASK_DOMAINS[info.name]
    if domain in _VECTOR_DOMAINS:
        vec = _load_vector(path)
        if info.output is OutputKind.IMAGE_DISTRIBUTION:
            return _distribution(info, path, vec)
        if vec.size < max(info.channels, 1):
            raise DataError(
                f"{str(path)!r} holds {vec.size} values; task {info.name!r} needs at least "
                f"{info.channels}"
            )
        return vec[: info.channels].astype(np.float32)
    arr, full = _read_png(path)
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


def _pick_views(
    layout: _Layout, buildings: list[str], n: int, seed: np.random.SeedSequence
) -> list[tuple[str, int, int]]:
    views = [(b, p, v) for b in buildings for p, v in layout.views(b)]
    if len(views) > n:
        keep = np.sort(np.random.default_rng(seed).choice(len(views), size=n, replace=False))
        views = [views[i] for i in keep]
    return views


def check_taskonomy(params: Mapping[str, Any], tasks: Sequence[TaskInfo]) -> list[str]:
    """Every problem that stops ``params`` (a ``taskonomy`` dataset) from being read,
    found from the folder names alone (no image is opened); [] when none.

    This is what ``taskonomy run`` checks before anything is submitted or run.
    """
    if not params.get("root"):
        return [
            "dataset.kind 'taskonomy' needs dataset.root (the folder the release was "
            "unpacked into; see docs/real-dataset.md)"
        ]
    try:
        layout = _Layout(Path(params["root"]))
    except DataError as exc:
        return [str(exc)]
    problems: list[str] = []
    stored = [t for t in tasks if stores_label(t)]
    for t in stored:
        if t.name not in TASK_DOMAINS:
            problems.append(
                f"task {t.name!r} has no domain in the Taskonomy release; the reader knows "
                f"{', '.join(sorted(TASK_DOMAINS))} (plus the image tasks); use the mini "
                "dataset for it or drop it"
            )
        elif problem := _release_definition_problem(t):
            problems.append(problem)
    try:
        assignment = _assign_buildings(
            params, layout.buildings, split_sizes(params), int(params.get("seed") or 0)
        )
    except DataError as exc:
        return [*problems, str(exc)]
    missing: dict[tuple[str, str | None], list[str]] = {}
    for split in SPLITS:
        for building in assignment[split]:
            needs: dict[str, str | None] = {"rgb": None}
            needs.update(
                {layout.domain(building, t.name): t.name for t in stored if t.name in TASK_DOMAINS}
            )
            for domain, task in needs.items():
                if not layout.folder(building, domain).is_dir():
                    missing.setdefault((domain, task), []).append(building)
        if not any(layout.views(b) for b in assignment[split] if layout.folder(b, "rgb").is_dir()):
            problems.append(
                f"split {split!r} has no rgb views (point_<p>_view_<v>_domain_rgb.png) in "
                f"buildings {', '.join(assignment[split])}"
            )
    for (domain, task), unsorted in missing.items():
        buildings = sorted(unsorted)
        alt = _FALLBACK_DOMAINS.get(task or "")
        tars = [f"{buildings[0]}_{d}.tar" for d in (domain, alt) if d]
        where = layout.folder(buildings[0], domain)
        shown = ", ".join(map(repr, buildings[:5])) + (
            f" and {len(buildings) - 5} more" if len(buildings) > 5 else ""
        )
        problems.append(
            f"domain {domain!r} needed by {repr(task) if task else 'the images'} is missing "
            f"for building(s) {shown}: no folder like {str(where)!r}; download that domain "
            f"(e.g. {' or '.join(tars)}) into it, or drop the task"
        )
    return problems


def prepare_taskonomy(
    params: Mapping[str, Any], tasks: Sequence[TaskInfo], out_dir: Path, size: int
) -> dict[str, Any]:
    """Read ``params['root']`` in the Taskonomy layout and write the prepared format."""
    start = time.perf_counter()
    problems = check_taskonomy(params, tasks)
    if problems:
        raise DataError(
            "; ".join(problems)
            if len(problems) == 1
            else "\n  - ".join(
                [f"the Taskonomy directory cannot be read ({len(problems)} problems):", *problems]
            )
        )
    layout = _Layout(Path(params["root"]))
    seed = int(params.get("seed") or 0)
    sizes = split_sizes(params)
    stored = [t for t in tasks if stores_label(t)]
    assignment = _assign_buildings(params, layout.buildings, sizes, seed)
    index = common_index(params, size, stored)
    index["splits"] = {}
    index["source"] = {"root": str(layout.root), "buildings": assignment}
    counts: dict[str, int] = {}
    for split in SPLITS:
        views = _pick_views(layout, assignment[split], sizes[split], split_seed(seed, split))
        if not views:
            raise DataError(f"split {split!r} has no rgb views in {assignment[split]}")
        writer = SplitWriter(out_dir / split, len(views), size, stored)
        for i, (building, point, view) in enumerate(views):
            rgb, full = _read_png(_view_file(layout.folder(building, "rgb"), point, view, "rgb"))
            img = _resize(rgb[..., :3].astype(np.float64) / full, size)
            img8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
            writer.images[i] = img8.transpose(2, 0, 1)
            for t in stored:
                domain = layout.domain(building, t.name)
                path = _view_file(layout.folder(building, domain), point, view, domain)
                writer.labels[t.name][i] = _decode(t, path, size)
        writer.close()
        counts[split] = len(views)
        index["splits"][split] = {"n": len(views)}
    seconds = time.perf_counter() - start
    write_index(out_dir, index)
    return {
        "kind": "taskonomy",
        "image_size": size,
        "images": counts,
        "tasks": [t.name for t in stored],
        "buildings": assignment,
        "layout": "per-domain" if layout.per_domain else "per-building",
        "seconds": round(seconds, 3),
        "images_per_s": round(sum(counts.values()) / seconds, 1) if seconds > 0 else 0.0,
    }
