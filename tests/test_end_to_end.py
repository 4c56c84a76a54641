"""The whole chain with the real bodies: generated images, real training, AHP, the BIP.

The tiny spec runs in seconds; the sanity run (marked ``slow``, a minute or two on two
cores) checks that the chain finds real structure in the generated scenes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taskonomy.cli import main
from taskonomy.executor.store import ArtifactStore

TINY = """\
name: tiny
seed: 3
tasks: [rgb2depth, rgb2mist, edge2d]
dataset: {image_size: 16, splits: {encoder_train: 64, transfer_train: 32, test: 32}}
model:
  encoder: {width: 8, blocks: [1, 1]}
  representation: {channels: 4, size: 4}
  readout: {hidden: 8}
training:
  encoder: {steps: 6, batch_size: 16}
  transfer: {steps: 4, batch_size: 16}
  scratch: {steps: 4, batch_size: 16}
transfers: {max_order: 2, beam: 2}
taxonomy: {budgets: "1-3", orders: [1, 2]}
executor: {device: cpu}
"""


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    spec = root / "tiny.yaml"
    spec.write_text(TINY, encoding="utf-8")
    assert main(["run", str(spec), "--no-progress"]) == 0
    return root / "work" / "tiny"


def test_run_writes_every_output(tiny_run: Path) -> None:
    aff = _read(tiny_run / "affinities.json")
    for target in ("rgb2depth", "rgb2mist", "edge2d"):
        scores = [v for k, v in aff.items() if k.endswith(f"__{target}")]
        # self, pixels, 2 first-order sources, C(2, 2) = 1 second-order slot
        assert len(scores) == 5
        assert sum(scores) == pytest.approx(1.0, abs=1e-6)
    sols = _read(tiny_run / "taxonomy.json")["solutions"]
    assert [(s["max_order"], s["budget"]) for s in sols] == [
        (k, b) for k in (1, 2) for b in (1, 2, 3)
    ]
    for s in sols:
        assert s["status"] == "optimal"
        assert set(s["edges"]) == {"rgb2depth", "rgb2mist", "edge2d"}
        assert len(s["supervised"]) <= s["budget"]
        # bootstrap support of every chosen edge (200 resamples of the test images)
        assert set(s["support"]) == set(s["edges"])
        assert all(0.0 <= v <= 1.0 for v in s["support"].values())
    support = _read(tiny_run / "support.json")
    assert support["resamples"] == 200 and len(support["edges"]) == 6
    assert all(0.0 <= c["support"] <= 1.0 for c in support["clusters"])
    ev = _read(tiny_run / "evaluation.json")["taxonomies"]
    assert len(ev) == 6 and all(0 <= r["mean_gain"] <= 1 for r in ev)
    assert (tiny_run / "report" / "index.html").is_file()
    run = _read(tiny_run / "run.json")
    assert {j["state"] for j in run["jobs"].values()} == {"done"}


def test_rerun_skips_everything_and_status_agrees(
    tiny_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tiny_run.parent.parent / "tiny.yaml"
    assert main(["run", str(spec), "--no-progress"]) == 0
    run = _read(tiny_run / "run.json")
    assert {j["state"] for j in run["jobs"].values()} == {"skipped"}
    capsys.readouterr()
    assert main(["status", str(tiny_run), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status  # a document came back
    assert main(["plan", str(spec), "--check"]) == 0  # nothing would run


def test_corrupted_artifact_is_recomputed_and_gives_the_same_answer(
    tiny_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tiny_run.parent.parent / "tiny.yaml"
    before = _read(tiny_run / "affinities.json")
    store = ArtifactStore(tiny_run)
    plan = _read(tiny_run / "plan.json")
    job = next(j for j in plan["jobs"] if j["id"] == "transfer/1/rgb2depth->rgb2mist")
    model = store.path(job["hash"]) / "model.pt"
    model.write_bytes(model.read_bytes()[:-7] + b"garbage")
    capsys.readouterr()
    assert main(["plan", str(spec), "--check"]) == 1  # the dry run sees it
    assert main(["run", str(spec), "--no-progress"]) == 0
    run = _read(tiny_run / "run.json")
    assert run["jobs"]["transfer/1/rgb2depth->rgb2mist"]["state"] == "done"
    assert run["jobs"]["encoder/rgb2depth"]["state"] == "skipped"
    after = _read(tiny_run / "affinities.json")
    assert after == pytest.approx(before)  # deterministic retraining


SANITY = """\
name: sanity
seed: 0
tasks: [rgb2depth, rgb2mist, rgb2sfnorm, reshade, edge2d, keypoint2d]
dataset: {image_size: 32, splits: {encoder_train: 768, transfer_train: 256, test: 256}}
model:
  encoder: {width: 16, blocks: [1, 1]}
  representation: {channels: 8, size: 8}
  readout: {hidden: 32}
training:
  encoder: {steps: 150, batch_size: 32, lr: 0.003}
  transfer: {steps: 80, batch_size: 32, lr: 0.003}
  scratch: {steps: 80, batch_size: 32, lr: 0.003}
transfers: {max_order: 1}
taxonomy: {budgets: "1-3"}
executor: {device: cpu}
"""


@pytest.mark.slow
def test_the_chain_finds_3d_structure(tmp_path: Path) -> None:
    """Depth's and distance's best sources are the other 3D tasks, 3D sources beat 2D ones
    for depth and distance, and normals beat 2D edges for shading."""
    spec = tmp_path / "sanity.yaml"
    spec.write_text(SANITY, encoding="utf-8")
    assert main(["run", str(spec), "--no-progress"]) == 0
    raw = _read(tmp_path / "work" / "sanity" / "raw_affinities.json")

    def first_order(target: str) -> list[str]:
        scores = {
            k.split("__")[0]: v
            for k, v in raw.items()
            if k.endswith(f"__{target}") and k.count("__") == 1
        }
        return sorted((s for s in scores if s not in ("self", "pixels")), key=lambda s: -scores[s])

    assert set(first_order("rgb2depth")[:3]) == {"rgb2mist", "rgb2sfnorm", "reshade"}
    assert set(first_order("rgb2mist")[:3]) == {"rgb2depth", "rgb2sfnorm", "reshade"}
    reshade = first_order("reshade")
    assert reshade.index("rgb2sfnorm") < reshade.index("edge2d")
    for target in ("rgb2depth", "rgb2mist"):
        ranked = first_order(target)
        assert max(ranked.index("rgb2sfnorm"), ranked.index("reshade")) < min(
            ranked.index("edge2d"), ranked.index("keypoint2d")
        ), (target, ranked)


def test_own_encoder_transfers_are_written_and_read_as_t__t(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With include_own_encoder, each target's readout on its own frozen encoder is the
    release's ``t__t`` key: written by the run, read back by ``solve`` beside ``self__t``."""
    spec = tmp_path / "own.yaml"
    spec.write_text(
        TINY.replace("name: tiny", "name: own").replace(
            "transfers: {max_order: 2, beam: 2}",
            "transfers: {max_order: 2, beam: 2, include_own_encoder: true}",
        ),
        encoding="utf-8",
    )
    assert main(["run", str(spec), "--no-progress"]) == 0
    workdir = tmp_path / "work" / "own"
    aff = _read(workdir / "affinities.json")
    for target in ("rgb2depth", "rgb2mist", "edge2d"):
        assert f"{target}__{target}" in aff and f"self__{target}" in aff
        scores = [v for k, v in aff.items() if k.endswith(f"__{target}")]
        # self, pixels, 3 first-order sources (its own encoder too), C(2, 2) = 1 slot
        assert len(scores) == 6
        assert sum(scores) == pytest.approx(1.0, abs=1e-6)
    capsys.readouterr()
    args = ["solve", "-a", str(workdir / "affinities.json"), "--budgets", "1-3", "-f", "json"]
    assert main(args) == 0
    solved = json.loads(capsys.readouterr().out)["solutions"]
    # budgets as asked, orders 1 and 2 as the run recorded them in taxonomy.json
    assert [(s["budget"], s["max_order"]) for s in solved] == [
        (b, k) for b in (1, 2, 3) for k in (1, 2)
    ]
    assert [s["status"] for s in solved] == ["optimal"] * 6


def test_two_worker_processes_give_the_same_results(tiny_run: Path, tmp_path: Path) -> None:
    """The real bodies in two worker processes (one CPU each): the same affinities and
    taxonomies as the one-process run, every job recorded by the parent."""
    spec = tiny_run.parent.parent / "tiny.yaml"
    work = tmp_path / "parallel"
    args = ["run", str(spec), "executor.workers=2", "--workdir", str(work), "--no-progress"]
    assert main(args) == 0
    assert _read(work / "affinities.json") == _read(tiny_run / "affinities.json")

    def answers(run: Path) -> list[tuple[Any, ...]]:
        doc = _read(run / "taxonomy.json")
        return [(x["budget"], x["max_order"], x["edges"], x["objective"]) for x in doc["solutions"]]

    assert answers(work) == answers(tiny_run)
    assert {j["state"] for j in _read(work / "run.json")["jobs"].values()} == {"done"}


def test_the_python_route_resumes_the_same_run(tiny_run: Path) -> None:
    import taskonomy as tx

    summary = tx.run(tiny_run.parent.parent / "tiny.yaml", live=False)
    assert summary.ok and summary.workdir == tiny_run.resolve()
    assert {p.name for p in summary.outputs} >= {"affinities.json", "taxonomy.json"}
    run = _read(tiny_run / "run.json")
    assert {j["state"] for j in run["jobs"].values()} == {"skipped"}


def test_solve_and_tree_redo_the_runs_bootstrap_from_its_outputs(
    tiny_run: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The run's published per-image losses let ``solve`` and ``tree`` compute the same
    bootstrap support as the run's own bootstrap job (same seed, same resamples)."""
    aff, losses = str(tiny_run / "affinities.json"), str(tiny_run / "test_losses.npz")
    capsys.readouterr()
    args = ["solve", "-a", aff, "--losses", losses, "--seed", "3", "--budgets", "1-3"]
    assert main([*args, "-k", "1", "-k", "2", "-f", "json"]) == 0
    solved = json.loads(capsys.readouterr().out)["solutions"]
    published = _read(tiny_run / "taxonomy.json")["solutions"]
    by_key = {(s["budget"], s["max_order"]): s["support"] for s in published}
    for s in solved:
        assert s["support"] == by_key[(s["budget"], s["max_order"])]
    assert main(["tree", "-a", aff, "--losses", losses, "--seed", "3", "-f", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["clades"] == _read(tiny_run / "support.json")["clusters"]
    assert main([*args, "-k", "1"]) == 0
    assert "support " in capsys.readouterr().out

    other = tmp_path / "other.npz"
    np.savez(other, **{"rgb2depth__edge2d": np.ones(4)})
    assert main(["solve", "-a", aff, "--losses", str(other), "--budget", "1"]) == 2
    assert "does not hold the losses of this affinity table" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert main(["tree", "-a", aff, "--losses", str(tmp_path / "junk.npz")]) == 2
    assert "cannot read test losses" in capsys.readouterr().err
