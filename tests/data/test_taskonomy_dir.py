"""The Taskonomy-layout reader, on a tiny fixture written here in the release's layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taskonomy.data import DataError, open_split, prepare_dataset
from taskonomy.data.labels import DEPTH_SCALE_M
from taskonomy.executor.context import JobContext
from taskonomy.executor.store import ArtifactStore
from taskonomy.jobs.dataset import run_dataset
from taskonomy.models.config import task_from_dict
from taskonomy.planner import build_plan
from taskonomy.spec import Spec, resolve_tasks
from taskonomy.tasks.bank import BUILTIN_TASKS, TaskInfo, builtin_task

Image = pytest.importorskip("PIL.Image", reason="writing the PNG fixture needs Pillow")

BUILDINGS = ("allensville", "beechwood", "coffeen", "darden")
VIEWS = ((0, 0), (0, 1), (3, 2))


def release(name: str) -> TaskInfo:
    """The built-in task ``name`` as a ``dataset.kind: taskonomy`` spec resolves it."""
    info = builtin_task(name, "taskonomy")
    assert info is not None
    return info


TASKS = [release(n) for n in ("rgb2depth", "rgb2sfnorm", "segmentsemantic",
                              "edge2d", "class_scene", "autoencoder")]  # fmt: skip


def object_vector(building: int, view: int) -> np.ndarray:
    """The fixture's unnormalised soft ImageNet label of one view (sums to 2)."""
    vec = np.zeros(1000)
    vec[[7 * building, 500 + view, 999]] = (1.0, 0.6, 0.4)
    return vec


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _write(root: Path, per_domain: bool = False, skip: str | None = None) -> None:
    for bi, building in enumerate(BUILDINGS):
        for p, v in VIEWS:

            def f(domain: str, ext: str = "png", p: int = p, v: int = v, b: str = building) -> Path:
                name = f"point_{p}_view_{v}_domain_{domain}.{ext}"
                if per_domain:
                    return root / domain / b / name
                return root / b / domain / name

            rgb = np.zeros((64, 64, 3), np.uint8)
            rgb[..., 0] = 40 * bi + 10 * v
            rgb[:, 32:, 1] = 200
            _png(f("rgb"), rgb)
            depth = np.full((64, 64), 1024, np.uint16)  # 2 m
            depth[:32, :32] = 65535  # invalid
            depth[32:, 32:] = 512 * 6  # 6 m
            if skip != "depth_zbuffer":
                _png(f("depth_zbuffer"), depth)
            normal = np.zeros((64, 64, 3), np.uint8)
            normal[...] = (128, 128, 255)  # facing +z
            _png(f("normal"), normal)
            seg = np.ones((64, 64), np.uint8)  # background
            seg[:, 32:] = 3
            seg[40:, :8] = 17  # the release's last COCO class
            seg[:8, :8] = 200  # not a release class -> 0 (uncertain)
            _png(f("segment_semantic"), seg)
            _png(f("edge_texture"), np.full((64, 64), 65535 // 4, np.uint16))
            scene = np.zeros(365)
            scene[bi % 4] = 1.0
            f("class_scene", "npy").parent.mkdir(parents=True, exist_ok=True)
            np.save(f("class_scene", "npy"), scene)
            f("class_object", "npy").parent.mkdir(parents=True, exist_ok=True)
            np.save(f("class_object", "npy"), object_vector(bi, v))


def _params(root: Path, **extra: Any) -> dict[str, Any]:
    splits = {"encoder_train": 100, "transfer_train": 100, "test": 100}
    return {"kind": "taskonomy", "root": str(root), "buildings": None, "image_size": 16,
            "splits": splits, "seed": 3, **extra}  # fmt: skip


@pytest.mark.parametrize("per_domain", [False, True], ids=["per-building", "per-domain"])
def test_reads_the_release_layout(tmp_path: Path, per_domain: bool) -> None:
    _write(tmp_path / "raw", per_domain)
    buildings = {"encoder_train": ["allensville", "beechwood"], "transfer_train": ["coffeen"],
                 "test": ["darden"]}  # fmt: skip
    stats = prepare_dataset(_params(tmp_path / "raw", buildings=buildings), TASKS, tmp_path / "d")
    assert stats["images"] == {"encoder_train": 6, "transfer_train": 3, "test": 3}
    assert stats["layout"] == ("per-domain" if per_domain else "per-building")
    test = open_split(tmp_path / "d", "test")
    img = test.images()
    assert img.shape == (3, 3, 16, 16)
    assert np.allclose(img[0, 0], 120 / 255) and np.allclose(img[0, 1, :, 8:], 200 / 255)
    depth = test.label(BUILTIN_TASKS["rgb2depth"])
    assert depth.shape == (3, 1, 16, 16) and depth.dtype == np.float32
    assert np.allclose(depth[:, 0, :8, :8], 1.0)  # invalid -> far
    assert np.allclose(depth[:, 0, 8:, :8], 2 / DEPTH_SCALE_M, atol=1e-3)
    assert np.allclose(depth[:, 0, 8:, 8:], 6 / DEPTH_SCALE_M, atol=1e-3)
    normals = test.label(BUILTIN_TASKS["rgb2sfnorm"])
    assert np.allclose(normals[:, 2], 1.0, atol=1e-3) and np.allclose(normals[:, :2], 0, atol=0.01)
    seg = test.label(release("segmentsemantic"))
    assert seg.dtype == np.int64 and set(np.unique(seg)) == {0, 1, 3, 17}
    assert (seg[:, :2, :2] == 0).all() and (seg[:, 10:, :2] == 17).all()
    edges = test.label(BUILTIN_TASKS["edge2d"])
    assert np.allclose(edges, 0.25, atol=1e-3)
    scene = test.label(release("class_scene"))
    assert scene.shape == (3, 365) and scene.dtype == np.float32
    assert (scene[:, 3] == 1).all() and scene.sum() == 3  # darden is building 3
    inputs, target = test.encoder_batch(BUILTIN_TASKS["autoencoder"], np.arange(3),
                                        np.random.default_rng(0))  # fmt: skip
    assert np.array_equal(inputs, target)


def _point_info(
    root: Path, per_domain: bool, value: Any = None
) -> dict[tuple[str, int, int], list[float]]:
    """point_info JSON per view (no vanishing_point folder); returns the 9-vectors."""
    expected = {}
    for bi, building in enumerate(BUILDINGS):
        for p, v in VIEWS:
            name = f"point_{p}_view_{v}_domain_point_info.json"
            path = root / "point_info" / building / name if per_domain else (
                root / building / "point_info" / name)  # fmt: skip
            vps = {"x": [1.0, 0.1 * bi, 0.0], "y": [0.0, 1.0, 0.1 * v], "z": [0.0, 0.0, -1.0]}
            doc = {"point_uuid": "u", "view_id": v, "vanishing_points_gaussian_sphere": vps}
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc if value is None else value))
            expected[building, p, v] = vps["x"] + vps["y"] + vps["z"]
    return expected


@pytest.mark.parametrize("per_domain", [False, True], ids=["per-building", "per-domain"])
def test_vanishing_points_come_from_point_info_when_that_is_what_was_downloaded(
    tmp_path: Path, per_domain: bool
) -> None:
    raw = tmp_path / "raw"
    _write(raw, per_domain)
    expected = _point_info(raw, per_domain)
    buildings = {"encoder_train": ["allensville"], "transfer_train": ["beechwood"],
                 "test": ["darden"]}  # fmt: skip
    vp = BUILTIN_TASKS["vanishing_point"]
    prepare_dataset(_params(raw, buildings=buildings), [vp], tmp_path / "d")
    got = open_split(tmp_path / "d", "test").label(vp)
    assert got.shape == (3, 9) and got.dtype == np.float32
    assert np.allclose(got, [expected["darden", p, v] for p, v in VIEWS])


def test_point_info_errors(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw)
    vp = BUILTIN_TASKS["vanishing_point"]
    with pytest.raises(DataError, match=r"domain 'vanishing_point' needed by 'vanishing_point' .*"
                       r"\(e.g. \w+_vanishing_point.tar or \w+_point_info.tar\)"):  # fmt: skip
        prepare_dataset(_params(raw), [vp], tmp_path / "d")
    _point_info(raw, False, value={"vanishing_points_gaussian_sphere": {"x": [1.0]}})
    with pytest.raises(DataError, match=r"point_info.json' has no readable "
                       r"'vanishing_points_gaussian_sphere' \(x, y and z lists\)"):  # fmt: skip
        prepare_dataset(_params(raw), [vp], tmp_path / "d")


def test_deterministic_building_split(tmp_path: Path) -> None:
    _write(tmp_path / "raw")
    params = _params(tmp_path / "raw", splits={"encoder_train": 5, "transfer_train": 3, "test": 3})
    a = prepare_dataset(params, TASKS[:1], tmp_path / "a")
    b = prepare_dataset(params, TASKS[:1], tmp_path / "b")
    assert a["buildings"] == b["buildings"]
    used = [x for s in a["buildings"].values() for x in s]
    assert sorted(used) == sorted(BUILDINGS)
    assert a["images"] == {"encoder_train": 5, "transfer_train": 3, "test": 3}
    for split in ("encoder_train", "test"):
        assert (tmp_path / "a" / split / "images.npy").read_bytes() == (
            tmp_path / "b" / split / "images.npy"
        ).read_bytes()


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset.root .*does not exist"):
        prepare_dataset(_params(tmp_path / "missing"), TASKS, tmp_path / "d")
    _write(tmp_path / "raw", skip="depth_zbuffer")
    with pytest.raises(
        DataError,
        match=r"domain 'depth_zbuffer' needed by 'rgb2depth' is missing for building\(s\) "
        r"'\w+', .*: no folder like .*depth_zbuffer'; download that domain",
    ):
        prepare_dataset(_params(tmp_path / "raw"), TASKS, tmp_path / "d")
    with pytest.raises(DataError, match=r"names 'a', 'b', 'nowhere', not found under"):
        buildings = {"encoder_train": ["nowhere"], "transfer_train": ["a"], "test": ["b"]}
        prepare_dataset(_params(tmp_path / "raw", buildings=buildings), TASKS[1:2], tmp_path / "d")
    gloss = BUILTIN_TASKS["rgb2depth"].__class__(
        "gloss", "user", BUILTIN_TASKS["rgb2depth"].output, 1, BUILTIN_TASKS["rgb2depth"].loss
    )
    with pytest.raises(DataError, match="'gloss' has no domain in the Taskonomy release"):
        prepare_dataset(_params(tmp_path / "raw"), [gloss], tmp_path / "d")


SPLIT_BUILDINGS = {"encoder_train": ["allensville", "beechwood"], "transfer_train": ["coffeen"],
                   "test": ["darden"]}  # fmt: skip
LABEL_TASKS = ["segmentsemantic", "class_object", "class_scene", "rgb2depth"]


def _spec(kind: str, root: Path | None = None) -> Spec:
    splits = {"encoder_train": 8, "transfer_train": 4, "test": 4}
    dataset: dict[str, Any] = {"kind": kind, "image_size": 16, "splits": splits}
    if root is not None:
        dataset |= {"root": str(root), "buildings": SPLIT_BUILDINGS}
    return Spec.model_validate(
        {
            "name": "real",
            "tasks": LABEL_TASKS,
            "dataset": dataset,
            "model": {"representation": {"size": 4}},
        }
    )


def test_a_taskonomy_spec_uses_the_release_label_spaces_end_to_end(tmp_path: Path) -> None:
    """resolve_tasks -> plan params (what decoders are built from) -> dataset job -> reader."""
    _write(tmp_path / "raw")
    spec = _spec("taskonomy", tmp_path / "raw")
    resolved = {t.name: t.info for t in resolve_tasks(spec)}
    assert {n: (i.output.value, i.channels) for n, i in resolved.items()} == {
        "segmentsemantic": ("dense_classification", 18),
        "class_object": ("image_distribution", 1000),
        "class_scene": ("image_distribution", 365),
        "rgb2depth": ("dense_regression", 1),
    }
    assert resolved["rgb2depth"] is BUILTIN_TASKS["rgb2depth"]
    assert resolved["class_scene"].label == BUILTIN_TASKS["class_scene"].label
    plan = build_plan(spec)
    for name, info in resolved.items():
        assert task_from_dict(dict(plan.jobs[f"encoder/{name}"].params["task"]["info"])) == info
    assert plan.jobs["dataset"].params["label_spaces"] == {
        "class_object": "image_distribution/1000",
        "class_scene": "image_distribution/365",
        "segmentsemantic": "dense_classification/18",
    }
    job = plan.jobs["dataset"]
    out = tmp_path / "out"
    out.mkdir()
    work = tmp_path / "w"
    ctx = JobContext(
        job=job, plan=plan, spec=spec, workdir=work, store=ArtifactStore(work), out=out,
        scratch=tmp_path / "s",
    )  # fmt: skip
    stats = run_dataset(ctx)
    assert stats["images"] == {"encoder_train": 6, "transfer_train": 3, "test": 3}
    test = open_split(out, "test")
    objects = test.label(resolved["class_object"])
    assert objects.shape == (3, 1000) and objects.dtype == np.float32
    want = np.stack([object_vector(3, v) / 2 for _, v in VIEWS])  # darden, renormalised
    assert np.allclose(objects, want) and np.allclose(objects.sum(1), 1)
    scenes = test.label(resolved["class_scene"])
    assert scenes.shape == (3, 365) and np.array_equal(scenes.argmax(1), [3, 3, 3])
    seg = test.label(resolved["segmentsemantic"])
    assert seg.shape == (3, 16, 16) and set(np.unique(seg)) == {0, 1, 3, 17}
    with pytest.raises(DataError, match="'class_scene' are image_distribution with 365 channels, "
                       "but the task declares image_classification with 4"):  # fmt: skip
        test.label(BUILTIN_TASKS["class_scene"])


def test_a_mini_spec_keeps_the_mini_label_spaces() -> None:
    spec = _spec("mini")
    for t in resolve_tasks(spec):
        assert t.info is BUILTIN_TASKS[t.kind]
    assert [t.info.channels for t in resolve_tasks(spec)] == [6, 5, 4, 1]
    params = build_plan(spec).jobs["dataset"].params
    assert "label_spaces" not in params and params["label_tasks"] == sorted(LABEL_TASKS)


def test_the_reader_refuses_a_task_in_another_label_space(tmp_path: Path) -> None:
    _write(tmp_path / "raw")
    params = _params(tmp_path / "raw", buildings=SPLIT_BUILDINGS)
    with pytest.raises(DataError, match=r"'class_scene' is defined as image_classification with "
                       r"4 channel\(s\), but the release labels it as image_distribution with "
                       r"365 .*resolve the spec's tasks for dataset.kind taskonomy"):  # fmt: skip
        prepare_dataset(params, [BUILTIN_TASKS["class_scene"]], tmp_path / "d")
    with pytest.raises(DataError, match=r"'segmentsemantic' is defined as dense_classification "
                       r"with 6 channel\(s\), but the release labels it as "
                       r"dense_classification with 18"):  # fmt: skip
        prepare_dataset(params, [BUILTIN_TASKS["segmentsemantic"]], tmp_path / "d")


@pytest.mark.parametrize(
    ("vector", "match"),
    [
        (np.ones(4), r"holds 4 values; task 'class_object' is the release's 1000-way"),
        (np.linspace(-2, 2, 1000), r"is not a probability vector .*not logits"),
        (np.full(1000, np.nan), r"is not a probability vector"),
        (np.zeros(1000), r"is not a probability vector .*sums to 0"),
        (None, r"is not a readable numeric .npy vector"),
    ],
    ids=["wrong-size", "logits", "nan", "zero", "corrupt"],
)
def test_bad_soft_labels_are_named(tmp_path: Path, vector: np.ndarray | None, match: str) -> None:
    raw = tmp_path / "raw"
    _write(raw)
    path = raw / "darden" / "class_object" / "point_3_view_2_domain_class_object.npy"
    if vector is None:
        path.write_bytes(b"not an npy file")
    else:
        np.save(path, vector)
    params = _params(raw, buildings=SPLIT_BUILDINGS)
    with pytest.raises(DataError, match=match) as err:
        prepare_dataset(params, [release("class_object")], tmp_path / "d")
    assert err.value.exit_code == 2 and "point_3_view_2_domain_class_object.npy" in str(err.value)
