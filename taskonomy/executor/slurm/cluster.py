"""The SLURM cluster as seen through its commands: limits, submission, one query per poll.

Everything that runs ``sbatch``, ``sacct``, ``squeue`` or ``scontrol`` goes through a
:class:`Runner`, the one place tests replace (with recorded outputs). Transient errors
("Socket timed out", "Unable to contact slurm controller", a hung ``sacct``) are retried
with exponential backoff; the delays go through an injectable ``sleep`` so unit tests
run instantly. Nothing here imports submitit.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import attrs

from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.accounting import JobRecord, base_id, parse_sacct, parse_squeue

T = TypeVar("T")

#: SLURM's default ``MaxArraySize``: array indices run from 0 to this minus one.
DEFAULT_MAX_ARRAY_SIZE = 1001

#: Messages of failures worth retrying: the controller or database was busy or away.
TRANSIENT_ERRORS = re.compile(
    "|".join(
        (
            r"Socket timed out",
            r"Unable to contact slurm controller",
            r"Slurm temporarily unable",
            r"Resource temporarily unavailable",
            r"Zero Bytes were transmitted or received",
            r"Transport endpoint is not connected",
            r"Connection refused",
            r"Connection reset by peer",
            r"Problem talking to the database",
            r"backup controller in standby mode",
            r"Communication connection failure",
            r"timed out after [0-9.]+ s",
        )
    ),
    re.IGNORECASE,
)


class SchedulerError(ExecutionError):
    """A SLURM command failed; the message names the command and quotes its error."""


class TransientSchedulerError(SchedulerError):
    """A SLURM command kept failing with errors that usually pass (controller busy)."""


@attrs.frozen
class CommandResult:
    """What a command printed and returned.

    Attributes:
        args: the command line.
        returncode: its exit status (124 when it was killed for running too long).
        stdout: its standard output.
        stderr: its standard error (a note of the time limit when it timed out).
    """

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Runner(Protocol):
    """Runs one command line and returns its result without raising for a bad status."""

    def __call__(self, args: Sequence[str], *, timeout_s: float) -> CommandResult: ...


def run_command(args: Sequence[str], *, timeout_s: float) -> CommandResult:
    """The real :class:`Runner`: a subprocess, killed after ``timeout_s`` seconds.

    Raises:
        SchedulerError: the program is not installed.
    """
    argv = tuple(args)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise SchedulerError(
            f"{argv[0]!r} is not on PATH: this machine is not a SLURM login node, or the "
            "SLURM client commands are not installed (Debian: apt-get install slurm-client)"
        ) from exc
    except subprocess.TimeoutExpired:
        return CommandResult(argv, 124, "", f"{argv[0]}: timed out after {timeout_s:g} s")
    return CommandResult(argv, done.returncode, done.stdout, done.stderr)


@attrs.frozen
class RetryPolicy:
    """Exponential backoff for transient scheduler errors.

    Attributes:
        attempts: tries in all, the first included.
        first_delay_s: the wait after the first failure.
        factor: each further wait is this many times the previous one...
        max_delay_s: ...up to this.
    """

    attempts: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    first_delay_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = 30.0

    def delays(self) -> list[float]:
        """The waits between tries: ``attempts - 1`` of them."""
        out: list[float] = []
        delay = self.first_delay_s
        for _ in range(self.attempts - 1):
            out.append(min(delay, self.max_delay_s))
            delay *= self.factor
        return out


def is_transient(message: str) -> bool:
    """Whether an error message is one of SLURM's usually-passing failures."""
    return TRANSIENT_ERRORS.search(message) is not None


def with_retries(
    call: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``call``; while it raises an exception with a transient message, wait and retry.

    For submissions made by someone else's code (submitit runs ``sbatch`` itself and
    raises with sbatch's error text in the message). Exceptions with other messages
    propagate at once.

    Raises:
        TransientSchedulerError: every attempt failed transiently; chained to the last.
    """
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as exc:
            if not is_transient(str(exc)):
                raise
            if attempt == len(delays):
                raise TransientSchedulerError(
                    f"{what} failed {policy.attempts} times with transient errors; the "
                    f"last: {_first_line(str(exc))}. Is the SLURM controller up?"
                ) from exc
            sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no message)"


@attrs.frozen
class ClusterLimits:
    """The limits of a cluster that shape submissions, from ``scontrol show config``.

    Attributes:
        max_array_size: array indices must be below this (``MaxArraySize``).
        max_job_count: jobs the controller holds at once (``MaxJobCount``).
        min_job_age_s: how long finished jobs stay visible to ``squeue`` (``MinJobAge``).
        kill_wait_s: seconds between SIGTERM and SIGKILL at a job's end (``KillWait``).
        message_timeout_s: how long a client waits for the controller (``MessageTimeout``).
        cluster_name: ``ClusterName``.
        version: ``SLURM_VERSION``.
    """

    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE
    max_job_count: int = 10000
    min_job_age_s: int = 300
    kill_wait_s: int = 30
    message_timeout_s: int = 10
    cluster_name: str = ""
    version: str = ""

    @classmethod
    def from_config(cls, text: str) -> ClusterLimits:
        """Read the limits from the text ``scontrol show config`` prints.

        Raises:
            SchedulerError: the text has no ``MaxArraySize`` line (not that command's output).
        """
        config = parse_config(text)
        if "MaxArraySize" not in config:
            raise SchedulerError(
                f"cannot read MaxArraySize from `scontrol show config`; got: {_first_line(text)!r}"
            )
        default = cls()
        return cls(
            max_array_size=_number(config, "MaxArraySize", default.max_array_size),
            max_job_count=_number(config, "MaxJobCount", default.max_job_count),
            min_job_age_s=_number(config, "MinJobAge", default.min_job_age_s),
            kill_wait_s=_number(config, "KillWait", default.kill_wait_s),
            message_timeout_s=_number(config, "MessageTimeout", default.message_timeout_s),
            cluster_name=config.get("ClusterName", ""),
            version=config.get("SLURM_VERSION", ""),
        )


def parse_config(text: str) -> dict[str, str]:
    """``Key = value`` lines of ``scontrol show config`` as a dict (other lines skipped)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def _number(config: dict[str, str], key: str, default: int) -> int:
    match = re.match(r"\d+", config.get(key, ""))
    return int(match.group()) if match else default


@attrs.frozen
class ArrayChunk:
    """One ``sbatch --array`` of a larger array: global tasks ``offset .. offset+count-1``.

    Each chunk is submitted with local indices ``0 .. count-1`` (all below
    ``MaxArraySize``); task ``i`` of the chunk is task ``offset + i`` of the whole array.
    """

    offset: int
    count: int

    @property
    def indices(self) -> range:
        """The global task indices this chunk runs."""
        return range(self.offset, self.offset + self.count)

    def array_spec(self, parallelism: int | None = None) -> str:
        """The ``--array`` value, e.g. ``0-999%8``."""
        spec = f"0-{self.count - 1}"
        return f"{spec}%{min(parallelism, self.count)}" if parallelism else spec


def split_array(count: int, max_array_size: int) -> list[ArrayChunk]:
    """Split an array of ``count`` tasks into chunks SLURM accepts (``MaxArraySize``).

    Example:
        >>> split_array(2500, 1001)
        [ArrayChunk(offset=0, count=1001), ArrayChunk(offset=1001, count=1001), ArrayChunk(offset=2002, count=498)]
    """  # noqa: E501
    if count < 1 or max_array_size < 1:
        raise ValueError(f"need count >= 1 and max_array_size >= 1, got {count}, {max_array_size}")
    return [
        ArrayChunk(offset, min(max_array_size, count - offset))
        for offset in range(0, count, max_array_size)
    ]


class Cluster:
    """A SLURM cluster reached through its client commands (found via ``SLURM_CONF``).

    Args:
        runner: runs one command; :func:`run_command` unless testing.
        retry: backoff for transient errors.
        sleep: waits between retries.
        command_timeout_s: a command running longer counts as a transient failure.
    """

    def __init__(
        self,
        *,
        runner: Runner = run_command,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        command_timeout_s: float = 60.0,
    ) -> None:
        self._runner = runner
        self._retry = retry
        self._sleep = sleep
        self._timeout_s = command_timeout_s
        self._limits: ClusterLimits | None = None

    def run(self, args: Sequence[str]) -> CommandResult:
        """Run a SLURM command, retrying transient failures.

        Raises:
            TransientSchedulerError: it kept failing transiently.
            SchedulerError: it failed otherwise.
        """

        def once() -> CommandResult:
            result = self._runner(args, timeout_s=self._timeout_s)
            if not result.ok:
                raise SchedulerError(
                    f"`{' '.join(args)}` exited with status {result.returncode}: "
                    f"{_first_line(result.stderr or result.stdout)}"
                )
            return result

        return with_retries(once, what=f"`{args[0]}`", policy=self._retry, sleep=self._sleep)

    def limits(self) -> ClusterLimits:
        """The cluster's limits (read once, then cached)."""
        if self._limits is None:
            self._limits = ClusterLimits.from_config(
                self.run(["scontrol", "show", "config"]).stdout
            )
        return self._limits

    def submit(self, script: Path, args: Sequence[str] = ()) -> str:
        """``sbatch`` a script file; returns the job id (``12345``).

        Note: a timed-out ``sbatch`` may have submitted the job anyway; a caller that
        cannot tolerate a duplicate should name its jobs uniquely and check ``squeue``.
        """
        out = self.run(["sbatch", "--parsable", *args, str(script)]).stdout.strip()
        job_id = out.split(";", 1)[0]
        if not job_id.isdigit():
            raise SchedulerError(f"cannot read a job id from sbatch's output {out!r}")
        return job_id

    def query(self, job_ids: Iterable[str]) -> dict[str, JobRecord]:
        """The records of the given jobs and every task of the given arrays, in one query.

        One ``sacct`` call covers all ids (array tasks expanded). Ids it does not know yet
        (just submitted, not yet in the accounting database) are then asked of ``squeue``.

        Args:
            job_ids: job ids, array ids (``12`` means all its tasks) or task ids (``12_3``).

        Returns:
            Records by job id (``12`` or ``12_3``); jobs neither command knows are absent.
        """
        wanted = sorted({base_id(j) for j in job_ids}, key=_numeric)
        if not wanted:
            return {}
        joined = ",".join(wanted)
        records = parse_sacct(
            self.run(
                ["sacct", "-X", "--parsable2", "--noheader", "-j", joined, "-o", SACCT_FIELDS]
            ).stdout
        )
        seen = {base_id(j) for j in records}
        missing = [j for j in wanted if j not in seen]
        if missing:
            out = self.run(
                ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(missing), "-o", SQUEUE_FORMAT]
            )
            for job_id, rec in parse_squeue(out.stdout).items():
                records.setdefault(job_id, rec)
        return records

    def find_comment(self, comment: str) -> list[str]:
        """Ids (an array's base id) of this user's jobs with ``--comment=comment`` that
        ``squeue`` still shows (queued, running, or ended less than ``MinJobAge`` ago)."""
        out = self.run(["squeue", "-h", "--me", "-t", "all", "-o", "%F|%k"]).stdout
        found: dict[str, None] = {}
        for line in out.splitlines():
            base, _, text = line.partition("|")
            if text.strip() == comment and base.strip():
                found[base.strip()] = None
        return sorted(found, key=_numeric)

    def cancel(self, job_ids: Sequence[str], *, signal: str | None = None) -> None:
        """``scancel`` jobs, or send them ``signal`` (e.g. ``USR2``) without ending them."""
        if job_ids:
            flag = [f"--signal={signal}"] if signal else []
            self.run(["scancel", *flag, *job_ids])

    def requeue(self, job_ids: Sequence[str]) -> None:
        """``scontrol requeue`` jobs (they rerun; running ones are killed first)."""
        if job_ids:
            self.run(["scontrol", "requeue", ",".join(job_ids)])


#: The ``sacct -o`` fields :func:`parse_sacct` reads, in its order.
SACCT_FIELDS = "JobID,JobIDRaw,State,ExitCode,Reason"
#: The ``squeue -o`` format :func:`parse_squeue` reads.
SQUEUE_FORMAT = "%i|%T|%r"


def _numeric(job_id: str) -> tuple[int, str]:
    return (int(job_id) if job_id.isdigit() else -1, job_id)
