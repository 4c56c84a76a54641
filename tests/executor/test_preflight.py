"""Pre-run checks: every problem that can be found before anything runs, in one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskonomy.cli import main
from taskonomy.executor.preflight import PreflightError, check_slurm, preflight
from taskonomy.executor.slurm.partitions import parse_partitions
from taskonomy.planner import build_plan
from taskonomy.spec import Spec

TASKS = ["rgb2depth", "rgb2sfnorm", "class_scene"]


def real_spec(root: Path, **executor: object) -> Spec:
    return Spec.model_validate(
        {
            "name": "real",
            "tasks": TASKS,
            "dataset": {"kind": "taskonomy", "root": str(root)},
            "executor": executor,
        }
    )


def building(root: Path, name: str, domains: tuple[str, ...]) -> None:
    for d in ("rgb", *domains):
        (root / name / d).mkdir(parents=True)
    (root / name / "rgb" / "point_0_view_0_domain_rgb.png").write_bytes(b"")


def test_a_missing_dataset_root_stops_the_run_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = real_spec(tmp_path / "nowhere")
    with pytest.raises(PreflightError, match=r"dataset\.root '.*nowhere' does not exist"):
        preflight(spec, tmp_path / "work")
    assert not (tmp_path / "work").exists()
    path = tmp_path / "real.yaml"
    path.write_text(
        "name: real\ntasks: [rgb2depth, rgb2sfnorm, class_scene]\n"
        f"dataset: {{kind: taskonomy, root: {tmp_path / 'nowhere'}}}\n"
    )
    code = main(["run", str(path), "--workdir", str(tmp_path / "w2")])
    out = capsys.readouterr()
    assert code == 2
    assert "cannot start the run of 'real': dataset: dataset.root" in out.err
    assert "not run" not in out.out + out.err
    assert not (tmp_path / "w2" / "store").exists()


def test_every_missing_domain_is_listed_at_once(tmp_path: Path) -> None:
    root = tmp_path / "raw"
    for name in ("a", "b", "c"):
        building(root, name, ("depth_zbuffer",))
    with pytest.raises(PreflightError) as info:
        preflight(real_spec(root), tmp_path / "work")
    text = str(info.value)
    assert "(2 problems; nothing was run or submitted)" in text
    assert "domain 'normal' needed by 'rgb2sfnorm' is missing for building(s) 'a', 'b', 'c'" in text
    assert "domain 'class_scene' needed by 'class_scene'" in text
    assert "a_normal.tar" in text
    for name in ("a", "b", "c"):
        (root / name / "normal").mkdir()
        (root / name / "class_scene").mkdir()
    preflight(real_spec(root), tmp_path / "work")  # complete now


def test_a_work_directory_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    spec = Spec(name="m", tasks=TASKS)
    with pytest.raises(PreflightError, match=r"work directory .*/f is a file; choose another"):
        preflight(spec, tmp_path / "f")


def test_slurm_needs_sbatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    spec = Spec(name="s", tasks=TASKS, executor={"kind": "slurm"})
    with pytest.raises(PreflightError, match=r"sbatch is not on PATH; run on a login node"):
        preflight(spec, tmp_path / "work")


def test_slurm_resources_within_the_partitions(tmp_path: Path) -> None:
    spec = Spec(
        name="s",
        tasks=TASKS,
        executor={
            "kind": "slurm",
            "resources": {"encoder": {"mem_gb": 512, "cpus": 8}, "dataset": {"cpus": 64}},
            "slurm_partition": "gpu",
        },
    )
    parts = parse_partitions("gpu*|2-00:00:00|256000|32\ncpu|infinite|64000+|16\n")
    assert parts["gpu"].mem_mb == 256000 and parts["gpu"].default
    problems = [p for p in check_slurm(spec, build_plan(spec), parts) if "sbatch" not in p]
    assert problems == [
        "executor.resources.dataset.cpus=64 is more than any node of partition 'gpu' has "
        "(32); lower it or choose another partition",
        "executor.resources.encoder.mem_gb=512 is more than any node of partition 'gpu' has "
        "(250 GB); lower it or choose another partition",
    ]
    other = Spec(name="s", tasks=TASKS, executor={"kind": "slurm", "slurm_partition": "a100"})
    assert any(
        "partition 'a100' does not exist on this cluster (sinfo lists cpu, gpu)" in p
        for p in check_slurm(other, build_plan(other), parts)
    )
