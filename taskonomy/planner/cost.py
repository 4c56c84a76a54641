"""The cost model: how long each job will take, before anything runs.

A job's estimate is ``steps x seconds_per_step + overhead``. Seconds per step come from a
reference table (one GPU of the V100/A100 class, batch 32 at 64 px for ``resnet_mini``,
at 256 px for ``resnet50``) scaled linearly in pixels per image, batch size, width
squared and depth. The table is deliberately simple; what makes it useful is
calibration: the executor records measured seconds per step for each job kind in
``<workdir>/calibration.json`` (``{"seconds_per_step": {"encoder": 0.031, ...}}``),
and those numbers, measured on the spec's own settings, replace the table's.

Nothing here imports torch: the dry run must work on a login node.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import attrs

from taskonomy.errors import SpecError
from taskonomy.kinds import JobKind
from taskonomy.spec.models import Spec, StageTraining

#: Reference seconds per training step, per job kind, for the two encoder families.
REFERENCE_STEP_SECONDS: dict[str, dict[JobKind, float]] = {
    "resnet_mini": {
        JobKind.ENCODER: 0.020,
        JobKind.SCRATCH: 0.006,
        JobKind.TRANSFER: 0.004,
        JobKind.FEATURES: 0.006,  # one forward batch
        JobKind.EVALUATE: 0.004,  # one forward batch
    },
    "resnet50": {
        JobKind.ENCODER: 0.300,
        JobKind.SCRATCH: 0.120,
        JobKind.TRANSFER: 0.100,
        JobKind.FEATURES: 0.100,
        JobKind.EVALUATE: 0.040,
    },
}
#: Reference (image pixels, width, total blocks) of each family's step time.
_REFERENCE = {"resnet_mini": (64, 32, 3), "resnet50": (256, 64, 16)}

#: Fixed start-up seconds per job (process start, loading inputs).
OVERHEAD_SECONDS: dict[JobKind, float] = {
    JobKind.DATASET: 5.0,
    JobKind.ENCODER: 10.0,
    JobKind.FEATURES: 5.0,
    JobKind.SCRATCH: 5.0,
    JobKind.TRANSFER: 3.0,
    JobKind.RANK: 1.0,
    JobKind.EVALUATE: 2.0,
    JobKind.AFFINITY: 1.0,
    JobKind.TAXONOMY: 1.0,
    JobKind.ASSESS: 2.0,
    JobKind.BOOTSTRAP: 2.0,
    JobKind.REPORT: 5.0,
}

#: CPU seconds per bootstrap resample: one BIP per taxonomy, one AHP per target, the tree.
BOOTSTRAP_SECONDS = {"taxonomy": 0.003, "target": 0.001, "tree": 0.003}

#: CPU seconds to generate one mini image at 64 px (scaled by pixels).
DATASET_SECONDS_PER_IMAGE = 0.004

CALIBRATION_FILE = "calibration.json"


@attrs.frozen
class CostModel:
    """Seconds-per-step figures for one spec, with any calibration applied."""

    spec: Spec
    calibrated: Mapping[str, float] = attrs.field(factory=dict)

    def step_seconds(self, kind: JobKind) -> float:
        """Seconds per step (training) or per batch (forward-only kinds) for ``kind``."""
        if str(kind) in self.calibrated:
            return float(self.calibrated[str(kind)])
        enc = self.spec.model.encoder
        ref_px, ref_width, ref_blocks = _REFERENCE[enc.family]
        size = self.spec.dataset.image_size
        scale = (size / ref_px) ** 2 * (enc.width / ref_width) ** 2 * sum(enc.blocks) / ref_blocks
        if kind is not JobKind.ENCODER:
            scale = (size / ref_px) ** 2  # readouts work on small representations; images set IO
        return REFERENCE_STEP_SECONDS[enc.family][kind] * scale

    def training_seconds(self, kind: JobKind, stage: StageTraining, n_images: int) -> float:
        steps = steps_of(stage, n_images)
        per_step = self.step_seconds(kind) * stage.batch_size / 32
        return OVERHEAD_SECONDS[kind] + steps * per_step

    def forward_seconds(self, kind: JobKind, n_images: int, batch_size: int = 64) -> float:
        batches = math.ceil(n_images / batch_size)
        return OVERHEAD_SECONDS[kind] + batches * self.step_seconds(kind) * batch_size / 32

    def dataset_seconds(self) -> float:
        if self.spec.dataset.kind != "mini":
            return OVERHEAD_SECONDS[JobKind.DATASET] + 0.01 * _total_images(self.spec)
        pixels = (self.spec.dataset.image_size / 64) ** 2
        per_image = DATASET_SECONDS_PER_IMAGE * pixels
        return OVERHEAD_SECONDS[JobKind.DATASET] + per_image * _total_images(self.spec)

    def fixed_seconds(self, kind: JobKind) -> float:
        return OVERHEAD_SECONDS[kind]

    def bootstrap_seconds(self, resamples: int, taxonomies: int, targets: int) -> float:
        per = BOOTSTRAP_SECONDS
        each = per["taxonomy"] * taxonomies + per["target"] * targets + per["tree"]
        return OVERHEAD_SECONDS[JobKind.BOOTSTRAP] + resamples * each


def _total_images(spec: Spec) -> int:
    s = spec.dataset.splits
    return s.encoder_train + s.transfer_train + s.test


def steps_of(stage: StageTraining, n_images: int) -> int:
    """Training steps of a stage: given directly, or epochs over ``n_images``."""
    if stage.steps is not None:
        return stage.steps
    if stage.epochs is not None:
        return math.ceil(stage.epochs * n_images / stage.batch_size)
    return 0


def load_calibration(workdir: Path | None) -> dict[str, float]:
    """Measured seconds per step from ``<workdir>/calibration.json``, if present."""
    if workdir is None:
        return {}
    path = workdir / CALIBRATION_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        table = data["seconds_per_step"]
        return {str(k): float(v) for k, v in table.items() if str(k) in set(map(str, JobKind))}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SpecError(
            f"calibration file {str(path)!r} is unreadable ({exc}); fix it or delete it "
            'to use the reference cost table (format: {"seconds_per_step": {"encoder": 0.03}})'
        ) from None
