"""The experiment spec: pydantic models of what a user writes in YAML or builds in Python.

Every model forbids unknown keys (a typo is an error, not a silently ignored setting) and
is frozen, so a validated spec is a value that can be hashed and compared. Cross-field
rules live in :mod:`taskonomy.spec.rules`; loading, overrides and error formatting in
:mod:`taskonomy.spec.loading`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taskonomy.budgets import parse_budgets
from taskonomy.kinds import JobKind
from taskonomy.tasks.bank import Role


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
Name = Annotated[str, Field(min_length=1, max_length=64)]


class TaskSpec(_Model):
    """One task of the dictionary ``V = S ∪ T``.

    ``kind`` names a built-in task (``taskonomy tasks`` lists them) or a user task as an
    import path ``package.module:OBJECT``; it defaults to ``name``. ``role``,
    ``label_cost`` (``l_s`` in the budget constraint) and ``importance`` (``r_t`` in the
    objective) default to the task kind's own defaults.
    """

    name: Name
    kind: str | None = None
    role: Role | None = None
    label_cost: Annotated[float, Field(ge=0)] | None = None
    importance: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value) or "__" in value:
            raise ValueError(
                f"task name {value!r} must be lower-case letters, digits and single "
                "underscores, starting with a letter (names form release keys joined by '__')"
            )
        if value in ("self", "pixels"):
            raise ValueError(f"{value!r} is reserved for a baseline candidate; rename the task")
        return value

    @property
    def kind_name(self) -> str:
        return self.kind or self.name


class SplitSizes(_Model):
    """Images per split: Stage I trains on the large split, Stage II on the small one."""

    encoder_train: Annotated[int, Field(ge=1)] = 2000
    transfer_train: Annotated[int, Field(ge=1)] = 500
    test: Annotated[int, Field(ge=1)] = 500


class DatasetSpec(_Model):
    """Where images come from: the bundled generator (``mini``) or a Taskonomy directory."""

    kind: Literal["mini", "taskonomy"] = "mini"
    root: Path | None = None
    buildings: dict[Literal["encoder_train", "transfer_train", "test"], list[str]] | None = None
    image_size: Annotated[int, Field(ge=16, le=1024)] = 64
    splits: SplitSizes = SplitSizes()
    seed: int | None = None

    @model_validator(mode="after")
    def _root_for_taskonomy(self) -> DatasetSpec:
        if self.kind == "taskonomy" and self.root is None:
            raise ValueError(
                "dataset.kind 'taskonomy' needs dataset.root, the directory holding one "
                "folder per building (set dataset.root=/path/to/taskonomy)"
            )
        if self.image_size % 16:
            raise ValueError(f"image_size {self.image_size} must be a multiple of 16")
        return self


class EncoderSpec(_Model):
    """The task-specific encoder trunk."""

    family: Literal["resnet_mini", "resnet50"] = "resnet_mini"
    width: Annotated[int, Field(ge=4, le=512)] = 32
    blocks: list[Annotated[int, Field(ge=1, le=8)]] = Field(default=[1, 1, 1], min_length=1)


class RepresentationSpec(_Model):
    """The frozen representation ``channels x size x size`` (paper: 8 x 16 x 16 at 256 px)."""

    channels: Annotated[int, Field(ge=1, le=512)] = 8
    size: Annotated[int, Field(ge=1, le=128)] = 8


class ReadoutSpec(_Model):
    """The transfer readout: two conv layers with batch norm, then the target's decoder."""

    hidden: Annotated[int, Field(ge=4, le=1024)] = 64


class ModelSpec(_Model):
    encoder: EncoderSpec = EncoderSpec()
    representation: RepresentationSpec = RepresentationSpec()
    readout: ReadoutSpec = ReadoutSpec()


Precision = Literal["fp32", "bf16", "fp16"]


class StageTraining(_Model):
    """Training settings of one stage; give ``steps`` or ``epochs``, not both."""

    steps: Annotated[int, Field(ge=0)] | None = None
    epochs: Annotated[float, Field(gt=0)] | None = None
    batch_size: Annotated[int, Field(ge=1)] = 32
    lr: Annotated[float, Field(gt=0)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 1e-4
    precision: Precision = "fp32"
    seed: int | None = None

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> StageTraining:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give either steps or epochs, not both")
        return self


def _stage(steps: int) -> StageTraining:
    return StageTraining(steps=steps)


class TrainingSpec(_Model):
    encoder: StageTraining = _stage(1000)
    transfer: StageTraining = _stage(300)
    scratch: StageTraining = _stage(300)


class Baselines(_Model):
    """Extra players in every target's tournament."""

    scratch: bool = True
    self_: bool = Field(True, alias="self")

    model_config = ConfigDict(populate_by_name=True)


class TransfersSpec(_Model):
    """Stage II: which transfer functions exist.

    Higher orders are pruned per target to combinations of its ``beam`` best first-order
    sources (docs/method.md: ``C(beam, k)`` for ``k <= beam``, one combination beyond);
    ``beam_per_order`` overrides the width for one order (the release used 6 at order 4).
    """

    max_order: Annotated[int, Field(ge=1, le=8)] = 1
    beam: Annotated[int, Field(ge=1, le=26)] = 5
    beam_per_order: dict[Annotated[int, Field(ge=2, le=8)], Annotated[int, Field(ge=1)]] = {}
    include_own_encoder: bool = False
    baselines: Baselines = Baselines()
    cache_features: bool = True

    def beam_for(self, order: int) -> int:
        return self.beam_per_order.get(order, self.beam)


Solver = Literal["auto", "highs", "cbc", "gurobi"]


class SolverOptions(_Model):
    time_limit_s: Annotated[float, Field(gt=0)] | None = None
    threads: Annotated[int, Field(ge=1)] | None = None


class TaxonomySpec(_Model):
    """Stage IV: the grid of (budget, max order) taxonomies to solve.

    ``budgets`` is a list of numbers, a range string ``"1-26"``, or omitted for every
    integer budget from 1 to the number of supervisable sources. ``bootstrap`` resamples
    the test images that many times (seeded by the spec's ``seed``) and redoes AHP, every
    taxonomy and the similarity tree, to report how often each chosen edge and each
    cluster comes back; 0 leaves it out.
    """

    budgets: list[Annotated[float, Field(gt=0)]] | None = None
    orders: list[Annotated[int, Field(ge=1)]] | None = None
    solver: Solver = "auto"
    solver_options: SolverOptions = SolverOptions()
    bootstrap: Annotated[int, Field(ge=0, le=100_000)] = 200

    @field_validator("budgets", mode="before")
    @classmethod
    def _parse_budgets(cls, value: Any) -> Any:
        return parse_budgets(value) if isinstance(value, (str, int, float)) else value


class ResourceSpec(_Model):
    """Neutral resources of one job kind; each executor translates them.

    ``slurm_*`` fields are read by the SLURM executor only.
    """

    gpus: Annotated[int, Field(ge=0)] | None = None
    cpus: Annotated[int, Field(ge=1)] | None = None
    mem_gb: Annotated[float, Field(gt=0)] | None = None
    time_min: Annotated[int, Field(ge=1)] | None = None
    slurm_partition: str | None = None
    slurm_jobs_per_task: Annotated[int, Field(ge=1)] | None = None


class ExecutorSpec(_Model):
    """Where the job graph runs: this machine (``local``) or a SLURM cluster."""

    kind: Literal["local", "slurm"] = "local"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    #: Torch threads per job process; None: the CPUs the process is allotted (affinity
    #: mask, SLURM_CPUS_PER_TASK, cgroup quota), see taskonomy.models.device.
    threads: Annotated[int, Field(ge=1)] | None = None
    resources: dict[JobKind, ResourceSpec] = {}
    slurm_partition: str | None = None
    slurm_account: str | None = None
    slurm_qos: str | None = None
    slurm_array_parallelism: Annotated[int, Field(ge=1)] | None = None
    slurm_jobs_per_task: Annotated[int, Field(ge=1)] | None = None
    slurm_extra_flags: list[str] = []
    slurm_max_retries: Annotated[int, Field(ge=0)] = 2
    #: After an out-of-memory kill, resubmit in the same run with ``mem x factor`` (off: None).
    slurm_oom_mem_factor: Annotated[float, Field(gt=1)] | None = None
    #: The most memory an out-of-memory retry may ask for (GB).
    slurm_max_mem_gb: Annotated[float, Field(gt=0)] | None = None


class Spec(_Model):
    """A whole Taskonomy experiment.

    Example:
        >>> Spec(name="tiny", tasks=["rgb2depth", "rgb2mist", "reshade"])  # doctest: +ELLIPSIS
        Spec(name='tiny', ...)
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
    seed: int = 0
    workdir: Path | None = None
    tasks: list[TaskSpec] = Field(min_length=2)
    dataset: DatasetSpec = DatasetSpec()
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    transfers: TransfersSpec = TransfersSpec()
    taxonomy: TaxonomySpec = TaxonomySpec()
    executor: ExecutorSpec = ExecutorSpec()

    @model_validator(mode="after")
    def _rules(self) -> Spec:
        from taskonomy.spec.rules import check_spec

        check_spec(self)
        return self
