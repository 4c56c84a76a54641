"""SIGTERM as an interrupt: a run (or a worker of one) stops as after Ctrl-C, recording
what it finished and discarding the current job's temporary files."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run stops as after Ctrl-C (recorded as interrupted in
    ``run.json``, the current job's temporary files discarded, finished artifacts kept)."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """A signal handler that raises :class:`Terminated` naming the signal."""
    raise Terminated(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (a no-op in
    other threads, where handlers cannot be installed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
