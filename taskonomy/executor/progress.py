"""What a run shows while it goes and when it ends.

:class:`RunDisplay` follows the jobs of a run (it is a
:class:`~taskonomy.executor.runner.ProgressSink`): on a terminal a live rich display with
the stage, the current job, its step and an ETA; elsewhere (a log file, CI) one plain line
per event. The ETA is the remaining jobs' estimated seconds scaled by how fast this
machine has been so far against the estimates. :func:`summary` renders the end-of-run
table and, for every failure, the job, why and where its log is.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from taskonomy.executor.runner import JobOutcome, OutcomeState
from taskonomy.planner.jobs import Job, Plan
from taskonomy.planner.views import stage_seconds

#: Plain mode prints a job's step at most this often (seconds).
PLAIN_STEP_INTERVAL = 30.0


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h07m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class RunDisplay:
    """Live progress of the jobs a run executes.

    Args:
        jobs: the jobs this run will try, in order.
        console: where to draw.
        live: a live display (default: when ``console`` is a terminal) or plain lines.
        workers: jobs that run at once (the ETA divides the remaining work among them).
    """

    def __init__(
        self,
        jobs: Sequence[Job],
        console: Console,
        *,
        live: bool | None = None,
        workers: int = 1,
    ) -> None:
        self.console = console
        self.workers = max(1, workers)
        self.live = console.is_terminal if live is None else live
        self.est = {j.id: j.est_seconds for j in jobs}
        self.total = len(jobs)
        self.finished_n = 0
        self._measured = 0.0  # actual seconds of jobs run so far
        self._estimated = 0.0  # their estimates
        self._remaining_est = sum(self.est.values())
        self._current: list[Job] = []
        self._current_start = time.monotonic()
        self._last_step_line = 0.0
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._job_task: TaskID | None = None

    # -- context manager: the live display exists only inside ``with`` ------------------

    def __enter__(self) -> RunDisplay:
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                console=self.console,
                transient=True,
            )
            self._overall = self._progress.add_task("jobs", total=self.total, info="")
            self._job_task = self._progress.add_task("", total=None, info="", visible=False)
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # -- ETA -------------------------------------------------------------------------------

    @property
    def speed(self) -> float:
        """Measured seconds per estimated second (1.0 until a job with an estimate ends)."""
        return self._measured / self._estimated if self._estimated > 0 else 1.0

    def eta_seconds(self) -> float:
        running = time.monotonic() - self._current_start if self._current else 0.0
        return max(0.0, self._remaining_est * self.speed / self.workers - running)

    def _eta_text(self) -> str:
        return f"ETA {format_duration(self.eta_seconds())}"

    # -- ProgressSink ----------------------------------------------------------------------

    def started(self, jobs: Sequence[Job]) -> None:
        self._current = list(jobs)
        self._current_start = time.monotonic()
        self._last_step_line = self._current_start
        head = jobs[0]
        more = f" (+{len(jobs) - 1} packed)" if len(jobs) > 1 else ""
        if self._progress is not None and self._job_task is not None:
            self._progress.update(
                self._job_task,
                description=f"  {head.stage}: {head.id}{more}",
                total=None,
                completed=0,
                info="",
                visible=True,
            )
            self._refresh_overall()
        else:
            self.console.print(
                f"-> {head.stage}: {head.id}{more}", highlight=False, soft_wrap=True, markup=False
            )

    def step(self, job: Job, step: int, total: int, message: str) -> None:
        if self._progress is not None and self._job_task is not None:
            self._progress.update(
                self._job_task,
                total=total or None,
                completed=step,
                info=f"{job.id.rsplit('/', 1)[-1]} {message}".strip(),
            )
            return
        now = time.monotonic()
        if now - self._last_step_line >= PLAIN_STEP_INTERVAL:
            self._last_step_line = now
            self.console.print(
                f"    {job.id}: step {step}/{total} {message}".rstrip(),
                highlight=False,
                soft_wrap=True,
            )

    def finished(self, outcome: JobOutcome) -> None:
        self.finished_n += 1
        est = self.est.get(outcome.job_id, 0.0)
        self._remaining_est = max(0.0, self._remaining_est - est)
        if outcome.state is OutcomeState.DONE and est > 0:
            self._measured += outcome.seconds
            self._estimated += est
        self._current = [j for j in self._current if j.id != outcome.job_id]
        if self._progress is not None:
            self._refresh_overall()
            if outcome.state is OutcomeState.FAILED:
                self._progress.console.print(_failure_line(outcome), soft_wrap=True)
            return
        word = {
            OutcomeState.DONE: "done",
            OutcomeState.FAILED: "FAILED",
            OutcomeState.UPSTREAM_FAILED: "not run",
            OutcomeState.SKIPPED: "skipped",
        }[outcome.state]
        extra = f" in {format_duration(outcome.seconds)}" if outcome.seconds else ""
        why = f": {outcome.reason}" if outcome.reason else ""
        log = (
            f" (log: {outcome.log})" if outcome.state is OutcomeState.FAILED and outcome.log else ""
        )
        self.console.print(
            f"[{self.finished_n}/{self.total}] {word} {outcome.job_id}{extra}{why}{log}"
            f" · {self._eta_text()}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )

    def _refresh_overall(self) -> None:
        if self._progress is not None and self._overall is not None:
            self._progress.update(self._overall, completed=self.finished_n, info=self._eta_text())


def _failure_line(outcome: JobOutcome) -> Text:
    return Text.assemble(
        ("failed ", "bold red"),
        outcome.job_id,
        f": {outcome.reason}",
        (f"  (log: {outcome.log})" if outcome.log else "", "dim"),
    )


def summary(
    plan: Plan, outcomes: Mapping[str, JobOutcome], *, interrupted: bool = False
) -> RenderableType:
    """Per stage, how many jobs were done, skipped, failed or not run; then each failure."""
    columns = [
        OutcomeState.DONE,
        OutcomeState.SKIPPED,
        OutcomeState.FAILED,
        OutcomeState.UPSTREAM_FAILED,
    ]
    per_stage: dict[str, Counter[str]] = {stage: Counter() for stage in stage_seconds(plan)}
    seconds: dict[str, float] = {}
    for job in plan:
        tally = per_stage.setdefault(job.stage, Counter())
        outcome = outcomes.get(job.id)
        tally[str(outcome.state) if outcome else "not reached"] += 1
        seconds[job.stage] = seconds.get(job.stage, 0.0) + (outcome.seconds if outcome else 0.0)
    show_unreached = any(t["not reached"] for t in per_stage.values())
    table = Table(title="run summary", title_justify="left")
    table.add_column("stage")
    for col in columns:
        table.add_column(str(col), justify="right")
    if show_unreached:
        table.add_column("not reached", justify="right")
    table.add_column("time", justify="right")
    for stage, tally in per_stage.items():
        cells = [str(tally[str(c)] or "") for c in columns]
        if show_unreached:
            cells.append(str(tally["not reached"] or ""))
        style = "red" if tally[str(OutcomeState.FAILED)] else None
        table.add_row(stage, *cells, format_duration(seconds[stage]), style=style)
    parts: list[RenderableType] = [table]
    failed = [o for o in outcomes.values() if o.state is OutcomeState.FAILED]
    blocked = sum(o.state is OutcomeState.UPSTREAM_FAILED for o in outcomes.values())
    for outcome in failed:
        parts.append(_failure_line(outcome))
    if failed:
        parts.append(
            Text(
                f"{len(failed)} job(s) failed and {blocked} downstream job(s) were not run; "
                "fix the cause and run again: finished jobs are kept",
                style="red",
            )
        )
    elif interrupted:
        parts.append(Text("interrupted: run again to resume where it stopped", style="yellow"))
    else:
        parts.append(Text(f"all {len(plan)} jobs complete", style="green"))
    return Group(*parts)
