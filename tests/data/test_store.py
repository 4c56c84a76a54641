"""The prepared dataset on disk and its reader, for the mini generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taskonomy.data import DataError, SceneBuffers, open_split, prepare_dataset
from taskonomy.data.formats import check_label, label_shape
from taskonomy.tasks.bank import BUILTIN_TASKS, Loss, OutputKind, TaskInfo

SIZES = {"encoder_train": 20, "transfer_train": 8, "test": 8}
MINI_TASKS = [t for t in BUILTIN_TASKS.values() if t.mini]


def _params(seed: int = 0, size: int = 16) -> dict[str, Any]:
    return {"kind": "mini", "root": None, "buildings": None, "image_size": size,
            "splits": SIZES, "seed": seed}  # fmt: skip


class Gloss:
    """A user task defined here: how far each pixel is from the image centre, times depth."""

    info = TaskInfo("gloss", "a user task", OutputKind.DENSE_REGRESSION, 1, Loss.L1)

    def make_label(self, buffers: SceneBuffers) -> np.ndarray:
        return (buffers.depth / 12.0)[:, None].astype(np.float32)


class BadShape:
    info = TaskInfo("bad", "wrong shape", OutputKind.IMAGE_REGRESSION, 3, Loss.L2)

    def make_label(self, buffers: SceneBuffers) -> np.ndarray:
        return np.zeros((buffers.batch, 4), np.float32)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mini")
    stats = prepare_dataset(_params(), [*MINI_TASKS, Gloss()], out)
    assert stats["images"] == SIZES and stats["images_per_s"] > 0
    return out


def test_split_sizes_and_images(dataset: Path) -> None:
    for name, n in SIZES.items():
        split = open_split(dataset, name)  # type: ignore[arg-type]
        assert split.n == n and split.image_size == 16
        img = split.images()
        assert img.shape == (n, 3, 16, 16) and img.dtype == np.float32
        assert img.min() >= 0 and img.max() <= 1
    assert not np.array_equal(
        open_split(dataset, "test").images(), open_split(dataset, "transfer_train").images()
    )


@pytest.mark.parametrize("task", MINI_TASKS, ids=lambda t: t.name)
def test_encoder_batches_in_bank_format(dataset: Path, task: TaskInfo) -> None:
    split = open_split(dataset, "encoder_train")
    idx = np.array([3, 0, 7])
    if not task.trainable:
        with pytest.raises(DataError, match="not trained"):
            split.encoder_batch(task, idx, np.random.default_rng(0))
        return
    inputs, labels = split.encoder_batch(task, idx, np.random.default_rng(0))
    assert inputs.shape == (3, 3, 16, 16) and inputs.dtype == np.float32
    assert labels.shape == (3, *label_shape(task, 16))
    want = np.int64 if task.output.value.endswith("classification") else np.float32
    assert labels.dtype == want
    if task.name != "jigsaw":
        assert np.array_equal(labels, split.label(task, idx))


def test_user_task_labels(dataset: Path) -> None:
    split = open_split(dataset, "test")
    gloss = split.label(Gloss.info)
    assert gloss.shape == (8, 1, 16, 16) and gloss.dtype == np.float32
    assert np.allclose(gloss, split.label(BUILTIN_TASKS["rgb2depth"]), atol=1e-3)


def test_same_seed_is_byte_identical_and_seeds_differ(tmp_path: Path, dataset: Path) -> None:
    tasks = [BUILTIN_TASKS[n] for n in ("rgb2depth", "segmentsemantic", "class_scene")]
    prepare_dataset(_params(0), tasks, tmp_path / "a")
    prepare_dataset(_params(1), tasks, tmp_path / "b")
    for split in SIZES:
        for file in ("images.npy", "rgb2depth.npy", "segmentsemantic.npy", "class_scene.npy"):
            same = (tmp_path / "a" / split / file).read_bytes()
            assert same == (dataset / split / file).read_bytes()
        other = (tmp_path / "b" / split / "images.npy").read_bytes()
        assert other != (dataset / split / "images.npy").read_bytes()


def test_errors(tmp_path: Path, dataset: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        open_split(tmp_path / "nowhere", "test")
    (tmp_path / "half").mkdir()
    with pytest.raises(DataError, match=r"incomplete \(no index.json\)"):
        open_split(tmp_path / "half", "test")
    with pytest.raises(DataError, match="unknown split 'train'"):
        open_split(dataset, "train")  # type: ignore[arg-type]
    prepare_dataset(_params(), [BUILTIN_TASKS["rgb2depth"]], tmp_path / "one")
    with pytest.raises(DataError, match=r"no labels for task 'reshade'.*prepare it again"):
        open_split(tmp_path / "one", "test").label(BUILTIN_TASKS["reshade"])
    with pytest.raises(DataError, match="permutation drawn with its input"):
        open_split(dataset, "test").label(BUILTIN_TASKS["jigsaw"])
    with pytest.raises(DataError, match="no make_label"):
        prepare_dataset(_params(), [Gloss.info], tmp_path / "user")
    with pytest.raises(DataError, match=r"shape \(20, 4\), expected \(20, 3\)"):
        prepare_dataset(_params(), [BadShape()], tmp_path / "bad")
    with pytest.raises(DataError, match="unknown dataset kind"):
        prepare_dataset({**_params(), "kind": "imagenet"}, [], tmp_path / "k")


def test_built_in_tasks_stay_built_in_through_the_plan() -> None:
    """A task as a job receives it (the planner's params, without label and family) is
    still the bank's task, so image-target tasks read the image, not a label file."""
    from taskonomy.data.formats import is_builtin, stores_label
    from taskonomy.models.config import task_from_dict
    from taskonomy.planner import build_plan
    from taskonomy.spec import Spec

    plan = build_plan(Spec(name="b", tasks=["autoencoder", "rgb2depth", "denoise"]))
    for name in ("autoencoder", "rgb2depth", "denoise"):
        entry = plan.jobs[f"encoder/{name}"].params["task"]
        assert "label" not in entry["info"] and "family" not in entry["info"]
        info = task_from_dict(dict(entry["info"]))
        assert is_builtin(info), name
    assert not stores_label(
        task_from_dict(dict(plan.jobs["encoder/autoencoder"].params["task"]["info"]))
    )


def test_soft_labels_must_be_probability_vectors() -> None:
    soft = TaskInfo("soft", "user", OutputKind.IMAGE_DISTRIBUTION, 3, Loss.CROSS_ENTROPY)
    assert label_shape(soft, 16) == (3,)
    good = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    out = check_label(soft, good, 2, 16)
    assert out.dtype == np.float32 and np.allclose(out, good)
    for bad in ([[0.5, 0.5, 0.5]], [[-0.5, 1.0, 0.5]], [[np.nan, 0.5, 0.5]]):
        with pytest.raises(DataError, match="'soft' are not probability vectors"):
            check_label(soft, np.array(bad), 1, 16)
