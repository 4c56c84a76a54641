"""``write_report``: every figure of a work directory and the page that explains them.

:func:`write_results` draws the page from :class:`RunResults`, whether they were read
from a run's work directory (:func:`write_report`) or solved from an affinity table
(:func:`taskonomy.reports.from_table.write_table_report`).
"""

from __future__ import annotations

from pathlib import Path

from taskonomy.affinity.tree import SimilarityTree, similarity_tree
from taskonomy.errors import AffinityError
from taskonomy.reports import _sections, affinity
from taskonomy.reports._data import RunResults, load_results
from taskonomy.reports._sections import Layout
from taskonomy.reports._summary import origin_section, overview_section, plan_section
from taskonomy.reports._tasks import task_style
from taskonomy.reports.html import Section, esc, render_page


def write_report(workdir: Path, out_dir: Path | None = None) -> Path:
    """Write PNG figures and a self-contained ``index.html`` for a run's work directory.

    Args:
        workdir: the run's work directory; needs ``affinities.json`` or ``taxonomy.json``,
            every other result file is optional (the page says which were missing).
        out_dir: where to write; defaults to ``workdir / "report"``.

    Returns:
        The path of ``index.html``.

    Raises:
        ReportError: no result files, or one of them is malformed.
    """
    results = load_results(workdir)
    name = str((results.spec or results.plan or {}).get("name") or workdir.name)
    lead = (
        f"Results of the Taskonomy run <code>{esc(name)}</code> read from "
        f"<code>{esc(workdir)}</code>. Tasks appear in the order of the task similarity "
        "tree in every figure."
    )
    out = out_dir if out_dir is not None else workdir / "report"
    return write_results(results, out, f"Taskonomy report: {name}", lead)


def report_tree(results: RunResults) -> SimilarityTree | None:
    """The library's similarity tree of the results' affinities (after AHP, else before);
    None without first-order transfers from at least two source tasks."""
    table = results.affinities or results.raw_affinities
    if table is None or len(affinity.first_order(table).sources) < 2:
        return None
    try:
        return similarity_tree(table)
    except AffinityError:
        return None


def layout(results: RunResults) -> Layout:
    """Tasks in the similarity tree's leaf order (the rest after), with their labels and
    families (from the spec's task kinds where a run has ``spec.json``)."""
    tasks = results.task_order()
    tree = report_tree(results)
    if tree is not None:
        leaves = tree.leaf_order
        tasks = [*leaves, *(t for t in tasks if t not in leaves)]
    return Layout(tasks, tree, task_style(tasks, results.spec), results.clade_support)


def write_results(results: RunResults, out: Path, title: str, lead: str) -> Path:
    """Write the figures of ``results`` and ``index.html`` into ``out``; return the page.

    Sections that only a run has (the spec, the plan, run statistics, win rates before
    AHP) are left out when ``results.origin`` says they came from an affinity table.
    """
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.png"):
        stale.unlink()  # figures of an earlier report that this one may not redraw
    lay = layout(results)
    run = results.origin is None
    sections: list[Section] = [overview_section(results) if run else origin_section(results)]
    sections.append(_sections.affinity_section(results, lay, out))
    sections.append(_sections.tree_section(lay, out))
    sections.append(_sections.taxonomy_section(results, lay, out))
    sections.append(_sections.scores_section(results, lay, out))
    sections.append(_sections.savings_section(results, out))
    if run:
        sections.append(plan_section(results, out))
    index = out / "index.html"
    index.write_text(render_page(title, lead, sections), encoding="utf-8")
    return index
