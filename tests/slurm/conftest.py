"""Shared fixtures of the SLURM tests, and the rule that decides whether `slurm` tests run.

Tests marked ``slurm`` need the cluster ``scripts/slurm-local start ROOT`` brings up,
found through ``SLURM_CONF``. Without it they are skipped, so a plain ``pytest`` passes on
any machine. CI runs them as their own step with ``TASKONOMY_REQUIRE_SLURM=1``, which
turns that skip, and any other skip in this directory, into a failure: a SLURM step
that silently tests nothing must not pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from taskonomy.executor.slurm.cluster import CommandResult

RECORDED = Path(__file__).parent / "recorded"


def _require() -> bool:
    return os.environ.get("TASKONOMY_REQUIRE_SLURM") == "1"


@pytest.fixture(autouse=True)
def _needs_slurm(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slurm") is None:
        return
    conf = os.environ.get("SLURM_CONF")
    if conf and Path(conf).is_file():
        return
    reason = (
        f"SLURM_CONF={conf!r} names no slurm.conf" if conf else "SLURM_CONF is not set"
    ) + '; start a cluster with: eval "$(scripts/slurm-local start /tmp/taskonomy-slurm)"'
    if _require():
        pytest.fail(f"TASKONOMY_REQUIRE_SLURM=1 but {reason}", pytrace=False)
    pytest.skip(reason)


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and _require():
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"TASKONOMY_REQUIRE_SLURM=1: {len(_skipped)} test(s) skipped, which fails the "
            f"run: {', '.join(_skipped)}",
            red=True,
        )


@pytest.fixture
def recorded() -> Callable[[str], str]:
    """Reads a command output recorded from the local cluster (Slurm 22.05.8)."""
    return lambda name: (RECORDED / name).read_text()


class FakeRunner:
    """Stands in for the subprocess boundary: answers each command from a script.

    ``answers`` maps a command's program name to the results it returns, in order (the
    last one repeats); every call is kept in ``calls``.
    """

    def __init__(self, answers: dict[str, list[CommandResult]]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, args: Sequence[str], *, timeout_s: float) -> CommandResult:
        self.calls.append(tuple(args))
        queue = self.answers[args[0]]
        result = queue.pop(0) if len(queue) > 1 else queue[0]
        return CommandResult(tuple(args), result.returncode, result.stdout, result.stderr)


@pytest.fixture
def make_runner() -> type[FakeRunner]:
    return FakeRunner


class FakeTime:
    """A clock and a sleep that advance together, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
