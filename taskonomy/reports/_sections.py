"""The page's middle sections: affinities, the similarity tree, taxonomies, scores, savings.

Each section works for a run's results and for results solved from an affinity table
(``results.origin`` set); the text says where the numbers come from in each case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from taskonomy.affinity.table import PIXELS
from taskonomy.affinity.tree import SimilarityTree
from taskonomy.artifacts import (
    AFFINITIES_OUTPUT,
    EVALUATION_OUTPUT,
    RAW_AFFINITIES_OUTPUT,
    TAXONOMY_OUTPUT,
)
from taskonomy.reports import affinity, curves, taxonomy
from taskonomy.reports._data import RunResults
from taskonomy.reports._summary import fmt, missing_note
from taskonomy.reports._tasks import TaskStyle
from taskonomy.reports.html import Figure, Note, Raw, Section, Table, esc


@dataclass(frozen=True)
class Layout:
    """The tasks of a report in figure order, the similarity tree, labels and families."""

    tasks: list[str]
    tree: SimilarityTree | None
    style: TaskStyle
    #: Bootstrap support of the tree's clusters (by their tasks), where known.
    clade_support: Mapping[frozenset[str], float] = field(default_factory=dict)


_HEATMAPS = (
    (
        RAW_AFFINITIES_OUTPUT,
        "first-order win rates (before AHP)",
        "win rate of the transfer",
        "Before AHP: the raw tournament result of every first-order transfer, the "
        "fraction of pairwise comparisons on test images it won. Each target's losses "
        "are on their own scale; win rates are comparable within a row only.",
    ),
    (
        AFFINITIES_OUTPUT,
        "first-order affinities P (after AHP)",
        "AHP score p (each target's candidates sum to 1)",
        "After AHP: the principal eigenvector of each target's reciprocal win-ratio "
        "matrix W' (first- and higher-order transfers, self and pixels compete "
        "together; only first-order entries are shown). This is the matrix the binary "
        "integer program maximises over.",
    ),
)


def affinity_section(results: RunResults, lay: Layout, out: Path) -> Section:
    run = results.origin is None
    tables = {RAW_AFFINITIES_OUTPUT: results.raw_affinities, AFFINITIES_OUTPUT: results.affinities}
    scratch = any(
        sources == (PIXELS,) for t in tables.values() if t is not None for sources, _ in t.entries
    )
    section = Section(
        "affinities",
        "Affinity matrix, before and after AHP" if run else "Affinity matrix",
        "Rows are targets, columns the source whose frozen representation the transfer "
        "reads; the outlined diagonal cell is the target's own fully supervised network "
        "(<code>self</code>)"
        + (" and the last column the readout trained from pixels (scratch)" if scratch else "")
        + ". Grey cells have no transfer. Rows and columns follow the similarity tree, so "
        "blocks of bright cells are groups of tasks that help each other; task names are "
        "coloured by family.",
    )
    for name, title, bar, caption in _HEATMAPS:
        table = tables[name]
        if table is None and not run:
            continue  # an affinity table has no win rates before AHP: said below
        if table is None:
            section.blocks.append(missing_note(results, name, "its heatmap is omitted."))
            continue
        fo = affinity.first_order(table, lay.tasks)  # tasks are in the tree's order
        if not fo.targets:
            what = f"<code>{esc(name)}</code>" if run else "The table"
            section.blocks.append(Note(f"{what} has no first-order entries; nothing to draw."))
            continue
        stem = "affinity_before_ahp" if name.startswith("raw") else "affinity_after_ahp"
        png = affinity.plot_heatmap(
            fo, out / f"{stem}.png", title=title, bar_label=bar, tasks=lay.style
        )
        section.blocks.append(Figure(png, title, caption))
    if not run:
        section.blocks.append(
            Note(
                "An affinity table holds the scores after AHP only; the win rates before "
                "AHP are a run's <code>raw_affinities.json</code>."
            )
        )
    return section


def _agreement(tree: SimilarityTree, style: TaskStyle) -> str:
    """A sentence on how well the tree recovers the task families, or ''."""
    known = {name: fam for name in tree.labels if (fam := style.family(name)) is not None}
    k = len(set(known.values()))
    if k < 2 or len(known) < 3:
        return ""
    ari = tree.agreement(known, k)
    return (
        f" Cut into {k} groups, the tree matches the {k} task families of its "
        f"{len(known)} tasks of known family with an adjusted Rand index of {ari:.2f} "
        "(1: the same grouping; about 0: no better than chance)."
    )


def _support_note(lay: Layout) -> str:
    """A sentence on the numbers at the tree's nodes, where the run's bootstrap gave them."""
    if not lay.clade_support:
        return ""
    return (
        " The number at each join is its bootstrap support: the fraction of resamples of "
        "the test images whose tree has a cluster of exactly those tasks (near 1: a "
        "finding; below about 0.5: not resolved by this run)."
    )


def tree_section(lay: Layout, out: Path) -> Section:
    section = Section("tree", "Task similarity tree")
    tree = lay.tree
    png = (
        affinity.plot_dendrogram(tree, out / "similarity_tree.png", lay.style, lay.clade_support)
        if tree
        else None
    )
    if tree is None or png is None:
        section.blocks.append(
            Note("No tree: it needs first-order affinities of at least two source tasks.")
        )
        return section
    section.blocks.append(
        Figure(
            png,
            "task similarity tree",
            f"Agglomerative clustering ({esc(tree.method)} linkage, {esc(tree.metric)} "
            f"distance) of each source's transfer-out pattern, its first-order affinities "
            f"into every target ({esc(tree.normalisation)}: per-target standardised "
            "log-affinities by default, so every target counts the same): two sources join "
            "early when they help the same targets more than average. Leaf names are "
            "coloured by task family; in the paper 3D, 2D, low-dimensional geometric and "
            "semantic tasks form separate branches. Its leaf order is the order of tasks "
            "in every other figure." + _agreement(tree, lay.style) + _support_note(lay),
        )
    )
    section.blocks.append(
        Raw(
            "<details><summary>The tree in Newick format</summary>"
            f'<pre class="newick">{esc(tree.to_newick())}</pre></details>'
        )
    )
    return section


def taxonomy_section(results: RunResults, lay: Layout, out: Path) -> Section:
    label = lay.style.label
    section = Section(
        "taxonomies",
        "Taxonomies over budgets and orders",
        "One panel per (budget γ, maximum order) the solver was asked for; consecutive "
        "budgets that give the same taxonomy share one panel. Every panel puts "
        "each task at the same place on the circle. Filled nodes are the sources the "
        "taxonomy supervises; a thick ring marks a target solved by its own network; every "
        "other target has one incoming edge from the transfer chosen for it. A transfer "
        "from two or more sources joins them at a small junction node first. Infeasible "
        "or failed solves are shown greyed with the solver's reason. Where the run "
        "bootstrapped its test images, an edge's width is its support: the fraction of "
        "resamples whose taxonomy at the same budget and order solves that target from "
        "the same sources (thin edges are coin tosses).",
    )
    if not results.solutions:
        section.blocks.append(missing_note(results, TAXONOMY_OUTPUT, "no taxonomy to draw."))
        return section
    grids = taxonomy.plot_taxonomy_grids(results.solutions, lay.tasks, out, lay.style)
    parts = {g.max_order: sum(1 for h in grids if h.max_order == g.max_order) for g in grids}
    seen: dict[int, int] = {}
    for grid in grids:
        k = grid.max_order
        seen[k] = seen.get(k, 0) + 1
        lo, hi = grid.budgets[0], grid.budgets[-1]
        span = f"budget {lo:g}" if lo == hi else f"budgets {lo:g} to {hi:g}"
        part = f" (part {seen[k]} of {parts[k]})" if parts[k] > 1 else ""
        section.blocks.append(
            Figure(
                grid.path,
                f"taxonomies, order ≤ {k}{part}",
                f"Taxonomies with transfers of order at most {k}, {span}{part}.",
            )
        )
    evals = {(e.budget, e.max_order): e for e in results.evaluations}
    rows, bad = [], set()
    for i, s in enumerate(sorted(results.solutions, key=lambda s: (s.max_order, s.budget))):
        ev = evals.get((s.budget, s.max_order))
        if not s.solved:
            bad.add(i)
        rows.append(
            [
                str(s.max_order),
                f"{s.budget:g}",
                s.status,
                ", ".join(label(t) for t in s.supervised) or "–",
                str(len(s.edges)),
                fmt(s.objective),
                fmt(s.gap, 4),
                fmt(ev.mean_gain if ev else None),
                fmt(ev.mean_quality if ev else None),
                s.solver,
                f"{s.solve_seconds:.2f}",
                s.reason or "",
            ]
        )
    header = ["order", "budget", "status", "supervised", "targets", "objective", "gap"]
    header += ["mean gain", "mean quality", "solver", "seconds", "reason"]
    numeric = frozenset({0, 1, 4, 5, 6, 7, 8, 10})
    section.blocks.append(Table(header, rows, numeric=numeric, bad_rows=frozenset(bad)))
    details = []
    for s in sorted(results.solutions, key=lambda s: (s.max_order, s.budget)):
        if s.solved:
            edges = "; ".join(
                f"{label(t)} ← {' + '.join(label(x) for x in src)}"
                for t, src in sorted(s.edges.items(), key=lambda e: label(e[0]))
            )
            details.append(f"<li>order ≤ {s.max_order}, budget {s.budget:g}: {esc(edges)}</li>")
    section.blocks.append(
        Raw(
            f"<details><summary>Chosen transfer of every target</summary><ul>"
            f"{''.join(details)}</ul></details>"
        )
    )
    return section


def scores_section(results: RunResults, lay: Layout, out: Path) -> Section:
    run = results.origin is None
    where = (
        "Both are measured on test images."
        if run
        else "Both are the published win rates of each chosen transfer (the release's "
        "<code>wins_vs_pixels</code> and <code>wins_vs_task</code> files), as the paper "
        "reports them."
    )
    section = Section(
        "scores",
        "Gain and quality against budget",
        "Gain is the win rate of the chosen transfer against a readout trained from scratch "
        "on the same small data (above 0.5: the transfer helps); quality is its win rate "
        "against the target's own fully supervised network (0.5 when the target is solved "
        f"by it). {where}",
    )
    if not results.evaluations:
        if run:
            note = missing_note(results, EVALUATION_OUTPUT, "gain and quality cannot be plotted.")
        else:
            note = Note(
                "No win rates are known for this table, so gain and quality cannot be "
                "plotted; give <code>--winrates-gain FILE --winrates-quality FILE</code>."
            )
        section.blocks.append(note)
        return section
    section.blocks.append(
        Figure(
            curves.plot_mean_scores(results.evaluations, out / "scores_mean.png"),
            "mean gain and quality against budget",
            "Averages over targets, one line per maximum order. A larger budget supervises more "
            "tasks, so quality rises towards 0.5; higher orders help most at small budgets.",
        )
    )
    section.blocks.append(
        Figure(
            curves.plot_target_scores(
                results.evaluations, lay.tasks, out / "scores_per_target.png", tasks=lay.style
            ),
            "gain and quality per target",
            "The same per target: solid lines gain, dashed lines quality, one colour per order. "
            "A target without a network of its own has no quality line.",
        )
    )
    return section


def savings_section(results: RunResults, out: Path) -> Section:
    section = Section("savings", "Predicted label savings")
    savings = curves.label_savings(results.solutions)
    quality = {(e.budget, e.max_order): e.mean_quality for e in results.evaluations}
    if not savings:
        section.blocks.append(Note("No solved taxonomy, so no savings to show."))
        return section
    known = "evaluation.json has it" if results.origin is None else "win rates are known"
    section.blocks.append(
        Figure(
            curves.plot_savings(savings, out / "label_savings.png", quality or None),
            "label savings",
            "Left: targets solved against the number of tasks supervised with full labels; the "
            "dotted diagonal is the usual practice of one labelled network per target, so the "
            "height above it is the saving. Right: the share of per-target labelled networks "
            "each taxonomy does without (counted in tasks, not label cost), with the mean "
            f"quality it keeps (dashed, right axis) where {known}.",
        )
    )
    return section
