"""Watching many SLURM jobs without overloading the controller.

A driver with hundreds of array tasks must not ask ``sacct`` once per job (submitit
users report controllers brought to their knees that way). :class:`Poller` makes one
query per poll for all of a run's jobs, never more often than ``min_interval_s``, and
stretches the interval while nothing changes, up to ``max_interval_s``; any change
snaps it back. Clock and sleep are injectable, so tests run instantly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

import attrs

from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.accounting import JobRecord

Query = Callable[[Iterable[str]], Mapping[str, JobRecord]]


class PollTimeoutError(ExecutionError, TimeoutError):
    """Jobs did not finish within the time the caller allowed."""


@attrs.frozen
class PollSchedule:
    """How often to poll.

    Attributes:
        min_interval_s: the least time between two queries (the rate bound).
        max_interval_s: the most time between two queries while nothing changes.
        backoff: the interval is multiplied by this after a poll that saw no change.
    """

    min_interval_s: float = attrs.field(default=2.0, validator=attrs.validators.gt(0))
    max_interval_s: float = 60.0
    backoff: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self) -> None:
        if self.max_interval_s < self.min_interval_s:
            raise ValueError(
                f"max_interval_s {self.max_interval_s} < min_interval_s {self.min_interval_s}"
            )


class Poller:
    """One scheduler query per poll for all jobs, at a bounded rate with backoff.

    Args:
        query: returns records for the given job ids (e.g. :meth:`Cluster.query`).
        schedule: the rate bound and backoff.
        clock: monotonic seconds.
        sleep: waits that many seconds.
    """

    def __init__(
        self,
        query: Query,
        schedule: PollSchedule = PollSchedule(),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._query = query
        self._schedule = schedule
        self._clock = clock
        self._sleep = sleep
        self._interval = schedule.min_interval_s
        self._last: float | None = None
        self._seen: dict[str, str] = {}
        self.queries = 0

    @property
    def interval_s(self) -> float:
        """The wait before the next query."""
        return self._interval

    def poll(self, job_ids: Iterable[str]) -> dict[str, JobRecord]:
        """Wait out the current interval, then query all ``job_ids`` at once."""
        if self._last is not None:
            wait = self._last + self._interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        records = dict(self._query(list(job_ids)))
        self._last = self._clock()
        self.queries += 1
        states = {job_id: rec.state for job_id, rec in records.items()}
        if states != self._seen:
            self._interval = self._schedule.min_interval_s
        else:
            self._interval = min(
                self._schedule.max_interval_s, self._interval * self._schedule.backoff
            )
        self._seen = states
        return records

    def wait(
        self,
        job_ids: Iterable[str],
        *,
        timeout_s: float | None = None,
        on_poll: Callable[[Mapping[str, JobRecord]], None] | None = None,
    ) -> dict[str, JobRecord]:
        """Poll until every job in ``job_ids`` has a finished status.

        Args:
            job_ids: plain job ids and array *task* ids (``12_0``, ``12_1``, ...): an
                array's base id alone does not say how many tasks to wait for.
            timeout_s: give up after this many seconds.
            on_poll: called with the records after every poll (progress display).

        Returns:
            The final records of ``job_ids``.

        Raises:
            PollTimeoutError: some job was not finished after ``timeout_s``; the message
                lists them with their states.
        """
        wanted = list(dict.fromkeys(job_ids))
        start = self._clock()
        while True:
            records = self.poll(wanted)
            if on_poll is not None:
                on_poll(records)
            pending = [j for j in wanted if j not in records or not records[j].status.finished]
            if not pending:
                return {j: records[j] for j in wanted}
            if timeout_s is not None and self._clock() - start + self._interval > timeout_s:
                shown = ", ".join(
                    f"{j} ({records[j].state if j in records else 'not found'})"
                    for j in pending[:10]
                )
                more = f" and {len(pending) - 10} more" if len(pending) > 10 else ""
                raise PollTimeoutError(
                    f"{len(pending)} SLURM job(s) not finished after {timeout_s:g} s: {shown}{more}"
                )
