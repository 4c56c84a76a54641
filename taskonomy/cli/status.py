"""``taskonomy status``: what a work directory holds, job by job."""

from __future__ import annotations

import enum
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from taskonomy.cli._app import app, console

if TYPE_CHECKING:
    from taskonomy.planner.jobs import Plan


class Format(enum.StrEnum):
    text = "text"
    json = "json"


def job_statuses(workdir: Path, plan: Plan) -> list[dict[str, Any]]:
    """Per job: its state in the store, refined by the last run and SLURM's records.

    ``state`` is ``done``, why it would run (``new``, ``inputs changed``, ``artifact
    missing``, ``artifact invalid``), or, when the last run says so and the artifact is not
    complete, ``failed`` with the reason and the job's log. A job that is not done and
    has a failed job above it is ``blocked``, its reason naming that failure (whatever the
    last run recorded for it: not reached, upstream failed, or nothing).
    SLURM runs add ``slurm`` (``slurm/jobs.json``: ``{job_id: {"slurm_job_id", "state",
    "log"}}``, written by the SLURM executor).
    """
    from taskonomy.artifacts import RUN_FILE
    from taskonomy.executor.runinfo import SLURM_JOBS_FILE, log_path, read_json
    from taskonomy.executor.store import ArtifactStore

    states = ArtifactStore(workdir).states(plan)
    run = read_json(workdir / RUN_FILE)
    last = run.get("jobs", {}) if isinstance(run, dict) else {}
    if isinstance(run, dict) and run.get("plan_hash") != plan.hash:
        last = {}
    slurm = read_json(workdir / SLURM_JOBS_FILE)
    slurm = slurm if isinstance(slurm, dict) else {}
    rows: list[dict[str, Any]] = []
    for job in plan:
        state = str(states[job.id])
        row: dict[str, Any] = {"id": job.id, "kind": str(job.kind), "stage": job.stage}
        previous = last.get(job.id, {}) if isinstance(last, dict) else {}
        if state != "done" and previous.get("state") in ("failed", "upstream failed"):
            state = str(previous["state"])
            row["reason"] = str(previous.get("reason", ""))
            row["log"] = str(previous.get("log") or log_path(workdir, job.id))
        row["state"] = state
        if isinstance(previous.get("seconds"), (int, float)) and previous["seconds"]:
            row["seconds"] = previous["seconds"]
        entry = slurm.get(job.id)
        if isinstance(entry, dict):
            row["slurm"] = {k: entry.get(k) for k in ("slurm_job_id", "state", "log")}
            if state != "done" and entry.get("state"):
                row.setdefault("log", str(entry.get("log") or log_path(workdir, job.id)))
        rows.append(row)
    return _mark_blocked(plan, rows)


#: SLURM states (``slurm/jobs.json``) of a job that ended without its artifact.
_SLURM_FAILED = frozenset({"failed", "timeout", "out of memory", "node failure", "cancelled"})


def _mark_blocked(plan: Plan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Jobs below a failure (nearest failed ancestor named) become ``blocked``."""
    by_id = {r["id"]: r for r in rows}
    for row in rows:
        slurm_state = str((row.get("slurm") or {}).get("state") or "").lower()
        if row["state"] != "done" and slurm_state in _SLURM_FAILED and row["state"] != "failed":
            row["state"] = "failed"
            row.setdefault("reason", f"SLURM reports {slurm_state}")
    cause: dict[str, str] = {}  # job id -> the failed job that blocks it
    for job in plan:  # plan order: dependencies first
        row = by_id[job.id]
        if row["state"] == "done":
            continue
        if row["state"] == "failed":
            cause[job.id] = job.id
            continue
        root = next((cause[d] for d in job.deps if d in cause), None)
        if root is not None:
            cause[job.id] = root
            row["state"] = "blocked"
            why = by_id[root].get("reason", "")
            row["reason"] = f"blocked by failed job {root}" + (f" ({why})" if why else "")
            row["blocked_by"] = root
    return rows


def status_document(workdir: Path) -> dict[str, Any]:
    """The ``--format json`` document."""
    from taskonomy.artifacts import RUN_FILE
    from taskonomy.executor.runinfo import read_json
    from taskonomy.executor.runner import load_workdir
    from taskonomy.planner.views import stage_seconds

    spec, plan = load_workdir(workdir)
    rows = job_statuses(workdir, plan)
    stages: dict[str, Counter[str]] = {stage: Counter() for stage in stage_seconds(plan)}
    for row in rows:
        stages[row["stage"]][row["state"]] += 1
    run = read_json(workdir / RUN_FILE)
    return {
        "workdir": str(workdir),
        "name": plan.name,
        "executor": spec.executor.kind,
        "plan_hash": plan.hash,
        "jobs_total": len(plan),
        "counts": dict(sorted(Counter(r["state"] for r in rows).items())),
        "stages": {k: dict(sorted(v.items())) for k, v in stages.items()},
        "run": (
            {k: run.get(k) for k in ("started", "finished", "interrupted")}
            if isinstance(run, dict)
            else None
        ),
        "jobs": rows,
    }


def _render(doc: dict[str, Any], show_all: bool) -> RenderableType:
    counts = ", ".join(f"{n} {k}" for k, n in doc["counts"].items())
    parts: list[RenderableType] = [
        Text.assemble(
            ("status ", "bold"),
            (doc["name"], "bold cyan"),
            f"  {doc['workdir']}  {doc['jobs_total']} jobs: {counts}",
        )
    ]
    states = sorted({s for v in doc["stages"].values() for s in v}, key=lambda s: s != "done")
    table = Table(title="jobs per stage", title_justify="left")
    table.add_column("stage")
    for s in states:
        table.add_column(s, justify="right")
    for stage, tally in doc["stages"].items():
        table.add_row(stage, *[str(tally.get(s, "")) for s in states])
    parts.append(table)
    shown = [r for r in doc["jobs"] if show_all or r["state"] != "done"]
    has_slurm = any("slurm" in r for r in shown)
    if shown:
        jobs = Table(title="jobs" if show_all else "jobs not done", title_justify="left")
        for col in ("job", "state", *(["slurm"] if has_slurm else [])):
            jobs.add_column(col, overflow="fold")
        for r in shown:
            slurm = r.get("slurm") or {}
            slurm_text = f"{slurm.get('slurm_job_id') or ''} {slurm.get('state') or ''}".strip()
            style = {"failed": "red", "blocked": "yellow"}.get(r["state"])
            jobs.add_row(r["id"], r["state"], *([slurm_text] if has_slurm else []), style=style)
        parts.append(jobs)
        blocked = Counter(r["blocked_by"] for r in doc["jobs"] if r["state"] == "blocked")
        for r in shown:
            if r["state"] == "failed":
                n = blocked.get(r["id"], 0)
                parts.append(
                    Text.assemble(
                        ("failed ", "bold red"),
                        f"{r['id']}: {r.get('reason', '')}",
                        (f"  (log: {r.get('log', '')})", "dim"),
                        (f"; {n} job(s) below it are blocked" if n else "", "yellow"),
                    )
                )
    elif doc["jobs"]:
        parts.append(Text(f"all {doc['jobs_total']} jobs are done", style="green"))
    return Group(*parts)


@app.command()
def status(
    workdir: Annotated[
        Path,
        typer.Argument(help="A work directory `taskonomy run` wrote.", file_okay=False),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json.")] = Format.text,
    show_all: Annotated[bool, typer.Option("--all", help="With text: list done jobs too.")] = False,
) -> None:
    """Show each job's state in a work directory: done, failed (why, and its log), or why
    it would run; counts per stage; for SLURM runs the job ids and states SLURM reports.
    """
    doc = status_document(workdir.expanduser().resolve())
    if fmt is Format.json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        console.print(_render(doc, show_all), soft_wrap=True)
