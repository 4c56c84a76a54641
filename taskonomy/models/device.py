"""Device selection and mixed precision, decided at call time (never at import).

``auto`` picks CUDA when it is available. Mixed precision is ``torch.autocast``: bf16 on
CUDA (where the GPU supports it) and on CPU; fp16 only on CUDA, with a gradient scaler.
A request a device cannot honour falls back to fp32 and says so in a note, which the
training functions put in their metrics and log.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


#: cgroup v2 CPU quota of this process ("max 100000" or "<quota> <period>").
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _cgroup_cpus() -> float | None:
    """CPUs the cgroup quota allows (a container's ``--cpus``), None when unlimited."""
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def allotted_cpus() -> int:
    """How many CPUs this process may use: the affinity mask (which taskset and SLURM's
    cgroups restrict), capped by ``SLURM_CPUS_PER_TASK`` and a cgroup CPU quota; never the
    machine's count, which on a shared node oversubscribes it."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        n = min(n, int(slurm))
    quota = _cgroup_cpus()
    if quota is not None:
        n = min(n, max(1, math.floor(quota)))
    return max(1, n)


_INTEROP: list[int] = []


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` (the spec's ``executor.threads``), or
    when None to :func:`allotted_cpus`; inter-op parallelism is kept to one thread so
    that it does not compete with them. Returns the intra-op thread count.
    """
    n = allotted_cpus() if threads is None else threads
    if n < 1:
        raise DeviceError(f"threads must be >= 1, got {n}")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    if not _INTEROP:
        _INTEROP.append(1)
        with contextlib.suppress(RuntimeError):  # parallel work already started: leave it
            torch.set_num_interop_threads(1)
    return n
