"""Durable writes: every file the toolkit keeps goes through here.

The discipline is SQLite's and git's: write a temporary file next to the target, flush
and fsync it, rename it over the target, then fsync the directory so the rename itself
survives a power cut. A reader (or the next run) then sees the old version or the new
one, never a torn file. Artifact directories get the same treatment in
:meth:`taskonomy.executor.store.ArtifactStore.commit` through :func:`fsync_tree`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

#: errno values that mean "the disk (or the quota) is full".
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: errno values that mean "this file system does not let us write".
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk or quota is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return True
        # torch's writer wraps the OSError in a RuntimeError that only names it.
        if isinstance(current, RuntimeError) and "No space left on device" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (renames, new files) durable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # a platform or file system that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush ``path``'s data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (directories after their entries)."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                fsync_file(path)
        fsync_dir(Path(dirpath))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def temporary_sibling(path: Path, tag: str = "tmp") -> Path:
    """A fresh hidden name next to ``path`` (same directory, so a rename is atomic)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.{tag}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; on success it is fsynced,
    renamed over ``path`` and the directory fsynced. On any error it is removed and
    ``path`` keeps its old content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` durably through ``write(fh)`` on a binary file (e.g. ``np.savez``)."""
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        write(fh)
        fh.flush()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, durably."""
    write_atomic(path, lambda fh: fh.write(data))


def write_json_atomic(path: Path, value: Any) -> None:
    """Replace ``path`` with ``value`` as JSON (indented, sorted keys), durably."""
    text = json.dumps(value, indent=2, sort_keys=True)
    write_bytes_atomic(path, text.encode("utf-8"))


def replace_dir_atomic(source: Path, dest: Path) -> None:
    """Publish a copy of directory ``source`` as ``dest``, durably.

    The copy is fsynced under a temporary name first; the old ``dest`` is moved aside
    and deleted only once the new one is in place, so a crash leaves one of the two.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(dest)
    old = temporary_sibling(dest, "old")
    try:
        shutil.copytree(source, tmp)
        fsync_tree(tmp)
        if dest.exists():
            os.rename(dest, old)
        os.rename(tmp, dest)
    except BaseException:
        _remove(tmp)
        if old.exists() and not dest.exists():
            os.rename(old, dest)
        raise
    fsync_dir(dest.parent)
    _remove(old)


__all__ = [
    "DISK_FULL_ERRNOS",
    "READ_ONLY_ERRNOS",
    "atomic_path",
    "fsync_dir",
    "fsync_file",
    "fsync_tree",
    "is_disk_full",
    "replace_dir_atomic",
    "temporary_sibling",
    "write_atomic",
    "write_bytes_atomic",
    "write_json_atomic",
]
