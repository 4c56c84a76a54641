"""Vectorised ray casting of :class:`~taskonomy.data.scenes.Scenes` into exact buffers.

One primary ray per pixel centre, no loop over pixels: every routine works on the whole
batch of ``B x H x W`` rays at once. The image is Lambertian (``albedo x light colour x
(ambient + diffuse max(0, n.l) falloff)``) under the scene's point light, without shadows;
every other buffer is exact at the pixel centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from taskonomy.data.scenes import (
    F32,
    F64,
    FOV_DEG,
    I64,
    ROOM_MAX,
    ROOM_MIN,
    Scenes,
    sample_scenes,
)
from taskonomy.data.shapes import HITS, SURFACES
from taskonomy.tasks.bank import N_OBJECT_CLASSES

#: Canonical light of the ``reshade`` buffer: a camera-space direction towards the light
#: (above, right of and behind the camera); shading is ``max(0, n . l)`` with unit albedo.
CANONICAL_LIGHT = np.array([0.3, -0.6, -0.74]) / np.linalg.norm([0.3, -0.6, -0.74])
AMBIENT = 0.3

#: Geometric segments (``segment25d``).
SEG_FLOOR, SEG_CEILING, SEG_WALL_X, SEG_WALL_Z, SEG_PLANAR, SEG_CURVED = range(6)


@dataclass(frozen=True)
class SceneBuffers:
    """The exact render buffers of a batch of ``B`` images of ``H x W`` pixels (public).

    A user task's ``make_label(buffers)`` receives one of these and returns its labels
    with a leading batch dimension, in the bank's format for its output kind.

    Attributes:
        image: uint8 ``(B, 3, H, W)`` rendered colour image (what every encoder sees).
        depth: float32 ``(B, H, W)`` z-buffer depth, metres (camera ``z``).
        distance: float32 ``(B, H, W)`` Euclidean distance to the camera centre, metres.
        normals: float32 ``(B, 3, H, W)`` unit surface normals in the camera frame
            (x right, y down, z forward), facing the camera.
        shading: float32 ``(B, H, W)`` ``max(0, n . l)`` under :data:`CANONICAL_LIGHT`.
        albedo: float32 ``(B, 3, H, W)`` surface colour.
        curvature: float32 ``(B, 2, H, W)`` principal curvatures ``k1 >= k2``, 1/metres.
        semantic: int64 ``(B, H, W)``: 0 the room, ``c + 1`` an object of class ``c``.
        segment25d: int64 ``(B, H, W)``: floor, ceiling, wall facing x, wall facing z,
            planar object face, curved object surface.
        object_present: float32 ``(B, N_OBJECT_CLASSES)``, 1 where a class is visible.
        scene_type: int64 ``(B,)``.
        room_layout: float32 ``(B, 9)``: yaw/pi, pitch/(pi/4), roll/(pi/4); camera
            position ``x/hx, y/height, z/hz``; room extents scaled to ``[0, 1]``.
        vanishing_points: float32 ``(B, 9)``: the world x, y, z axes in the camera frame.
        focal: focal length in pixels, ``W / 2 / tan(fov / 2)`` (principal point at
            the image centre).
    """

    image: np.ndarray
    depth: F32
    distance: F32
    normals: F32
    shading: F32
    albedo: F32
    curvature: F32
    semantic: I64
    segment25d: I64
    object_present: F32
    scene_type: I64
    room_layout: F32
    vanishing_points: F32
    focal: float

    @property
    def rgb(self) -> F32:
        """The image as float32 ``(B, 3, H, W)`` in ``[0, 1]``."""
        return np.asarray(self.image, dtype=np.float32) / np.float32(255.0)

    @property
    def batch(self) -> int:
        return int(self.image.shape[0])


def camera_rays(size: int) -> F64:
    """Unit camera-frame ray directions of an ``size x size`` image, ``(size * size, 3)``."""
    tan = np.tan(np.radians(FOV_DEG) / 2)
    u = ((np.arange(size) + 0.5) / size * 2 - 1) * tan
    y, x = np.meshgrid(u, u, indexing="ij")
    rays = np.stack([x.ravel(), y.ravel(), np.ones(size * size)], -1)
    return np.asarray(rays / np.linalg.norm(rays, axis=1, keepdims=True))


def _hash(i: F64, j: F64) -> F64:
    return np.asarray(np.modf(np.abs(np.sin(i * 12.9898 + j * 78.233) * 43758.5453))[0])


def _room_pattern(kind: I64, face: I64, p: F64) -> F64:
    """Texture weight in ``[0, 1]`` mixing a surface's two palette colours."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    floor = np.select(
        [kind == 0, kind == 1, kind == 2],
        [
            (np.floor(x / 0.5) + np.floor(z / 0.5)) % 2,
            0.6 * (np.floor(x / 0.25) % 2) + 0.4 * _hash(np.floor(x / 0.25), np.floor(z / 1.2)),
            0.5 * _hash(np.floor(x / 0.3), np.floor(z / 0.3)),
        ],
        (np.floor(x) + np.floor(z)) % 2,
    )
    u = np.where(face == SEG_WALL_X, z, x)
    wall = np.select(
        [kind == 0, kind == 1, kind == 2],
        [0.25 * ((np.floor(y / 0.4) + np.floor(u / 0.4)) % 2), np.zeros_like(x), y < 1.0],
        np.floor(u / 0.3) % 2,
    )
    return np.where(face == SEG_FLOOR, floor, np.where(face == SEG_CEILING, 0.0, wall))


def _room_layout(scenes: Scenes) -> F64:
    yaw, pitch, roll = scenes.cam_angles.T
    room, cam = scenes.room, scenes.cam_pos
    return np.concatenate(
        [
            np.stack([yaw / np.pi, pitch / (np.pi / 4), roll / (np.pi / 4)], -1),
            np.stack([cam[:, 0] / room[:, 0], cam[:, 1] / room[:, 1], cam[:, 2] / room[:, 2]], -1),
            (room - ROOM_MIN) / (ROOM_MAX - ROOM_MIN),
        ],
        -1,
    )


def render(scenes: Scenes, size: int) -> SceneBuffers:
    """Ray-cast ``scenes`` into ``size x size`` buffers."""
    b, p = scenes.batch, size * size
    rays = camera_rays(size)
    c2w = scenes.cam_to_world
    d = np.matmul(rays[None], c2w.transpose(0, 2, 1))
    o = scenes.cam_pos

    # The room box, seen from inside: the first wall each ray leaves through.
    lo = np.stack([-scenes.room[:, 0], np.zeros(b), -scenes.room[:, 2]], -1)
    hi = np.stack([scenes.room[:, 0], scenes.room[:, 1], scenes.room[:, 2]], -1)
    dd = np.where(np.abs(d) < 1e-12, 1e-12, d)
    t_axes = (np.where(dd > 0, hi[:, None, :], lo[:, None, :]) - o[:, None, :]) / dd
    axis = np.argmin(t_axes, axis=-1)
    t_best = np.take_along_axis(t_axes, axis[..., None], -1)[..., 0]
    winner = np.zeros((b, p), np.int64)
    slot = np.zeros((b, p), np.int64)
    for c, hit in enumerate(HITS):
        t_c = hit(o, d, scenes.objects[c])
        s_c = np.argmin(t_c, axis=1)
        t_c = np.take_along_axis(t_c, s_c[:, None, :], 1)[:, 0]
        closer = t_c < t_best
        t_best = np.where(closer, t_c, t_best)
        winner = np.where(closer, c + 1, winner)
        slot = np.where(closer, s_c, slot)

    point = o[:, None, :] + t_best[..., None] * d
    normal = np.zeros((b, p, 3))
    curv = np.zeros((b, p, 2))
    seg = np.zeros((b, p), np.int64)
    albedo = np.zeros((b, p, 3))

    room_px = winner == 0
    ax = axis[room_px]
    sgn = np.sign(d[room_px, ax] + 0.0)
    n_room = np.zeros((ax.size, 3))
    n_room[np.arange(ax.size), ax] = -sgn
    normal[room_px] = n_room
    face = np.select([(ax == 1) & (sgn < 0), ax == 1, ax == 0], [0, 1, 2], 3).astype(np.int64)
    seg[room_px] = face
    bi = np.nonzero(room_px)[0]
    pal = scenes.palette[bi]
    w = _room_pattern(scenes.decor[bi], face, point[room_px])[:, None]
    col_a = np.select([face[:, None] == 0, face[:, None] == 1], [pal[:, 0], pal[:, 4]], pal[:, 2])
    col_b = np.select([face[:, None] == 0, face[:, None] == 1], [pal[:, 1], pal[:, 4]], pal[:, 3])
    albedo[room_px] = (1 - w) * col_a + w * col_b

    for c, surface in enumerate(SURFACES):
        px = winner == c + 1
        if not px.any():
            continue
        bi = np.nonzero(px)[0]
        si = slot[px]
        obj = scenes.objects[c]
        srf = surface(point[px], obj.base[bi, si], obj.yaw[bi, si], obj.size[bi, si])
        normal[px] = srf.normal
        curv[px] = srf.curvature
        seg[px] = np.where(srf.planar, SEG_PLANAR, SEG_CURVED)
        albedo[px] = obj.colour[bi, si] * (1 - 0.3 * srf.pattern[:, None])

    to_light = scenes.light_pos[:, None, :] - point
    light_dist = np.linalg.norm(to_light, axis=-1)
    lambert = np.maximum((normal * to_light).sum(-1) / light_dist, 0.0)
    falloff = 1.4 / (1.0 + (light_dist / 4.0) ** 2)
    light = AMBIENT + (1 - AMBIENT) * lambert * falloff
    colour = albedo * scenes.light_colour[:, None, :] * light[..., None]
    image = np.round(np.clip(colour, 0.0, 1.0) * 255).astype(np.uint8)

    n_cam = np.matmul(normal, c2w)
    shading = np.maximum(n_cam @ CANONICAL_LIGHT, 0.0)
    depth = t_best * rays[None, :, 2]
    semantic = winner
    present = np.stack([(semantic == c + 1).any(1) for c in range(N_OBJECT_CLASSES)], -1)

    def img(a: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """``(B, P, C)`` or ``(B, P)`` to ``(B, C, H, W)`` or ``(B, H, W)``."""
        if a.ndim == 3:
            return np.ascontiguousarray(a.transpose(0, 2, 1).reshape(b, -1, size, size), dtype)
        return np.ascontiguousarray(a.reshape(b, size, size), dtype)

    return SceneBuffers(
        image=img(image, np.uint8),
        depth=img(depth),
        distance=img(t_best),
        normals=img(n_cam),
        shading=img(shading),
        albedo=img(albedo),
        curvature=img(curv),
        semantic=img(semantic, np.int64),
        segment25d=img(seg, np.int64),
        object_present=present.astype(np.float32),
        scene_type=scenes.scene_type.astype(np.int64),
        room_layout=_room_layout(scenes).astype(np.float32),
        vanishing_points=np.ascontiguousarray(c2w.reshape(b, 9), np.float32),
        focal=float(size / 2 / np.tan(np.radians(FOV_DEG) / 2)),
    )


def render_random(rng: np.random.Generator, batch: int, size: int) -> SceneBuffers:
    """Sample ``batch`` scenes from ``rng`` and render them at ``size x size``."""
    return render(sample_scenes(rng, batch), size)
