"""The figures as a reader sees them: text large enough on the page, nothing overlapping,
node labels inside their panel, no label drawn across a curve.

Every figure of two reports is measured with matplotlib's renderer just before it is
saved (:mod:`tests.reports.figure_checks`): the synthetic run of nine tasks, and the
release's 16k table solved at orders 1 and 3, whose 27 tasks take radial labels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from taskonomy.reports import _figures, curves, write_report
from taskonomy.reports._figures import new_figure, style
from taskonomy.reports._marks import Labels
from taskonomy.reports.affinity import cell_text
from taskonomy.reports.curves import Savings
from taskonomy.reports.from_table import write_table_report
from taskonomy.reports.taxonomy import Panel, circle_layout, draw_panel
from taskonomy.solvers.result import Solution, SolveStatus

from .figure_checks import Audit, audit, measure

__all__ = ["audit"]  # the fixture, imported for the tests below


def test_every_figure_of_a_run_reads_well(audit: Audit, mini_run: Path, tmp_path: Path) -> None:
    write_report(mini_run, tmp_path / "report")
    assert {"label_savings.png", "taxonomy_order2.png", "affinity_after_ahp.png"} <= set(
        audit.figures
    )
    assert audit.problems() == []


def test_every_figure_of_a_large_table_reads_well(audit: Audit, tmp_path: Path) -> None:
    write_table_report("paper:16k", tmp_path / "report", orders=[1, 3], budgets=[1, 2, 3, 5])
    assert "taxonomy_order3.png" in audit.figures
    assert audit.problems() == []
    labels = [
        pt for name, fig in audit.figures.items() if "taxonomy" in name for _, pt in fig.sizes
    ]
    assert len(labels) > 27  # the radial labels were measured too


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    """Guards against a silent no-op: small, overlapping, spilling and on-curve text."""
    with style():
        fig = new_figure(12.0, 3.0)  # wider than the page: shrunk
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1])
        ax.text(0.5, 0.5, "on the line", fontsize=9)
        ax.text(0.1, 0.9, "small", fontsize=7)
        ax.text(0.1, 0.9, "small twin", fontsize=9)
        found = measure(fig, "bad.png")
    assert any(t == "small" and pt < 9 for t, pt in found.sizes)
    assert ("small", "small twin") in found.overlaps
    assert "on the line" in found.on_curves
    audit_ = Audit({"bad.png": found})
    assert any("page shrinks it" in p for p in audit_.problems())

    solution = Solution(
        1.0, 1, "highs", SolveStatus.OPTIMAL, 1.0, supervised=["a"], edges={"b": ["a"]}
    )
    with style():
        fig = new_figure(3.0, 2.0)
        ax = fig.subplots()
        fig.subplots_adjust(0, 0, 1, 0.8)
        draw_panel(ax, Panel(solution, (1.0,)), circle_layout(["a", "b"]), font=9)
        labels = next(c for c in ax.collections if isinstance(c, Labels))
        assert labels.fontsize == 9
        assert measure(fig, "panel.png").outside == []
        ax.set_xlim(-0.5, 0.5)  # zoomed in: the labels now leave the panel
        ax.set_ylim(-0.5, 0.5)
        assert measure(fig, "zoomed.png").outside


@pytest.mark.parametrize(
    ("value", "text"), [(0.43, "0.43"), (0.0003, "3e-4"), (0.0, "0.00"), (1.0, "1.00")]
)
def test_heatmap_cells_show_small_values_in_four_characters(value: float, text: str) -> None:
    assert cell_text(value) == text


def test_savings_with_many_orders_and_budgets_have_no_colliding_text(
    audit: Audit, tmp_path: Path
) -> None:
    savings = [Savings(float(b), k, min(b, 5), 12) for k in (1, 2, 3) for b in range(1, 9)]
    quality = {(float(b), k): 0.3 + 0.05 * b for k in (1, 2, 3) for b in range(1, 9)}
    curves.plot_savings(savings, tmp_path / "label_savings.png", quality)
    assert audit.problems() == []
    texts = [t for t, _ in audit.figures["label_savings.png"].sizes]
    assert "mean quality (dashed)" in texts


def test_stage_times_of_a_cpu_run_have_no_gpu_panel(audit: Audit, tmp_path: Path) -> None:
    stats = [curves.StageStats("encoder", 2, 30.0, 20.0, 0.0, 20.0)]
    curves.plot_stages(stats, tmp_path / "cpu.png", gpu=False)
    curves.plot_stages(stats, tmp_path / "gpu.png")
    cpu = {t for t, _ in audit.figures["cpu.png"].sizes}
    gpu = {t for t, _ in audit.figures["gpu.png"].sizes}
    assert "GPU time per stage" in gpu and "GPU time per stage" not in cpu
    assert audit.problems() == []
    assert _figures.shown_points(_figures.MIN_FONT, _figures.PAGE_WIDTH_IN) >= 9
