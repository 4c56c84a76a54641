"""Task labels: the bank's formats for every mini task, and their documented ranges."""

from __future__ import annotations

import numpy as np
import pytest

from taskonomy.data import LABEL_FUNCTIONS, SceneBuffers, label_shape
from taskonomy.data.labels import DEPTH_SCALE_M, IMAGE_TARGET_TASKS, edge3d
from taskonomy.data.render import SEG_FLOOR
from taskonomy.tasks.bank import BUILTIN_TASKS, OutputKind

_DTYPES = {
    OutputKind.DENSE_REGRESSION: np.float32,
    OutputKind.DENSE_CLASSIFICATION: np.int64,
    OutputKind.IMAGE_CLASSIFICATION: np.int64,
    OutputKind.IMAGE_MULTILABEL: np.float32,
    OutputKind.IMAGE_REGRESSION: np.float32,
}


def test_every_mini_task_has_a_label_source() -> None:
    for name, info in BUILTIN_TASKS.items():
        assert info.mini
        assert (
            name in LABEL_FUNCTIONS
            or name in IMAGE_TARGET_TASKS
            or name in ("jigsaw", "random_projection")
        ), name


@pytest.mark.parametrize("name", sorted(LABEL_FUNCTIONS))
def test_label_format(name: str, buffers: SceneBuffers) -> None:
    info = BUILTIN_TASKS[name]
    label = LABEL_FUNCTIONS[name](buffers)
    assert label.shape == (buffers.batch, *label_shape(info, 32))
    assert label.dtype == _DTYPES[info.output]
    assert np.isfinite(label).all()
    if info.output is OutputKind.DENSE_REGRESSION:
        lo = -1.0 if name in ("rgb2sfnorm", "curvature") else 0.0
        assert label.min() >= lo and label.max() <= 1.0
    if info.output in (OutputKind.DENSE_CLASSIFICATION, OutputKind.IMAGE_CLASSIFICATION):
        assert label.min() >= 0 and label.max() < info.channels
    if info.output is OutputKind.IMAGE_MULTILABEL:
        assert set(np.unique(label)) <= {0.0, 1.0}


def test_depth_and_mist_share_a_scale(buffers: SceneBuffers) -> None:
    depth = LABEL_FUNCTIONS["rgb2depth"](buffers)[:, 0]
    mist = LABEL_FUNCTIONS["rgb2mist"](buffers)[:, 0]
    assert np.allclose(depth, buffers.depth / DEPTH_SCALE_M, atol=1e-6)
    assert (mist >= depth - 1e-6).all()
    assert np.corrcoef(depth.ravel(), mist.ravel())[0, 1] > 0.95


def test_reshade_is_explained_by_normals(buffers: SceneBuffers) -> None:
    from taskonomy.data.render import CANONICAL_LIGHT

    shade = LABEL_FUNCTIONS["reshade"](buffers)[:, 0]
    expect = np.maximum(np.einsum("bchw,c->bhw", buffers.normals, CANONICAL_LIGHT), 0)
    assert np.allclose(shade, expect, atol=1e-6)


def test_edge3d_is_zero_inside_planes_and_high_at_occlusions(buffers: SceneBuffers) -> None:
    e = edge3d(buffers)[:, 0]
    floor = buffers.segment25d == SEG_FLOOR
    inner = floor[:, 1:-1, 1:-1] & floor[:, :-2, 1:-1] & floor[:, 2:, 1:-1]
    inner &= floor[:, 1:-1, :-2] & floor[:, 1:-1, 2:]
    assert np.abs(e[:, 1:-1, 1:-1][inner]).max() < 1e-3
    # Where an object meets a background pixel much farther away, the edge is on.
    sem, z = buffers.semantic, buffers.depth
    occl = (sem[:, :, 1:] != sem[:, :, :-1]) & (np.abs(z[:, :, 1:] - z[:, :, :-1]) > 0.5)
    assert occl.sum() > 20
    assert np.median(np.maximum(e[:, :, 1:], e[:, :, :-1])[occl]) == 1.0


def _nearest_mean_accuracy(feats: np.ndarray, labels: np.ndarray, k: int) -> float:
    means = np.stack([feats[labels == c].mean(0) for c in range(k)])
    pred = np.argmin(((feats[:, None] - means[None]) ** 2).sum(-1), 1)
    return float((pred == labels).mean())


def test_scene_types_follow_their_objects_not_their_colours() -> None:
    """Semantics are built in as semantics: a room's type is told by what is in it
    (a nearest-mean classifier on the classes present is right 4 times in 5), not by
    its colours (the same classifier on the mean colour is near chance, 1 in 4)."""
    from taskonomy.data.render import render_random

    big = render_random(np.random.default_rng(9), 400, 16)
    assert _nearest_mean_accuracy(big.object_present.astype(float), big.scene_type, 4) > 0.7
    assert _nearest_mean_accuracy(big.rgb.mean((2, 3)), big.scene_type, 4) < 0.35


def test_object_classes_are_not_told_by_colour() -> None:
    """An object's class is its shape: its pixels' colour says nothing of it (a
    nearest-mean classifier on pixel colour is near the chance of 1 in 5)."""
    from taskonomy.data.render import render_random

    big = render_random(np.random.default_rng(9), 400, 16)
    on_object = big.semantic > 0
    pixels = big.rgb.transpose(0, 2, 3, 1)[on_object]
    assert _nearest_mean_accuracy(pixels, big.semantic[on_object] - 1, 5) < 0.3
