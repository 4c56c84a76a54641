"""What one SLURM array task runs: a pack of plan jobs, through the executor core.

The driver submits :class:`PackTask` with submitit; each array task calls it with the
ids of the jobs packed into it, and it runs them with
:func:`taskonomy.executor.runner.execute_jobs` in this process (so packed transfers share
cached features), which skips jobs already done and commits each artifact atomically.
The task then writes one small outcome file per job (``WORKDIR/slurm/outcomes/``), which
the driver reads to tell a Python exception from a success when SLURM says
``COMPLETED`` for both, and raises if any job failed, so that SLURM's own state (and an
``afterok`` dependency) is honest too.

Preemption and time limits: :class:`PackTask` has a ``checkpoint`` method, which is
what makes a submitit callable checkpointable. When SLURM signals the task (``USR2``,
before a time limit or on preemption), submitit calls it and requeues the same call;
the rerun calls ``execute_jobs`` again, which skips the jobs that finished and resumes
the interrupted one from what its body saved in ``ctx.scratch`` (encoder training
saves ``ckpt.pt`` there periodically).

The job bodies travel as data of the task: a reference ``package.module:OBJECT`` (the
real ones are :data:`taskonomy.jobs.BODIES_REF`) or ``/path/to/file.py:OBJECT`` naming a
:class:`~taskonomy.executor.runner.BodyResolver`, which the array task imports on the node.
Whoever starts the run chooses it (the command line passes the real bodies; tests pass
cheap ones); nothing in the environment changes what a task runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskonomy.errors import ExecutionError
from taskonomy.executor.slurm.journal import outcome_path
from taskonomy.executor.store import write_json_atomic


class PackFailed(ExecutionError):
    """Some jobs of an array task failed; their own logs say why."""


def load_object(ref: str) -> Any:
    """The object ``package.module:NAME`` or ``/path/file.py:NAME`` names.

    Raises:
        ExecutionError: the reference cannot be imported.
    """
    module_ref, sep, name = ref.rpartition(":")
    if not sep or not module_ref or not name:
        raise ExecutionError(
            f"job bodies {ref!r}: a reference must be 'package.module:OBJECT' or "
            "'/path/file.py:OBJECT'"
        )
    try:
        if module_ref.endswith(".py"):
            path = Path(module_ref)
            mod_name = f"_taskonomy_bodies_{abs(hash(str(path.resolve())))}"
            if mod_name not in sys.modules:
                spec = importlib.util.spec_from_file_location(mod_name, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {path}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[mod_name] = module
                spec.loader.exec_module(module)
            return getattr(sys.modules[mod_name], name)
        return getattr(importlib.import_module(module_ref), name)
    except (ImportError, AttributeError, OSError) as exc:
        raise ExecutionError(f"cannot load job bodies {ref!r}: {exc}") from exc


def _state_name(state: Any) -> str:
    return str(getattr(state, "value", state)).lower()


class PackTask:
    """The callable submitted per array task (picklable; checkpointable for submitit).

    Args:
        workdir: the run's work directory, on the file system compute nodes share.
        bodies: a reference to the job bodies (see the module doc).
    """

    def __init__(self, workdir: str | Path, bodies: str) -> None:
        self.workdir = str(workdir)
        self.bodies = bodies

    def __call__(self, job_ids: Sequence[str]) -> list[dict[str, Any]]:
        from taskonomy.executor.runner import BodyResolver, execute_jobs

        workdir = Path(self.workdir)
        bodies = load_object(self.bodies)
        if not isinstance(bodies, BodyResolver):
            raise ExecutionError(
                f"job bodies {self.bodies!r} name a {type(bodies).__name__}, not a "
                "taskonomy.executor.runner.BodyResolver"
            )
        start = time.time()
        outcomes = execute_jobs(workdir, list(job_ids), bodies=bodies)
        records: list[dict[str, Any]] = []
        for outcome in outcomes:
            job_id = str(outcome.job_id)
            record: dict[str, Any] = {
                "job_id": job_id,
                "state": _state_name(outcome.state),
                "seconds": float(outcome.seconds or 0.0),
                "reason": str(outcome.reason or ""),
                "log": str(outcome.log or ""),
                "slurm_job_id": _slurm_id(),
                "restart_count": int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0),
                "host": socket.gethostname(),
                "finished": time.time(),
                "task_seconds": time.time() - start,
            }
            write_json_atomic(outcome_path(workdir, job_id), record)
            records.append(record)
        failed = [r for r in records if r["state"] not in ("done", "skipped")]
        if failed:
            shown = "; ".join(f"{r['job_id']}: {r['state']} ({r['reason']})" for r in failed[:5])
            raise PackFailed(f"{len(failed)} of {len(records)} job(s) did not complete: {shown}")
        return records

    def checkpoint(self, job_ids: Sequence[str]) -> Any:
        """Requeue the same call (submitit calls this on ``USR2``; see the module doc)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(PackTask(self.workdir, self.bodies), list(job_ids))

    def __repr__(self) -> str:
        return f"PackTask({self.workdir!r}, {self.bodies!r})"


def _slurm_id() -> str:
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID", "")
