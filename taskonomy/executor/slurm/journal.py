"""What the SLURM driver remembers between runs: ``WORKDIR/slurm/jobs.json``.

One entry per plan job that was ever submitted: the SLURM id of the array task that runs
it, the state the driver last reconciled, where its logs are, and how often it failed.
A driver that is killed loses nothing: the next ``taskonomy run`` reads this file,
reattaches to the ids still queued or running and resubmits the rest.
``taskonomy status`` reads it too (``{job_id: {"slurm_job_id", "state", "log", ...}}``),
and ``taskonomy cancel``/``clean`` find what the run submitted through it.

The file is rewritten atomically (temporary file and rename) after every change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.accounting import base_id
from taskonomy.executor.slurm.states import JobStatus
from taskonomy.executor.store import write_json_atomic

#: The driver's directory inside a work directory.
SLURM_DIR = "slurm"
JOURNAL = "jobs.json"
#: Per-job outcome files that array tasks write (what execute_jobs reported).
OUTCOMES = "outcomes"

#: States of an entry the scheduler may still change.
ACTIVE = frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.REQUEUED, JobStatus.UNKNOWN})


def slurm_dir(workdir: Path) -> Path:
    return Path(workdir) / SLURM_DIR


def job_log(workdir: Path, job_id: str) -> Path:
    """The per-job log the executor core writes (``logs/<id with / as __>.log``)."""
    return Path(workdir) / "logs" / f"{job_id.replace('/', '__')}.log"


def outcome_path(workdir: Path, job_id: str) -> Path:
    return slurm_dir(workdir) / OUTCOMES / f"{quote(job_id, safe='')}.json"


def _status(value: Any) -> JobStatus:
    try:
        return JobStatus(str(value))
    except ValueError:
        return JobStatus.UNKNOWN


@attrs.define
class Entry:
    """The driver's record of one plan job.

    Attributes:
        job_id: the plan job.
        slurm_job_id: the array task (``123_4``) or job (``123``) that runs it now.
        state: the reconciled status (``completed`` only with a committed artifact).
        log: the job's own log file.
        slurm_log: the array task's stdout (submitit's log), beside its pickles.
        folder: submitit's folder of that submission.
        stage: the plan stage the job belongs to.
        pack: the plan jobs sharing the array task, this one included.
        attempts: submissions so far.
        failures: submissions that ended without the job's artifact (cancellations
            excluded); the job is resubmitted while this is at most
            ``executor.slurm_max_retries``.
        mem_gb: the memory asked for at the last submission.
        submitted: when (epoch seconds) the last submission was made.
        reason: why the job failed, when it did.
        history: SLURM ids of earlier submissions of this job.
        after: the SLURM ids its submission waited for (``afterok``).
    """

    job_id: str
    slurm_job_id: str
    state: JobStatus
    log: str
    slurm_log: str
    folder: str
    stage: str
    pack: list[str] = attrs.field(factory=list)
    attempts: int = 1
    failures: int = 0
    mem_gb: float = 0.0
    submitted: float = 0.0
    reason: str = ""
    history: list[str] = attrs.field(factory=list)
    after: list[str] = attrs.field(factory=list)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["state"] = str(self.state)
        del data["job_id"]
        return data

    @classmethod
    def from_json(cls, job_id: str, data: Mapping[str, Any]) -> Entry:
        return cls(
            job_id=job_id,
            slurm_job_id=str(data.get("slurm_job_id", "")),
            state=_status(data.get("state", "unknown")),
            log=str(data.get("log", "")),
            slurm_log=str(data.get("slurm_log", "")),
            folder=str(data.get("folder", "")),
            stage=str(data.get("stage", "")),
            pack=[str(j) for j in data.get("pack", [job_id])],
            attempts=int(data.get("attempts", 1)),
            failures=int(data.get("failures", 0)),
            mem_gb=float(data.get("mem_gb", 0.0)),
            submitted=float(data.get("submitted", 0.0)),
            reason=str(data.get("reason", "")),
            history=[str(h) for h in data.get("history", [])],
            after=[str(a) for a in data.get("after", [])],
        )


class Journal:
    """The entries of one work directory, loaded from and saved to ``slurm/jobs.json``."""

    def __init__(self, workdir: Path, entries: Mapping[str, Entry] | None = None) -> None:
        self.workdir = Path(workdir)
        self.entries: dict[str, Entry] = dict(entries or {})

    @property
    def path(self) -> Path:
        return slurm_dir(self.workdir) / JOURNAL

    @classmethod
    def load(cls, workdir: Path) -> Journal:
        """The journal of ``workdir``; empty when nothing was submitted yet.

        Raises:
            ExecutionError: the file exists but is not a journal.
        """
        journal = cls(workdir)
        path = journal.path
        if not path.exists():
            return journal
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            journal.entries = {str(k): Entry.from_json(str(k), v) for k, v in data.items()}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ExecutionError(
                f"the SLURM job journal {str(path)!r} is unreadable ({exc}); if no jobs of "
                "this run are still queued, delete it and rerun (finished artifacts are kept)"
            ) from None
        return journal

    def save(self) -> None:
        write_json_atomic(self.path, {k: e.to_json() for k, e in sorted(self.entries.items())})

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, job_id: str) -> Entry | None:
        return self.entries.get(job_id)

    def active_ids(self) -> list[str]:
        """SLURM ids of the entries the scheduler may still change, each once."""
        return list(dict.fromkeys(e.slurm_job_id for e in self if e.active and e.slurm_job_id))

    def unsuccessful_ids(self) -> set[str]:
        """SLURM ids (tasks and their arrays' base ids) of submissions that ended without
        success: the current one of each finished, not completed entry, and every earlier
        one (a job is resubmitted only after its submission ended without its artifact).

        An ``afterok`` on any of them is never satisfied, which is how the driver tells a
        job SLURM cancelled for a failed parent.
        """
        ids: set[str] = set()
        for entry in self:
            ended = [*entry.history]
            if entry.state.finished and entry.state is not JobStatus.COMPLETED:
                ended.append(entry.slurm_job_id)
            ids.update(i for sid in ended for i in (sid, base_id(sid)))
        return ids

    def record_submission(
        self,
        job_id: str,
        slurm_job_id: str,
        *,
        slurm_log: str,
        folder: str,
        stage: str,
        pack: list[str],
        mem_gb: float,
        submitted: float,
        after: list[str],
    ) -> Entry:
        """A new PENDING entry for ``job_id``, carrying over its attempts and history."""
        prev = self.get(job_id)
        entry = self.entries[job_id] = Entry(
            job_id=job_id,
            slurm_job_id=slurm_job_id,
            state=JobStatus.PENDING,
            log=str(job_log(self.workdir, job_id)),
            slurm_log=slurm_log,
            folder=folder,
            stage=stage,
            pack=pack,
            attempts=(prev.attempts + 1) if prev else 1,
            failures=prev.failures if prev else 0,
            mem_gb=mem_gb,
            submitted=submitted,
            history=[*prev.history, prev.slurm_job_id] if prev else [],
            after=after,
        )
        return entry

    def by_array(self, task_ids: Sequence[str]) -> list[str]:
        """``task_ids`` with every array all of whose journaled tasks are among them named
        by its base id (``12`` for ``12_0, 12_1``), in first-seen order."""
        tasks_of: dict[str, set[str]] = {}
        for entry in self:
            tasks_of.setdefault(base_id(entry.slurm_job_id), set()).add(entry.slurm_job_id)
        out: list[str] = []
        for base in dict.fromkeys(base_id(t) for t in task_ids):
            mine = {t for t in task_ids if base_id(t) == base}
            out.extend([base] if mine >= tasks_of.get(base, set()) else sorted(mine))
        return out
