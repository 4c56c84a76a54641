"""Device selection and mixed precision, decided at call time (never at import).

``auto`` picks CUDA when it is available. Mixed precision is ``torch.autocast``: bf16 on
CUDA (where the GPU supports it) and on CPU; fp16 only on CUDA, with a gradient scaler.
A request a device cannot honour falls back to fp32 and says so in a note, which the
training functions put in their metrics and log.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from taskonomy.errors import TaskonomyError
from taskonomy.models.config import DeviceName, Precision


class DeviceError(TaskonomyError, RuntimeError):
    """The requested device cannot be used on this machine."""


def resolve_device(device: DeviceName | str | torch.device) -> torch.device:
    """The torch device for ``auto`` / ``cpu`` / ``cuda`` (or an explicit ``cuda:1``).

    Raises:
        DeviceError: CUDA was asked for but is not available.
    """
    if isinstance(device, torch.device):
        name = device.type
        resolved = device
    else:
        name = device.split(":")[0]
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if name not in ("cpu", "cuda"):
            raise DeviceError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'")
        resolved = torch.device(device)
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "device 'cuda' was requested but torch sees no CUDA GPU "
            f"(torch {torch.__version__}); use device 'auto' or 'cpu'"
        )
    return resolved


@dataclass(frozen=True)
class PrecisionPlan:
    """What a job will actually run in.

    Attributes:
        precision: the effective precision (may differ from the request, see ``note``).
        dtype: the autocast dtype, or None for fp32.
        scaled: whether gradients need a GradScaler (fp16).
        note: why the request was changed, or an empty string.
    """

    precision: Precision
    dtype: torch.dtype | None
    scaled: bool
    note: str = ""


def plan_precision(device: torch.device, precision: Precision) -> PrecisionPlan:
    """Map a requested precision onto what ``device`` supports."""
    if precision == "fp32":
        return PrecisionPlan("fp32", None, False)
    if device.type == "cuda":
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            return PrecisionPlan(
                "fp32", None, False, "this GPU does not support bf16; trained in fp32"
            )
        if precision == "bf16":
            return PrecisionPlan("bf16", torch.bfloat16, False)
        return PrecisionPlan("fp16", torch.float16, True)
    if precision == "bf16":
        return PrecisionPlan("bf16", torch.bfloat16, False)
    return PrecisionPlan(
        "fp32", None, False, "fp16 mixed precision needs CUDA; ran in fp32 on the CPU"
    )


@contextlib.contextmanager
def autocast(device: torch.device, plan: PrecisionPlan) -> Iterator[None]:
    """``torch.autocast`` for the plan's dtype, or nothing for fp32."""
    if plan.dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=plan.dtype):
        yield


def make_scaler(device: torch.device, plan: PrecisionPlan) -> torch.amp.GradScaler:
    """A GradScaler, enabled only for fp16 (a disabled scaler passes gradients through)."""
    return torch.amp.GradScaler(device.type, enabled=plan.scaled)


def configure_threads() -> int:
    """Use every CPU this process may run on for torch's intra-op threads.

    Reads the affinity mask (which SLURM and taskset restrict), not the machine's count.
    Returns the thread count.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
