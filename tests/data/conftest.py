"""Shared helpers of the data tests: hand-built scenes with known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from taskonomy.data.render import SceneBuffers, render_random
from taskonomy.data.scenes import SLOTS_PER_CLASS, Objects, Scenes, camera_to_world
from taskonomy.tasks.bank import N_OBJECT_CLASSES


def one_object_scene(cls: int, size: tuple[float, float, float], distance: float = 2.5) -> Scenes:
    """A 4 x 3 x 4 m room, the camera 1.4 m high at the back looking along +z, slightly
    down, and one object of class ``cls`` straight ahead on the floor."""
    objs = []
    for c in range(N_OBJECT_CLASSES):
        active = np.zeros((1, SLOTS_PER_CLASS), bool)
        active[0, 0] = c == cls
        base = np.zeros((1, SLOTS_PER_CLASS, 3))
        base[0, 0] = [0.0, 0.0, -2.0 + distance]
        objs.append(
            Objects(
                active=active,
                base=base,
                yaw=np.full((1, SLOTS_PER_CLASS), 0.3),
                size=np.tile(np.array(size), (1, SLOTS_PER_CLASS, 1)),
                colour=np.full((1, SLOTS_PER_CLASS, 3), 0.5),
            )
        )
    yaw, pitch, roll = np.array([0.0]), np.array([-0.25]), np.array([0.0])
    return Scenes(
        scene_type=np.array([0]),
        decor=np.array([0]),
        room=np.array([[2.0, 3.0, 3.0]]),
        cam_pos=np.array([[0.0, 1.4, -2.0]]),
        cam_angles=np.stack([yaw, pitch, roll], -1),
        cam_to_world=camera_to_world(yaw, pitch, roll),
        light_pos=np.array([[0.5, 2.8, 0.0]]),
        light_colour=np.ones((1, 3)),
        palette=np.full((1, 5, 3), 0.6),
        objects=tuple(objs),
    )


@pytest.fixture(scope="session")
def buffers() -> SceneBuffers:
    """A fixed random batch of 24 scenes at 32 px."""
    return render_random(np.random.default_rng(123), 24, 32)
