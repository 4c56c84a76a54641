"""``taskonomy status``: jobs below a failure are ``blocked``, naming it, never ``new``."""

from __future__ import annotations

import json

from taskonomy.cli.status import job_statuses
from taskonomy.executor.local import run_local
from taskonomy.executor.runner import prepare_workdir
from taskonomy.spec import LoadedSpec

from .conftest import FakeBodies


def test_jobs_below_a_slurm_failure_are_blocked_not_new(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    assert not run_local(
        spec, plan, workdir, bodies=FakeBodies(fail={"rank/rgb2mist"}).resolver(), display=False
    ).ok
    # A SLURM run writes no run.json: only the scheduler's record of the failed job.
    (workdir / "run.json").unlink()
    (workdir / "slurm").mkdir(exist_ok=True)
    (workdir / "slurm" / "jobs.json").write_text(
        json.dumps({"rank/rgb2mist": {"slurm_job_id": "7_3", "state": "out of memory"}})
    )
    rows = {r["id"]: r for r in job_statuses(workdir, plan)}
    assert rows["rank/rgb2mist"]["state"] == "failed"
    below = set(plan.descendants("rank/rgb2mist"))
    assert below and all(rows[j]["state"] == "blocked" for j in below)
    assert rows["transfer/2/rgb2mist/00"]["reason"] == (
        "blocked by failed job rank/rgb2mist (SLURM reports out of memory)"
    )
    assert not [r for r in rows.values() if r["state"] == "new"]
    assert rows["rank/reshade"]["state"] == "done"
