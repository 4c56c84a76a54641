"""``taskonomy run`` and ``taskonomy status`` with fake bodies behind the job registry."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import taskonomy.jobs
from taskonomy.artifacts import RANKING_FILE
from taskonomy.cli import main
from taskonomy.executor.context import JobBody, JobContext
from taskonomy.executor.store import ArtifactStore
from taskonomy.jobs import BatchBody
from taskonomy.jobs.binding import bound_sources
from taskonomy.kinds import JobKind
from taskonomy.planner import build_plan
from taskonomy.spec import load_spec

SPEC = """\
name: clirun
tasks: [rgb2depth, rgb2mist, reshade]
transfers: {max_order: 2, beam: 2}
taxonomy: {budgets: "1-2"}
"""


class Registry:
    """Stands in for :mod:`taskonomy.jobs`' registry: bodies writing one small file."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.calls: list[str] = []
        self.batches = 0

    def body(self, ctx: JobContext) -> Mapping[str, Any] | None:
        self.calls.append(ctx.job.id)
        if ctx.job.id in self.fail:
            raise RuntimeError(f"cannot do {ctx.job.id}")
        if ctx.job.kind is JobKind.RANK:
            ranked = sorted({bound_sources(ctx, d)[0] for d in ctx.job.deps})
            (ctx.out / RANKING_FILE).write_text(json.dumps({"ranked": ranked}))
        if ctx.job.kind is JobKind.TRANSFER:
            (ctx.out / "sources.json").write_text(json.dumps(list(bound_sources(ctx))))
        (ctx.out / "out.txt").write_text(ctx.job.id)
        return {"steps": 1}

    def batch(self, ctxs: Sequence[JobContext]) -> list[Mapping[str, Any] | None]:
        self.batches += 1
        return [self.body(c) for c in ctxs]

    def get_body(self, kind: JobKind) -> JobBody:
        return self.body

    def get_batch_body(self, kind: JobKind) -> BatchBody | None:
        return self.batch if kind in (JobKind.TRANSFER, JobKind.EVALUATE) else None


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []

    def publish(workdir: Path, plan: object, store: ArtifactStore) -> list[Path]:
        calls.append(workdir)
        return []

    monkeypatch.setattr("taskonomy.jobs.outputs.publish_outputs", publish)
    return calls


def registry(monkeypatch: pytest.MonkeyPatch, fail: set[str] | None = None) -> Registry:
    reg = Registry(fail)
    monkeypatch.setattr(taskonomy.jobs, "get_body", reg.get_body)
    monkeypatch.setattr(taskonomy.jobs, "get_batch_body", reg.get_batch_body)
    return reg


def test_run_then_status(
    spec_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    published: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    reg = registry(monkeypatch)
    workdir = tmp_path / "wd"
    assert main(["run", str(spec_file), "--workdir", str(workdir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "run summary" in out and "all 47 jobs complete" in out
    assert len(reg.calls) == 47 and reg.batches > 0
    assert published == [workdir.resolve()]
    plan = build_plan(load_spec(spec_file).spec)
    assert json.loads((workdir / "plan.json").read_text())["plan_hash"] == plan.hash
    assert (workdir / "logs" / "encoder__reshade.log").is_file()

    assert main(["status", str(workdir), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["name"] == "clirun" and doc["counts"] == {"done": 47}
    assert doc["stages"]["transfer (order 2)"] == {"done": 3}
    assert doc["run"]["interrupted"] is False and doc["executor"] == "local"

    # Rerun: nothing to do; the status text says all done.
    assert main(["run", str(spec_file), "--workdir", str(workdir), "--no-progress"]) == 0
    assert len(reg.calls) == 47
    capsys.readouterr()
    assert main(["status", str(workdir)]) == 0
    assert "all 47 jobs are done" in capsys.readouterr().out


def test_failed_run_exits_1_and_status_shows_why(
    spec_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    published: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry(monkeypatch, fail={"rank/rgb2mist"})
    workdir = tmp_path / "wd"
    assert main(["run", str(spec_file), "-w", str(workdir), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "failed rank/rgb2mist: RuntimeError: cannot do rank/rgb2mist" in captured.out
    assert "rank__rgb2mist.log" in captured.out and "some jobs failed" in captured.err
    assert published, "outputs are published from a partial run too"

    assert main(["status", str(workdir), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["id"]: r for r in doc["jobs"]}
    assert rows["rank/rgb2mist"]["state"] == "failed"
    assert rows["rank/rgb2mist"]["log"].endswith("logs/rank__rgb2mist.log")
    assert rows["transfer/2/rgb2mist/00"]["state"] == "blocked"
    assert rows["transfer/2/rgb2mist/00"]["blocked_by"] == "rank/rgb2mist"
    assert rows["transfer/2/rgb2mist/00"]["reason"].startswith(
        "blocked by failed job rank/rgb2mist (RuntimeError: cannot do rank/rgb2mist"
    )
    assert rows["rank/reshade"]["state"] == "done"
    assert doc["counts"]["failed"] == 1

    assert main(["status", str(workdir)]) == 0
    text = capsys.readouterr().out
    assert "jobs not done" in text and "cannot do rank/rgb2mist" in text
    assert "job(s) below it are blocked" in text and "new" not in text

    # Fixed: the rerun runs the failed job and its descendants only.
    reg = registry(monkeypatch)
    assert main(["run", str(spec_file), "-w", str(workdir), "--no-progress"]) == 0
    assert "rank/rgb2mist" in reg.calls and "encoder/reshade" not in reg.calls


def test_user_errors_exit_2(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", str(spec_file), "-w", str(tmp_path / "wd"), "--detach"]) == 2
    assert "--detach needs executor.kind=slurm" in capsys.readouterr().err
    assert main(["status", str(tmp_path)]) == 2
    assert "not a taskonomy work directory" in capsys.readouterr().err
    other = tmp_path / "other.yaml"
    other.write_text(SPEC.replace("clirun", "other"), encoding="utf-8")
    (tmp_path / "wd2").mkdir()
    (tmp_path / "wd2" / "spec.json").write_text(json.dumps({"name": "clirun"}))
    assert main(["run", str(other), "-w", str(tmp_path / "wd2")]) == 2
    assert "holds the run of spec 'clirun'" in capsys.readouterr().err


def test_slurm_dispatch_and_status_hook(
    spec_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    published: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: dict[str, Any] = {}

    class Result:
        ok = False

    def run_slurm(spec: Any, plan: Any, workdir: Path, *, detach: bool, bodies: str) -> Result:
        seen.update(kind=spec.executor.kind, detach=detach, workdir=workdir, bodies=bodies)
        jobs = {"dataset": {"slurm_job_id": "77_0", "state": "running", "log": "x.log"}}
        (workdir / "slurm").mkdir()
        (workdir / "slurm" / "jobs.json").write_text(json.dumps(jobs))
        return Result()

    monkeypatch.setattr("taskonomy.executor.slurm.executor.run_slurm", run_slurm)
    # The pre-flight check wants an sbatch on PATH (a machine without SLURM has none);
    # this one is never called, since run_slurm is replaced.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    workdir = tmp_path / "wd"
    args = ["run", str(spec_file), "-w", str(workdir), "executor.kind=slurm", "--detach"]
    assert main(args) == 1
    assert seen == {
        "kind": "slurm",
        "detach": True,
        "workdir": workdir.resolve(),
        "bodies": "taskonomy.jobs:BODIES",
    }
    capsys.readouterr()
    assert main(["status", str(workdir), "-f", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["jobs"]}
    assert rows["dataset"]["slurm"] == {"slurm_job_id": "77_0", "state": "running", "log": "x.log"}
    assert rows["dataset"]["state"] == "new" and "slurm" not in rows["encoder/reshade"]
    assert main(["status", str(workdir), "--all"]) == 0
    assert "77_0 running" in capsys.readouterr().out
