"""The poller: one query per poll, a bounded rate, backoff while nothing changes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

from taskonomy.executor.slurm.accounting import JobRecord
from taskonomy.executor.slurm.poll import Poller, PollSchedule, PollTimeoutError
from taskonomy.executor.slurm.states import from_slurm

if TYPE_CHECKING:
    from .conftest import FakeTime


class Scripted:
    """A query answering from a list of {job: state} snapshots (the last one repeats)."""

    def __init__(self, snapshots: list[dict[str, str]]) -> None:
        self.snapshots = snapshots
        self.calls: list[list[str]] = []

    def __call__(self, job_ids: Iterable[str]) -> dict[str, JobRecord]:
        self.calls.append(list(job_ids))
        snap = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        return {j: JobRecord(j, from_slurm(s), s) for j, s in snap.items()}


SCHEDULE = PollSchedule(min_interval_s=2.0, max_interval_s=10.0, backoff=2.0)


def test_backs_off_while_nothing_changes_and_snaps_back_on_a_change(
    fake_time: FakeTime,
) -> None:
    pending = {"1_0": "PENDING", "1_1": "PENDING"}
    query = Scripted([pending] * 5 + [{"1_0": "RUNNING", "1_1": "PENDING"}] * 2)
    poller = Poller(query, SCHEDULE, clock=fake_time.clock, sleep=fake_time.sleep)
    intervals = []
    for _ in range(7):
        poller.poll(["1_0", "1_1"])
        intervals.append(poller.interval_s)
    # first poll: new states (change); then no change x4: 4, 8, 10 (capped), 10;
    # then a change: back to 2; then no change: 4.
    assert intervals == [2.0, 4.0, 8.0, 10.0, 10.0, 2.0, 4.0]
    assert fake_time.sleeps == [2.0, 4.0, 8.0, 10.0, 10.0, 2.0]
    assert poller.queries == 7 and all(c == ["1_0", "1_1"] for c in query.calls)


def test_never_faster_than_the_rate_bound(fake_time: FakeTime) -> None:
    states = [{"1": s} for s in ("PENDING", "RUNNING", "COMPLETING", "COMPLETED")]
    poller = Poller(Scripted(states), SCHEDULE, clock=fake_time.clock, sleep=fake_time.sleep)
    poller.poll(["1"])
    fake_time.now += 0.5  # the caller did other work meanwhile
    poller.poll(["1"])
    fake_time.now += 5.0  # more than the interval: no wait at all
    poller.poll(["1"])
    assert fake_time.sleeps == [1.5]


def test_wait_returns_final_records_in_the_order_asked(fake_time: FakeTime) -> None:
    query = Scripted(
        [
            {},  # not in accounting yet
            {"7": "PENDING", "8": "RUNNING"},
            {"7": "REQUEUED", "8": "COMPLETED"},
            {"7": "CANCELLED by 0", "8": "COMPLETED"},
        ]
    )
    seen: list[int] = []
    poller = Poller(query, SCHEDULE, clock=fake_time.clock, sleep=fake_time.sleep)
    final = poller.wait(["8", "7", "8"], on_poll=lambda recs: seen.append(len(recs)))
    assert list(final) == ["8", "7"]
    assert [str(r.status) for r in final.values()] == ["completed", "cancelled"]
    assert seen == [0, 2, 2, 2] and len(query.calls) == 4


def test_wait_times_out_listing_what_is_left(fake_time: FakeTime) -> None:
    query = Scripted([{"3": "PENDING", "4": "COMPLETED"}])
    poller = Poller(query, SCHEDULE, clock=fake_time.clock, sleep=fake_time.sleep)
    with pytest.raises(
        PollTimeoutError,
        match=r"2 SLURM job\(s\) not finished after 30 s: 3 \(PENDING\), 5 \(not found\)$",
    ):
        poller.wait(["3", "4", "5"], timeout_s=30)
    assert fake_time.now <= 30
    assert poller.queries == 5  # at 0, 2, 6, 14, 24: the next would be at 34


def test_schedule_validation() -> None:
    with pytest.raises(ValueError, match="max_interval_s 1 < min_interval_s 2"):
        PollSchedule(min_interval_s=2, max_interval_s=1)
    with pytest.raises(ValueError, match="'min_interval_s' must be > 0"):
        PollSchedule(min_interval_s=0)
