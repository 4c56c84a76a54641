"""Recording measured job times so the next plan's estimates follow this machine.

Every committed job adds its wall seconds and the reference cost model's estimate for it
(:mod:`taskonomy.planner.cost`, uncalibrated) to ``<workdir>/calibration.json``, under its
device (``cpu``, ``cuda``, ``mps``) and job kind. The planner multiplies each kind's
reference estimate by ``seconds / reference_seconds`` on the spec's device (the device
measured last when it is ``auto``). The file lives in the work directory, beside the
spec it was measured on: step times depend on the spec's model and image size as much as
on the hardware, so one run's measurements are exact for its own spec and only a guess
for another (docs/calibration.md).

Concurrent writers (SLURM array tasks of one run) merge under an exclusive ``flock`` of
``calibration.json.lock``; the file itself is replaced durably (temporary file, fsync,
rename, directory fsync).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from taskonomy.errors import SpecError
from taskonomy.executor.durable import write_json_atomic
from taskonomy.planner.cost import CALIBRATION_FILE, device_key, read_calibration

#: The calibration document's format number.
FORMAT = 2

_log = logging.getLogger(__name__)


@attrs.frozen
class Measurement:
    """One committed job: its kind, where it ran, how long it took, what was estimated.

    Attributes:
        kind: the job kind (``transfer``).
        device: the device it ran on (``cpu``, ``cuda:0``).
        seconds: wall seconds (its share of a batch).
        reference_seconds: the uncalibrated cost model's estimate of the job.
    """

    kind: str
    device: str
    seconds: float
    reference_seconds: float


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def merge(doc: dict[str, Any], measurements: Iterable[Measurement]) -> dict[str, Any]:
    """``doc`` with ``measurements`` added to its per-device, per-kind sums."""
    devices: dict[str, Any] = dict(doc.get("devices", {}))
    latest = doc.get("latest_device")
    for m in measurements:
        if m.reference_seconds <= 0 or m.seconds < 0:
            continue
        dev = device_key(m.device)
        table = dict(devices.get(dev, {}))
        entry = dict(table.get(m.kind, {"jobs": 0, "seconds": 0.0, "reference_seconds": 0.0}))
        entry["jobs"] = int(entry["jobs"]) + 1
        entry["seconds"] = round(float(entry["seconds"]) + m.seconds, 6)
        entry["reference_seconds"] = round(
            float(entry["reference_seconds"]) + m.reference_seconds, 6
        )
        entry["seconds_per_job"] = round(entry["seconds"] / entry["jobs"], 6)
        entry["factor"] = round(entry["seconds"] / entry["reference_seconds"], 6)
        table[m.kind] = entry
        devices[dev] = table
        latest = dev
    return {"format": FORMAT, "latest_device": latest, "devices": devices}


def record(workdir: Path, measurements: Iterable[Measurement]) -> None:
    """Add ``measurements`` to ``<workdir>/calibration.json``.

    A calibration that cannot be written or read is logged and left alone: it only
    improves estimates, and must never fail a job that succeeded.
    """
    items = list(measurements)
    if not items:
        return
    path = Path(workdir) / CALIBRATION_FILE
    try:
        with _locked(path):
            try:
                doc = read_calibration(path)
            except SpecError as exc:
                _log.warning("%s; starting a new calibration", exc)
                doc = {}
            write_json_atomic(path, merge(doc, items))
    except OSError as exc:
        _log.warning("could not record calibration in %s: %s", path, exc)
