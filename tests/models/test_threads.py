"""Torch threads follow the CPUs the process is allotted, not the machine's count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from taskonomy.models import device
from taskonomy.models.device import DeviceError, allotted_cpus, configure_threads


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    before = torch.get_num_threads()
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    monkeypatch.setattr(device, "CGROUP_CPU_MAX", tmp_path / "absent")
    yield
    torch.set_num_threads(before)


def _cpus(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)


def test_threads_follow_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 1)
    assert allotted_cpus() == 1
    assert configure_threads() == 1 and torch.get_num_threads() == 1
    _cpus(monkeypatch, 3)
    assert configure_threads() == 3 and torch.get_num_threads() == 3


def test_slurm_cpus_per_task_caps_the_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 64)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "2")
    assert allotted_cpus() == 2
    assert configure_threads() == 2 and torch.get_num_threads() == 2
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "not-a-number")
    assert allotted_cpus() == 64


def test_a_cgroup_quota_caps_the_mask(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _cpus(monkeypatch, 8)
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(device, "CGROUP_CPU_MAX", quota)
    quota.write_text("250000 100000\n")  # --cpus=2.5
    assert allotted_cpus() == 2
    quota.write_text("50000 100000\n")  # half a CPU still gets one thread
    assert allotted_cpus() == 1
    quota.write_text("max 100000\n")
    assert allotted_cpus() == 8


def test_an_explicit_count_wins_and_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 1)
    assert configure_threads(2) == 2 and torch.get_num_threads() == 2
    with pytest.raises(DeviceError):
        configure_threads(0)
    assert torch.get_num_interop_threads() >= 1
