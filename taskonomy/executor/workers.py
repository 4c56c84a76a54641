"""Worker processes of the local executor: several jobs (or packs) at once on one machine.

Small networks on a CPU gain little from a second intra-op thread (a step is mostly
per-operation overhead), so two single-threaded jobs side by side do about twice the
work of one job on two threads. :class:`WorkerPool` starts ``n`` processes (``spawn``:
no state of this process, torch's thread pools included, is inherited), pins each to an
equal share of the CPUs this process is allotted, so that torch in each chooses its
threads from its own share, and runs job ids in them as a SLURM array task would
(:func:`~taskonomy.executor.runner.execute_jobs`). The parent schedules and records;
workers only run what they are given and send back the outcomes.

A worker that dies (killed, out of memory) fails the jobs it held, with the reason; the
pool starts a new one in its place. On Ctrl-C or SIGTERM the parent stops every worker
with SIGTERM, which each turns into the same interrupt, so no half-written artifact is
kept.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from taskonomy.executor.outcome import JobOutcome, OutcomeState
from taskonomy.executor.runinfo import log_path
from taskonomy.executor.runner import BodyResolver, JobRunner, load_workdir
from taskonomy.executor.slurm.task import load_object

#: Seconds a stopped worker gets to discard its temporary files before it is killed.
STOP_GRACE = 10.0


def cpu_shares(n: int, cpus: Sequence[int] | None = None) -> list[list[int]]:
    """``n`` disjoint, nearly equal shares of ``cpus`` (default: this process's affinity
    mask); with more workers than CPUs, workers share CPUs round-robin."""
    if n < 1:
        raise ValueError(f"need at least one worker, got {n}")
    if cpus is None:
        try:
            cpus = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux: no pinning
            return [[] for _ in range(n)]
    cpus = list(cpus)
    if n >= len(cpus):
        return [[cpus[i % len(cpus)]] for i in range(n)]
    base, extra = divmod(len(cpus), n)
    shares, start = [], 0
    for i in range(n):
        size = base + (i < extra)
        shares.append(cpus[start : start + size])
        start += size
    return shares


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _serve(conn: Connection, workdir: str, bodies: BodyResolver | str, cpus: list[int]) -> None:
    """A worker's loop: receive job ids, run them, send the outcomes (or the exception
    that stopped them); ``None`` ends it. ``bodies`` is a resolver or its reference."""
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if cpus:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(0, cpus)
    runner: JobRunner | None = None
    while True:
        try:
            ids = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if ids is None:
            return
        try:
            if runner is None:
                if isinstance(bodies, str):
                    bodies = load_object(bodies)
                spec, plan = load_workdir(Path(workdir))
                runner = JobRunner(spec, plan, Path(workdir), bodies=bodies)  # type: ignore[arg-type]
            reply: tuple[str, Any] = ("ok", runner.run(ids))
        except KeyboardInterrupt:
            return
        except Exception as exc:  # a full disk, an unreadable work directory
            reply = ("raise", exc)
        try:
            conn.send(reply)
        except Exception:  # the exception does not pickle: send what it says
            conn.send(("raise", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


@attrs.define
class _Worker:
    process: BaseProcess
    conn: Connection
    cpus: list[int]
    ids: list[str] | None = None  # what it is running, None when idle


class WorkerPool:
    """``n`` worker processes that run job ids of the plan recorded in ``workdir``."""

    def __init__(self, n: int, workdir: Path, bodies: BodyResolver) -> None:
        self.workdir = Path(workdir)
        self.bodies = bodies
        self._ctx = mp.get_context("spawn")
        self._workers = [self._start(cpus) for cpus in cpu_shares(n)]

    def _start(self, cpus: list[int]) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_serve,
            args=(child, str(self.workdir), self.bodies.ref or self.bodies, cpus),
            name="taskonomy-worker",
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent, cpus)

    @property
    def idle(self) -> int:
        return sum(w.ids is None for w in self._workers)

    @property
    def busy(self) -> int:
        return len(self._workers) - self.idle

    def submit(self, ids: Sequence[str]) -> None:
        """Give ``ids`` (one job or one pack) to an idle worker."""
        worker = next(w for w in self._workers if w.ids is None)
        worker.ids = list(ids)
        worker.conn.send(worker.ids)

    def wait(self, timeout: float | None = None) -> list[JobOutcome]:
        """Outcomes of the submissions that finished within ``timeout`` seconds (none if
        nothing did). Raises what a worker raised outside its jobs (a full disk)."""
        busy = [w for w in self._workers if w.ids is not None]
        if not busy:
            return []
        handles: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(wait(handles, timeout))
        outcomes: list[JobOutcome] = []
        for i, worker in enumerate(self._workers):
            if worker.ids is None:
                continue
            if worker.conn in ready:
                try:
                    status, value = worker.conn.recv()
                except (EOFError, OSError):
                    status, value = "died", None
            elif worker.process.sentinel in ready:
                status, value = "died", None
            else:
                continue
            ids, worker.ids = worker.ids, None
            if status == "ok":
                outcomes.extend(value)
            elif status == "raise":
                raise value
            else:
                outcomes.extend(self._died(i, ids))
        return outcomes

    def _died(self, i: int, ids: list[str]) -> list[JobOutcome]:
        worker = self._workers[i]
        worker.process.join(STOP_GRACE)
        code = worker.process.exitcode
        why = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
        worker.conn.close()
        self._workers[i] = self._start(worker.cpus)
        reason = f"the worker process running it died ({why}); run again to retry"
        return [
            JobOutcome(j, OutcomeState.FAILED, reason=reason, log=log_path(self.workdir, j))
            for j in ids
        ]

    def close(self) -> None:
        """End idle workers cleanly; stop busy ones (SIGTERM, then SIGKILL)."""
        for w in self._workers:
            if w.process.is_alive():
                if w.ids is None:
                    with contextlib.suppress(OSError):
                        w.conn.send(None)
                else:
                    w.process.terminate()
        for w in self._workers:
            w.process.join(STOP_GRACE)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
