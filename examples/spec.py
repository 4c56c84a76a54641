"""The mini experiment built in Python instead of YAML.

Run it to print the dry run:  python examples/spec.py
It builds exactly the spec in examples/mini.yaml (the tests check they are equal).
"""

from __future__ import annotations

from pathlib import Path

import taskonomy as tx
from taskonomy import (
    DatasetSpec,
    ExecutorSpec,
    ModelSpec,
    Spec,
    StageTraining,
    TaskSpec,
    TaxonomySpec,
    TrainingSpec,
    TransfersSpec,
)

HERE = Path(__file__).resolve().parent

TASKS = [
    # 2D
    "autoencoder",
    "denoise",
    "edge2d",
    "keypoint2d",
    # 3D
    "rgb2depth",
    "rgb2mist",
    "rgb2sfnorm",
    "reshade",
    "curvature",
    # semantic
    "segmentsemantic",
    "class_object",
    "class_scene",
    # low-dimensional geometric
    "room_layout",
    "vanishing_point",
    "jigsaw",
]


def mini_spec() -> Spec:
    """The bundled default: 15 tasks of four families on generated indoor scenes, run locally."""
    return Spec(
        name="mini",
        seed=0,
        workdir=HERE / "work" / "mini",
        tasks=[TaskSpec(name=name) for name in TASKS],
        dataset=DatasetSpec(
            kind="mini",
            image_size=32,
            splits={"encoder_train": 1024, "transfer_train": 256, "test": 512},
        ),
        model=ModelSpec(
            encoder={"family": "resnet_mini", "width": 16, "blocks": [1, 1]},
            representation={"channels": 8, "size": 8},
            readout={"hidden": 32},
        ),
        training=TrainingSpec(
            encoder=StageTraining(steps=800, batch_size=32, lr=0.003),
            transfer=StageTraining(steps=120, batch_size=32, lr=0.003),
            scratch=StageTraining(steps=120, batch_size=32, lr=0.003),
        ),
        transfers=TransfersSpec(max_order=2, beam=3),
        taxonomy=TaxonomySpec(budgets=[1, 2, 3, 4, 5, 6], orders=[1, 2], solver="auto"),
        executor=ExecutorSpec(kind="local", device="auto"),
    )


if __name__ == "__main__":
    from rich.console import Console

    from taskonomy.executor.store import ArtifactStore
    from taskonomy.planner.views import plan_to_text

    spec = mini_spec()
    plan = tx.build_plan(spec)  # the dry run, as a value; tx.run(spec) would execute it
    Console().print(plan_to_text(plan, ArtifactStore(spec.workdir).states(plan)))
