"""The cost model: how long each job will take, before anything runs.

A job's estimate is ``steps x seconds_per_step + overhead``. Seconds per step come from a
reference table (one GPU of the V100/A100 class, batch 32 at 64 px for ``resnet_mini``,
at 256 px for ``resnet50``) scaled linearly in pixels per image, batch size, width
squared and depth. The table is deliberately simple; what makes it useful is
calibration: as jobs commit, the executor records, per device and job kind, the wall
seconds they took against what this table estimated for them, in
``<workdir>/calibration.json`` (:mod:`taskonomy.executor.calibration`; format in
docs/calibration.md). The next plan of that work directory multiplies each kind's
estimate by measured / estimated, so estimates (and ETAs, and SLURM time requests)
follow what this machine actually did on the spec's own settings.

Nothing here imports torch: the dry run must work on a login node.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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

#: A SLURM task asks for its estimate times this (the reference table can be off by 2x
#: or more before calibration; a time limit too short kills the work, one too long only
#: costs queue priority).
TIME_MARGIN = 3.0
#: Seconds added to every SLURM task's request: queue start, imports, submitit's signal.
TASK_STARTUP_SECONDS = 300.0
#: The least time a SLURM task asks for, in minutes.
MIN_TASK_MINUTES = 15


def task_minutes(seconds: float) -> int:
    """Minutes a SLURM task estimated at ``seconds`` asks for: the estimate with
    :data:`TIME_MARGIN` and :data:`TASK_STARTUP_SECONDS`, at least :data:`MIN_TASK_MINUTES`."""
    return max(MIN_TASK_MINUTES, math.ceil((seconds * TIME_MARGIN + TASK_STARTUP_SECONDS) / 60))


@attrs.frozen
class CostModel:
    """Per-job estimates for one spec: the reference table, times any calibration.

    Attributes:
        spec: the spec being planned.
        calibrated: per job kind, measured seconds / reference seconds (1 where absent).
    """

    spec: Spec
    calibrated: Mapping[str, float] = attrs.field(factory=dict)

    def factor(self, kind: JobKind) -> float:
        """How much slower (>1) or faster than the reference table ``kind`` ran here."""
        return float(self.calibrated.get(str(kind), 1.0))

    def step_seconds(self, kind: JobKind) -> float:
        """Reference seconds per step (training) or per batch (forward-only kinds)."""
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
        return (OVERHEAD_SECONDS[kind] + steps * per_step) * self.factor(kind)

    def forward_seconds(self, kind: JobKind, n_images: int, batch_size: int = 64) -> float:
        batches = math.ceil(n_images / batch_size)
        ref = OVERHEAD_SECONDS[kind] + batches * self.step_seconds(kind) * batch_size / 32
        return ref * self.factor(kind)

    def dataset_seconds(self) -> float:
        if self.spec.dataset.kind != "mini":
            ref = OVERHEAD_SECONDS[JobKind.DATASET] + 0.01 * _total_images(self.spec)
        else:
            pixels = (self.spec.dataset.image_size / 64) ** 2
            per_image = DATASET_SECONDS_PER_IMAGE * pixels
            ref = OVERHEAD_SECONDS[JobKind.DATASET] + per_image * _total_images(self.spec)
        return ref * self.factor(JobKind.DATASET)

    def fixed_seconds(self, kind: JobKind) -> float:
        return OVERHEAD_SECONDS[kind] * self.factor(kind)

    def bootstrap_seconds(self, resamples: int, taxonomies: int, targets: int) -> float:
        per = BOOTSTRAP_SECONDS
        each = per["taxonomy"] * taxonomies + per["target"] * targets + per["tree"]
        ref = OVERHEAD_SECONDS[JobKind.BOOTSTRAP] + resamples * each
        return ref * self.factor(JobKind.BOOTSTRAP)


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


def device_key(device: str) -> str:
    """The calibration key of a device string: ``cpu``, ``cuda`` (``cuda:1`` too), ``mps``."""
    return device.split(":", 1)[0].strip().lower() or "cpu"


def _calibration_error(path: Path, why: object) -> SpecError:
    return SpecError(
        f"calibration file {str(path)!r} is unreadable ({why}); fix it or delete it to "
        "use the reference cost table (the next run writes a new one; format in "
        "docs/calibration.md)"
    )


def read_calibration(path: Path) -> dict[str, Any]:
    """The calibration document at ``path`` (``{}`` when there is none).

    Raises:
        SpecError: the file exists but is not a calibration document.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _calibration_error(path, exc) from None
    if not isinstance(data, dict) or not isinstance(data.get("devices", {}), dict):
        raise _calibration_error(path, 'expected {"format": 2, "devices": {...}}')
    if "seconds_per_step" in data and "devices" not in data:
        raise _calibration_error(path, "it has the old seconds_per_step format")
    return data


def load_calibration(workdir: Path | None, device: str = "auto") -> dict[str, float]:
    """Per job kind, measured / reference seconds on ``device`` from
    ``<workdir>/calibration.json``; for ``auto``, the device measured last."""
    if workdir is None:
        return {}
    path = workdir / CALIBRATION_FILE
    data = read_calibration(path)
    if not data:
        return {}
    key = str(data.get("latest_device", "")) if device == "auto" else device_key(device)
    kinds = set(map(str, JobKind))
    try:
        table = data["devices"].get(key, {})
        out = {}
        for kind, entry in table.items():
            if kind in kinds and float(entry["reference_seconds"]) > 0:
                out[kind] = float(entry["seconds"]) / float(entry["reference_seconds"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _calibration_error(path, f"bad entry: {exc}") from None
    return out
