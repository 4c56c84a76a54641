"""Task labels from render buffers, in exactly the task bank's formats.

Normalisation of the dense regression labels (documented here once; the Taskonomy
reader maps the release's domains onto the same ranges where it can):

* ``rgb2depth`` / ``rgb2mist``: ``clip(metres / DEPTH_SCALE_M, 0, 1)``, the same scale for
  both so that depth and mist differ only by the ray's obliquity.
* ``rgb2sfnorm``: camera-frame unit normals, each component in ``[-1, 1]``.
* ``reshade``: ``max(0, n . l)`` under the canonical light, in ``[0, 1]``.
* ``curvature``: ``tanh(k * CURVATURE_SCALE_M)`` of both principal curvatures, in
  ``(-1, 1)`` (0 inside planes; a 0.3 m sphere gives ``tanh(0.83)``), with the creases of
  a mesh where surfaces meet (:func:`crease_curvature`: a room's corners, a box's edges,
  where objects stand on the floor), as the release computes it from its meshes.
* ``edge2d``: Sobel gradient magnitude of the luminance (``[0, 1]`` image), divided by
  :data:`EDGE2D_SCALE` and clipped to ``[0, 1]``.
* ``keypoint2d``: Harris response ``det(M) - 0.05 tr(M)^2`` of the luminance (structure
  tensor ``M`` smoothed by a Gaussian of 1 px), ``tanh(max(R, 0) / KEYPOINT2D_SCALE)``.
* ``edge3d``: depth discontinuities. For two 4-neighbours ``p, q`` the jump is the
  relative error of predicting each one's depth from the other's tangent plane (exact
  depth and normal), the smaller of the two; a pixel takes its largest jump, and the
  label is ``clip(jump / EDGE3D_SCALE, 0, 1)``. Planes and smooth surfaces give ~0,
  occlusion boundaries (and sharp creases) large values.
* ``keypoint3d``: the Harris response of the normal field (structure tensor summed over
  the three normal components), ``tanh(max(R, 0) / KEYPOINT3D_SCALE)``: high where the
  surface bends in two directions (box corners, cone tips, where objects meet floors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from scipy import ndimage

from taskonomy.data.render import SceneBuffers
from taskonomy.data.scenes import F32, F64

DEPTH_SCALE_M = 12.0
CURVATURE_SCALE_M = 0.25
EDGE2D_SCALE = 1.0
KEYPOINT2D_SCALE = 0.002
EDGE3D_SCALE = 0.05
KEYPOINT3D_SCALE = 0.02
_HARRIS_K = 0.05
#: Creases: neighbours at most this many pixel footprints apart (further is an
#: occlusion) whose normals turn by more than this many radians.
_CREASE_REACH = 4.0
_CREASE_MIN_RAD = 0.5
#: The scale at which creases are measured (a band a few pixels wide), in pixels.
_CREASE_SIGMA_PX = 1.0


def luminance(rgb: np.ndarray) -> F32:
    """Rec. 601 luma of float ``(B, 3, H, W)`` images, ``(B, H, W)``."""
    w = np.array([0.299, 0.587, 0.114], np.float32)
    return np.asarray(np.einsum("bchw,c->bhw", rgb, w), dtype=np.float32)


def _sobel(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel derivatives along x (columns) and y (rows) of ``(..., H, W)`` arrays, /8."""
    gx = ndimage.sobel(a, axis=-1, mode="nearest") / 8.0
    gy = ndimage.sobel(a, axis=-2, mode="nearest") / 8.0
    return gx, gy


def _harris(channels: list[np.ndarray]) -> np.ndarray:
    """Harris response of ``(B, H, W)`` channels, structure tensors summed over channels."""
    sxx = syy = sxy = np.zeros_like(channels[0], dtype=np.float64)
    for ch in channels:
        gx, gy = _sobel(ch.astype(np.float64))
        sxx = sxx + gx * gx
        syy = syy + gy * gy
        sxy = sxy + gx * gy
    sigma = (0, 1.0, 1.0)
    sxx, syy, sxy = (ndimage.gaussian_filter(s, sigma, mode="nearest") for s in (sxx, syy, sxy))
    return np.asarray(sxx * syy - sxy * sxy - _HARRIS_K * (sxx + syy) ** 2)


def edge2d(buf: SceneBuffers) -> F32:
    gx, gy = _sobel(luminance(buf.rgb))
    mag = np.hypot(gx, gy) * 8.0 / 4.0  # Sobel of a unit step is 4; undo the /8
    return np.asarray(np.clip(mag / EDGE2D_SCALE, 0, 1), np.float32)[:, None]


def keypoint2d(buf: SceneBuffers) -> F32:
    r = _harris([luminance(buf.rgb)])
    return np.asarray(np.tanh(np.maximum(r, 0) / KEYPOINT2D_SCALE), np.float32)[:, None]


def _camera_rays_z1(size: int, focal: float) -> np.ndarray:
    """Camera-frame rays scaled to ``z = 1`` through each pixel centre, ``(3, H, W)``."""
    u = (np.arange(size) + 0.5 - size / 2) / focal
    y, x = np.meshgrid(u, u, indexing="ij")
    return np.stack([x, y, np.ones_like(x)])


def edge3d(buf: SceneBuffers) -> F32:
    size = buf.depth.shape[-1]
    rays = _camera_rays_z1(size, buf.focal)
    z = buf.depth.astype(np.float64)
    n = buf.normals.astype(np.float64)
    ndr = (n * rays).sum(1)  # n . r at each pixel's own ray
    best = np.zeros_like(z)
    for p, q in _neighbour_pairs():
        err_pq = _plane_error(z[p], n[_with_channels(p)], ndr[p], rays[q], z[q])
        err_qp = _plane_error(z[q], n[_with_channels(q)], ndr[q], rays[p], z[p])
        jump = np.minimum(err_pq, err_qp)
        best[p] = np.maximum(best[p], jump)
        best[q] = np.maximum(best[q], jump)
    return np.clip(best / EDGE3D_SCALE, 0, 1).astype(np.float32)[:, None]


Index = tuple[slice, slice, slice]


def _neighbour_pairs() -> Iterator[tuple[Index, Index]]:
    """Index pairs ``(p, q)`` of every pixel and its right, then its lower, 4-neighbour in
    ``(B, H, W)`` arrays (and in ``(C, H, W)`` ones); :func:`_with_channels` indexes
    ``(B, C, H, W)`` arrays alike."""
    for axis in (-1, -2):
        p, q = [slice(None)] * 3, [slice(None)] * 3
        p[axis], q[axis] = slice(0, -1), slice(1, None)
        yield (p[0], p[1], p[2]), (q[0], q[1], q[2])


def _with_channels(index: Index) -> tuple[slice, ...]:
    return (index[0], slice(None), *index[1:])


def _plane_error(
    z_p: np.ndarray, n_p: np.ndarray, ndr_p: np.ndarray, r_q: np.ndarray, z_q: np.ndarray
) -> np.ndarray:
    """Relative error of predicting depth ``z_q`` from the tangent plane at pixel ``p``."""
    ndr_q = (n_p * r_q).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pred = z_p * ndr_p / ndr_q
        err = np.abs(pred - z_q) / z_q
    return np.where((ndr_q < -1e-6) & np.isfinite(err), err, np.inf)


def keypoint3d(buf: SceneBuffers) -> F32:
    r = _harris([buf.normals[:, i] for i in range(3)])
    return np.asarray(np.tanh(np.maximum(r, 0) / KEYPOINT3D_SCALE), np.float32)[:, None]


def depth_label(metres: np.ndarray) -> F32:
    return np.clip(metres / DEPTH_SCALE_M, 0, 1).astype(np.float32)[:, None]


def crease_curvature(buf: SceneBuffers) -> F64:
    """Principal curvatures with the creases where surfaces meet, ``(B, 2, H, W)``, 1/m.

    The render's curvatures are those of each analytic surface, so a room (planes only)
    has none. A mesh has creases: where floor meets wall, at a box's edges, where an object
    stands on the floor. Between two 4-neighbours ``p, q`` on one continuous surface (their
    points no further apart than :data:`_CREASE_REACH` pixel footprints) whose normals turn
    by more than :data:`_CREASE_MIN_RAD`, the signed curvature of the step is
    ``(n_q - n_p) . (x_q - x_p) / |x_q - x_p|^2`` (convex positive, as the surfaces').
    The convex and the concave steps are measured at a scale, as on a mesh: each is
    smoothed by a Gaussian of :data:`_CREASE_SIGMA_PX` pixels and added to the surface's
    own: the convex to ``k1``, the concave to ``k2`` (so ``k1 >= k2`` still holds).
    """
    size = buf.depth.shape[-1]
    points = _camera_rays_z1(size, buf.focal)[None] * buf.depth.astype(np.float64)[:, None]
    n = buf.normals.astype(np.float64)
    k = buf.curvature.astype(np.float64)
    convex, concave = np.zeros_like(k[:, 0]), np.zeros_like(k[:, 0])
    reach = _CREASE_REACH * buf.depth.astype(np.float64) / buf.focal
    for p, q in _neighbour_pairs():
        n_p, n_q = n[_with_channels(p)], n[_with_channels(q)]
        dx = points[_with_channels(q)] - points[_with_channels(p)]
        dist2 = (dx * dx).sum(1)
        turn = np.arccos(np.clip((n_q * n_p).sum(1), -1.0, 1.0))
        near = dist2 < np.minimum(reach[p], reach[q]) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.where(
                near & (turn > _CREASE_MIN_RAD), ((n_q - n_p) * dx).sum(1) / dist2, np.nan
            )
        for sl in (p, q):
            convex[sl] = np.fmax(convex[sl], step)  # fmax/fmin: nan (no crease) keeps it
            concave[sl] = np.fmin(concave[sl], step)
    sigma = (0, _CREASE_SIGMA_PX, _CREASE_SIGMA_PX)
    convex = ndimage.gaussian_filter(convex, sigma, mode="nearest")
    concave = ndimage.gaussian_filter(concave, sigma, mode="nearest")
    return np.stack([k[:, 0] + convex, k[:, 1] + concave], 1)


def curvature_label(buf: SceneBuffers) -> F32:
    return np.asarray(np.tanh(crease_curvature(buf) * CURVATURE_SCALE_M), np.float32)


LabelFn = Callable[[SceneBuffers], np.ndarray]

#: Built-in tasks whose label is the clean image itself (not stored on disk).
IMAGE_TARGET_TASKS = frozenset({"autoencoder", "denoise", "inpainting", "colorization"})
#: Built-in tasks whose label comes with their input transform, or who have none.
NO_STORED_LABEL_TASKS = frozenset({"jigsaw", "random_projection"})

#: Label function of every built-in mini task with a label stored on disk.
LABEL_FUNCTIONS: dict[str, LabelFn] = {
    "edge2d": edge2d,
    "keypoint2d": keypoint2d,
    "edge3d": edge3d,
    "keypoint3d": keypoint3d,
    "rgb2depth": lambda b: depth_label(b.depth),
    "rgb2mist": lambda b: depth_label(b.distance),
    "rgb2sfnorm": lambda b: b.normals.astype(np.float32),
    "reshade": lambda b: b.shading.astype(np.float32)[:, None],
    "curvature": curvature_label,
    "segment25d": lambda b: b.segment25d.astype(np.int64),
    "segmentsemantic": lambda b: b.semantic.astype(np.int64),
    "class_object": lambda b: b.object_present.astype(np.float32),
    "class_scene": lambda b: b.scene_type.astype(np.int64),
    "room_layout": lambda b: b.room_layout.astype(np.float32),
    "vanishing_point": lambda b: b.vanishing_points.astype(np.float32),
}
