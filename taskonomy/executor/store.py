"""The content-addressed artifact store in a work directory.

Layout under ``<workdir>/store``::

    objects/<h[:2]>/<hash>/     one directory per completed job, named by the job hash:
        MANIFEST.json           job id, kind, hash, every file's size and SHA-256
        ...                     the job's files
    index/<quoted job id>.json  the hash last completed for a job id ("inputs changed")
    tmp/                        jobs being written

A job writes into a private temporary directory; :meth:`ArtifactStore.commit` checksums
the files, writes the manifest, and renames the directory into place in one atomic
step, so a half-written artifact is never taken as done (a killed run leaves only a
temporary directory, which is ignored and deleted by the next run on the same host).
Every file is fsynced before the rename and the directory after it
(:mod:`taskonomy.executor.durable`). Verification re-hashes the files, so a
corrupted artifact is detected and its job recomputed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from taskonomy.executor.durable import fsync_dir, fsync_tree, write_json_atomic
from taskonomy.planner.jobs import Job, JobState, Plan

MANIFEST = "MANIFEST.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tmp_owner(name: str) -> tuple[str, int] | None:
    """The (host, pid) a ``store/tmp`` entry's name records, or None for another name."""
    parts = name.split(".", 3)  # <hash>.<pid>.<random>[.<host>]
    if len(parts) < 3 or not parts[1].isdigit():
        return None
    return (parts[3] if len(parts) == 4 else socket.gethostname()), int(parts[1])


class ArtifactStore:
    """Artifacts of completed jobs, keyed by job hash."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.root = self.workdir / "store"
        self._verified: dict[str, bool] = {}

    def path(self, job_hash: str) -> Path:
        return self.root / "objects" / job_hash[:2] / job_hash

    def _index_path(self, job_id: str) -> Path:
        return self.root / "index" / f"{quote(job_id, safe='')}.json"

    def manifest(self, job_hash: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path(job_hash) / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def verify(self, job_hash: str) -> bool:
        """Whether the artifact is complete and every file matches its checksum."""
        if job_hash not in self._verified:
            self._verified[job_hash] = _verify_dir(self.path(job_hash), job_hash)
        return self._verified[job_hash]

    def state(self, job: Job) -> JobState:
        """Why ``job`` would run, or that it is done."""
        if self.path(job.hash).exists():
            return JobState.DONE if self.verify(job.hash) else JobState.INVALID
        try:
            last = json.loads(self._index_path(job.id).read_text(encoding="utf-8"))["hash"]
        except (OSError, ValueError, KeyError, TypeError):
            return JobState.NEW
        return JobState.MISSING if last == job.hash else JobState.INPUTS_CHANGED

    def states(self, plan: Plan) -> dict[str, JobState]:
        """The state of every job in ``plan``.

        A done job stays done when an upstream artifact is lost: its hash says its inputs
        are unchanged, and the upstream job, when rerun, reproduces the same inputs.
        """
        return {job.id: self.state(job) for job in plan}

    def begin(self, job: Job) -> Path:
        """A fresh private directory for ``job`` to write its files into (its name
        records this host and pid, so :meth:`clean_tmp` knows when it is abandoned)."""
        host = quote(socket.gethostname(), safe="")
        name = f"{job.hash}.{os.getpid()}.{uuid.uuid4().hex[:8]}.{host}"
        tmp = self.root / "tmp" / name
        tmp.mkdir(parents=True)
        return tmp

    def clean_tmp(self) -> list[Path]:
        """Delete temporary directories whose writer is gone: on this host, a pid that no
        longer runs. Another host's entries are left alone (a SLURM task may be writing).
        Returns the directories deleted."""
        from taskonomy.executor.lock import pid_alive

        removed: list[Path] = []
        try:
            entries = list((self.root / "tmp").iterdir())
        except OSError:
            return removed
        here = quote(socket.gethostname(), safe="")
        for entry in entries:
            owner = _tmp_owner(entry.name)
            if owner is None or owner[0] not in (here, socket.gethostname()):
                continue
            if owner[1] != os.getpid() and not pid_alive(owner[1]):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        return removed

    def commit(self, job: Job, tmp: Path, meta: Mapping[str, Any] | None = None) -> Path:
        """Checksum ``tmp``'s files, write the manifest, and move it into place atomically.

        Everything is fsynced before the rename and the directory after it, so a power
        cut leaves the artifact complete or absent. An artifact already in place that
        verifies (another process committed the same job) is kept and ``tmp`` discarded;
        only one that fails verification is moved aside as ``<hash>.invalid.<random>``.
        """
        files = {
            str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        fsync_tree(tmp)
        manifest = {
            "id": job.id,
            "kind": str(job.kind),
            "hash": job.hash,
            "files": files,
            "completed": time.time(),
            "meta": dict(meta or {}),
        }
        write_json_atomic(tmp / MANIFEST, manifest)
        final = self.path(job.hash)
        final.parent.mkdir(parents=True, exist_ok=True)
        if not self._make_room(final, job.hash):
            self.discard(tmp)  # the same job, committed meanwhile by another process
        else:
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                if not _verify_dir(final, job.hash):
                    raise
                self.discard(tmp)
            fsync_dir(final.parent)
        self._verified[job.hash] = True
        write_json_atomic(self._index_path(job.id), {"hash": job.hash, "completed": time.time()})
        return final

    def _make_room(self, final: Path, job_hash: str) -> bool:
        """Clear ``final`` for a commit: False when a valid artifact is already there.

        An invalid one is moved aside for forensics, and checked again once moved: if it
        verifies after all (a concurrent commit won the race), it is put back.
        """
        if not final.exists():
            return True
        if _verify_dir(final, job_hash):
            return False
        aside = final.with_name(f"{final.name}.invalid.{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            return True
        if _verify_dir(aside, job_hash):
            with contextlib.suppress(OSError):
                os.rename(aside, final)
            return not final.exists()
        return True

    def discard(self, tmp: Path) -> None:
        shutil.rmtree(tmp, ignore_errors=True)


def _verify_dir(base: Path, job_hash: str) -> bool:
    """Whether artifact directory ``base`` holds a manifest for ``job_hash`` whose every
    file matches its size and SHA-256."""
    try:
        manifest = json.loads((base / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("hash") != job_hash:
            return False
        for name, meta in manifest.get("files", {}).items():
            f = base / name
            if not f.is_file() or f.stat().st_size != meta["size"]:
                return False
            if file_sha256(f) != meta["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


__all__ = ["MANIFEST", "ArtifactStore", "file_sha256", "write_json_atomic"]
