"""Reading ``sacct`` and ``squeue`` output into typed job records.

Pure text parsing, tested against recorded outputs of Slurm 22.05. ``sacct`` prints a
not-yet-started remainder of an array compressed (``12_[4-9%2]``); it is expanded here
so that every array task has its own record.
"""

from __future__ import annotations

import re

import attrs

from taskonomy.executor.slurm.states import JobStatus, from_slurm

_ARRAY = re.compile(r"^(?P<base>\d+)_\[(?P<ranges>[0-9,\-]+)(?:%\d+)?\]$")
_TASK = re.compile(r"^(?P<base>\d+)(?:_(?P<index>\d+))?$")


@attrs.frozen
class JobRecord:
    """The scheduler's view of one job or array task.

    Attributes:
        job_id: ``12`` for a plain job, ``12_3`` for task 3 of array 12.
        status: the state mapped onto :class:`JobStatus`.
        state: the state as SLURM printed it (``CANCELLED by 0``).
        exit_code: the batch script's exit status, when known.
        signal: the signal that ended it, when one did (0 for none).
        reason: SLURM's reason for the state (``Dependency``, ``BeginTime``, ...).
    """

    job_id: str
    status: JobStatus
    state: str
    exit_code: int | None = None
    signal: int | None = None
    reason: str = ""

    @property
    def base(self) -> str:
        """The job id without the array index."""
        return base_id(self.job_id)


def base_id(job_id: str) -> str:
    """``12_3`` -> ``12``; ``12`` -> ``12``; ``12_[0-3]`` -> ``12``; ``12.batch`` -> ``12``."""
    return re.split(r"[_.]", job_id, maxsplit=1)[0]


def expand_job_id(text: str) -> list[str]:
    """Every job id a ``sacct``/``squeue`` JobID denotes.

    Example:
        >>> expand_job_id("12_[0-2,7%2]")
        ['12_0', '12_1', '12_2', '12_7']

    Raises:
        ValueError: the text is not a job id.
    """
    text = text.strip()
    if _TASK.match(text):
        return [text]
    match = _ARRAY.match(text)
    if match is None:
        raise ValueError(f"not a SLURM job id: {text!r}")
    out: list[str] = []
    for part in match.group("ranges").split(","):
        lo, _, hi = part.partition("-")
        out.extend(f"{match.group('base')}_{i}" for i in range(int(lo), int(hi or lo) + 1))
    return out


def _exit_code(text: str) -> tuple[int | None, int | None]:
    code, sep, sig = text.strip().partition(":")
    if not (code.isdigit() and sep and sig.isdigit()):
        return None, None
    return int(code), int(sig)


def parse_sacct(text: str) -> dict[str, JobRecord]:
    """Parse ``sacct -X --parsable2 --noheader -o JobID,JobIDRaw,State,ExitCode,Reason``.

    Steps (``12.batch``) are skipped if present; a later line for the same id wins.
    """
    records: dict[str, JobRecord] = {}
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) < 5 or "." in fields[0] or not fields[0].strip():
            continue
        job_field, _raw, state, exit_text, reason = fields[:5]
        code, sig = _exit_code(exit_text)
        for job_id in expand_job_id(job_field):
            records[job_id] = JobRecord(
                job_id=job_id,
                status=from_slurm(state),
                state=state.strip(),
                exit_code=code,
                signal=sig,
                reason=reason.strip(),
            )
    return records


def parse_squeue(text: str) -> dict[str, JobRecord]:
    """Parse ``squeue -h -r -o '%i|%T|%r'`` (one line per job or array task)."""
    records: dict[str, JobRecord] = {}
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) < 3 or not fields[0].strip():
            continue
        job_field, state, reason = fields[:3]
        for job_id in expand_job_id(job_field):
            records[job_id] = JobRecord(
                job_id=job_id,
                status=from_slurm(state),
                state=state.strip(),
                reason=reason.strip(),
            )
    return records
