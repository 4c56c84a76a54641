"""The page's first and last sections: what was run (spec, plan) and what it cost."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import os
import subprocess
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from taskonomy.reports import curves
from taskonomy.reports._data import RESULT_FILES, RunResults, spec_task_names
from taskonomy.reports.html import Figure, Note, Raw, Section, Table, esc


def missing_note(results: RunResults, name: str, instead: str) -> Note:
    return Note(
        f"No <code>{esc(name)}</code> in the work directory ({esc(RESULT_FILES[name])}); {instead}"
    )


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def when(epoch: object) -> str:
    """Epoch seconds as ``2025-03-01 14:02:11 UTC``; ``?`` when absent."""
    if isinstance(epoch, str) and epoch:
        return epoch  # already a date
    if not isinstance(epoch, (int, float)) or isinstance(epoch, bool):
        return "?"
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``12.3 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@functools.cache
def source_commit() -> str:
    """The git commit of the taskonomy source in use (``+dirty`` when modified), or
    ``unknown`` outside a git checkout."""
    import taskonomy

    where = Path(taskonomy.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no", "."],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance_rows(results: RunResults) -> list[list[str]]:
    """When and from what the page was made: date, version, commit, spec and plan hash."""
    from taskonomy import __version__
    from taskonomy._hashing import content_hash

    # The run's date keeps a report of the same run byte-identical; a table's report
    # gets the day it was written (SOURCE_DATE_EPOCH, the reproducible-builds variable,
    # overrides it).
    run_end = (results.run or {}).get("finished")
    if isinstance(run_end, (int, float)):
        date = ["run finished", when(run_end)]
    else:
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
        now = float(epoch) if epoch.isdigit() else dt.datetime.now(dt.UTC).timestamp()
        date = ["report written", when(now)[:10]]
    rows = [date, ["taskonomy", f"{__version__} (commit {source_commit()})"]]
    if results.spec is not None:
        rows.append(["spec hash", content_hash(dict(results.spec))[:16]])
    if results.plan is not None:
        rows.append(["plan hash", str(results.plan.get("plan_hash", "?"))[:16]])
    return rows


def _splits(dataset: Mapping[str, Any]) -> str:
    splits = dataset.get("splits")
    if not isinstance(splits, Mapping):
        return "?"
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in splits.items())


def overview_section(results: RunResults) -> Section:
    section = Section("overview", "Overview")
    spec = results.spec
    if spec is not None:
        transfers: Mapping[str, Any] = spec.get("transfers") or {}
        tax: Mapping[str, Any] = spec.get("taxonomy") or {}
        dataset: Mapping[str, Any] = spec.get("dataset") or {}
        names = spec_task_names(spec)
        rows = [
            ["experiment", str(spec.get("name", ""))],
            ["tasks", f"{len(names)}: {', '.join(names)}"],
            ["dataset", f"{dataset.get('kind', '?')}, images per split: {_splits(dataset)}"],
            [
                "transfers",
                f"max order {transfers.get('max_order', '?')}, beam {transfers.get('beam', '?')}",
            ],
            ["budgets", ", ".join(f"{b:g}" for b in tax.get("budgets", []) or [])],
            ["orders", ", ".join(str(k) for k in tax.get("orders", []) or [])],
            ["solver", str(tax.get("solver", "?"))],
            *provenance_rows(results),
        ]
        section.blocks.append(Table(["setting", "value"], rows))
    else:
        section.blocks.append(missing_note(results, "spec.json", "the spec summary is omitted."))
    if results.missing:
        listed = ", ".join(f"<code>{esc(m)}</code>" for m in results.missing)
        section.blocks.append(
            Note(
                f"Files this report looked for but did not find: {listed}. "
                "The sections that need them say so."
            )
        )
    return section


def origin_section(results: RunResults) -> Section:
    """The overview of a report solved from an affinity table instead of a run."""
    origin = results.origin
    section = Section("overview", "Overview")
    if origin is None:  # pragma: no cover - write_results picks overview_section then
        return section
    table = results.affinities
    n_sources = len(table.sources) if table is not None else 0
    n_targets = len(table.targets) if table is not None else 0
    rows = [
        ["affinities", f"{origin.name} ({origin.affinities.name})"],
        [
            "table",
            f"{len(table or ())} entries, {n_sources} sources, {n_targets} targets, "
            f"orders up to {table.max_order if table is not None else 0}",
        ],
        ["orders solved", ", ".join(str(k) for k in origin.orders)],
        ["budgets", _range(origin.budgets)],
        [
            "win rates",
            f"{origin.gain.name} (gain), {origin.quality.name} (quality)"
            if origin.gain is not None and origin.quality is not None
            else "none (gain and quality are not shown)",
        ],
        *provenance_rows(results),
    ]
    section.blocks.append(Table(["setting", "value"], rows))
    section.blocks.append(
        Note(
            "This report was solved from an affinity table, not read from a run: there is "
            "no experiment spec, plan, run statistics or win rates before AHP to show."
        )
    )
    return section


def _range(values: tuple[float, ...]) -> str:
    """``1, 2, ..., 27`` as ``1–27 (27 budgets)`` when the values are consecutive."""
    if len(values) > 3 and all(b - a == 1 for a, b in itertools.pairwise(values)):
        return f"{values[0]:g}–{values[-1]:g} ({len(values)} budgets)"
    return ", ".join(f"{v:g}" for v in values)


def plan_section(results: RunResults, out: Path) -> Section:
    section = Section("plan", "Plan and run statistics")
    plan = results.plan
    if plan is not None:
        critical = plan.get("critical_path") or {}
        rows = [
            ["plan", f"{plan.get('name', '')} ({str(plan.get('plan_hash', ''))[:16]})"],
            ["jobs", str(plan.get("jobs_total", "?"))],
            ["estimated GPU-hours", fmt(plan.get("est_gpu_hours"), 2)],
            [
                "critical path",
                f"{fmt(critical.get('est_hours'), 2)} h over "
                f"{len(critical.get('jobs') or [])} jobs",
            ],
        ]
        if results.run is not None:
            stats = curves.stage_stats(plan, results.run)
            used = sum(s.seconds or 0.0 for s in stats) / 3600
            if cpu_run(results):
                rows[2][0] = "estimated GPU-hours (at the reference GPU's speed)"
                rows.append(["hours used (on CPU: no job held a GPU)", f"{used:.2f}"])
            else:
                total = sum(s.gpu_seconds or 0.0 for s in stats) / 3600
                rows.append(["GPU-hours used", f"{total:.2f}"])
        section.blocks.append(Table(["plan", "value"], rows))
    else:
        section.blocks.append(missing_note(results, "plan.json", "estimates are not shown."))
    if results.run is None:
        section.blocks.append(missing_note(results, "run.json", "only estimates are shown."))
    else:
        run = results.run
        found = run.get("jobs")
        jobs: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        states = Counter(str(j.get("state", "?")) for j in jobs.values() if isinstance(j, Mapping))
        tally = ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "no jobs"
        start, end = run.get("started"), run.get("finished")
        took = (
            f" ({duration(end - start)})"
            if isinstance(start, (int, float)) and isinstance(end, (int, float))
            else ""
        )
        section.blocks.append(
            Raw(
                f"<p>Last run that did work: started {esc(when(start))}, finished "
                f"{esc(when(end) if end is not None else 'not yet')}{esc(took)}; jobs: "
                f"{esc(tally)}. Later runs that found nothing to do are not shown; every run "
                "is kept in <code>runs/</code>.</p>"
            )
        )
    stats = curves.stage_stats(plan, results.run)
    if not stats:
        return section
    on_cpu = cpu_run(results)
    section.blocks.append(
        Figure(
            curves.plot_stages(stats, out / "run_stages.png", gpu=not on_cpu),
            "time per stage",
            "Time summed over the jobs of each stage: estimated by the planner (grey) and used "
            "by the run. "
            + (
                "No job held a GPU, so only job time is shown (the planner's estimates "
                "assume the reference GPU). "
                if on_cpu
                else "GPU time counts only jobs that held a GPU. "
            )
            + "Stages far off their estimate are where the cost model (planner "
            "calibration) needs attention.",
        )
    )
    columns = ["stage", "jobs", "used (h)", "estimated (h)", "GPU-h used", "GPU-h estimated"]
    rows = [
        [
            s.stage,
            str(s.jobs),
            fmt(_h(s.seconds), 4),
            fmt(_h(s.est_seconds), 4),
            fmt(_h(s.gpu_seconds), 4),
            fmt(_h(s.est_gpu_seconds), 4),
        ]
        for s in stats
    ]
    if cpu_run(results):  # no GPU was held: GPU columns would be all zeros
        columns, rows = columns[:4], [r[:4] for r in rows]
    section.blocks.append(Table(columns, rows, numeric=frozenset(range(1, len(columns)))))
    return section


def cpu_run(results: RunResults) -> bool:
    """Whether the run shown used time but no job held a GPU."""
    run = results.run
    if run is None:
        return False
    jobs = run.get("jobs")
    entries = [
        e for e in (jobs.values() if isinstance(jobs, Mapping) else ()) if isinstance(e, Mapping)
    ]
    worked = any(float(e.get("seconds") or 0) > 0 for e in entries)
    return worked and not any(float(e.get("gpu_seconds") or 0) > 0 for e in entries)


def _h(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600
