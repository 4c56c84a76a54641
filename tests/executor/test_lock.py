"""One run per work directory: refused or queued while the first lives, taken over after
it is killed; and concurrent commits never rename a valid artifact aside."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskonomy.executor import lock as lock_mod
from taskonomy.executor.lock import (
    LOCK_FILE,
    WorkdirAccessError,
    WorkdirBusyError,
    read_holder,
    workdir_lock,
)
from taskonomy.executor.runinfo import WorkdirError, load_workdir
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner import build_plan

from .conftest import tiny_spec

FAKERUN = Path(__file__).with_name("fakerun.py")
HOLD = (
    "import sys, time\n"
    "from taskonomy.executor.lock import workdir_lock\n"
    "with workdir_lock(sys.argv[1]):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(float(sys.argv[2]))\n"
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``tmp_path / 'wd'``'s lock for a minute."""
    cmd = [sys.executable, "-c", HOLD, str(tmp_path / "wd"), "60"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        try:
            yield proc
        finally:
            proc.kill()


def test_a_live_holder_is_named_and_a_killed_one_taken_over(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    wd = tmp_path / "wd"
    with pytest.raises(WorkdirBusyError) as info, workdir_lock(wd):
        pass
    message = str(info.value)
    assert f"pid {holder.pid} on {socket.gethostname()}, since 20" in message
    assert str(wd) in message and "--wait" in message
    holder.kill()
    holder.wait()
    lines: list[str] = []
    with workdir_lock(wd, echo=lines.append) as path:
        mine = read_holder(path)
        assert mine is not None and mine.pid == os.getpid()
    assert len(lines) == 1 and "taking over" in lines[0] and f"pid {holder.pid} " in lines[0]
    assert read_holder(wd / LOCK_FILE) is None  # released: emptied, never deleted
    assert (wd / LOCK_FILE).exists()


def test_wait_queues_behind_the_holder(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    cmd = [sys.executable, "-c", HOLD, str(wd), "1.0"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        lines: list[str] = []
        start = time.monotonic()
        with workdir_lock(wd, wait=True, poll_s=0.05, echo=lines.append):
            waited = time.monotonic() - start  # the holder sleeps 1 s once locked
        assert 0.5 < waited < 30
        assert lines and lines[0].startswith("waiting for the run holding")


def test_reentrant_in_one_process(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    with workdir_lock(wd), workdir_lock(wd):
        assert read_holder(wd / LOCK_FILE) is not None
    assert read_holder(wd / LOCK_FILE) is None
    with workdir_lock(wd):
        pass


def test_without_flock_the_record_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_flock(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "no locks")

    monkeypatch.setattr(lock_mod.fcntl, "flock", no_flock)
    wd = tmp_path / "wd"
    wd.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    record = {"host": socket.gethostname(), "pid": int(dead.stdout), "since": 0.0, "command": ""}
    (wd / LOCK_FILE).write_text(json.dumps(record))
    with workdir_lock(wd, echo=lambda line: None):  # a dead pid on this host: stale
        pass
    for other in ({**record, "pid": os.getppid()}, {**record, "host": "elsewhere"}):
        (wd / LOCK_FILE).write_text(json.dumps(other))
        busy = rf"pid {other['pid']} on {other['host']}"
        with pytest.raises(WorkdirBusyError, match=busy), workdir_lock(wd):
            pass


def test_a_read_only_or_file_work_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    is_file = r"work directory .*afile is a file; choose another"
    with pytest.raises(WorkdirError, match=is_file), workdir_lock(tmp_path / "afile"):
        pass
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        not_writable = r"work directory .*ro.* is not writable"
        with pytest.raises(WorkdirAccessError, match=not_writable), workdir_lock(ro / "wd"):
            pass


def test_cli_run_refuses_a_busy_work_directory(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: tiny\ntasks: [rgb2depth, rgb2mist]\n", encoding="utf-8")
    cmd = [sys.executable, str(FAKERUN), "run", str(spec), "--workdir", str(tmp_path / "wd")]
    proc = subprocess.run([*cmd, "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"another taskonomy run (pid {holder.pid} on" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "wd" / "store").exists() and not (tmp_path / "wd" / "plan.json").exists()


def test_two_concurrent_runs_never_touch_the_first_ones_artifacts(tmp_path: Path) -> None:
    """The second run is refused while the first runs; the first finishes with every
    artifact in place and nothing renamed ``*.invalid.*``."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: two\ntasks: [rgb2depth, rgb2mist]\ntaxonomy: {bootstrap: 10}\n", encoding="utf-8"
    )
    wd = tmp_path / "wd"
    cmd = [sys.executable, str(FAKERUN), "run", str(spec), "--workdir", str(wd), "--no-progress"]
    env = {**os.environ, "FAKE_SLEEP": "0.05"}
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as first:
        deadline = time.monotonic() + 60
        while not list(wd.glob("store/objects/*/*")) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        _, err = first.communicate(timeout=120)
    assert second.returncode == 2 and f"(pid {first.pid} on" in second.stderr
    assert first.returncode == 0, err
    assert not list(wd.glob("store/objects/*/*.invalid.*"))
    store = ArtifactStore(wd)
    _, plan = load_workdir(wd)
    assert all(store.verify(job.hash) for job in plan)


def test_a_valid_artifact_in_place_is_kept_and_an_invalid_one_moved_aside(
    tmp_path: Path,
) -> None:
    """Two processes committing the same job: the second keeps the first's artifact."""
    plan = build_plan(tiny_spec())
    job = plan.jobs["dataset"]
    first, second = ArtifactStore(tmp_path), ArtifactStore(tmp_path)
    tmp = first.begin(job)
    (tmp / "a.txt").write_text("one")
    final = first.commit(job, tmp)
    manifest = json.loads((final / "MANIFEST.json").read_text())
    tmp2 = second.begin(job)
    (tmp2 / "a.txt").write_text("one")
    assert second.commit(job, tmp2) == final
    assert json.loads((final / "MANIFEST.json").read_text()) == manifest  # untouched
    assert not tmp2.exists() and not list(final.parent.glob("*.invalid.*"))

    (final / "a.txt").write_text("tampered")
    third = ArtifactStore(tmp_path)
    tmp3 = third.begin(job)
    (tmp3 / "a.txt").write_text("one")
    third.commit(job, tmp3)
    assert (final / "a.txt").read_text() == "one" and third.verify(job.hash)
    aside = list(final.parent.glob("*.invalid.*"))
    assert len(aside) == 1 and (aside[0] / "a.txt").read_text() == "tampered"


def test_stale_temporary_directories_are_cleaned_live_ones_kept(tmp_path: Path) -> None:
    plan = build_plan(tiny_spec())
    store = ArtifactStore(tmp_path)
    mine = store.begin(plan.jobs["dataset"])
    tmp_root = tmp_path / "store" / "tmp"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    host = socket.gethostname()
    stale = tmp_root / f"{'a' * 64}.{int(dead.stdout)}.0123abcd.{host}"
    old_format = tmp_root / f"{'b' * 64}.{int(dead.stdout)}.0123abcd"
    elsewhere = tmp_root / f"{'c' * 64}.{int(dead.stdout)}.0123abcd.node-17"
    for d in (stale, old_format, elsewhere):
        d.mkdir()
    removed = store.clean_tmp()
    assert sorted(removed) == sorted([stale, old_format])
    assert mine.is_dir() and elsewhere.is_dir()
