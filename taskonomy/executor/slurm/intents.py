"""Submissions in the making: ``WORKDIR/slurm/submitting.json``.

Between ``sbatch`` returning and the journal being saved, a driver that dies would leave
an array SLURM runs but the journal does not know, and the next driver would submit its
jobs again. So before each submission the driver writes an :class:`Intent` -- its packs
and a unique token that goes into the array's ``--comment`` -- and drops it once the
journal holds the ids. The next driver looks every intent left over up in ``squeue`` by
its comment and adopts the array it finds instead of submitting the jobs twice (one
whose array is gone either never reached SLURM or has ended; the artifact store says
which jobs are done).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from taskonomy.executor.runinfo import read_json
from taskonomy.executor.slurm.journal import slurm_dir
from taskonomy.executor.store import write_json_atomic

INTENTS = "submitting.json"
#: Every token starts with this (``squeue -o %k`` shows it as the job's comment).
TOKEN_PREFIX = "taskonomy-"


@attrs.frozen
class Intent:
    """One array about to be submitted.

    Attributes:
        token: the array's ``--comment``, unique to this submission.
        stage: the plan stage of its jobs.
        folder: submitit's folder for it.
        packs: the plan jobs of each array task, in task order.
        after: the SLURM ids it waits for (``afterok``).
        mem_gb: the memory it asks for.
        submitted: when it was submitted (epoch seconds).
    """

    token: str
    stage: str
    folder: str
    packs: tuple[tuple[str, ...], ...]
    after: tuple[str, ...]
    mem_gb: float
    submitted: float

    @classmethod
    def new(
        cls,
        stage: str,
        folder: Path,
        packs: Sequence[Sequence[str]],
        after: Sequence[str],
        mem_gb: float,
        submitted: float,
    ) -> Intent:
        return cls(
            token=f"{TOKEN_PREFIX}{uuid.uuid4().hex}",
            stage=stage,
            folder=str(folder),
            packs=tuple(tuple(p) for p in packs),
            after=tuple(after),
            mem_gb=mem_gb,
            submitted=submitted,
        )

    def task_ids(self, base: str) -> list[str]:
        """The ids of its tasks once SLURM gave it ``base`` (a single task is no array)."""
        return [base] if len(self.packs) == 1 else [f"{base}_{i}" for i in range(len(self.packs))]

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Intent | None:
        """The intent ``data`` describes, or None when it is not one (a damaged file)."""
        try:
            return cls(
                token=str(data["token"]),
                stage=str(data["stage"]),
                folder=str(data["folder"]),
                packs=tuple(tuple(str(j) for j in p) for p in data["packs"]),
                after=tuple(str(a) for a in data["after"]),
                mem_gb=float(data["mem_gb"]),
                submitted=float(data["submitted"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class Intents:
    """The intents file of one work directory."""

    def __init__(self, workdir: Path) -> None:
        self.path = slurm_dir(workdir) / INTENTS

    def load(self) -> list[Intent]:
        doc = read_json(self.path)
        items = doc if isinstance(doc, list) else []
        return [i for i in map(Intent.from_json, items) if i is not None]

    def _save(self, intents: Sequence[Intent]) -> None:
        if intents:
            write_json_atomic(self.path, [i.to_json() for i in intents])
        else:
            self.path.unlink(missing_ok=True)

    def add(self, intent: Intent) -> None:
        self._save([*self.load(), intent])

    def drop(self, token: str) -> None:
        self._save([i for i in self.load() if i.token != token])

    def clear(self) -> None:
        self._save([])
