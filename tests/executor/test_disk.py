"""A full disk, a read-only work directory and SIGTERM: one clear error, nothing lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from taskonomy.executor import disk
from taskonomy.executor.disk import DiskFullError
from taskonomy.executor.local import run_local
from taskonomy.executor.runinfo import load_workdir, prepare_workdir
from taskonomy.executor.store import ArtifactStore
from taskonomy.spec import LoadedSpec

from .conftest import FakeBodies

FAKERUN = Path(__file__).with_name("fakerun.py")
SPEC = """\
name: small
tasks: [rgb2depth, rgb2mist]
dataset: {image_size: 16, splits: {encoder_train: 64, transfer_train: 32, test: 32}}
taxonomy: {bootstrap: 10}
"""
EXAMPLES = Path(__file__).parents[2] / "examples"


class FullDisk(FakeBodies):
    """Fake bodies where one job's write finds the disk full."""

    def __init__(self, job_id: str) -> None:
        super().__init__(batch=False)
        self.job_id = job_id

    def body(self, ctx: Any) -> Mapping[str, Any] | None:
        if ctx.job.id == self.job_id:
            self.calls.append(ctx.job.id)
            (ctx.out / "half.bin").write_bytes(b"x")
            raise RuntimeError("torch writer failed") from OSError(
                errno.ENOSPC, "No space left on device"
            )
        return super().body(ctx)


def _valid(workdir: Path) -> dict[str, float]:
    """Every artifact that verifies: hash -> its manifest's completion time."""
    store = ArtifactStore(workdir)
    out = {}
    for d in (workdir / "store" / "objects").glob("*/*"):
        manifest = store.manifest(d.name)
        if ".invalid." not in d.name and manifest and store.verify(d.name):
            out[d.name] = float(manifest["completed"])
    return out


def test_a_full_disk_stops_the_run_keeps_everything_and_resumes(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    victim = "features/rgb2mist"
    bodies = FullDisk(victim)
    with pytest.raises(DiskFullError, match=rf"while running {victim}: .*{workdir}"):
        run_local(spec, plan, workdir, bodies=bodies.resolver(), display=False)
    ran = bodies.calls
    assert ran[-1] == victim and len(ran) < len(plan)  # stopped at once, not job after job
    before = _valid(workdir)
    assert len(before) == len(ran) - 1
    assert not list((workdir / "store" / "tmp").iterdir())
    record = json.loads((workdir / "run.json").read_text())
    assert record["interrupted"] is True and "disk" in record["error"]
    again = FakeBodies(batch=False)
    assert run_local(spec, plan, workdir, bodies=again.resolver(), display=False).ok
    assert again.calls[0] == victim and not set(again.calls) & set(ran[:-1])
    after = _valid(workdir)
    assert all(after[h] == t for h, t in before.items())


def test_too_little_space_is_refused_before_anything_runs(
    loaded: LoadedSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    monkeypatch.setattr(disk, "free_bytes", lambda path: 1 << 20)
    bodies = FakeBodies()
    need = rf"work directory {workdir} \(1\.0 MB free; the {len(plan)} jobs left to run need"
    with pytest.raises(DiskFullError, match=need):
        run_local(spec, plan, workdir, bodies=bodies.resolver(), display=False)
    assert bodies.calls == []


def test_the_estimate_uses_measured_sizes(loaded: LoadedSpec) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    from taskonomy.executor.local import space_check

    first = space_check(spec, plan, workdir, ArtifactStore(workdir)).need(plan)
    assert run_local(spec, plan, workdir, bodies=FakeBodies().resolver(), display=False).ok
    measured = space_check(spec, plan, workdir, ArtifactStore(workdir)).need(plan)
    assert measured < first  # the fake artifacts are tiny, and now measured


def _cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(FAKERUN), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def test_cli_full_disk_exits_2_with_one_message(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    wd = tmp_path / "wd"
    proc = _cli("run", str(spec), "--workdir", str(wd), "--no-progress",
                env={"FAKE_ENOSPC": "encoder/rgb2mist"})  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"not enough disk space for work directory {wd}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert _valid(wd) and not list((wd / "store" / "tmp").iterdir())


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs (root only; skipped where it cannot be mounted)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_disk_that_fills_mid_run_and_a_read_only_one(tmp_path: Path, tmpfs: Path) -> None:
    """On a real small file system: ballast fills it while a job writes; the run stops
    with exit 2, keeps every completed artifact, and resumes once space is freed. Then,
    read-only, ``run`` says so (exit 2) and ``status`` still reads it."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    wd, ballast = tmpfs / "wd", tmpfs / "ballast"
    args = ("run", str(spec), "--workdir", str(wd), "--no-progress")
    proc = _cli(*args, env={"FAKE_FILL": f"transfer/1/rgb2mist->rgb2depth:{ballast}"})
    assert proc.returncode == 2, proc.stderr
    assert f"not enough disk space for work directory {wd}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and "Bus error" not in proc.stderr
    before = _valid(wd)
    assert len(before) >= 5 and not list((wd / "store" / "tmp").iterdir())
    ballast.unlink()
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stderr
    after = _valid(wd)
    assert all(after[h] == t for h, t in before.items())  # nothing completed ran again
    _, plan = load_workdir(wd)
    assert len(after) == len(plan)

    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    proc = _cli(*args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"work directory {wd} is not writable" in proc.stderr
    status = _cli("status", str(wd), "--format", "json")
    assert status.returncode == 0 and json.loads(status.stdout)["counts"] == {"done": len(plan)}


def test_mini_on_a_tiny_disk_is_refused_not_a_bus_error(tmpfs: Path) -> None:
    """The issue's case: examples/mini.yaml on a small tmpfs died with SIGBUS (rc 135)."""
    cmd = [str(Path(sys.executable).with_name("taskonomy")), "run", str(EXAMPLES / "mini.yaml")]
    proc = subprocess.run(
        [*cmd, "--workdir", str(tmpfs / "wd"), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "not enough disk space for work directory" in proc.stderr and "need about" in proc.stderr


def test_sigterm_records_the_run_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    wd = tmp_path / "wd"
    cmd = [sys.executable, str(FAKERUN), "run", str(spec), "--workdir", str(wd), "--no-progress"]
    env = {**os.environ, "FAKE_SLEEP": "0.3"}
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 60
        while len(list(wd.glob("store/objects/*/*"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # inside the next job's body
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert b"terminated" in err and b"Traceback" not in err
    record = json.loads((wd / "run.json").read_text())
    assert record["interrupted"] is True and record["finished"]
    done = [j for j, e in record["jobs"].items() if e["state"] == "done"]
    assert len(done) >= 3
    assert not list((wd / "store" / "tmp").iterdir())
    before = _valid(wd)
    proc2 = _cli("run", str(spec), "--workdir", str(wd), "--no-progress")
    assert proc2.returncode == 0, proc2.stderr
    after = _valid(wd)
    assert all(after[h] == t for h, t in before.items())
