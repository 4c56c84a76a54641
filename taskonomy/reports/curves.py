"""Line and bar charts: gain and quality against budget, label savings, run statistics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from taskonomy.reports._data import Evaluation
from taskonomy.reports._figures import (
    MUTED,
    SUPERVISED,
    TRANSFER,
    new_figure,
    order_colour,
    save,
    style,
)
from taskonomy.reports._tasks import TaskStyle
from taskonomy.solvers.result import Solution


def _by_order(evaluations: Sequence[Evaluation]) -> dict[int, list[Evaluation]]:
    groups: dict[int, list[Evaluation]] = {}
    for ev in sorted(evaluations, key=lambda e: (e.max_order, e.budget)):
        groups.setdefault(ev.max_order, []).append(ev)
    return groups


def _win_rate_axes(ax: Axes, ylabel: str, reference: str) -> None:
    """Win-rate axes with the 0.5 line labelled in the right margin, where no curve runs."""
    ax.axhline(0.5, color=MUTED, ls=":", lw=1)
    ax.annotate(
        reference,
        xy=(1.0, 0.5),
        xycoords=ax.get_yaxis_transform(),
        xytext=(4, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=9,
        color="#707070",
        annotation_clip=False,
    )
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("supervision budget γ")
    ax.grid(alpha=0.25)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _line_style(rank: int, count: int) -> dict[str, Any]:
    """Lower orders drawn wider underneath, so a higher order that gives the same
    values leaves them visible as an outline."""
    wider = count - 1 - rank
    return {"lw": 1.5 + 1.2 * wider, "ms": 4.5 + 2.0 * wider, "zorder": 2 + rank}


def plot_mean_scores(evaluations: Sequence[Evaluation], path: Path) -> Path:
    """Mean gain and mean quality over targets against budget, one line per order."""
    with style():
        fig = new_figure(9.0, 3.6)
        gain_ax, quality_ax = fig.subplots(1, 2)
        groups = _by_order(evaluations)
        for rank, (order, group) in enumerate(groups.items()):
            budgets = [e.budget for e in group]
            kw: dict[str, Any] = {
                "color": order_colour(order),
                "marker": "o",
                **_line_style(rank, len(groups)),
            }
            gain_ax.plot(budgets, [e.mean_gain for e in group], label=f"order ≤ {order}", **kw)
            quality_ax.plot(
                budgets, [e.mean_quality for e in group], label=f"order ≤ {order}", **kw
            )
        _win_rate_axes(gain_ax, "mean gain (win rate vs scratch)", "as good as\nscratch")
        _win_rate_axes(
            quality_ax, "mean quality (win rate vs own network)", "as good as\nown network"
        )
        gain_ax.set_title("gain against budget")
        quality_ax.set_title("quality against budget")
        gain_ax.legend(frameon=False, loc="lower right")
        fig.tight_layout()
        return save(fig, path)


def plot_target_scores(
    evaluations: Sequence[Evaluation],
    targets: Sequence[str],
    path: Path,
    *,
    columns: int = 4,
    tasks: TaskStyle | None = None,
) -> Path:
    """Gain (solid) and quality (dashed) of every target against budget, one colour per order.

    Panel titles are the targets' readable labels in their family's colour.
    """
    tasks = tasks or TaskStyle()
    targets = [t for t in targets if any(t in e.targets for e in evaluations)]
    cols = max(1, min(columns, len(targets)))
    rows = max(1, math.ceil(len(targets) / cols))
    groups = _by_order(evaluations)
    many = len({e.budget for e in evaluations}) > 12  # markers would hide the lines
    # Fixed margins (inches) instead of tight_layout, which is slow with many panels.
    width, height = 2.3 * cols + 0.8, 2.0 * rows + 1.2
    left, right, top, bottom = 0.65, 0.15, 0.3, 0.9
    with style():
        fig = new_figure(width, height)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
        fig.subplots_adjust(
            left=left / width,
            right=1 - right / width,
            top=1 - top / height,
            bottom=bottom / height,
            wspace=0.08,
            hspace=0.32,
        )
        for ax, target in zip(axes.flat, targets, strict=False):
            for rank, (order, group) in enumerate(groups.items()):
                points = [(e.budget, e.targets[target]) for e in group if target in e.targets]
                xs = [b for b, _ in points]
                colour = order_colour(order)
                wider = len(groups) - 1 - rank  # lower orders wider, underneath
                ax.plot(
                    xs,
                    [s.gain for _, s in points],
                    color=colour,
                    marker="None" if many else "o",
                    ms=3 + 2 * wider,
                    lw=1.3 + 1.2 * wider,
                    zorder=2 + rank,
                )
                ax.plot(
                    xs,
                    [s.quality for _, s in points],
                    color=colour,
                    ls="--",
                    marker="None" if many else "s",
                    ms=2.5 + 2 * wider,
                    lw=1.1 + 1.2 * wider,
                    zorder=2 + rank,
                )
            ax.axhline(0.5, color=MUTED, ls=":", lw=0.8)
            ax.set_title(tasks.label(target), fontsize=9.5, color=tasks.colour(target))
            ax.set_ylim(-0.04, 1.04)
            ax.grid(alpha=0.2)
        for ax in list(axes.flat)[len(targets) :]:
            ax.axis("off")
        # The lowest drawn panel of each column carries the budget axis.
        for c in range(cols):
            last = max(r for r in range(rows) if r * cols + c < len(targets))
            axes[last][c].xaxis.set_tick_params(labelbottom=True)
            axes[last][c].set_xlabel("budget γ")
        for row in axes:
            row[0].set_ylabel("win rate")
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=order_colour(k), label=f"order ≤ {k}") for k in groups]
        handles += [
            Line2D([], [], color="black", label="gain (vs scratch)"),
            Line2D([], [], color="black", ls="--", label="quality (vs own network)"),
        ]
        fig.legend(
            handles=handles,
            loc="lower center",
            ncols=min(len(handles), 6),
            frameon=False,
            fontsize=9,
            bbox_to_anchor=(0.5, 0.0),
        )
        return save(fig, path)


@dataclass(frozen=True)
class Savings:
    budget: float
    max_order: int
    supervised: int
    targets: int

    @property
    def saved(self) -> float:
        """Fraction of per-target networks not trained (one network per target is 0)."""
        return 1.0 - self.supervised / self.targets if self.targets else 0.0


def label_savings(solutions: Sequence[Solution]) -> list[Savings]:
    return [
        Savings(s.budget, s.max_order, len(s.supervised), len(s.edges))
        for s in sorted(solutions, key=lambda s: (s.max_order, s.budget))
        if s.solved
    ]


def plot_savings(
    savings: Sequence[Savings],
    path: Path,
    quality: Mapping[tuple[float, int], float] | None = None,
) -> Path:
    """Targets solved against supervised tasks, and the share of labels saved per budget.

    ``quality`` maps (budget, max order) to the taxonomy's mean quality, drawn as a dashed
    line per order against a right-hand axis (numbers on the bars would collide).
    """
    from matplotlib.lines import Line2D

    orders = sorted({s.max_order for s in savings})
    with style():
        fig = new_figure(9.0, 3.8)
        ax, bar_ax = fig.subplots(1, 2)
        top = max([s.targets for s in savings] + [s.supervised for s in savings] + [1])
        ax.plot([0, top], [0, top], color=MUTED, ls=":", lw=1, label="one network per target")
        for rank, order in enumerate(orders):
            group = [s for s in savings if s.max_order == order]
            wider = len(orders) - 1 - rank  # lower orders larger, underneath
            ax.plot(
                [s.supervised for s in group],
                [s.targets for s in group],
                marker="o",
                ms=5 + 3 * wider,
                ls="-",
                lw=1 + 1.5 * wider,
                color=order_colour(order),
                label=f"order ≤ {order}",
                zorder=2 + rank,
            )
        ax.set_xlabel("supervised tasks (trained with full labels)")
        ax.set_ylabel("targets solved")
        ax.set_xlim(-0.3, top + 0.5)
        ax.set_ylim(0, top + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(frameon=False, loc="lower right")
        ax.set_title("targets solved per supervised task")
        budgets = sorted({s.budget for s in savings})
        width = 0.8 / max(len(orders), 1)
        known = {k: q for k, q in (quality or {}).items() if np.isfinite(q)}
        q_ax = bar_ax.twinx() if known else None
        for k, order in enumerate(orders):
            by_budget = {s.budget: s.saved for s in savings if s.max_order == order}
            xs = np.arange(len(budgets)) + (k - (len(orders) - 1) / 2) * width
            ys = [100 * by_budget.get(b, np.nan) for b in budgets]
            bar_ax.bar(xs, ys, width=width, color=order_colour(order), label=f"order ≤ {order}")
            if q_ax is not None:
                q_ax.plot(
                    np.arange(len(budgets)),
                    [known.get((b, order), np.nan) for b in budgets],
                    color=order_colour(order),
                    ls="--",
                    lw=1.4,
                    marker="o" if len(budgets) <= 12 else "None",
                    ms=4,
                    mfc="white",
                )
        step = max(1, math.ceil(len(budgets) / 14))
        ticks = range(0, len(budgets), step)
        bar_ax.set_xticks(list(ticks), [f"{budgets[i]:g}" for i in ticks])
        bar_ax.set_xlabel("supervision budget γ")
        bar_ax.set_ylabel("labelled networks saved (%)")
        bar_ax.set_ylim(0, 100)
        if q_ax is not None:
            q_ax.set_ylim(0, 1)
            q_ax.set_ylabel("mean quality (dashed)")
            q_ax.spines["top"].set_visible(False)
            bar_ax.set_title("predicted label savings and mean quality")
            handles = [Line2D([], [], color="#444444", ls="--", lw=1.4, label="mean quality")]
            q_ax.legend(handles=handles, frameon=False, loc="upper right")
        else:
            bar_ax.set_title("predicted label savings")
        for a in (ax, bar_ax):
            a.grid(alpha=0.25)
            for side in ("top", "right"):
                a.spines[side].set_visible(False)
        fig.tight_layout()
        return save(fig, path)


@dataclass(frozen=True)
class StageStats:
    """Summed job time and GPU time of one stage, used (None if not run) and estimated."""

    stage: str
    jobs: int
    seconds: float | None
    est_seconds: float
    gpu_seconds: float | None
    est_gpu_seconds: float


def stage_stats(plan: Mapping[str, Any] | None, run: Mapping[str, Any] | None) -> list[StageStats]:
    """Per stage, in plan order: estimates from ``plan.json``, use from ``run.json``."""
    rows: dict[str, dict[str, float]] = {}
    for stage, est in ((plan or {}).get("stages") or {}).items():
        rows[str(stage)] = {
            "jobs": float(est.get("jobs", 0)),
            "est_seconds": 3600.0 * float(est.get("est_hours", 0.0)),
            "est_gpu_seconds": 3600.0 * float(est.get("est_gpu_hours", 0.0)),
        }
    plan_est_gpu = {
        str(j.get("id")): float(j.get("est_gpu_seconds") or 0.0)
        for j in (plan or {}).get("jobs") or []
    }
    used: dict[str, dict[str, float]] = {}
    for job_id, job in ((run or {}).get("jobs") or {}).items():
        stage = str(job.get("stage") or job.get("kind") or "other")
        row = used.setdefault(
            stage,
            {
                "jobs": 0.0,
                "seconds": 0.0,
                "gpu_seconds": 0.0,
                "est_seconds": 0.0,
                "est_gpu_seconds": 0.0,
            },
        )
        row["jobs"] += 1
        row["seconds"] += float(job.get("seconds") or 0.0)
        row["gpu_seconds"] += float(job.get("gpu_seconds") or 0.0)
        row["est_seconds"] += float(job.get("est_seconds") or 0.0)
        row["est_gpu_seconds"] += plan_est_gpu.get(str(job_id), 0.0)
    out = []
    for stage in [*rows, *(s for s in used if s not in rows)]:
        est = rows.get(stage) or used[stage]
        got = used.get(stage)
        out.append(
            StageStats(
                stage=stage,
                jobs=int(est["jobs"]),
                seconds=got["seconds"] if got else None,
                est_seconds=est["est_seconds"],
                gpu_seconds=got["gpu_seconds"] if got else None,
                est_gpu_seconds=est["est_gpu_seconds"],
            )
        )
    return out


def _unit(seconds: float) -> tuple[float, str]:
    if seconds >= 2 * 3600:
        return 3600.0, "hours"
    if seconds >= 120:
        return 60.0, "minutes"
    return 1.0, "seconds"


def plot_stages(stats: Sequence[StageStats], path: Path, *, gpu: bool = True) -> Path:
    """Horizontal bars per stage: job time and (with ``gpu``) GPU time, used next to
    estimated. A run on CPUs only gets no GPU panel: it would hold estimates alone."""
    has_run = any(s.seconds is not None for s in stats)
    panels = [("job time", [s.seconds for s in stats], [s.est_seconds for s in stats])]
    if gpu:
        panels.append(
            ("GPU time", [s.gpu_seconds for s in stats], [s.est_gpu_seconds for s in stats])
        )
    with style():
        fig = new_figure(9.5 if gpu else 7.0, 1.4 + 0.34 * len(stats))
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        ys = np.arange(len(stats))
        for ax, (name, used, est) in zip(axes, panels, strict=True):
            biggest = max([*est, *(u for u in used if u is not None), 1.0])
            scale, unit = _unit(biggest)
            ax.barh(
                ys + (0.2 if has_run else 0),
                [e / scale for e in est],
                height=0.4 if has_run else 0.6,
                color=MUTED,
                label="estimated",
            )
            if has_run:
                ax.barh(
                    ys - 0.2,
                    [(u or 0.0) / scale for u in used],
                    height=0.4,
                    color=TRANSFER if name == "job time" else SUPERVISED,
                    label="used",
                )
            ax.set_xlabel(f"{name} ({unit}, summed over jobs)")
            ax.set_title(f"{name} per stage")
            ax.legend(frameon=False, loc="lower right")
            ax.grid(axis="x", alpha=0.25)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[0].set_yticks(ys, [f"{s.stage} ({s.jobs})" for s in stats])
        axes[0].invert_yaxis()
        fig.tight_layout()
        return save(fig, path)
