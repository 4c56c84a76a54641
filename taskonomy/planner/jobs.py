"""Typed, immutable jobs and the plan that holds them.

A job is a value: its kind, its parameters, its dependencies and a content hash over
all three (dependencies by *their* hashes), so a job's hash changes exactly when
anything that could change its output changes. The executor keys artifacts by it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from taskonomy._hashing import HASH_SCHEMA, content_hash
from taskonomy.kinds import JobKind


@attrs.frozen
class Resources:
    """Neutral resources of one job; executors translate them (SLURM: --gres, -c, ...)."""

    gpus: int
    cpus: int
    mem_gb: float
    time_min: int
    partition: str | None = None
    jobs_per_task: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _freeze(params: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(params))


@attrs.frozen
class Job:
    """One node of the job graph.

    Attributes:
        id: readable, stable identifier, e.g. ``transfer/1/rgb2depth->reshade``.
        kind: what the job does.
        params: everything besides its inputs that determines its output (JSON values).
        deps: ids of the jobs whose artifacts it reads.
        hash: content hash of kind, params and the dependencies' hashes.
        stage: display group, e.g. ``transfer (order 2)``.
        order: transfer order for transfer jobs and their evaluations, else None.
        target: the target task a job serves, where there is one.
        resources: what to ask the executor for.
        est_seconds: estimated wall seconds on the requested resources.
    """

    id: str
    kind: JobKind
    params: Mapping[str, Any] = attrs.field(converter=_freeze, eq=False, hash=False)
    deps: tuple[str, ...]
    hash: str
    stage: str
    order: int | None
    target: str | None
    resources: Resources
    est_seconds: float

    @property
    def est_gpu_seconds(self) -> float:
        return self.est_seconds * self.resources.gpus

    @property
    def bound_at_run_time(self) -> bool:
        """Whether the job's source set is chosen by a ranking job (a higher-order slot)."""
        return "slot" in self.params


def job_hash(kind: JobKind, params: Mapping[str, Any], dep_hashes: list[str]) -> str:
    """The content hash of a job: schema version, kind, params and sorted input hashes."""
    return content_hash(
        {
            "schema": HASH_SCHEMA,
            "kind": str(kind),
            "params": dict(params),
            "deps": sorted(dep_hashes),
        }
    )


class JobState(enum.StrEnum):
    """What the work directory holds for a job, and so whether it would run."""

    DONE = "done"
    NEW = "new"
    INPUTS_CHANGED = "inputs changed"
    MISSING = "artifact missing"
    INVALID = "artifact invalid"

    @property
    def would_run(self) -> bool:
        return self is not JobState.DONE


@attrs.frozen
class Plan:
    """A validated job graph in a deterministic topological order.

    Attributes:
        name: the spec's name.
        jobs: every job by id, in execution order (dependencies first).
        hash: content hash of every job's id and hash.
        transfer_slots: per target, per order, the slot count (the closed form of
            the pruning in docs/method.md, Stage II; recorded so views and tests can check it).
    """

    name: str
    jobs: Mapping[str, Job] = attrs.field(converter=_freeze)
    hash: str
    transfer_slots: Mapping[str, Mapping[int, int]] = attrs.field(converter=_freeze)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs.values())

    def __len__(self) -> int:
        return len(self.jobs)

    def of_kind(self, kind: JobKind) -> list[Job]:
        return [j for j in self.jobs.values() if j.kind is kind]

    def counts(self) -> dict[str, Any]:
        """Job counts per kind, with transfers split by order (keys are strings)."""
        by_kind = Counter(str(j.kind) for j in self.jobs.values())
        out: dict[str, Any] = {str(k): by_kind.get(str(k), 0) for k in JobKind}
        orders = Counter(j.order for j in self.of_kind(JobKind.TRANSFER))
        out["transfer"] = {str(k): orders[k] for k in sorted(o for o in orders if o is not None)}
        return out

    def descendants(self, job_id: str) -> list[str]:
        """Ids of every job that needs ``job_id``'s artifact, directly or through others
        (the jobs its failure stops), in plan order."""
        reached = {job_id}
        out: list[str] = []
        for job in self.jobs.values():  # dependencies first, so one pass suffices
            if not reached.isdisjoint(job.deps):
                reached.add(job.id)
                out.append(job.id)
        return out
