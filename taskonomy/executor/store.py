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
temporary directory, which is ignored). Verification re-hashes the files, so a
corrupted artifact is detected and its job recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from taskonomy.planner.jobs import Job, JobState, Plan

MANIFEST = "MANIFEST.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


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
        if job_hash in self._verified:
            return self._verified[job_hash]
        manifest = self.manifest(job_hash)
        ok = manifest is not None and manifest.get("hash") == job_hash
        if ok and manifest is not None:
            base = self.path(job_hash)
            for name, meta in manifest.get("files", {}).items():
                f = base / name
                if (
                    not f.is_file()
                    or f.stat().st_size != meta["size"]
                    or (file_sha256(f) != meta["sha256"])
                ):
                    ok = False
                    break
        self._verified[job_hash] = ok
        return ok

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
        """A fresh private directory for ``job`` to write its files into."""
        tmp = self.root / "tmp" / f"{job.hash}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        return tmp

    def commit(self, job: Job, tmp: Path, meta: Mapping[str, Any] | None = None) -> Path:
        """Checksum ``tmp``'s files, write the manifest, and move it into place atomically."""
        files = {
            str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
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
        if final.exists():  # an invalid earlier artifact: move it aside, keep it for forensics
            final.rename(final.with_name(f"{final.name}.invalid.{uuid.uuid4().hex[:8]}"))
        os.rename(tmp, final)
        self._verified[job.hash] = True
        write_json_atomic(self._index_path(job.id), {"hash": job.hash, "completed": time.time()})
        return final

    def discard(self, tmp: Path) -> None:
        shutil.rmtree(tmp, ignore_errors=True)
