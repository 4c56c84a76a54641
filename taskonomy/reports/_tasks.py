"""How figures name and colour tasks: readable labels and the paper's task families.

Labels come from :func:`taskonomy.tasks.families.task_label` (built-in names and the
original release's spellings); families from the spec's task kind where a run's
``spec.json`` names one (``{name: ae, kind: autoencoder}`` is a 2D task), else from the
task's own name. A task of no known family (a user task) is drawn in a neutral colour.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matplotlib.lines import Line2D

from taskonomy.tasks.families import Family, builtin_family, task_label

#: The colour of a task without a known family.
NO_FAMILY = "#444444"


@dataclass(frozen=True)
class TaskStyle:
    """Per task name: its label in figures and its family (None when unknown)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    families: Mapping[str, Family | None] = field(default_factory=dict)

    def label(self, name: str) -> str:
        return self.labels.get(name) or task_label(name)

    def family(self, name: str) -> Family | None:
        return self.families[name] if name in self.families else builtin_family(name)

    def colour(self, name: str) -> str:
        family = self.family(name)
        return family.colour if family is not None else NO_FAMILY

    def legend_handles(self, names: Iterable[str]) -> list[Line2D]:
        """One patch per family among ``names`` (in the paper's order), then 'other'."""
        present = {self.family(n) for n in names}
        handles = [
            Line2D([], [], marker="s", ls="None", ms=9, color=f.colour, label=f.heading)
            for f in Family
            if f in present
        ]
        if None in present:
            handles.append(
                Line2D([], [], marker="s", ls="None", ms=9, color=NO_FAMILY, label="other")
            )
        return handles


def _spec_kinds(spec: Mapping[str, Any] | None) -> dict[str, str]:
    """``name -> kind`` of a ``spec.json``'s tasks (kind defaults to the name)."""
    out: dict[str, str] = {}
    for item in (spec or {}).get("tasks", []) or []:
        if isinstance(item, str):
            out[item] = item
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            kind = item.get("kind")
            out[item["name"]] = kind if isinstance(kind, str) and kind else item["name"]
    return out


def task_style(tasks: Iterable[str], spec: Mapping[str, Any] | None = None) -> TaskStyle:
    """Labels and families of ``tasks``, using the spec's task kinds where given.

    A kind that is a built-in task gives its family (a user task given as an import path
    is not imported: the report stays free of user code and torch). Labels that would
    coincide for two tasks get the task name added, so no two tasks look the same.
    """
    from taskonomy.tasks import builtin_task

    names = list(dict.fromkeys(tasks))
    kinds = _spec_kinds(spec)
    families: dict[str, Family | None] = {}
    for name in names:
        info = builtin_task(kinds.get(name, name))
        families[name] = info.family if info is not None else builtin_family(name)
    labels = {name: task_label(name) for name in names}
    counts = Counter(labels.values())
    for name, label in labels.items():
        if counts[label] > 1 and label != name:
            labels[name] = f"{label} ({name})"
    return TaskStyle(labels, families)
