"""The renderer's buffers agree with each other and with the analytic geometry."""

from __future__ import annotations

import numpy as np
import pytest

from taskonomy.data.render import SEG_CURVED, SEG_FLOOR, SEG_PLANAR, SceneBuffers, render
from taskonomy.data.scenes import sample_scenes

from .conftest import one_object_scene


def _points(buf: SceneBuffers) -> np.ndarray:
    """Back-projected camera-frame points ``(B, 3, H, W)`` from depth and the intrinsics."""
    size = buf.depth.shape[-1]
    u = (np.arange(size) + 0.5 - size / 2) / buf.focal
    y, x = np.meshgrid(u, u, indexing="ij")
    rays = np.stack([x, y, np.ones_like(x)])
    return buf.depth[:, None].astype(np.float64) * rays[None]


def test_distance_at_least_depth_and_finite(buffers: SceneBuffers) -> None:
    assert np.isfinite(buffers.depth).all() and (buffers.depth > 0).all()
    assert (buffers.distance >= buffers.depth - 1e-5).all()
    assert np.allclose(np.linalg.norm(buffers.normals, axis=1), 1.0, atol=1e-5)


def test_distance_is_norm_of_back_projected_point(buffers: SceneBuffers) -> None:
    pts = _points(buffers)
    assert np.allclose(np.linalg.norm(pts, axis=1), buffers.distance, rtol=1e-5)


def test_normals_face_the_camera(buffers: SceneBuffers) -> None:
    pts = _points(buffers)
    assert (np.einsum("bchw,bchw->bhw", buffers.normals, pts) < 0).all()


def test_floor_normals_match_depth_gradients(buffers: SceneBuffers) -> None:
    """On floor pixels whose 3x3 neighbourhood is floor, the normal from finite differences
    of back-projected points equals the normal buffer."""
    pts = _points(buffers)
    dx = pts[:, :, 1:-1, 2:] - pts[:, :, 1:-1, :-2]
    dy = pts[:, :, 2:, 1:-1] - pts[:, :, :-2, 1:-1]
    fd = np.cross(dy, dx, axis=1)
    fd /= np.linalg.norm(fd, axis=1, keepdims=True)
    floor = buffers.segment25d == SEG_FLOOR
    inner = np.ones_like(floor[:, 1:-1, 1:-1])
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            inner &= floor[:, 1 + di : floor.shape[1] - 1 + di, 1 + dj : floor.shape[2] - 1 + dj]
    assert inner.sum() > 500
    cos = np.einsum("bchw,bchw->bhw", fd, buffers.normals[:, :, 1:-1, 1:-1])
    assert np.abs(cos[inner]).min() > 0.9999


@pytest.mark.parametrize("radius", [0.3, 0.45])
def test_sphere_curvature_is_one_over_r(radius: float) -> None:
    buf = render(one_object_scene(0, (radius, 0.0, 0.0)), 48)
    on = buf.semantic[0] == 1
    assert on.sum() > 50
    assert np.allclose(buf.curvature[0][:, on], 1.0 / radius, rtol=1e-5)
    assert (buf.segment25d[0][on] == SEG_CURVED).all()
    # The hit points lie on the sphere: |X - centre| = r in the camera frame.
    scenes = one_object_scene(0, (radius, 0.0, 0.0))
    centre_w = np.array([0.0, radius, 0.5]) - scenes.cam_pos[0]
    centre_c = scenes.cam_to_world[0].T @ centre_w
    pts = _points(buf)[0][:, on]
    assert np.allclose(np.linalg.norm(pts - centre_c[:, None], axis=0), radius, atol=1e-4)
    assert np.allclose((pts - centre_c[:, None]) / radius, buf.normals[0][:, on], atol=1e-3)


def test_cylinder_and_box_curvatures() -> None:
    cyl = render(one_object_scene(2, (0.3, 1.0, 0.0)), 48)
    on = cyl.semantic[0] == 3
    side = on & (cyl.segment25d[0] == SEG_CURVED)
    cap = on & (cyl.segment25d[0] == SEG_PLANAR)
    assert side.sum() > 30 and cap.sum() > 5
    assert np.allclose(cyl.curvature[0][0, side], 1 / 0.3) and np.allclose(
        cyl.curvature[0][1, side], 0.0
    )
    assert np.allclose(cyl.curvature[0][:, cap], 0.0)
    box = render(one_object_scene(1, (0.4, 0.3, 0.3)), 48)
    on = box.semantic[0] == 2
    assert on.sum() > 30 and (box.segment25d[0][on] == SEG_PLANAR).all()
    assert np.allclose(box.curvature[0][:, on], 0.0)


def test_ring_tube_curvature_and_ordering() -> None:
    buf = render(one_object_scene(4, (0.45, 0.12, 0.0), distance=2.0), 64)
    on = buf.semantic[0] == 5
    assert on.sum() > 30
    assert np.allclose(buf.curvature[0][0, on], 1 / 0.12, rtol=1e-5)
    assert (buf.curvature[0][0] >= buf.curvature[0][1] - 1e-6).all()


def test_semantic_presence_and_room_planes(buffers: SceneBuffers) -> None:
    for c in range(5):
        visible = (buffers.semantic == c + 1).any((1, 2))
        assert np.array_equal(buffers.object_present[:, c] > 0, visible)
    room = buffers.semantic == 0
    assert np.allclose(buffers.curvature[:, :, room[0]][0], 0.0)
    assert (buffers.segment25d[room] <= 3).all() and (buffers.segment25d[~room] >= 4).all()


def test_vanishing_points_are_a_rotation(buffers: SceneBuffers) -> None:
    r = buffers.vanishing_points.reshape(-1, 3, 3).astype(np.float64)
    assert np.allclose(r @ r.transpose(0, 2, 1), np.eye(3), atol=1e-5)
    assert np.allclose(np.linalg.det(r), 1.0, atol=1e-5)
    # The floor's normal is the world y axis seen from the camera.
    floor = buffers.segment25d == SEG_FLOOR
    b = int(np.argmax(floor.sum((1, 2))))
    assert np.allclose(buffers.normals[b][:, floor[b]].mean(1), r[b, 1], atol=1e-5)


def test_scenes_are_deterministic_and_diverse() -> None:
    a = render(sample_scenes(np.random.default_rng(5), 8), 16)
    b = render(sample_scenes(np.random.default_rng(5), 8), 16)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.depth, b.depth)
    big = render(sample_scenes(np.random.default_rng(6), 64), 16)
    assert len(np.unique(big.scene_type)) == 4
    assert big.object_present.mean(0).min() > 0.1  # every class shows up


def test_crease_curvature_marks_where_surfaces_meet() -> None:
    """Label curvature adds the mesh's creases, measured at a scale of a few pixels: the
    room's corners are concave (k2 < 0 along a floor-wall line), planes away from any
    crease stay flat, a sphere's interior away from its outline keeps its analytic 1/r."""
    from scipy import ndimage

    from taskonomy.data.labels import crease_curvature

    sphere = render(one_object_scene(0, (0.3, 0.0, 0.0)), 64)
    k = crease_curvature(sphere)[0]
    on = sphere.semantic[0] == 1
    inner = ndimage.binary_erosion(on, iterations=4)
    assert inner.sum() > 10 and np.allclose(k[:, inner], 1 / 0.3, rtol=1e-3)
    room = sphere.semantic[0] == 0
    floor = sphere.segment25d[0] == SEG_FLOOR
    # Floor pixels with a wall pixel directly above them: the floor-wall crease.
    crease = np.zeros_like(floor)
    crease[1:] = room[:-1] & ~floor[:-1] & floor[1:]
    assert crease.sum() > 10
    assert (k[1][crease] < -1.0).all() and np.allclose(k[0][crease], 0.0)
    # Room pixels far from where two surfaces meet stay flat.
    seams = np.zeros_like(room)
    seg = sphere.segment25d[0]
    seams[1:] |= seg[1:] != seg[:-1]
    seams[:, 1:] |= seg[:, 1:] != seg[:, :-1]
    far = room & ~ndimage.binary_dilation(seams, iterations=5)
    assert far.sum() > 100 and np.allclose(k[:, far], 0.0, atol=1e-2)
    assert (k[0] >= k[1]).all()
