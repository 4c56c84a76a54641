"""Compile a validated spec into a plan: the job graph of the four stages in docs/method.md.

Stage I: ``dataset``; ``encoder/<s>`` per source; ``features/<s>`` per source when
features are cached. Stage II: ``scratch/<t>`` per target; ``transfer/1/<s>-><t>`` per
first-order pair; ``rank/<t>`` per target; ``transfer/<k>/<t>/<slot>`` for the pruned
higher orders; ``evaluate/...`` per trained model. Stage III: ``affinity/<t>``.
Stage IV: ``taxonomy/o<k>/b<budget>`` per (order, budget); ``assess`` (gain and quality
of every taxonomy); ``report``.

The function is pure: no file system, no torch, no solver. Same spec, same plan hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskonomy._hashing import content_hash
from taskonomy.budgets import budget_label
from taskonomy.errors import PlanError
from taskonomy.kinds import JobKind
from taskonomy.planner.cost import CostModel
from taskonomy.planner.graph import execution_order
from taskonomy.planner.jobs import Job, Plan, Resources, job_hash
from taskonomy.planner.pruning import PlanSize, plan_size, slot_count
from taskonomy.spec.models import Spec, StageTraining
from taskonomy.spec.rules import ResolvedTask, resolve_tasks
from taskonomy.tasks.bank import BUILTIN_TASKS, DATA_VERSION

__all__ = [
    "DEFAULT_RESOURCES",
    "PlanSizeError",
    "budget_label",
    "build_plan",
    "check_plan_size",
    "derive_seed",
]

#: Default neutral resources per job kind: (gpus, cpus, mem_gb, time_min).
DEFAULT_RESOURCES: dict[JobKind, tuple[int, int, float, int]] = {
    JobKind.DATASET: (0, 4, 16.0, 120),
    JobKind.ENCODER: (1, 8, 32.0, 24 * 60),
    JobKind.FEATURES: (1, 4, 16.0, 60),
    JobKind.SCRATCH: (1, 4, 16.0, 120),
    JobKind.TRANSFER: (1, 4, 16.0, 120),
    JobKind.RANK: (0, 1, 4.0, 10),
    JobKind.EVALUATE: (1, 4, 16.0, 30),
    JobKind.AFFINITY: (0, 1, 4.0, 10),
    JobKind.TAXONOMY: (0, 2, 4.0, 30),
    JobKind.ASSESS: (0, 1, 8.0, 30),
    JobKind.BOOTSTRAP: (0, 2, 8.0, 60),
    JobKind.REPORT: (0, 1, 8.0, 30),
}


def derive_seed(base: int, job_id: str) -> int:
    """A per-job seed from the spec's seed, stable across machines and Python versions."""
    return int(content_hash({"seed": base, "job": job_id})[:8], 16)


class PlanSizeError(PlanError):
    """The spec would compile to more jobs than its ``max_jobs``.

    Attributes:
        path: the spec setting that contributes most (to point the user at its line).
        message: the explanation, without the location.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{'.'.join(map(str, path))}: {message}")
        self.path = path
        self.message = message


def check_plan_size(spec: Spec, calibration: Mapping[str, float] | None = None) -> PlanSize:
    """Count ``spec``'s plan in closed form and refuse it above ``spec.max_jobs``.

    Raises:
        PlanSizeError: with the counts, the estimated GPU-hours, the setting that
            drives the count and how to raise the limit.
    """
    size = plan_size(spec, resolve_tasks(spec))
    if size.total <= spec.max_jobs:
        return size
    cost = CostModel(spec, dict(calibration or {}))
    splits, training = spec.dataset.splits, spec.training
    per_transfer = cost.training_seconds(JobKind.TRANSFER, training.transfer, splits.transfer_train)
    per_eval = cost.forward_seconds(JobKind.EVALUATE, splits.test)
    hours = (sum(size.transfers.values()) * per_transfer + size.evaluations * per_eval) / 3600
    higher = sum(n for k, n in size.transfers.items() if k >= 2)
    by_order = ", ".join(f"order {k}: {n:,}" for k, n in size.transfers.items())
    if size.taxonomies > higher and size.taxonomies > size.transfers.get(1, 0):
        path: tuple[str | int, ...] = ("taxonomy", "budgets")
        fix = "solve fewer budgets or orders (e.g. taxonomy.budgets=1-26)"
    elif higher:
        path = ("transfers", "max_order")
        fix = "lower transfers.max_order or transfers.beam (the paper: max_order 4, beam 5)"
    else:
        path = ("tasks",)
        fix = "use fewer tasks"
    raise PlanSizeError(
        path,
        f"the plan would have {size.total:,} jobs, more than max_jobs {spec.max_jobs:,} "
        f"(transfers by {by_order}; {size.evaluations:,} evaluations; "
        f"{size.taxonomies:,} taxonomies), an estimated {hours:,.1f} GPU-hours of "
        f"transfers and evaluations; {fix}, or raise the limit with max_jobs="
        f"{_round_up(size.total)} if you mean it",
    )


def _round_up(n: int) -> int:
    """``n`` rounded up to two significant digits (a limit worth typing)."""
    step: int = 10 ** max(0, len(str(n)) - 2)
    return -(-n // step) * step


class _Builder:
    def __init__(self, spec: Spec, calibration: Mapping[str, float]) -> None:
        self.spec = spec
        self.cost = CostModel(spec, dict(calibration))
        self.tasks = resolve_tasks(spec)
        self.jobs: dict[str, Job] = {}
        self.model = spec.model.model_dump(mode="json")

    def resources(self, kind: JobKind) -> Resources:
        gpus, cpus, mem, time = DEFAULT_RESOURCES[kind]
        ex = self.spec.executor
        r = ex.resources.get(kind)
        return Resources(
            gpus=gpus if r is None or r.gpus is None else r.gpus,
            cpus=cpus if r is None or r.cpus is None else r.cpus,
            mem_gb=mem if r is None or r.mem_gb is None else r.mem_gb,
            time_min=time if r is None or r.time_min is None else r.time_min,
            partition=(r.slurm_partition if r and r.slurm_partition else ex.slurm_partition),
            jobs_per_task=(
                r.slurm_jobs_per_task if r and r.slurm_jobs_per_task else ex.slurm_jobs_per_task
            ),
        )

    def add(
        self,
        job_id: str,
        kind: JobKind,
        params: Mapping[str, Any],
        deps: list[str],
        est_seconds: float,
        *,
        stage: str | None = None,
        order: int | None = None,
        target: str | None = None,
    ) -> str:
        hashes = [self.jobs[d].hash for d in deps]
        self.jobs[job_id] = Job(
            id=job_id,
            kind=kind,
            params=params,
            deps=tuple(deps),
            hash=job_hash(kind, params, hashes),
            stage=stage or str(kind),
            order=order,
            target=target,
            resources=self.resources(kind),
            est_seconds=round(est_seconds, 3),
        )
        return job_id

    def training(self, stage: StageTraining, job_id: str) -> dict[str, Any]:
        base = self.spec.seed if stage.seed is None else stage.seed
        params = stage.model_dump(mode="json", exclude={"seed"})
        return {**params, "seed": derive_seed(base, job_id)}

    def evaluation(
        self, model_job: str, extra: list[str], est: float, target: str, order: int | None
    ) -> str:
        """The job writing per-image test losses of ``model_job`` on ``target``."""
        return self.add(
            f"evaluate/{model_job}",
            JobKind.EVALUATE,
            {"model": model_job, "target": target},
            [model_job, *extra, "dataset"],
            est,
            stage="evaluate",
            order=order,
            target=target,
        )

    @staticmethod
    def task_params(task: ResolvedTask) -> dict[str, Any]:
        # A task's label and family only present it: they must not change job hashes.
        info = {
            k: str(v) if not isinstance(v, (int, float, bool)) else v
            for k, v in vars(task.info).items()
            if k not in ("label", "family")
        }
        return {"name": task.name, "kind": task.kind, "info": info}


def build_plan(spec: Spec, calibration: Mapping[str, float] | None = None) -> Plan:
    """Compile ``spec`` into a :class:`Plan` (pure; see the module docstring).

    Raises:
        PlanSizeError: the plan would have more than ``spec.max_jobs`` jobs.
    """
    check_plan_size(spec, calibration)
    b = _Builder(spec, calibration or {})
    splits = spec.dataset.splits
    sources = [t for t in b.tasks if t.is_source]
    targets = [t for t in b.tasks if t.is_target]
    tr = spec.transfers

    dataset_params = spec.dataset.model_dump(mode="json")
    dataset_params["seed"] = spec.seed if spec.dataset.seed is None else spec.dataset.seed
    dataset_params["data_version"] = DATA_VERSION
    # The dataset holds labels for exactly these tasks, so its artifact depends on them.
    dataset_params["label_tasks"] = sorted({t.kind for t in b.tasks if t.info.trainable})
    # ... and on their label spaces where the dataset kind changes them (the release's own);
    # absent for the mini spaces, so that mini plans keep their hashes.
    spaces = {
        t.kind: f"{t.info.output.value}/{t.info.channels}"
        for t in b.tasks
        if t.info.trainable and t.info != BUILTIN_TASKS.get(t.kind, t.info)
    }
    if spaces:
        dataset_params["label_spaces"] = dict(sorted(spaces.items()))
    data = b.add("dataset", JobKind.DATASET, dataset_params, [], b.cost.dataset_seconds())

    encoder: dict[str, str] = {}
    rep: dict[str, str] = {}  # where a source's frozen representation comes from
    for s in sources:
        jid = f"encoder/{s.name}"
        steps_stage = spec.training.encoder if s.info.trainable else StageTraining(steps=0)
        params: dict[str, Any] = {
            "task": b.task_params(s),
            "model": b.model,
            "train": b.training(steps_stage, jid),
        }
        est = b.cost.training_seconds(JobKind.ENCODER, steps_stage, splits.encoder_train)
        encoder[s.name] = b.add(jid, JobKind.ENCODER, params, [data], est, target=s.name)
        rep[s.name] = encoder[s.name]
        if tr.cache_features:
            n = splits.transfer_train + splits.test
            rep[s.name] = b.add(
                f"features/{s.name}",
                JobKind.FEATURES,
                {"source": s.name, "dtype": "float16"},
                [encoder[s.name], data],
                b.cost.forward_seconds(JobKind.FEATURES, n),
            )

    transfer_params: dict[str, Any] = {
        "readout": b.model["readout"],
        "representation": b.model["representation"],
        "cached": tr.cache_features,
    }
    eval_seconds = b.cost.forward_seconds(JobKind.EVALUATE, splits.test)
    slots: dict[str, dict[int, int]] = {}
    affinity: dict[str, str] = {}
    for t in targets:
        evals: list[str] = []
        target = t.name

        def evaluate(model_job: str, extra: list[str], order: int | None = None) -> None:
            evals.append(b.evaluation(model_job, extra, eval_seconds, target, order))  # noqa: B023

        if t.is_source and tr.baselines.self_:
            evaluate(encoder[t.name], [])
        if tr.baselines.scratch:
            jid = f"scratch/{t.name}"
            est = b.cost.training_seconds(
                JobKind.SCRATCH, spec.training.scratch, splits.transfer_train
            )
            b.add(
                jid,
                JobKind.SCRATCH,
                {
                    "target": b.task_params(t),
                    "model": b.model,
                    "train": b.training(spec.training.scratch, jid),
                },
                [data],
                est,
                target=t.name,
            )
            evaluate(jid, [])

        first = [s for s in sources if s.name != t.name or tr.include_own_encoder]
        transfer_est = b.cost.training_seconds(
            JobKind.TRANSFER, spec.training.transfer, splits.transfer_train
        )
        first_evals: list[str] = []
        for s in first:
            jid = f"transfer/1/{s.name}->{t.name}"
            params = {
                "sources": [s.name],
                "target": b.task_params(t),
                **transfer_params,
                "train": b.training(spec.training.transfer, jid),
            }
            b.add(
                jid,
                JobKind.TRANSFER,
                params,
                [rep[s.name], data],
                transfer_est,
                stage="transfer (order 1)",
                order=1,
                target=t.name,
            )
            evaluate(jid, [rep[s.name]], 1)
            first_evals.append(evals[-1])

        slots[t.name] = {1: len(first)}
        if tr.max_order >= 2 and first:
            rank = b.add(
                f"rank/{t.name}",
                JobKind.RANK,
                {"target": t.name, "method": "ahp-v1"},
                first_evals,
                b.cost.fixed_seconds(JobKind.RANK),
                target=t.name,
            )
            for k in range(2, tr.max_order + 1):
                beam = tr.beam_for(k)
                slots[t.name][k] = slot_count(len(first), k, beam)
                for slot in range(slots[t.name][k]):
                    jid = f"transfer/{k}/{t.name}/{slot:02d}"
                    params = {
                        "order": k,
                        "slot": slot,
                        "beam": beam,
                        "target": b.task_params(t),
                        **transfer_params,
                        "train": b.training(spec.training.transfer, jid),
                    }
                    b.add(
                        jid,
                        JobKind.TRANSFER,
                        params,
                        [rank, data],
                        transfer_est,
                        stage=f"transfer (order {k})",
                        order=k,
                        target=t.name,
                    )
                    evaluate(jid, [], k)
        affinity[t.name] = b.add(
            f"affinity/{t.name}",
            JobKind.AFFINITY,
            {"target": t.name, "clip": [0.001, 0.999], "method": "ahp-v1"},
            evals,
            b.cost.fixed_seconds(JobKind.AFFINITY),
            target=t.name,
        )

    tax = spec.taxonomy
    orders = tax.orders or list(range(1, tr.max_order + 1))
    budgets = tax.budgets or [float(i) for i in range(1, len(sources) + 1)]
    costs = {t.name: t.label_cost for t in sources}
    importance = {t.name: t.importance for t in targets}
    taxonomies = []
    for k in sorted(set(orders)):
        for budget in sorted(set(budgets)):
            params = {
                "budget": budget,
                "max_order": k,
                "label_costs": costs,
                "importance": importance,
                "solver": tax.solver,
                "solver_options": tax.solver_options.model_dump(mode="json"),
            }
            taxonomies.append(
                b.add(
                    f"taxonomy/o{k}/b{budget_label(budget)}",
                    JobKind.TAXONOMY,
                    params,
                    list(affinity.values()),
                    b.cost.fixed_seconds(JobKind.TAXONOMY),
                )
            )
    assess = b.add(
        "assess",
        JobKind.ASSESS,
        {"metrics": ["gain", "quality"]},
        [*taxonomies, *affinity.values()],
        b.cost.fixed_seconds(JobKind.ASSESS),
    )
    report_deps = [assess]
    if tax.bootstrap:
        params = {
            "resamples": tax.bootstrap,
            "seed": spec.seed,
            "label_costs": costs,
            "importance": importance,
            "solver": tax.solver,
            "solver_options": tax.solver_options.model_dump(mode="json"),
        }
        est = b.cost.bootstrap_seconds(tax.bootstrap, len(taxonomies), len(affinity))
        deps = [*taxonomies, *affinity.values()]
        report_deps.append(b.add("bootstrap", JobKind.BOOTSTRAP, params, deps, est))
    b.add("report", JobKind.REPORT, {}, report_deps, b.cost.fixed_seconds(JobKind.REPORT))

    order_ids = execution_order(b.jobs.values())
    jobs = {jid: b.jobs[jid] for jid in order_ids}
    plan_hash = content_hash(sorted((j.id, j.hash) for j in jobs.values()))
    return Plan(spec.name, jobs, plan_hash, {t: dict(v) for t, v in slots.items()})
