"""The page's first and last sections: what was run (spec, plan) and what it cost."""

from __future__ import annotations

import itertools
import math
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
        used_gpu = [s.gpu_seconds for s in curves.stage_stats(plan, results.run)]
        if results.run is not None:
            total = sum(g or 0.0 for g in used_gpu) / 3600
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
        section.blocks.append(
            Raw(
                f"<p>Run started {esc(run.get('started', '?'))}, "
                f"finished {esc(run.get('finished', '?'))}; jobs: {esc(tally)}.</p>"
            )
        )
    stats = curves.stage_stats(plan, results.run)
    if not stats:
        return section
    section.blocks.append(
        Figure(
            curves.plot_stages(stats, out / "run_stages.png"),
            "time per stage",
            "Time summed over the jobs of each stage: estimated by the planner (grey) and used "
            "by the run. GPU time counts only jobs that held a GPU. Stages far off their "
            "estimate are where the cost model (planner calibration) needs attention.",
        )
    )
    section.blocks.append(
        Table(
            ["stage", "jobs", "used (h)", "estimated (h)", "GPU-h used", "GPU-h estimated"],
            [
                [
                    s.stage,
                    str(s.jobs),
                    fmt(_h(s.seconds), 4),
                    fmt(_h(s.est_seconds), 4),
                    fmt(_h(s.gpu_seconds), 4),
                    fmt(_h(s.est_gpu_seconds), 4),
                ]
                for s in stats
            ],
            numeric=frozenset({1, 2, 3, 4, 5}),
        )
    )
    return section


def _h(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600
