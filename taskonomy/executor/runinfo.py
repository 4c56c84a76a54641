"""What a work directory records about a run: its spec, its plan and per-job statistics.

The work directory of a run::

    spec.json           the validated spec the plan was built from
    plan.json           the planner's JSON view (``taskonomy plan -f json``) of that plan
    run.json            per-job outcomes and timings of the latest run (:class:`RunRecord`)
    runs/<UTC start>.json every run's record, kept (reports show the last that did work)
    store/              the artifact store (:mod:`taskonomy.executor.store`)
    scratch/<hash>/     a job's persistent resumable state (checkpoints)
    logs/<id>.log       one log file per job (``/`` in the id written as ``__``)
    slurm/jobs.json     SLURM job ids and states per job, written by the SLURM executor

Both executors use these functions, so ``taskonomy status`` reads any run the same way.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from taskonomy.artifacts import PLAN_FILE, RUN_FILE, SPEC_FILE
from taskonomy.errors import TaskonomyError
from taskonomy.executor.store import ArtifactStore, write_json_atomic
from taskonomy.planner import build_plan
from taskonomy.planner.cost import load_calibration
from taskonomy.planner.jobs import Job, Plan
from taskonomy.planner.views import plan_to_json
from taskonomy.spec.loading import LoadedSpec
from taskonomy.spec.models import Spec

#: Written by the SLURM executor: ``{job_id: {"slurm_job_id": str, "state": str, "log": path}}``.
SLURM_JOBS_FILE = Path("slurm") / "jobs.json"
#: run.json's state of a job the run has not reached (yet, or because it was interrupted).
PENDING = "pending"


class WorkdirError(TaskonomyError, ValueError):
    """A work directory is missing, belongs to another run, or is inconsistent."""


def log_path(workdir: Path, job_id: str) -> Path:
    """The job's own log file."""
    return Path(workdir) / "logs" / f"{job_id.replace('/', '__')}.log"


def scratch_path(workdir: Path, job: Job) -> Path:
    """The job's persistent scratch directory (checkpoints survive failures)."""
    return Path(workdir) / "scratch" / job.hash


def _recorded_name(workdir: Path) -> str | None:
    path = workdir / SPEC_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["name"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkdirError(
            f"{path} is unreadable ({exc}); it is not a taskonomy work directory, or its "
            "spec record is damaged: choose another --workdir or delete that file"
        ) from None


def prepare_workdir(loaded: LoadedSpec) -> tuple[Spec, Plan, Path]:
    """Plan ``loaded`` and record the spec and plan in its work directory.

    Raises:
        WorkdirError: the directory holds the run of a spec with another name (nothing
            is written then), or is a file.
    """
    spec, workdir = loaded.spec, loaded.workdir
    if workdir.exists() and not workdir.is_dir():
        raise WorkdirError(f"work directory {workdir} is a file; choose another --workdir")
    recorded = _recorded_name(workdir)
    if recorded is not None and recorded != spec.name:
        raise WorkdirError(
            f"work directory {workdir} holds the run of spec {recorded!r}, not "
            f"{spec.name!r}; choose another --workdir (or delete it to start over)"
        )
    plan = build_plan(spec, load_calibration(workdir, spec.executor.device))
    workdir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(workdir / SPEC_FILE, spec.model_dump(mode="json", by_alias=True))
    write_json_atomic(workdir / PLAN_FILE, plan_to_json(plan))
    return spec, plan, workdir


def load_workdir(workdir: Path) -> tuple[Spec, Plan]:
    """The spec and plan recorded in ``workdir`` (the plan is rebuilt and checked).

    Raises:
        WorkdirError: ``workdir`` is not a taskonomy work directory, or the rebuilt plan
            differs from the recorded one (another taskonomy version planned it).
    """
    workdir = Path(workdir)
    spec_path, plan_path = workdir / SPEC_FILE, workdir / PLAN_FILE
    if not spec_path.is_file() or not plan_path.is_file():
        raise WorkdirError(
            f"{workdir} is not a taskonomy work directory (no {SPEC_FILE} and {PLAN_FILE}); "
            "`taskonomy run SPEC` creates one"
        )
    try:
        spec = Spec.model_validate(json.loads(spec_path.read_text(encoding="utf-8")))
        recorded = json.loads(plan_path.read_text(encoding="utf-8"))["plan_hash"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        what = "is not a valid spec" if isinstance(exc, ValidationError) else f"({exc})"
        raise WorkdirError(
            f"the run record in {workdir} is unreadable: {spec_path.name} {what}; "
            "run `taskonomy run SPEC` again to rewrite it"
        ) from None
    plan = build_plan(spec, load_calibration(workdir, spec.executor.device))
    if plan.hash != recorded:
        raise WorkdirError(
            f"the plan rebuilt from {spec_path} (hash {plan.hash[:12]}) differs from the one "
            f"recorded in {plan_path} ({str(recorded)[:12]}), so this taskonomy version plans "
            "differently from the one that started the run; run `taskonomy run SPEC` to re-plan"
        )
    return spec, plan


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class RunRecord:
    """``run.json``: every job's state, seconds and estimate, rewritten as the run goes.

    Jobs already complete when the run starts are recorded as ``skipped`` with the wall
    seconds their manifest recorded, so used can be put against estimated across resumes.
    Writes are atomic and at most every ``interval`` seconds until :meth:`finish`.
    """

    def __init__(self, workdir: Path, plan: Plan, *, interval: float = 1.0) -> None:
        self.path = Path(workdir) / RUN_FILE
        self.interval = interval
        self._last = 0.0
        self.doc: dict[str, Any] = {
            "plan_hash": plan.hash,
            "started": time.time(),
            "finished": None,
            "interrupted": False,
            "jobs": {
                job.id: {
                    "kind": str(job.kind),
                    "stage": job.stage,
                    "state": PENDING,
                    "seconds": 0.0,
                    "est_seconds": job.est_seconds,
                    "gpu_seconds": 0.0,
                }
                for job in plan
            },
        }

    def skipped(self, store: ArtifactStore, job: Job) -> None:
        """Record ``job`` as complete before the run (with its recorded timings)."""
        meta = (store.manifest(job.hash) or {}).get("meta", {})
        entry = self.doc["jobs"][job.id]
        entry["state"] = "skipped"
        if isinstance(meta, dict):
            entry["seconds"] = float(meta.get("wall_seconds", 0.0))
            entry["gpu_seconds"] = float(meta.get("gpu_seconds", 0.0))

    def update(self, job_id: str, state: str, **values: Any) -> None:
        """Set ``job_id``'s state and values (seconds, gpu_seconds, reason, log)."""
        entry = self.doc["jobs"][job_id]
        entry["state"] = state
        entry.update({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})

    def flush(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            write_json_atomic(self.path, self.doc)
            self._last = now

    def finish(self, *, interrupted: bool = False) -> None:
        self.doc["finished"] = time.time()
        self.doc["interrupted"] = interrupted
        self.flush(force=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.doc["started"]))
        frac = f"{self.doc['started'] % 1:.6f}"[2:]
        try:
            history = self.path.parent / RUNS_DIR
            history.mkdir(exist_ok=True)
            write_json_atomic(history / f"{stamp}.{frac}.json", self.doc)
        except OSError:
            pass  # the history is for reports; run.json already holds this run


#: Where every run's record is kept (``runs/<UTC start>.<µs>.json``), oldest first by name.
RUNS_DIR = "runs"
