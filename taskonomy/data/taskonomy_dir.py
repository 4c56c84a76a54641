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
domain into exactly that definition of its task and reports any other as a problem;
each domain's decoding (bit depths, invalid values, label spaces) is in
:mod:`taskonomy.data.release_views`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.data.errors import DataError
from taskonomy.data.formats import stores_label
from taskonomy.data.release_views import (
    FALLBACK_DOMAINS,
    TASK_DOMAINS,
    decode,
    decode_rgb,
    release_definition_problem,
    view_file,
)
from taskonomy.data.splits import (
    SPLITS,
    SplitWriter,
    common_index,
    split_seed,
    split_sizes,
    write_index,
)
from taskonomy.tasks.bank import TaskInfo

_RGB_NAME = re.compile(r"^point_(\d+)_view_(\d+)_domain_rgb\.png$")


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
        fallback = FALLBACK_DOMAINS.get(task)
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
        elif problem := release_definition_problem(t):
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
        alt = FALLBACK_DOMAINS.get(task or "")
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
            rgb = view_file(layout.folder(building, "rgb"), point, view, "rgb")
            writer.images[i] = decode_rgb(rgb, size)
            for t in stored:
                domain = layout.domain(building, t.name)
                path = view_file(layout.folder(building, domain), point, view, domain)
                writer.labels[t.name][i] = decode(t, path, size)
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
