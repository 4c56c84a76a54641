"""Damaged work directories: each kind of damage is seen by ``status`` and ``run``, and
only the damaged job is recomputed (its descendants' inputs are reproduced unchanged)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from taskonomy.cli import main
from taskonomy.executor.local import run_local
from taskonomy.executor.runinfo import WorkdirError, prepare_workdir
from taskonomy.executor.store import MANIFEST, ArtifactStore
from taskonomy.spec import LoadedSpec

from .conftest import OUT, FakeBodies

VICTIM = "encoder/rgb2mist"


def _truncate(art: Path) -> None:
    (art / OUT).write_bytes((art / OUT).read_bytes()[:5])


def _flip(art: Path) -> None:
    data = bytearray((art / OUT).read_bytes())
    data[3] ^= 0x01
    (art / OUT).write_bytes(bytes(data))


def _no_manifest(art: Path) -> None:
    (art / MANIFEST).unlink()


def _garbage_manifest(art: Path) -> None:
    (art / MANIFEST).write_bytes(b"\x00\xffnot json")


def _status(workdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["status", str(workdir), "--format", "json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("damage", [_truncate, _flip, _no_manifest, _garbage_manifest])
def test_damaged_artifact_is_reported_and_only_it_recomputed(
    loaded: LoadedSpec, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None]
) -> None:
    spec, plan, workdir = prepare_workdir(loaded)
    assert run_local(spec, plan, workdir, bodies=FakeBodies().resolver(), display=False).ok
    store = ArtifactStore(workdir)
    completed = {j.id: store.manifest(j.hash)["completed"] for j in plan}  # type: ignore[index]
    damage(store.path(plan.jobs[VICTIM].hash))

    doc = _status(workdir, capsys)
    states = {row["id"]: row["state"] for row in doc["jobs"]}  # type: ignore[attr-defined]
    assert states[VICTIM] == "artifact invalid"
    assert {s for j, s in states.items() if j != VICTIM} == {"done"}

    again = FakeBodies()
    assert run_local(spec, plan, workdir, bodies=again.resolver(), display=False).ok
    assert again.calls == [VICTIM]
    fresh = ArtifactStore(workdir)
    assert all(fresh.verify(j.hash) for j in plan)
    changed = {j.id for j in plan if fresh.manifest(j.hash)["completed"] != completed[j.id]}  # type: ignore[index]
    assert changed == {VICTIM}
    assert len(list(store.path(plan.jobs[VICTIM].hash).parent.glob("*.invalid.*"))) == 1


@pytest.mark.parametrize("record", ["run.json", "plan.json", "spec.json"])
def test_garbage_run_records(
    loaded: LoadedSpec, capsys: pytest.CaptureFixture[str], tmp_path: Path, record: str
) -> None:
    """Garbage in run.json is ignored by ``status``; in plan.json or spec.json it is one
    clear error (exit 2) naming the file. ``run`` rewrites run.json and plan.json (and,
    once the damaged spec.json is deleted as its message says, that too) and recomputes
    nothing."""
    spec, plan, workdir = prepare_workdir(loaded)
    assert run_local(spec, plan, workdir, bodies=FakeBodies().resolver(), display=False).ok
    (workdir / record).write_bytes(b"{\x00garbage")
    capsys.readouterr()
    code = main(["status", str(workdir), "--format", "json"])
    out, err = capsys.readouterr()
    if record == "run.json":
        assert code == 0 and json.loads(out)["counts"] == {"done": len(plan)}
    else:
        assert code == 2 and "unreadable" in err and "Traceback" not in err
        assert "taskonomy run SPEC" in err
    if record == "spec.json":  # it says whose directory this is: never overwritten blindly
        with pytest.raises(WorkdirError, match=r"spec\.json is unreadable .*delete that file"):
            prepare_workdir(loaded)
        (workdir / record).unlink()
    again = FakeBodies()
    spec2, plan2, _ = prepare_workdir(loaded)
    assert run_local(spec2, plan2, workdir, bodies=again.resolver(), display=False).ok
    assert again.calls == []
    assert _status(workdir, capsys)["counts"] == {"done": len(plan)}
    assert json.loads((workdir / "run.json").read_text())["interrupted"] is False
