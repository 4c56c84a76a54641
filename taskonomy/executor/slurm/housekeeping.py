"""``taskonomy cancel`` and ``taskonomy clean``: what a SLURM run leaves behind.

Both work from the journal (``WORKDIR/slurm/jobs.json``), so they touch only what the
run itself submitted: :func:`cancel_run` scancels the array tasks still queued or
running; :func:`clean_run` deletes submitit's pickles and logs of array tasks whose
every job succeeded, and the per-job logs and outcome files of succeeded jobs, keeping
everything of failed ones for diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.accounting import base_id
from taskonomy.executor.slurm.intents import Intents
from taskonomy.executor.slurm.journal import Entry, Journal, outcome_path
from taskonomy.executor.slurm.outcomes import ClusterLike
from taskonomy.executor.slurm.states import JobStatus

CANCELLED_BY_USER = "cancelled by `taskonomy cancel`"


def _journal(workdir: Path) -> Journal:
    journal = Journal.load(workdir)
    if not journal.path.exists():
        raise ExecutionError(
            f"{workdir} has no SLURM job journal ({journal.path}); was it run with "
            "executor.kind=slurm? (`taskonomy status WORKDIR` shows what it holds)"
        )
    return journal


def cancel_run(workdir: Path, cluster: ClusterLike) -> list[str]:
    """scancel every array task of the run that is still queued or running.

    Returns:
        The SLURM ids cancelled (empty when nothing was in flight).
    """
    journal = _journal(workdir)
    ids = journal.active_ids()
    # arrays a killed driver submitted but never journaled (see .intents)
    intents = Intents(workdir)
    for intent in intents.load():
        ids += [i for i in cluster.find_comment(intent.token) if i not in ids]
    if ids:
        cluster.cancel(ids)
    intents.clear()
    for entry in journal:
        if entry.active:
            entry.state = JobStatus.CANCELLED
            entry.reason = CANCELLED_BY_USER
    journal.save()
    return ids


@attrs.frozen
class CleanReport:
    """What :func:`clean_run` removed (or would remove) and what it kept.

    Attributes:
        removed: the files.
        bytes: their total size.
        kept_tasks: SLURM ids of tasks kept because a job of theirs did not succeed.
    """

    removed: tuple[Path, ...]
    bytes: int
    kept_tasks: tuple[str, ...]


def _task_files(folder: Path, task_id: str) -> list[Path]:
    """submitit's files of one task: ``<id>_submitted.pkl``, ``<id>_<rank>_result.pkl``,
    ``<id>_<rank>_log.out`` and ``.err``."""
    if not folder.is_dir():
        return []
    own = re.compile(re.escape(task_id) + r"_(submitted\.pkl|\d+_(result\.pkl|log\.out|log\.err))")
    return sorted(p for p in folder.glob(f"{task_id}_*") if own.fullmatch(p.name))


def _succeeded(entry: Entry | None) -> bool:
    return entry is not None and entry.state is JobStatus.COMPLETED


def clean_run(workdir: Path, *, dry_run: bool = False) -> CleanReport:
    """Delete logs and submitit pickles of succeeded jobs; keep failed ones.

    An array task's files go when every job that ever ran in it succeeded; an array's
    submission script when all of its tasks' files go. Jobs still in flight are left
    alone.
    """
    journal = _journal(workdir)
    tasks: dict[str, tuple[Path, set[str]]] = {}
    for entry in journal:
        for sid in (entry.slurm_job_id, *entry.history):
            if sid:
                folder = Path(entry.folder)
                tasks.setdefault(sid, (folder, set()))[1].add(entry.job_id)
    removable: list[Path] = []
    kept: list[str] = []
    by_array: dict[tuple[Path, str], list[bool]] = {}
    for sid, (folder, jobs) in sorted(tasks.items()):
        ok = all(_succeeded(journal.get(j)) for j in jobs)
        by_array.setdefault((folder, base_id(sid)), []).append(ok)
        if ok:
            removable.extend(_task_files(folder, sid))
        else:
            kept.append(sid)
    for (folder, base), oks in by_array.items():
        script = folder / f"{base}_submission.sh"
        if all(oks) and script.exists():
            removable.append(script)
    for entry in journal:
        if _succeeded(entry):
            removable.extend(p for p in _per_job(workdir, entry) if p.exists())
    removed = tuple(dict.fromkeys(removable))
    size = sum(p.stat().st_size for p in removed if p.exists())
    if not dry_run:
        for path in removed:
            path.unlink(missing_ok=True)
    return CleanReport(removed, size, tuple(kept))


def _per_job(workdir: Path, entry: Entry) -> Iterable[Path]:
    yield Path(entry.log)
    yield outcome_path(workdir, entry.job_id)
