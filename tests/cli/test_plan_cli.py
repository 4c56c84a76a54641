"""``taskonomy validate / schema / tasks / plan`` as users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from taskonomy.cli import main
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner import build_plan
from taskonomy.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC = """\
name: cli
tasks: [rgb2depth, rgb2mist, reshade]
transfers: {max_order: 2}
taxonomy: {budgets: "1-2"}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from taskonomy.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_json_schema(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(spec_file), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["transfer"] == {"1": 6, "2": 3}
    assert doc["counts"]["encoder"] == 3 and doc["counts"]["taxonomy"] == 4
    assert len(doc["plan_hash"]) == 64
    assert doc["est_gpu_hours"] > 0
    job = next(j for j in doc["jobs"] if j["id"] == "transfer/2/reshade/00")
    assert job["deps"] == ["rank/reshade", "dataset"]
    assert job["kind"] == "transfer" and job["bound_at_run_time"] is True
    assert set(job["resources"]) >= {"gpus", "cpus", "mem_gb", "time_min"}
    assert job["est_gpu_seconds"] > 0 and job["state"] == "new"
    assert doc["would_run"] == len(doc["jobs"])


def test_plan_text_dot_mermaid(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(spec_file)]) == 0
    text = capsys.readouterr().out
    for needle in (
        "jobs per stage",
        "transfer (order 2)",
        "critical path",
        "widest stage",
        "would run (",
        "GPU-hours",
    ):
        assert needle in text
    assert main(["plan", str(spec_file), "-f", "dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith('digraph "cli"') and '"rank/reshade" -> "transfer/2/reshade/00";' in dot
    assert 'label="transfer (order 2)";' in dot
    assert main(["plan", str(spec_file), "-f", "mermaid"]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart LR") and "subgraph s" in mermaid and "-->" in mermaid


def test_plan_with_overrides_and_slurm_headers(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "plan",
        str(spec_file),
        "executor.kind=slurm",
        "executor.slurm_partition=gpu",
        "executor.slurm_array_parallelism=4",
        "executor.resources.encoder.time_min=1",
        "training.encoder.steps=100000",
        "-f",
        "json",
    ]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    header = doc["sbatch"]["encoder"]
    assert "#SBATCH --array=0-2%3" in header
    assert "#SBATCH --partition=gpu" in header and "#SBATCH --gres=gpu:1" in header
    assert "#SBATCH --time=00:01:00" in header
    assert any(
        "encoder job(s) are estimated to exceed their time limit of 1 min" in w
        for w in doc["warnings"]
    )


def test_check_reports_done_and_changed(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "wd"
    assert main(["plan", str(spec_file), "-w", str(workdir), "--check"]) == 1
    capsys.readouterr()
    # complete every job's artifact through the store, as the executor does
    plan = build_plan(load_spec(spec_file).spec)
    store = ArtifactStore(workdir)
    for job in plan:
        tmp = store.begin(job)
        (tmp / "out.txt").write_text(job.id)
        store.commit(job, tmp)
    assert main(["plan", str(spec_file), "-w", str(workdir), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    # corrupt one artifact, change one parameter: both are reported with their reason
    victim = store.path(plan.jobs["affinity/reshade"].hash) / "out.txt"
    victim.write_text("tampered")
    args = [
        "plan",
        str(spec_file),
        "-w",
        str(workdir),
        "training.transfer.lr=0.5",
        "-f",
        "json",
        "--check",
    ]
    assert main(args) == 1
    states = {j["id"]: j["state"] for j in json.loads(capsys.readouterr().out)["jobs"]}
    assert states["encoder/rgb2depth"] == "done"
    assert states["transfer/1/rgb2depth->reshade"] == "inputs changed"
    assert states["affinity/reshade"] == "inputs changed"
    assert main(["plan", str(spec_file), "-w", str(workdir), "-f", "json"]) == 0
    states = {j["id"]: j["state"] for j in json.loads(capsys.readouterr().out)["jobs"]}
    assert states["affinity/reshade"] == "artifact invalid"
    assert states["affinity/rgb2mist"] == "done"


def test_validate_schema_tasks(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "3 tasks (3 sources, 3 targets)" in out
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["title"] == "taskonomy experiment spec"
    assert main(["tasks"]) == 0
    assert "segmentsemantic" in capsys.readouterr().out


def test_user_error_is_one_message_exit_2_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\ntasks: [rgb2depth, normls]\n")
    proc = run_cli(["validate", str(bad)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert (
        "tasks.1 (line 2): unknown task 'normls'" in proc.stderr.replace("\n", " ")
        or "unknown task 'normls'" in proc.stderr
    )
    proc = run_cli(["plan", str(tmp_path / "absent.yaml")])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_plan_never_imports_torch_and_is_fast() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); from taskonomy.cli import main; "
        f"rc = main(['plan', r'{EXAMPLES / 'taskonomy26.yaml'}', '--format', 'json']); "
        "sys.stderr.write(f'SECONDS={time.perf_counter() - t}\\n'); "
        "assert 'torch' not in sys.modules, 'torch was imported'; "
        "assert 'submitit' not in sys.modules; sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["counts"]["transfer"] == {"1": 572, "2": 220, "3": 220, "4": 110}


def test_help_is_useful() -> None:
    proc = run_cli(["--help"])
    assert proc.returncode == 0
    for command in ("validate", "schema", "tasks", "plan"):
        assert command in proc.stdout
    proc = run_cli(["plan", "--help"])
    assert "--check" in proc.stdout and "dotted.key=value" in proc.stdout


def test_tasks_lists_every_task_the_spec_accepts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskonomy.tasks import BUILTIN_TASKS, TASKONOMY_ONLY_TASKS

    monkeypatch.setenv("COLUMNS", "240")
    assert main(["tasks"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    names = {line.split("│")[1].strip() for line in rows}
    assert names == set(BUILTIN_TASKS) | set(TASKONOMY_ONLY_TASKS) and len(names) == 26
    point_match = next(r for r in rows if r.split("│")[1].strip() == "point_match")
    cells = [c.strip() for c in point_match.split("│")]
    assert "geometric" in cells and "no" in cells  # its family; the mini generator cannot
    depth = next(r for r in rows if r.split("│")[1].strip() == "rgb2depth")
    assert "3d" in [c.strip() for c in depth.split("│")]


def test_validate_and_plan_refuse_a_plan_too_large(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: counted before building; the message points at the setting and its line."""
    paper = str(EXAMPLES / "taskonomy26.yaml")
    for command in ("validate", "plan"):
        assert main([command, paper, "transfers.beam=26", "transfers.max_order=8"]) == 2
        err = capsys.readouterr().err.replace("\n", " ")
        assert "taskonomy26.yaml" in err
        assert "transfers.max_order (set by override 'transfers.max_order=8')" in err
        assert "111,495,758 jobs, more than max_jobs 20,000" in err and "GPU-hours" in err
    assert main(["validate", paper, "taxonomy.budgets=1-100000"]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "taxonomy.budgets (set by override" in err and "400,000 taxonomies" in err
    assert main(["plan", str(spec_file), "max_jobs=5"]) == 2
    assert "transfers.max_order (line 3)" in capsys.readouterr().err.replace("\n", " ")


def test_plan_says_what_follows_from_an_override(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13: max_order=3 on the command line takes taxonomy.orders along, and says so."""
    mini = str(EXAMPLES / "mini.yaml")
    assert main(["plan", mini, "transfers.max_order=3", "-f", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["counts"]["taxonomy"] == 18  # 6 budgets x orders 1, 2, 3
    assert any("taxonomy.orders follows transfers.max_order=3" in w for w in doc["warnings"])
    assert "warning: taxonomy.orders follows" in captured.err.replace("\n", " ")
    assert main(["validate", mini, "transfers.max_order=3", "taxonomy.orders=[1, 2]"]) == 0
    err = capsys.readouterr().err.replace("\n", " ")
    assert "transfers of order 3 are trained" in err and "solves no taxonomy" in err
