"""Worker processes of the local executor: several jobs (or packs) at once on one machine.

Small networks gain less from more intra-op threads than from more jobs at once (a step
is much per-operation overhead), the more so the more cores a machine has. On the 2-core
machine this was measured on, the main job took 250 s with two single-threaded workers
against 299 s in one two-threaded process. :class:`WorkerPool` starts ``n`` fresh
interpreters (``python -m taskonomy.executor.workers``: no state of this process is
inherited, torch's thread pools included, and unlike multiprocessing's spawn the
caller's ``__main__`` is not re-imported), pins each to an equal share of the CPUs this
process is allotted, so that torch in each chooses its threads from its own share, and
runs job ids in them as a SLURM array task would (a
:class:`~taskonomy.executor.runner.JobRunner` over the recorded plan). The parent
schedules, records and displays (workers send each job's steps back); workers only run
what they are given and send back the outcomes.

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
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import attrs

from taskonomy.executor.outcome import JobOutcome, OutcomeState
from taskonomy.executor.runinfo import log_path
from taskonomy.executor.runner import BodyResolver, JobRunner, load_workdir
from taskonomy.executor.signals import raise_terminated
from taskonomy.executor.slurm.task import load_object
from taskonomy.planner.jobs import Job

#: ``(job_id, step, total, message)`` of a job running in a worker.
StepCallback = Callable[[str, int, int, str], None]

#: Seconds a stopped worker gets to discard its temporary files before it is killed.
STOP_GRACE = 10.0
#: Least seconds between two step reports of one job sent to the parent.
STEP_INTERVAL = 0.25


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


class _Relay:
    """A worker's progress sink: each job's steps go to the parent, at most
    :data:`STEP_INTERVAL` apart (the parent reports starts and ends itself)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.last: dict[str, float] = {}

    def started(self, jobs: Sequence[Job]) -> None:
        pass

    def step(self, job: Job, step: int, total: int, message: str) -> None:
        now = time.monotonic()
        if step < total and now - self.last.get(job.id, 0.0) < STEP_INTERVAL:
            return
        self.last[job.id] = now
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(("step", (job.id, step, total, message)))

    def finished(self, outcome: JobOutcome) -> None:
        pass


def _serve(conn: Connection, workdir: str, bodies: BodyResolver | str, cpus: list[int]) -> None:
    """A worker's loop: receive job ids, run them, send the outcomes (or the exception
    that stopped them); ``None`` ends it. ``bodies`` is a resolver or its reference."""
    signal.signal(signal.SIGTERM, raise_terminated)
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
                runner = JobRunner(
                    spec,
                    plan,
                    Path(workdir),
                    bodies=bodies,  # type: ignore[arg-type]
                    progress=_Relay(conn),
                )
            reply: tuple[str, Any] = ("ok", runner.run(ids))
        except KeyboardInterrupt:
            return
        except Exception as exc:  # a full disk, an unreadable work directory
            reply = ("raise", exc)
        try:
            conn.send(reply)
        except Exception:  # the exception does not pickle: send what it says
            conn.send(("raise", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


def _main(fd: int) -> None:
    """A worker process's entry point (``python -m taskonomy.executor.workers FD``): its
    first message on the connection is ``(workdir, bodies, cpus)``."""
    conn = Connection(fd)
    try:
        workdir, bodies, cpus = conn.recv()
    except (EOFError, OSError):
        return
    _serve(conn, workdir, bodies, cpus)


@attrs.define
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    cpus: list[int]
    ids: list[str] | None = None  # what it is running, None when idle


class WorkerPool:
    """``n`` worker processes that run job ids of the plan recorded in ``workdir``."""

    def __init__(self, n: int, workdir: Path, bodies: BodyResolver) -> None:
        self.workdir = Path(workdir)
        self.bodies = bodies
        self._workers: list[_Worker] = []
        try:
            for cpus in cpu_shares(n):
                self._workers.append(self._start(cpus))
        except BaseException:
            self.close()
            raise

    def _start(self, cpus: list[int]) -> _Worker:
        # A fresh interpreter, not multiprocessing's spawn: that re-imports the caller's
        # __main__ (a user's script, or stdin, which cannot be), where this runs the
        # worker module alone, with the path that found this package.
        parent, child = mp.Pipe()
        env = dict(os.environ)
        here = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "taskonomy.executor.workers", str(child.fileno())],
            pass_fds=(child.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        child.close()
        parent.send((str(self.workdir), self.bodies.ref or self.bodies, cpus))
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
        # One that died while idle fails to take them; the wait below reports that.
        with contextlib.suppress(OSError):
            worker.conn.send(worker.ids)

    def wait(
        self, timeout: float | None = None, on_step: StepCallback | None = None
    ) -> list[JobOutcome]:
        """Outcomes of the submissions that finished within ``timeout`` seconds (none if
        nothing did); step reports that arrive meanwhile go to ``on_step``. Raises what a
        worker raised outside its jobs (a full disk). A worker that ends (its end of the
        connection closes) fails the jobs it held."""
        busy = [w for w in self._workers if w.ids is not None]
        if not busy:
            return []
        ready = set(wait([w.conn for w in busy], timeout))
        outcomes: list[JobOutcome] = []
        for i, worker in enumerate(self._workers):
            if worker.ids is None or worker.conn not in ready:
                continue
            try:
                status, value = worker.conn.recv()
                while status == "step":
                    if on_step is not None:
                        on_step(*value)
                    if not worker.conn.poll():
                        break
                    status, value = worker.conn.recv()
            except (EOFError, OSError):
                status, value = "died", None
            if status == "step":
                continue  # still running
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
        try:
            code = worker.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            code = worker.process.wait()
        why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
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
            if w.process.poll() is None:
                if w.ids is None:
                    with contextlib.suppress(OSError):
                        w.conn.send(None)
                else:
                    w.process.terminate()
        for w in self._workers:
            try:
                w.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait()
            w.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _main(int(sys.argv[1]))
