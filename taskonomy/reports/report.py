"""``write_report``: every figure of a work directory and the page that explains them."""

from __future__ import annotations

from pathlib import Path

from taskonomy.reports import affinity, curves, taxonomy
from taskonomy.reports._data import RunResults, load_results
from taskonomy.reports._summary import fmt, missing_note, overview_section, plan_section
from taskonomy.reports.html import Figure, Note, Raw, Section, Table, esc, render_page


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
    out = out_dir if out_dir is not None else workdir / "report"
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.png"):
        stale.unlink()  # figures of an earlier report that this one may not redraw

    tasks = results.task_order()
    tree = None
    sections: list[Section] = [overview_section(results)]
    table = results.affinities or results.raw_affinities
    if table is not None:
        tree = affinity.similarity_tree(affinity.first_order(table, tasks))
        tasks = [*tree.leaves, *(t for t in tasks if t not in tree.leaves)]
    sections.append(_affinity_section(results, tasks, tree, out))
    sections.append(_tree_section(tree, out))
    sections.append(_taxonomy_section(results, tasks, out))
    sections.append(_scores_section(results, tasks, out))
    sections.append(_savings_section(results, out))
    sections.append(plan_section(results, out))

    name = str((results.spec or results.plan or {}).get("name") or workdir.name)
    lead = (
        f"Results of the Taskonomy run <code>{esc(name)}</code> read from "
        f"<code>{esc(workdir)}</code>. Tasks appear in the order of the task similarity "
        "tree in every figure."
    )
    index = out / "index.html"
    index.write_text(render_page(f"Taskonomy report: {name}", lead, sections), encoding="utf-8")
    return index


def _affinity_section(
    results: RunResults, tasks: list[str], tree: affinity.SimilarityTree | None, out: Path
) -> Section:
    section = Section(
        "affinities",
        "Affinity matrix, before and after AHP",
        "Rows are targets, columns the source whose frozen representation the transfer "
        "reads; the outlined diagonal cell is the target's own fully supervised network "
        "(<code>self</code>) and the last column the readout trained from pixels (scratch). "
        "Grey cells have no transfer. Rows and columns follow the similarity tree, so "
        "blocks of bright cells are groups of tasks that help each other.",
    )
    leaves = tree.leaves if tree is not None else tasks
    for name, table, title, bar, caption in (
        (
            "raw_affinities.json",
            results.raw_affinities,
            "first-order win rates (before AHP)",
            "win rate of the transfer",
            "Before AHP: the raw tournament result of every first-order transfer, the "
            "fraction of pairwise comparisons on test images it won. Each target's losses "
            "are on their own scale; win rates are comparable within a row only.",
        ),
        (
            "affinities.json",
            results.affinities,
            "first-order affinities P (after AHP)",
            "AHP score p (each target's candidates sum to 1)",
            "After AHP: the principal eigenvector of each target's reciprocal win-ratio "
            "matrix W' (first- and higher-order transfers, self and pixels compete "
            "together; only first-order entries are shown). This is the matrix the binary "
            "integer program maximises over.",
        ),
    ):
        if table is None:
            section.blocks.append(missing_note(results, name, "its heatmap is omitted."))
            continue
        fo = affinity.reorder(affinity.first_order(table, tasks), leaves)
        if not fo.targets:
            section.blocks.append(
                Note(f"<code>{esc(name)}</code> has no first-order entries; nothing to draw.")
            )
            continue
        stem = "affinity_before_ahp" if name.startswith("raw") else "affinity_after_ahp"
        png = affinity.plot_heatmap(fo, out / f"{stem}.png", title=title, bar_label=bar)
        section.blocks.append(Figure(png, title, caption))
    return section


def _tree_section(tree: affinity.SimilarityTree | None, out: Path) -> Section:
    section = Section("tree", "Task similarity tree")
    png = affinity.plot_dendrogram(tree, out / "similarity_tree.png") if tree else None
    if png is None:
        section.blocks.append(
            Note("No tree: it needs first-order affinities of at least two source tasks.")
        )
        return section
    section.blocks.append(
        Figure(
            png,
            "task similarity tree",
            "Agglomerative clustering (average linkage) of the columns of P: two sources "
            "join early when they transfer well to the same targets. In the paper 3D, 2D, "
            "low-dimensional geometric and semantic tasks form separate branches. Its leaf "
            "order is the order of tasks in every other figure.",
        )
    )
    return section


def _taxonomy_section(results: RunResults, tasks: list[str], out: Path) -> Section:
    section = Section(
        "taxonomies",
        "Taxonomies over budgets and orders",
        "One panel per (budget γ, maximum order) the solver was asked for; every panel puts "
        "each task at the same place on the circle. Filled nodes are the sources the "
        "taxonomy supervises; a thick ring marks a target solved by its own network; every "
        "other target has one incoming edge from the transfer chosen for it. A transfer "
        "from two or more sources joins them at a small junction node first. Infeasible "
        "or failed solves are shown greyed with the solver's reason.",
    )
    if not results.solutions:
        section.blocks.append(missing_note(results, "taxonomy.json", "no taxonomy to draw."))
        return section
    for png in taxonomy.plot_taxonomy_grids(results.solutions, tasks, out):
        order = png.stem.removeprefix("taxonomy_order")
        section.blocks.append(
            Figure(
                png,
                f"taxonomies, order ≤ {order}",
                f"Taxonomies with transfers of order at most {order}, by increasing budget.",
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
                ", ".join(s.supervised) or "–",
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
    section.blocks.append(
        Table(
            [
                "order",
                "budget",
                "status",
                "supervised",
                "targets",
                "objective",
                "gap",
                "mean gain",
                "mean quality",
                "solver",
                "seconds",
                "reason",
            ],
            rows,
            numeric=frozenset({0, 1, 4, 5, 6, 7, 8, 10}),
            bad_rows=frozenset(bad),
        )
    )
    details = []
    for s in sorted(results.solutions, key=lambda s: (s.max_order, s.budget)):
        if s.solved:
            edges = "; ".join(f"{t} ← {' + '.join(src)}" for t, src in sorted(s.edges.items()))
            details.append(f"<li>order ≤ {s.max_order}, budget {s.budget:g}: {esc(edges)}</li>")
    section.blocks.append(
        Raw(
            f"<details><summary>Chosen transfer of every target</summary><ul>"
            f"{''.join(details)}</ul></details>"
        )
    )
    return section


def _scores_section(results: RunResults, tasks: list[str], out: Path) -> Section:
    section = Section(
        "scores",
        "Gain and quality against budget",
        "Gain is the win rate of the chosen transfer against a readout trained from scratch "
        "on the same small data (above 0.5: the transfer helps); quality is its win rate "
        "against the target's own fully supervised network (0.5 when the target is solved "
        "by it). Both are measured on test images.",
    )
    if not results.evaluations:
        section.blocks.append(
            missing_note(results, "evaluation.json", "gain and quality cannot be plotted.")
        )
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
            curves.plot_target_scores(results.evaluations, tasks, out / "scores_per_target.png"),
            "gain and quality per target",
            "The same per target: solid lines gain, dashed lines quality, one colour per order. "
            "A target without a network of its own has no quality line.",
        )
    )
    return section


def _savings_section(results: RunResults, out: Path) -> Section:
    section = Section("savings", "Predicted label savings")
    savings = curves.label_savings(results.solutions)
    quality = {(e.budget, e.max_order): e.mean_quality for e in results.evaluations}
    if not savings:
        section.blocks.append(Note("No solved taxonomy, so no savings to show."))
        return section
    section.blocks.append(
        Figure(
            curves.plot_savings(savings, out / "label_savings.png", quality or None),
            "label savings",
            "Left: targets solved against the number of tasks supervised with full labels; the "
            "dotted diagonal is the usual practice of one labelled network per target, so the "
            "height above it is the saving. Right: the share of per-target labelled networks "
            "each taxonomy does without (counted in tasks, not label cost), with the mean "
            "quality it keeps where evaluation.json has it.",
        )
    )
    return section
