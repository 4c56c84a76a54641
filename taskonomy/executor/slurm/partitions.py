"""A cluster's partitions and their time limits, as ``sinfo`` reports them.

Time requests of job arrays are capped by the partition's limit where it is known
(:func:`time_cap`); the pre-run checks read the partitions' memory and CPUs.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Mapping

import attrs

from taskonomy.planner.jobs import Job


def parse_slurm_minutes(text: str) -> int | None:
    """A SLURM time limit (``2-00:00:00``, ``12:00:00``, ``30:00``, ``45``) in minutes;
    None for ``infinite``/``UNLIMITED`` or anything unreadable."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if m is None:
        return None
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if c is not None:  # [D-]HH:MM:SS
        hours, minutes, seconds = a or 0, b or 0, c
    elif days is not None:  # D-HH[:MM]
        hours, minutes, seconds = a or 0, b or 0, 0
    elif b is not None:  # MM:SS
        hours, minutes, seconds = 0, a or 0, b
    else:  # MM
        hours, minutes, seconds = 0, a or 0, 0
    return (days or 0) * 24 * 60 + hours * 60 + minutes + math.ceil(seconds / 60)


@attrs.frozen
class Partition:
    """What ``sinfo`` says about one partition: its time limit (None: none), and the
    largest node's memory (MB) and CPUs."""

    name: str
    default: bool
    time_min: int | None
    mem_mb: int | None
    cpus: int | None


def _int(text: str) -> int | None:
    m = re.match(r"\d+", text.strip())
    return int(m.group()) if m else None


def parse_partitions(text: str) -> dict[str, Partition]:
    """``sinfo -h -o '%P|%l|%m|%c'`` (one line per partition and node kind) by name;
    a partition's memory and CPUs are its largest node's (``%m`` may end in ``+``)."""
    out: dict[str, Partition] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or not parts[0]:
            continue
        name = parts[0].rstrip("*")
        mem = _int(parts[2]) if len(parts) > 2 else None
        cpus = _int(parts[3]) if len(parts) > 3 else None
        old = out.get(name)
        if old is not None:
            mem = max(filter(None, (mem, old.mem_mb)), default=None)
            cpus = max(filter(None, (cpus, old.cpus)), default=None)
        out[name] = Partition(
            name, parts[0].endswith("*"), parse_slurm_minutes(parts[1]), mem, cpus
        )
    return out


def parse_partition_limits(text: str) -> dict[str | None, int]:
    """``sinfo -h -o '%P %l'`` (or ``'%P|%l|...'``) as {partition: minutes}; the default
    partition (``*``) also under None. Partitions without a limit are left out."""
    return limits_of(parse_partitions(text.replace(" ", "|")))


def limits_of(partitions: Mapping[str, Partition]) -> dict[str | None, int]:
    """Time limits by partition name, the default partition's also under None."""
    limits: dict[str | None, int] = {}
    for p in partitions.values():
        if p.time_min is not None:
            limits[p.name] = p.time_min
            if p.default:
                limits[None] = p.time_min
    return limits


def query_partitions(timeout_s: float = 10.0) -> dict[str, Partition] | None:
    """The cluster's partitions from ``sinfo``; None where sinfo is not on PATH or fails."""
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return None
    try:
        done = subprocess.run(
            [sinfo, "-h", "-o", "%P|%l|%m|%c"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_partitions(done.stdout) if done.returncode == 0 else None


def query_partition_limits(timeout_s: float = 10.0) -> dict[str | None, int]:
    """The partitions' time limits from ``sinfo`` where it is on PATH; {} otherwise."""
    return limits_of(query_partitions(timeout_s) or {})


def time_cap(job: Job, partition_limits: Mapping[str | None, int] | None) -> int:
    """The most minutes a task of ``job``'s kind may ask for: its ``time_min``, and its
    partition's limit where that is known."""
    cap = job.resources.time_min
    limit = (partition_limits or {}).get(job.resources.partition)
    return cap if limit is None else min(cap, limit)
