"""Random indoor scenes: rooms, objects, a camera and a light, sampled in batches.

World frame: ``y`` up, the room is the box ``[-hx, hx] x [0, hy] x [-hz, hz]``. Camera
frame (OpenCV): ``x`` right, ``y`` down, ``z`` forward; a pixel ``(i, j)`` of an
``S x S`` image looks along ``((j + .5) / S * 2 - 1) * tan(fov / 2)``,
``((i + .5) / S * 2 - 1) * tan(fov / 2)``, ``1``.

Objects sit in per-class slots: each image holds at most :data:`SLOTS_PER_CLASS` objects
of each of the :data:`~taskonomy.tasks.bank.N_OBJECT_CLASSES` classes, so the renderer
intersects each class with one vectorised routine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from taskonomy.tasks.bank import N_OBJECT_CLASSES, N_SCENE_TYPES

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B8 = NDArray[np.bool_]

#: Horizontal field of view of the camera, degrees.
FOV_DEG = 60.0
#: Object slots per class in one image.
SLOTS_PER_CLASS = 2
#: Room half-extent ranges (x, y is the full height, z), metres.
ROOM_MIN = np.array([2.0, 2.5, 2.0])
ROOM_MAX = np.array([4.0, 3.2, 4.0])

#: Names of the object classes (semantic label ``c + 1``) and of the scene types.
OBJECT_CLASSES = ("sphere", "box", "cylinder", "cone", "ring")
SCENE_TYPES = ("kitchen", "bedroom", "office", "living_room")

#: Hues an object's albedo is drawn from (any class takes any hue); each object jitters
#: its hue slightly.
OBJECT_HUES = np.array(
    [
        [0.85, 0.20, 0.15],
        [0.20, 0.35, 0.85],
        [0.20, 0.75, 0.30],
        [0.90, 0.80, 0.20],
        [0.75, 0.25, 0.75],
    ]
)
#: Per decor: floor colour A and B, wall colour A and B, ceiling colour.
SCENE_PALETTES = np.array(
    [
        [[0.85, 0.85, 0.82], [0.45, 0.50, 0.55], [0.70, 0.78, 0.85], [0.62, 0.70, 0.78], [.95] * 3],
        [[0.55, 0.36, 0.20], [0.42, 0.26, 0.14], [0.90, 0.80, 0.65], [0.82, 0.72, 0.58], [.92] * 3],
        [[0.30, 0.30, 0.33], [0.24, 0.24, 0.27], [0.66, 0.66, 0.66], [0.58, 0.58, 0.60], [.88] * 3],
        [[0.80, 0.68, 0.48], [0.55, 0.45, 0.30], [0.62, 0.78, 0.60], [0.85, 0.90, 0.80], [.96] * 3],
    ]
)  # fmt: skip
#: Relative frequency of each object class in each scene type: two classes dominate each
#: type (kitchen: cylinders and cones; bedroom: spheres and boxes; office: boxes and
#: rings; living room: spheres and cones), so the classes present tell the type.
SCENE_CLASS_WEIGHTS = np.array(
    [
        [0.25, 0.25, 4.0, 4.0, 0.25],
        [4.0, 4.0, 0.25, 0.25, 0.25],
        [0.25, 4.0, 0.25, 0.25, 4.0],
        [4.0, 0.25, 0.25, 4.0, 0.25],
    ]
)
assert SCENE_CLASS_WEIGHTS.shape == (N_SCENE_TYPES, N_OBJECT_CLASSES)


@dataclass(frozen=True)
class Objects:
    """Objects of one class in per-image slots; every array has leading shape ``(B, M)``.

    Attributes:
        active: whether the slot holds an object.
        base: world position of the object's base centre on the floor, ``(B, M, 3)``.
        yaw: rotation about the world ``y`` axis, radians.
        size: class-specific extents ``(B, M, 3)``: sphere ``(r, -, -)``; box half-extents
            ``(ax, ay, az)``; cylinder ``(r, h, -)``; cone ``(r, h, -)`` (base radius,
            height); ring ``(R, r, -)`` (major and tube radius, standing upright).
        colour: albedo ``(B, M, 3)``.
    """

    active: B8
    base: F64
    yaw: F64
    size: F64
    colour: F64


@dataclass(frozen=True)
class Scenes:
    """A batch of ``B`` scenes; see the module docstring for the frames.

    Attributes:
        scene_type: ``(B,)`` room type in ``[0, N_SCENE_TYPES)``; it sets which object
            classes the room is likely to hold (:data:`SCENE_CLASS_WEIGHTS`) and nothing else.
        decor: ``(B,)`` the room's palette and textures, drawn independently of its type.
        room: ``(B, 3)`` half-extent x, full height y, half-extent z.
        cam_pos: ``(B, 3)`` camera centre in the world.
        cam_angles: ``(B, 3)`` yaw, pitch (up positive), roll, radians.
        cam_to_world: ``(B, 3, 3)`` rotation taking camera to world directions.
        light_pos: ``(B, 3)`` point light in the world.
        light_colour: ``(B, 3)`` its colour.
        palette: ``(B, 5, 3)`` floor A/B, wall A/B and ceiling albedo.
        objects: per class ``c`` the :class:`Objects` of that class.
    """

    scene_type: I64
    decor: I64
    room: F64
    cam_pos: F64
    cam_angles: F64
    cam_to_world: F64
    light_pos: F64
    light_colour: F64
    palette: F64
    objects: tuple[Objects, ...]

    @property
    def batch(self) -> int:
        return int(self.scene_type.shape[0])


def rotation_y(angle: F64) -> F64:
    """Rotations about ``y`` by ``angle`` (any shape), shape ``angle.shape + (3, 3)``."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(angle), np.ones_like(angle)
    rows = [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)]
    return np.stack(rows, -2)


def camera_to_world(yaw: F64, pitch: F64, roll: F64) -> F64:
    """Camera-to-world rotations ``(B, 3, 3)``: columns are the camera x, y, z in the world."""
    fwd = np.stack([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)], -1)
    right0 = np.stack([-np.cos(yaw), np.zeros_like(yaw), np.sin(yaw)], -1)
    down0 = np.cross(fwd, right0)
    c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
    right = c * right0 + s * down0
    down = -s * right0 + c * down0
    return np.stack([right, down, fwd], -1)


def _class_sizes(rng: np.random.Generator, c: int, shape: tuple[int, int]) -> F64:
    u = rng.uniform(size=(*shape, 3))
    if c == 0:  # sphere
        return np.stack([0.28 + 0.2 * u[..., 0], u[..., 1] * 0, u[..., 2] * 0], -1)
    if c == 1:  # box: wide, low
        return np.stack(
            [0.3 + 0.25 * u[..., 0], 0.2 + 0.25 * u[..., 1], 0.25 + 0.2 * u[..., 2]], -1
        )
    if c == 2:  # cylinder: slim, tall
        return np.stack([0.16 + 0.1 * u[..., 0], 0.8 + 0.6 * u[..., 1], u[..., 2] * 0], -1)
    if c == 3:  # cone
        return np.stack([0.3 + 0.15 * u[..., 0], 0.8 + 0.5 * u[..., 1], u[..., 2] * 0], -1)
    big = 0.32 + 0.15 * u[..., 0]  # ring: major radius R >= 2.2 r keeps curvatures ordered
    return np.stack([big, big * (0.25 + 0.15 * u[..., 1]), u[..., 2] * 0], -1)


def _footprint(c: int, size: F64) -> F64:
    """Horizontal radius bounding an object of class ``c``."""
    if c == 1:
        return np.hypot(size[..., 0], size[..., 2])
    if c == 4:
        return size[..., 0] + size[..., 1]
    return size[..., 0]


def sample_scenes(rng: np.random.Generator, batch: int) -> Scenes:
    """Draw ``batch`` random scenes (deterministic given the generator's state)."""
    b = batch
    scene_type = rng.integers(0, N_SCENE_TYPES, size=b).astype(np.int64)
    room = ROOM_MIN + (ROOM_MAX - ROOM_MIN) * rng.uniform(size=(b, 3))
    margin = 0.5
    cam_pos = np.stack(
        [
            rng.uniform(-1, 1, b) * (room[:, 0] - margin),
            rng.uniform(1.1, 1.7, b),
            rng.uniform(-1, 1, b) * (room[:, 2] - margin),
        ],
        -1,
    )
    # Look towards the room's centre, give or take 60 degrees, slightly downwards.
    yaw = np.arctan2(-cam_pos[:, 0], -cam_pos[:, 2]) + rng.uniform(-1.05, 1.05, b)
    yaw = (yaw + np.pi) % (2 * np.pi) - np.pi
    pitch = rng.uniform(-0.38, 0.05, b)
    roll = rng.uniform(-0.07, 0.07, b)
    c2w = camera_to_world(yaw, pitch, roll)
    light_pos = np.stack(
        [
            rng.uniform(-0.8, 0.8, b) * room[:, 0],
            room[:, 1] - 0.2,
            rng.uniform(-0.8, 0.8, b) * room[:, 2],
        ],
        -1,
    )
    light_colour = 1.0 + rng.uniform(-0.08, 0.08, (b, 3))
    # The decor (palette and textures) is drawn apart from the scene type: a room's type
    # is told by its objects, as a semantic label should be, not by its colours.
    decor = rng.integers(0, len(SCENE_PALETTES), size=b).astype(np.int64)
    palette = SCENE_PALETTES[decor] * (1.0 + rng.uniform(-0.08, 0.08, (b, 5, 1)))
    palette = np.clip(palette + rng.uniform(-0.03, 0.03, (b, 5, 3)), 0.0, 1.0)

    # Pick 2..5 objects per image among C * M class slots, weighted by the scene type
    # (Gumbel top-k draws without replacement in one vectorised step).
    m = SLOTS_PER_CLASS
    n_obj = rng.integers(2, 6, size=b)
    logw = np.log(np.repeat(SCENE_CLASS_WEIGHTS[scene_type], m, axis=1))
    keys = logw + rng.gumbel(size=logw.shape)
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = (rank < n_obj[:, None]).reshape(b, N_OBJECT_CLASSES, m)

    fwd_yaw = np.arctan2(c2w[:, 0, 2], c2w[:, 2, 2])
    half_fov = np.radians(FOV_DEG) / 2
    objects = []
    for c in range(N_OBJECT_CLASSES):
        size = _class_sizes(rng, c, (b, m))
        foot = _footprint(c, size)
        ang = fwd_yaw[:, None] + rng.uniform(-0.8, 0.8, (b, m)) * half_fov
        dist = rng.uniform(1.6, 4.5, (b, m))
        x = cam_pos[:, None, 0] + dist * np.sin(ang)
        z = cam_pos[:, None, 2] + dist * np.cos(ang)
        x = np.clip(x, -room[:, None, 0] + foot + 0.05, room[:, None, 0] - foot - 0.05)
        z = np.clip(z, -room[:, None, 2] + foot + 0.05, room[:, None, 2] - foot - 0.05)
        clear = np.hypot(x - cam_pos[:, None, 0], z - cam_pos[:, None, 2]) > foot + 0.3
        base = np.stack([x, np.zeros_like(x), z], -1)
        # Any object may take any of the hues: its class is its shape, not its colour.
        hue = rng.integers(0, len(OBJECT_HUES), size=(b, m))
        colour = np.clip(OBJECT_HUES[hue] + rng.uniform(-0.08, 0.08, (b, m, 3)), 0.0, 1.0)
        objects.append(
            Objects(
                active=chosen[:, c] & clear,
                base=base,
                yaw=rng.uniform(-np.pi, np.pi, (b, m)),
                size=size,
                colour=colour,
            )
        )
    return Scenes(
        scene_type=scene_type,
        decor=decor,
        room=room,
        cam_pos=cam_pos,
        cam_angles=np.stack([yaw, pitch, roll], -1),
        cam_to_world=c2w,
        light_pos=light_pos,
        light_colour=light_colour,
        palette=palette,
        objects=tuple(objects),
    )
