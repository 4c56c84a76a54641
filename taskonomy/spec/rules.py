"""Cross-field rules of a spec, and the resolved view of its task dictionary.

Pydantic checks each field on its own; the rules here need several (a taxonomy order
above the transfer order, a target that cannot have labels, ...). A violation raises
:class:`SpecRuleError`, which carries the dotted path of the offending value so that the
loader can point at the YAML line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from taskonomy.tasks.bank import OutputKind, Role, TaskInfo, builtin_task
from taskonomy.tasks.registry import TaskKindError, resolve_task_kind

if TYPE_CHECKING:
    from taskonomy.spec.models import Spec


class SpecRuleError(ValueError):
    """A cross-field rule failed at ``path`` (a tuple of keys and list indices)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class ResolvedTask:
    """A task with every default filled in from its kind."""

    name: str
    kind: str
    info: TaskInfo
    role: Role
    label_cost: float
    importance: float

    @property
    def is_source(self) -> bool:
        return self.role.is_source

    @property
    def is_target(self) -> bool:
        return self.role.is_target


def resolve_tasks(spec: Spec) -> list[ResolvedTask]:
    """The spec's tasks with kinds resolved and defaults applied, in spec order.

    A built-in task gets the label space of ``spec.dataset.kind`` (the mini generator's,
    or the real release's own: :func:`taskonomy.tasks.bank.builtin_task`), so the plan's
    task parameters, the decoders built from them and the dataset reader all see one
    definition. A user's task is used as it is.
    """
    out = []
    for i, task in enumerate(spec.tasks):
        try:
            info = builtin_task(task.kind_name, spec.dataset.kind) or resolve_task_kind(
                task.kind_name
            )
        except TaskKindError as exc:
            raise SpecRuleError(("tasks", i, "kind" if task.kind else "name"), str(exc)) from exc
        role = task.role or info.default_role
        if role.is_target and (info.output is OutputKind.NONE or not info.trainable):
            raise SpecRuleError(
                ("tasks", i, "role"),
                f"task {task.name!r} ({info.name}) has no labels, so it can only be a source; "
                "set role: source",
            )
        if not info.mini and spec.dataset.kind == "mini":
            raise SpecRuleError(
                ("tasks", i, "kind" if task.kind else "name"),
                f"task {task.name!r} ({info.name}) needs the real Taskonomy data "
                f"({info.views} view(s) per sample); the mini generator has no labels for it. "
                "Drop the task or set dataset.kind: taskonomy with dataset.root",
            )
        cost = info.label_cost if task.label_cost is None else task.label_cost
        out.append(ResolvedTask(task.name, task.kind_name, info, role, cost, task.importance))
    return out


def check_spec(spec: Spec) -> None:
    """Raise :class:`SpecRuleError` for the first violated cross-field rule."""
    seen: dict[str, int] = {}
    for i, task in enumerate(spec.tasks):
        if task.name in seen:
            raise SpecRuleError(
                ("tasks", i, "name"),
                f"task {task.name!r} is listed twice (also tasks.{seen[task.name]}); "
                "give each task a unique name",
            )
        seen[task.name] = i
    tasks = resolve_tasks(spec)
    if not any(t.is_source for t in tasks):
        raise SpecRuleError(("tasks",), "no task is a source; mark at least one role: source")
    if not any(t.is_target for t in tasks):
        raise SpecRuleError(("tasks",), "no task is a target; mark at least one role: target")
    max_order = spec.transfers.max_order
    for j, order in enumerate(spec.taxonomy.orders or []):
        if order > max_order:
            raise SpecRuleError(
                ("taxonomy", "orders", j),
                f"taxonomy order {order} exceeds transfers.max_order {max_order}; "
                f"raise transfers.max_order or drop the order",
            )
    if spec.dataset.buildings is not None and spec.dataset.kind != "taskonomy":
        raise SpecRuleError(
            ("dataset", "buildings"), "dataset.buildings applies only to dataset.kind taskonomy"
        )
    _check_representation(spec)


def _check_representation(spec: Spec) -> None:
    """The encoder must reach the representation's grid from the image by halvings."""
    size, rep = spec.dataset.image_size, spec.model.representation.size
    enc = spec.model.encoder
    path = ("model", "representation", "size")
    stride = size // rep if rep and size % rep == 0 else 0
    if stride < 1 or stride & (stride - 1):
        raise SpecRuleError(
            path,
            f"dataset.image_size {size} / representation size {rep} must be a power of two "
            f"(the encoder halves the resolution per stage); e.g. size {max(1, size // 8)}",
        )
    if enc.family == "resnet50" and stride not in (8, 16, 32):
        sizes = [size // s for s in (8, 16, 32) if size % s == 0]
        raise SpecRuleError(
            path, f"resnet50 reaches strides 8, 16 or 32, not {stride}: use a size in {sizes}"
        )
    if enc.family == "resnet_mini" and stride > 2 ** len(enc.blocks):
        raise SpecRuleError(
            path,
            f"resnet_mini with {len(enc.blocks)} stage(s) reaches stride at most "
            f"{2 ** len(enc.blocks)}, but image_size {size} -> size {rep} needs {stride}: "
            "add a stage to model.encoder.blocks or raise the representation size",
        )


def first_order_sources(spec: Spec, tasks: list[ResolvedTask]) -> dict[str, int]:
    """Per target, how many first-order sources transfer into it."""
    sources = [t.name for t in tasks if t.is_source]
    own = spec.transfers.include_own_encoder
    return {t.name: sum(1 for s in sources if s != t.name or own) for t in tasks if t.is_target}


def spec_warnings(spec: Spec) -> list[str]:
    """Settings of a valid spec that cannot have the effect they ask for."""
    out: list[str] = []
    tr, tax, ex = spec.transfers, spec.taxonomy, spec.executor
    for order in sorted(tr.beam_per_order):
        if order > tr.max_order:
            out.append(
                f"transfers.beam_per_order.{order} has no effect: transfers.max_order is "
                f"{tr.max_order}, so no order-{order} transfer is trained"
            )
    n_first = max(first_order_sources(spec, resolve_tasks(spec)).values(), default=0)
    if tr.max_order >= 2 and "beam" in tr.model_fields_set and tr.beam > n_first:
        out.append(
            f"transfers.beam {tr.beam} is more than the {n_first} first-order source(s) a "
            f"target has; higher orders combine all {n_first}"
        )
    if "max_order" in tr.model_fields_set and tr.max_order > n_first:
        out.append(
            f"transfers.max_order {tr.max_order} is more than the {n_first} first-order "
            f"source(s) a target has: no target gets a transfer of order above {n_first}"
        )
    if tax.orders is not None and tr.max_order > max(tax.orders):
        unsolved = list(range(max(tax.orders) + 1, tr.max_order + 1))
        out.append(
            f"transfers of order {', '.join(map(str, unsolved))} are trained (transfers."
            f"max_order {tr.max_order}) but taxonomy.orders {tax.orders} solves no taxonomy "
            f"of that order; add them to taxonomy.orders (e.g. taxonomy.orders="
            f"{list(range(1, tr.max_order + 1))}) or lower transfers.max_order"
        )
    if ex.kind == "local":
        slurm = sorted(
            name
            for name in ("slurm_partition", "slurm_account", "slurm_qos", "slurm_jobs_per_task")
            if getattr(ex, name) is not None
        )
        if slurm or ex.slurm_extra_flags or ex.slurm_array_parallelism is not None:
            names = slurm + (["slurm_extra_flags"] if ex.slurm_extra_flags else [])
            names += ["slurm_array_parallelism"] if ex.slurm_array_parallelism else []
            out.append(
                f"executor.{', executor.'.join(sorted(names))} has no effect with "
                "executor.kind local (set executor.kind=slurm to use it)"
            )
    return out
