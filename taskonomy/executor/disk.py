"""Disk space: how much a plan's remaining jobs will write, and a clear stop when it runs out.

The estimate is deliberately rough but errs high for the big artifacts: the dataset
(uint8 images plus labels, at most two bytes per label channel) and the cached fp16
features are computed from the spec; every other kind uses the mean size of its
artifacts already in the store, or a fixed allowance. A run checks it before it starts
and before each job, so it stops with :class:`DiskFullError` (exit code 2) instead of
dying inside a memory-mapped write (``Bus error``) or a torch writer's traceback.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from taskonomy.errors import ExecutionError
from taskonomy.executor.durable import READ_ONLY_ERRNOS, is_disk_full
from taskonomy.executor.lock import WorkdirAccessError
from taskonomy.executor.store import ArtifactStore
from taskonomy.kinds import JobKind
from taskonomy.planner.jobs import Job

MB = 1 << 20
#: Bytes assumed per job of a kind before any of its artifacts exists to measure.
_ALLOWANCE: dict[JobKind, int] = {
    JobKind.ENCODER: MB,
    JobKind.SCRATCH: MB // 4,
    JobKind.TRANSFER: MB // 4,
    JobKind.REPORT: 4 * MB,
}
_DEFAULT_ALLOWANCE = MB // 16
#: Bytes per pixel and label task assumed for a dataset (labels are at most fp16 x 2
#: channels on average; images add 3 bytes per pixel).
_LABEL_BYTES_PER_PIXEL = 4
#: Headroom on top of the estimate: logs, run records, manifests, the index.
SLACK = 2 * MB


class DiskFullError(ExecutionError):
    """The disk holding the work directory is (or would become) full."""


def free_bytes(workdir: Path) -> int | None:
    """Free bytes on the file system of ``workdir`` (or its nearest existing parent)."""
    path = Path(workdir).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _dataset_bytes(params: Mapping[str, Any]) -> int:
    splits = params.get("splits") or {}
    images = sum(int(n) for n in splits.values()) if isinstance(splits, Mapping) else 0
    side = int(params.get("image_size") or 0)
    tasks = len(params.get("label_tasks") or ())
    return images * side * side * (3 + _LABEL_BYTES_PER_PIXEL * tasks)


def _measured(store: ArtifactStore, jobs: Iterable[Job]) -> dict[JobKind, int]:
    """Mean artifact bytes per kind, from the manifests of artifacts in the store."""
    sizes: dict[JobKind, list[int]] = {}
    for job in jobs:
        manifest = store.manifest(job.hash)
        files = manifest.get("files") if manifest else None
        if isinstance(files, dict):
            total = sum(int(f.get("size", 0)) for f in files.values() if isinstance(f, dict))
            sizes.setdefault(job.kind, []).append(total)
    return {kind: sum(v) // len(v) for kind, v in sizes.items() if v}


def estimate_bytes(
    jobs: Iterable[Job], dataset: Mapping[str, Any], measured: Mapping[JobKind, int]
) -> int:
    """Bytes the artifacts of ``jobs`` will take (see the module doc)."""
    splits = dataset.get("splits") or {}
    feature_images = sum(int(splits.get(s, 0)) for s in ("transfer_train", "test"))
    total = 0
    for job in jobs:
        if job.kind in measured:
            total += measured[job.kind]
        elif job.kind is JobKind.DATASET:
            total += _dataset_bytes(job.params)
        elif job.kind is JobKind.FEATURES:
            rep = dataset.get("representation") or {}
            values = int(rep.get("channels", 8)) * int(rep.get("size", 16)) ** 2
            total += feature_images * values * 2  # float16
        else:
            total += _ALLOWANCE.get(job.kind, _DEFAULT_ALLOWANCE)
    return total


class SpaceCheck:
    """Checks free space in a work directory against what jobs are expected to write.

    Args:
        workdir: the work directory.
        store: its artifact store (measured sizes of kinds already run).
        all_jobs: every job of the plan (what is measured).
        dataset: the dataset job's params plus ``representation`` (the spec's
            ``model.representation``), for the formula estimates.
    """

    def __init__(
        self,
        workdir: Path,
        store: ArtifactStore,
        all_jobs: Iterable[Job],
        dataset: Mapping[str, Any],
    ) -> None:
        self.workdir = Path(workdir)
        self.dataset = dataset
        self.measured = _measured(store, [j for j in all_jobs if store.path(j.hash).is_dir()])

    def need(self, jobs: Iterable[Job]) -> int:
        return estimate_bytes(jobs, self.dataset, self.measured) + SLACK

    def check(self, jobs: Iterable[Job], *, what: str) -> None:
        """Raise :class:`DiskFullError` when ``jobs`` need more than is free."""
        jobs = list(jobs)
        if not jobs:
            return
        free = free_bytes(self.workdir)
        need = self.need(jobs)
        if free is not None and free < need:
            raise DiskFullError(disk_message(self.workdir, free, need, what))


def disk_message(workdir: Path, free: int | None, need: int | None, what: str) -> str:
    """The one message of a full disk: where, how much is free, how much is needed, and
    that nothing completed is lost."""
    have = f"{free / MB:.1f} MB free" if free is not None else "no space left"
    want = f"; {what} need about {need / MB:.0f} MB" if need else ""
    return (
        f"not enough disk space for work directory {workdir} ({have}{want}). Every "
        "completed job's artifact is kept: free space on that disk (or choose another "
        "--workdir) and run the same command again to resume"
    )


def disk_full(workdir: Path, exc: BaseException, job_ids: Iterable[str]) -> DiskFullError:
    """The error for ``exc`` (a write that found the disk full) while running ``job_ids``."""
    ids = ", ".join(job_ids)
    message = disk_message(workdir, free_bytes(workdir), None, "")
    return DiskFullError(f"the disk filled up while running {ids}: {message}")


@contextlib.contextmanager
def disk_errors(workdir: Path) -> Iterator[None]:
    """Turn a full disk or a read-only file system met while writing the work directory
    into one clear error (exit code 2) instead of a traceback."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(workdir, exc, ["the run"]) from None
        if exc.errno in READ_ONLY_ERRNOS:
            raise WorkdirAccessError(
                f"cannot write {exc.filename or 'a file'} in work directory {workdir} "
                f"({exc.strerror}); make it writable, or choose another --workdir"
            ) from None
        raise


__all__ = [
    "SLACK",
    "DiskFullError",
    "SpaceCheck",
    "disk_errors",
    "disk_full",
    "disk_message",
    "estimate_bytes",
    "free_bytes",
]
