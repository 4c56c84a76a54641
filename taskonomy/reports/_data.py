"""Read a work directory's result files into plain typed values for the figures.

The report reads JSON only (no torch, no solver, no spec validation), so it works on a
copy of a work directory on any machine. Every file but one of ``affinities.json`` and
``taxonomy.json`` is optional; what is missing is listed in :attr:`RunResults.missing`
and stated on the page instead of a figure. Affinity files are read into the library's
:class:`~taskonomy.affinity.table.AffinityTable`, so the report draws what the solver and
the similarity tree see.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskonomy.affinity.table import BASELINES, AffinityTable, parse_key
from taskonomy.artifacts import (
    AFFINITIES_OUTPUT,
    EVALUATION_OUTPUT,
    PLAN_FILE,
    RAW_AFFINITIES_OUTPUT,
    RUN_FILE,
    SPEC_FILE,
    SUPPORT_OUTPUT,
    TAXONOMY_OUTPUT,
)
from taskonomy.errors import AffinityError, SolverError, TaskonomyError
from taskonomy.solvers.output import solution_from_dict
from taskonomy.solvers.result import Solution

#: Result files a report can read, with what each one gives the page.
RESULT_FILES: dict[str, str] = {
    AFFINITIES_OUTPUT: "the affinity matrix after AHP",
    RAW_AFFINITIES_OUTPUT: "first-order win rates before AHP",
    TAXONOMY_OUTPUT: "the solved taxonomies",
    EVALUATION_OUTPUT: "gain and quality of each taxonomy on test images",
    SUPPORT_OUTPUT: "bootstrap support of the similarity tree's clusters",
    PLAN_FILE: "the plan summary",
    SPEC_FILE: "the experiment spec",
    RUN_FILE: "run statistics (time and GPU-hours per stage)",
}


class ReportError(TaskonomyError, ValueError):
    """A work directory cannot be reported on: no results, or a result file is malformed."""


@dataclass(frozen=True)
class TargetScore:
    sources: tuple[str, ...]
    gain: float
    quality: float  # NaN where the target has no network of its own


@dataclass(frozen=True)
class Evaluation:
    """Gain and quality of one taxonomy, as ``evaluation.json`` stores it."""

    budget: float
    max_order: int
    targets: Mapping[str, TargetScore]
    mean_gain: float
    mean_quality: float
    supervised: tuple[str, ...]
    n_targets: int


@dataclass(frozen=True)
class TableOrigin:
    """Where the results of a report that is not a run's come from: an affinity table
    (a file or a published one), solved for ``orders`` x ``budgets``, scored with the
    win-rate files ``gain`` and ``quality`` where known."""

    name: str
    affinities: Path
    gain: Path | None
    quality: Path | None
    orders: tuple[int, ...]
    budgets: tuple[float, ...]


@dataclass(frozen=True)
class RunResults:
    """Everything the report found in a work directory, or solved from a table.

    ``origin`` is None for a run's work directory; for a report of an affinity table it
    says where the table came from, and ``workdir`` is None.
    """

    workdir: Path | None = None
    affinities: AffinityTable | None = None
    raw_affinities: AffinityTable | None = None
    solutions: tuple[Solution, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    plan: Mapping[str, Any] | None = None
    spec: Mapping[str, Any] | None = None
    run: Mapping[str, Any] | None = None
    missing: tuple[str, ...] = field(default=())
    origin: TableOrigin | None = None
    #: Bootstrap support of each cluster of the similarity tree (its tasks), where the
    #: run's bootstrap wrote ``support.json``.
    clade_support: Mapping[frozenset[str], float] = field(default_factory=dict)

    def task_order(self) -> list[str]:
        """Every task any file names, in the spec's order where known, else sorted."""
        seen: set[str] = set()
        for table in (self.affinities, self.raw_affinities):
            for sources, target in table.entries if table is not None else {}:
                seen.update(s for s in sources if s not in BASELINES)
                seen.add(target)
        for sol in self.solutions:
            seen.update(sol.supervised)
            seen.update(sol.edges)
            for srcs in sol.edges.values():
                seen.update(s for s in srcs if s not in BASELINES)
        for ev in self.evaluations:
            seen.update(ev.targets)
        spec_tasks = [name for name in spec_task_names(self.spec) if name in seen]
        return spec_tasks + sorted(seen - set(spec_tasks))


def spec_task_names(spec: Mapping[str, Any] | None) -> list[str]:
    """Task names of a ``spec.json`` (entries are strings or ``{"name": ...}``)."""
    out: list[str] = []
    for item in (spec or {}).get("tasks", []) or []:
        name = item.get("name") if isinstance(item, Mapping) else item
        if isinstance(name, str):
            out.append(name)
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "re-run the stage that writes it or remove the file"
        ) from exc
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror}") from exc


def _number(value: Any) -> float:
    """A JSON number, with null read as NaN."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"expected a list of task names, got {value!r}")
    return tuple(str(v) for v in value)


def affinity_table(doc: Any, where: Path | str) -> AffinityTable:
    """A release-format document ``{"src1__src2__target": p}`` as an :class:`AffinityTable`."""
    if not isinstance(doc, Mapping):
        raise ReportError(f"{where} must hold an object {{'source__target': p}}")
    out: dict[tuple[tuple[str, ...], str], float] = {}
    for key, value in doc.items():
        try:
            out[parse_key(str(key))] = _number(value)
        except (TypeError, ValueError) as exc:
            raise ReportError(f"{where}: entry {key!r}: {exc}") from exc
    try:
        return AffinityTable(out)
    except AffinityError as exc:
        raise ReportError(f"{where}: {exc}") from exc


def _affinities(path: Path) -> AffinityTable:
    return affinity_table(_read_json(path), path)


def _solutions(doc: Any, path: Path | str) -> tuple[Solution, ...]:
    items = doc.get("solutions") if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        raise ReportError(f"{path} must hold an object with a 'solutions' list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ReportError(f"{path}: solutions[{i}] is malformed: not an object")
        try:
            out.append(solution_from_dict(item))
        except SolverError as exc:
            raise ReportError(f"{path}: solutions[{i}] is malformed: {exc}") from None
    return tuple(out)


def _evaluations(doc: Any, path: Path | str) -> tuple[Evaluation, ...]:
    items = doc.get("taxonomies") if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        raise ReportError(f"{path} must hold an object with a 'taxonomies' list")
    out = []
    for i, item in enumerate(items):
        try:
            targets = {
                str(t): TargetScore(
                    sources=_names(v.get("sources") or []),
                    gain=_number(v.get("gain")),
                    quality=_number(v.get("quality")),
                )
                for t, v in (item.get("targets") or {}).items()
            }
            out.append(
                Evaluation(
                    budget=_number(item["budget"]),
                    max_order=int(item["max_order"]),
                    targets=targets,
                    mean_gain=_number(item.get("mean_gain")),
                    mean_quality=_number(item.get("mean_quality")),
                    supervised=_names(item.get("supervised") or []),
                    n_targets=int(item.get("n_targets", len(targets))),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReportError(f"{path}: taxonomies[{i}] is malformed: {exc!s}") from exc
    return tuple(out)


def _clade_support(doc: Any, path: Path) -> dict[frozenset[str], float]:
    """``support.json``'s clusters as {tasks: support}."""
    try:
        return {
            frozenset(str(t) for t in c["tasks"]): _number(c["support"])
            for c in doc.get("clusters") or []
        }
    except (TypeError, KeyError, AttributeError, ReportError) as exc:
        raise ReportError(f"{path}: not a bootstrap support file ({exc})") from None


def _mapping(path: Path) -> Mapping[str, Any]:
    doc = _read_json(path)
    if not isinstance(doc, Mapping):
        raise ReportError(f"{path} must hold a JSON object")
    return doc


def load_results(workdir: Path) -> RunResults:
    """Read every result file ``workdir`` holds.

    Raises:
        ReportError: ``workdir`` is not a directory, holds neither ``affinities.json`` nor
            ``taxonomy.json``, or a file present is malformed (the message names it).
    """
    if not workdir.is_dir():
        raise ReportError(
            f"work directory {workdir} does not exist; pass the work directory of a run "
            "(the spec's 'workdir', e.g. examples/work/mini)"
        )
    present = {name for name in RESULT_FILES if (workdir / name).is_file()}
    if not present & {AFFINITIES_OUTPUT, TAXONOMY_OUTPUT}:
        raise ReportError(
            f"{workdir} has no affinities.json or taxonomy.json; run `taskonomy run SPEC` "
            "first or pass a work directory of a finished run"
        )

    def path(name: str) -> Path | None:
        return workdir / name if name in present else None

    p = path(AFFINITIES_OUTPUT)
    raw = path(RAW_AFFINITIES_OUTPUT)
    tax = path(TAXONOMY_OUTPUT)
    ev = path(EVALUATION_OUTPUT)
    plan = path(PLAN_FILE)
    spec = path(SPEC_FILE)
    run = path(RUN_FILE)
    sup = path(SUPPORT_OUTPUT)
    return RunResults(
        workdir=workdir,
        affinities=_affinities(p) if p else None,
        raw_affinities=_affinities(raw) if raw else None,
        solutions=_solutions(_read_json(tax), tax) if tax else (),
        evaluations=_evaluations(_read_json(ev), ev) if ev else (),
        plan=_mapping(plan) if plan else None,
        spec=_mapping(spec) if spec else None,
        run=_last_working_run(workdir) if run else None,
        missing=tuple(name for name in RESULT_FILES if name not in present),
        clade_support=_clade_support(_read_json(sup), sup) if sup else {},
    )


#: Every run's record, kept by the executor (``taskonomy.executor.runinfo.RUNS_DIR``).
RUNS_DIR = "runs"


def _last_working_run(workdir: Path) -> Mapping[str, Any] | None:
    """The run a report shows: the latest that ran any job, not a no-op resume after it
    (``runs/*.json``, oldest first by name; ``run.json`` where there is no history)."""
    folder = workdir / RUNS_DIR
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            runs.append(doc)
    latest = workdir / RUN_FILE
    if not runs and latest.is_file():
        return _mapping(latest)

    def worked(doc: Mapping[str, Any]) -> bool:
        jobs = doc.get("jobs")
        entries = jobs.values() if isinstance(jobs, Mapping) else ()
        return any(isinstance(e, Mapping) and e.get("state") in ("done", "failed") for e in entries)

    working = [r for r in runs if worked(r)]
    return working[-1] if working else (runs[-1] if runs else None)


def solutions_from_json(doc: Mapping[str, Any]) -> tuple[Solution, ...]:
    """Parse an in-memory ``taxonomy.json`` document (what ``taskonomy solve`` writes)."""
    return _solutions(doc, "the taxonomy document")


def evaluations_from_json(doc: Mapping[str, Any]) -> tuple[Evaluation, ...]:
    """Parse an in-memory ``evaluation.json`` document ``{"taxonomies": [...]}``."""
    return _evaluations(doc, "the evaluation document")
