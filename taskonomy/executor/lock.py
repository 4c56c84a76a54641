"""One run per work directory: ``WORKDIR/run.lock``.

``taskonomy run`` (local or the SLURM driver) holds an exclusive ``flock`` on the file
for as long as it runs, and writes who holds it (host, pid, since when, the command)
into it. The kernel releases the lock when the process dies, however it dies, so a
second run is refused (or, with ``wait``, queued) while the first lives, and a lock left
by a killed run is taken over: its record is still in the file, but nobody holds the
lock. Where the file system has no ``flock`` the record alone decides: a holder on this
host whose pid is gone is stale; one on another host is trusted until the user deletes
the file. The file is never deleted (deleting a locked file lets two runs each lock a
different inode); releasing empties it.

Within one process the lock is re-entrant, so ``taskonomy.run`` can hold it around the
whole run while :func:`~taskonomy.executor.slurm.executor.run_slurm` takes it too.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from taskonomy.errors import ExecutionError
from taskonomy.executor.durable import READ_ONLY_ERRNOS
from taskonomy.executor.runinfo import WorkdirError

LOCK_FILE = "run.lock"
#: errno values of a file system without working ``flock``.
_NO_FLOCK = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})


class WorkdirBusyError(ExecutionError):
    """Another live run holds the work directory; the message names it."""


class WorkdirAccessError(ExecutionError):
    """The work directory cannot be created or written (read-only, no permission)."""


@attrs.frozen
class LockHolder:
    """Who holds (or held) a work directory's lock."""

    host: str
    pid: int
    since: float
    command: str = ""

    @classmethod
    def me(cls) -> LockHolder:
        return cls(socket.gethostname(), os.getpid(), time.time(), _command())

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        what = f", `{self.command}`" if self.command else ""
        return f"pid {self.pid} on {self.host}, since {when}{what}"

    def alive_here(self) -> bool | None:
        """Whether the holder still runs: None when it is on another host."""
        if self.host != socket.gethostname():
            return None
        return pid_alive(self.pid)


def _command() -> str:
    text = " ".join(Path(sys.argv[0]).name if i == 0 else a for i, a in enumerate(sys.argv))
    return text if len(text) <= 200 else text[:197] + "..."


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (zombies count as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def read_holder(path: Path) -> LockHolder | None:
    """The holder recorded in lock file ``path``, or None (empty, missing or garbage)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8") or "null")
        return LockHolder(str(doc["host"]), int(doc["pid"]), float(doc["since"]), doc["command"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _open(workdir: Path) -> int:
    """Create ``workdir`` and open its lock file, or say plainly why that is impossible."""
    if workdir.exists() and not workdir.is_dir():
        raise WorkdirError(f"work directory {workdir} is a file; choose another --workdir")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        return os.open(workdir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS:
            raise WorkdirAccessError(
                f"work directory {workdir} is not writable ({exc.strerror}); a run writes "
                "its artifacts there: make it writable, or choose another --workdir"
            ) from None
        raise WorkdirAccessError(
            f"cannot create work directory {workdir} ({exc.strerror}); choose another --workdir"
        ) from None


def _busy(workdir: Path, holder: LockHolder | None) -> WorkdirBusyError:
    who = holder.describe() if holder else "a process that did not record itself"
    return WorkdirBusyError(
        f"another taskonomy run ({who}) is using work directory {workdir}; wait for it to "
        "finish (or pass --wait to start when it does), stop it, or choose another "
        f"--workdir. `taskonomy status {workdir}` shows how far it got"
    )


_HELD: dict[Path, list[int]] = {}  # lock path -> [fd, depth], for re-entry in this process
_GUARD = threading.Lock()


def _try_flock(fd: int) -> bool | None:
    """True: locked; False: someone else holds it; None: no flock on this file system."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in _NO_FLOCK:
            return None
        raise
    return True


def _acquire(
    workdir: Path, fd: int, wait: bool, poll_s: float, echo: Callable[[str], None]
) -> None:
    path = workdir / LOCK_FILE
    told = False
    while True:
        got = _try_flock(fd)
        previous = read_holder(path)
        if got is None:  # no flock: the record alone decides
            alive = previous.alive_here() if previous else False
            got = previous is None or previous.pid == os.getpid() or alive is False
        if got:
            break
        if not wait:
            raise _busy(workdir, previous)
        if not told:
            who = previous.describe() if previous else "another run"
            echo(f"waiting for the run holding {workdir} ({who}) to finish")
            told = True
        time.sleep(poll_s)
    if previous is not None and previous.pid != os.getpid():
        echo(
            f"taking over the lock of {workdir} left by a run that is no longer running "
            f"({previous.describe()})"
        )
    record = json.dumps(attrs.asdict(LockHolder.me())).encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, record + b"\n", 0)
    os.fsync(fd)


@contextlib.contextmanager
def workdir_lock(
    workdir: Path,
    *,
    wait: bool = False,
    poll_s: float = 1.0,
    echo: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold ``workdir``'s run lock for the duration (creating the directory).

    Args:
        workdir: the work directory.
        wait: queue behind a live holder instead of refusing.
        poll_s: seconds between two attempts while waiting.
        echo: receives one line when waiting or taking over a stale lock (default:
            standard error).

    Raises:
        WorkdirBusyError: a live run holds it (and ``wait`` is false); the message names
            its host, pid, start time and command.
        WorkdirAccessError: the directory cannot be created or written.
    """
    workdir = Path(workdir).absolute()
    path = workdir / LOCK_FILE
    with _GUARD:
        held = _HELD.get(path)
        if held is not None:
            held[1] += 1
    if held is None:
        fd = _open(workdir)
        try:
            _acquire(workdir, fd, wait, poll_s, echo or _stderr)
        except BaseException:
            os.close(fd)
            raise
        with _GUARD:
            _HELD[path] = held = [fd, 1]
    try:
        yield path
    finally:
        with _GUARD:
            held[1] -= 1
            last = held[1] == 0
            if last:
                del _HELD[path]
        if last:
            with contextlib.suppress(OSError):
                os.ftruncate(held[0], 0)
            with contextlib.suppress(OSError):
                fcntl.flock(held[0], fcntl.LOCK_UN)
            os.close(held[0])


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


__all__ = [
    "LOCK_FILE",
    "LockHolder",
    "WorkdirAccessError",
    "WorkdirBusyError",
    "pid_alive",
    "read_holder",
    "workdir_lock",
]
