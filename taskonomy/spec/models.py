"""The experiment spec: pydantic models of what a user writes in YAML or builds in Python.

Every model forbids unknown keys (a typo is an error, not a silently ignored setting) and
is frozen, so a validated spec is a value that can be hashed and compared. Every number
has a finite range and every string is printable (:mod:`taskonomy.spec.types`). Each
field's docstring is its description in ``taskonomy schema``. Cross-field rules live in
:mod:`taskonomy.spec.rules`; loading, overrides and error formatting in
:mod:`taskonomy.spec.loading`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from taskonomy.budgets import budget_label, parse_budgets
from taskonomy.spec import types as ty
from taskonomy.spec._base import _Model
from taskonomy.spec.executor import ExecutorSpec
from taskonomy.tasks.bank import Role

_NAME = re.compile(r"^[a-z](?:[a-z0-9]|_(?!_))*(?<!_)$")
Name = Annotated[str, Field(min_length=1, max_length=64)]

#: The most jobs a plan may have unless the spec raises ``max_jobs`` (the paper's: 2,513).
DEFAULT_MAX_JOBS = 20_000


class TaskSpec(_Model):
    """One task of the dictionary ``V = S ∪ T``: a built-in task name, or a mapping.

    ``kind`` names a built-in task (``taskonomy tasks`` lists them) or a user task as an
    import path ``package.module:OBJECT``; it defaults to ``name``. ``role``,
    ``label_cost`` (``l_s`` in the budget constraint) and ``importance`` (``r_t`` in the
    objective) default to the task kind's own defaults.
    """

    name: Name
    """The task's name in this spec: lower-case letters, digits and single underscores,
    starting with a letter and not ending with '_' (names are joined by '__' in keys)."""
    kind: Annotated[ty.Text, Field(min_length=1, max_length=200)] | None = None
    """A built-in task (`taskonomy tasks`) or `package.module:OBJECT`; default: name."""
    role: Role | None = None
    """source (may be supervised), target (must be solved) or both; default: the kind's."""
    label_cost: ty.LabelCost | None = None
    """What supervising this task costs against the budget (l_s); default: the kind's."""
    importance: ty.Importance = 1.0
    """The weight of this target in the taxonomy objective (r_t)."""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"task name {ty.shorten(value)!r} must be lower-case letters, digits and "
                "single underscores, starting with a letter and not ending with '_' "
                "(names form release keys joined by '__')"
            )
        if value in ("self", "pixels"):
            raise ValueError(f"{value!r} is reserved for a baseline candidate; rename the task")
        return value

    @property
    def kind_name(self) -> str:
        return self.kind or self.name


Split = Literal["encoder_train", "transfer_train", "test"]


class SplitSizes(_Model):
    """Images per split: Stage I trains on the large split, Stage II on the small one."""

    encoder_train: ty.Images = 2000
    """Images to train the task-specific encoders on (Stage I)."""
    transfer_train: ty.Images = 500
    """Images to train transfers and scratch baselines on (Stage II)."""
    test: ty.Images = 500
    """Images every model is evaluated on (the tournaments of Stage III)."""


class DatasetSpec(_Model):
    """Where images come from: the bundled generator (``mini``) or a Taskonomy directory."""

    kind: Literal["mini", "taskonomy"] = "mini"
    """mini: generated indoor scenes; taskonomy: the real release under root."""
    root: ty.SafePath | None = None
    """The Taskonomy directory (one folder per building); needed by kind taskonomy."""
    buildings: dict[Split, list[ty.Building]] | None = None
    """Buildings per split (kind taskonomy only); default: chosen from the seed."""
    image_size: Annotated[int, Field(ge=16, le=1024), ty.NUMBER] = 64
    """Image side in pixels, a multiple of 16."""
    splits: SplitSizes = SplitSizes()
    """Images per split."""
    seed: ty.Seed | None = None
    """Seed of the dataset (rendering, building choice); default: the spec's seed."""

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
    """The architecture: a small ResNet for the mini data, or the paper's ResNet-50."""
    width: Annotated[int, Field(ge=4, le=512), ty.NUMBER] = 32
    """Channels of the first stage (doubled per stage)."""
    blocks: list[Annotated[int, Field(ge=1, le=8), ty.NUMBER]] = Field(
        default=[1, 1, 1], min_length=1, max_length=8
    )
    """Residual blocks per stage; each stage halves the resolution."""


class RepresentationSpec(_Model):
    """The frozen representation ``channels x size x size`` (paper: 8 x 16 x 16 at 256 px)."""

    channels: Annotated[int, Field(ge=1, le=512), ty.NUMBER] = 8
    """Channels of the frozen representation."""
    size: Annotated[int, Field(ge=1, le=128), ty.NUMBER] = 8
    """Side of the representation's grid; image_size / size must be a power of two."""


class ReadoutSpec(_Model):
    """The transfer readout: two conv layers with batch norm, then the target's decoder."""

    hidden: Annotated[int, Field(ge=4, le=1024), ty.NUMBER] = 64
    """Channels of the readout's hidden layers."""


class ModelSpec(_Model):
    """The networks: encoder trunk, frozen representation and transfer readout."""

    encoder: EncoderSpec = EncoderSpec()
    """The encoder trunk every task-specific network uses."""
    representation: RepresentationSpec = RepresentationSpec()
    """The frozen representation transfers read."""
    readout: ReadoutSpec = ReadoutSpec()
    """The transfer readout."""


Precision = Literal["fp32", "bf16", "fp16"]


class StageTraining(_Model):
    """Training settings of one stage; give ``steps`` or ``epochs``, not both."""

    steps: ty.Steps | None = None
    """Optimiser steps (0: no training)."""
    epochs: ty.Epochs | None = None
    """Passes over the stage's training split, instead of steps."""
    batch_size: ty.BatchSize = 32
    """Images per step."""
    lr: ty.LearningRate = 1e-3
    """AdamW learning rate."""
    weight_decay: ty.WeightDecay = 1e-4
    """AdamW weight decay."""
    precision: Precision = "fp32"
    """Arithmetic precision of training."""
    seed: ty.Seed | None = None
    """Seed of this stage's jobs; default: the spec's seed."""

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> StageTraining:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give either steps or epochs, not both")
        return self


def _stage(steps: int) -> StageTraining:
    return StageTraining(steps=steps)


class TrainingSpec(_Model):
    """Training settings of the three kinds of network."""

    encoder: StageTraining = _stage(1000)
    """Stage I: the task-specific encoders."""
    transfer: StageTraining = _stage(300)
    """Stage II: the transfer readouts (every order)."""
    scratch: StageTraining = _stage(300)
    """Stage II: the scratch baselines, trained from pixels on the transfer split."""


class Baselines(_Model):
    """Extra players in every target's tournament."""

    scratch: bool = True
    """A network trained from scratch on the transfer split."""
    self_: bool = Field(True, alias="self")
    """The target's own fully supervised network (targets that are sources)."""


class TransfersSpec(_Model):
    """Stage II: which transfer functions exist.

    Higher orders are pruned per target to combinations of its ``beam`` best first-order
    sources (docs/method.md: ``C(beam, k)`` for ``k <= beam``, one combination beyond);
    ``beam_per_order`` overrides the width for one order (the release used 6 at order 4).
    """

    max_order: ty.Order = 1
    """The highest transfer order trained (sources per transfer), 1 to 8."""
    beam: ty.Beam = 5
    """How many of a target's best first-order sources higher orders combine."""
    # keys may be text: JSON (spec.json, editors) writes every key as a string
    beam_per_order: dict[Annotated[int, Field(ge=2, le=8)], ty.Beam] = {}  # noqa: RUF012
    """The beam of one order, overriding beam (e.g. {4: 6})."""
    include_own_encoder: bool = False
    """Also train t -> t from t's own frozen encoder."""
    baselines: Baselines = Baselines()
    """Which baselines join every target's tournament."""
    cache_features: bool = True
    """Cache every source's frozen representation once (fp16) instead of recomputing."""

    def beam_for(self, order: int) -> int:
        return self.beam_per_order.get(order, self.beam)


Solver = Literal["auto", "highs", "cbc", "gurobi"]


class SolverOptions(_Model):
    """Limits handed to the BIP solver."""

    time_limit_s: ty.TimeLimitS | None = None
    """Seconds per taxonomy before the solver stops with a time-limit status."""
    threads: ty.Threads | None = None
    """Solver threads; default: the solver's own choice."""


BudgetsInput = Annotated[list[ty.Budget], Field(min_length=1)] | str | ty.Budget | None


class TaxonomySpec(_Model):
    """Stage IV: the grid of (budget, max order) taxonomies to solve.

    ``budgets`` is a list of numbers, a range string ``"1-26"``, or omitted for every
    integer budget from 1 to the number of supervisable sources. ``bootstrap`` resamples
    the test images that many times (seeded by the spec's ``seed``) and redoes AHP, every
    taxonomy and the similarity tree, to report how often each chosen edge and each
    cluster comes back; 0 leaves it out.
    """

    budgets: list[ty.Budget] | None = Field(None, min_length=1)
    """Supervision budgets: a list, a range '1-26', a stepped range '2-10:2' or a comma
    list '1,3,5'; default: 1 to the number of sources."""
    orders: list[ty.Order] | None = Field(None, min_length=1)
    """Taxonomy orders to solve (at most transfers.max_order); default: 1 to max_order."""
    solver: Solver = "auto"
    """The BIP backend; auto takes the best one installed."""
    solver_options: SolverOptions = SolverOptions()
    """Limits handed to the solver."""
    bootstrap: ty.Resamples = 200
    """Bootstrap resamples of the test images for edge and cluster support (0: none)."""

    @field_validator("budgets", mode="before", json_schema_input_type=BudgetsInput)
    @classmethod
    def _parse_budgets(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return parse_budgets(value)
        return value

    @field_validator("budgets")
    @classmethod
    def _distinct_labels(cls, value: list[float] | None) -> list[float] | None:
        seen: dict[str, float] = {}
        for budget in value or []:
            label = budget_label(budget)
            if label in seen and seen[label] != budget:
                raise ValueError(
                    f"budgets {seen[label]!r} and {budget!r} both read as {label!r} "
                    "(budgets are told apart to 6 significant digits); drop one"
                )
            seen[label] = budget
        return value


class Spec(_Model):
    """A whole Taskonomy experiment.

    Example:
        >>> Spec(name="tiny", tasks=["rgb2depth", "rgb2mist", "reshade"])  # doctest: +ELLIPSIS
        Spec(name='tiny', ...)
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
    """The experiment's name (letters, digits, '_', '.', '-'); the default workdir uses it."""
    seed: ty.Seed = 0
    """The seed every job's seed derives from."""
    workdir: ty.SafePath | None = None
    """The work directory, relative to the spec file; default: work/<name> beside it."""
    tasks: list[TaskSpec] = Field(
        min_length=2, max_length=1000, json_schema_extra={"minItems": 2, "maxItems": 1000}
    )
    """The task dictionary: built-in names, or mappings with name, kind, role, label_cost
    and importance."""
    dataset: DatasetSpec = DatasetSpec()
    """Where images come from."""
    model: ModelSpec = ModelSpec()
    """The networks."""
    training: TrainingSpec = TrainingSpec()
    """Training settings per stage."""
    transfers: TransfersSpec = TransfersSpec()
    """Stage II: which transfers are trained."""
    taxonomy: TaxonomySpec = TaxonomySpec()
    """Stage IV: which taxonomies are solved."""
    executor: ExecutorSpec = ExecutorSpec()
    """Where the job graph runs."""
    max_jobs: Annotated[int, Field(ge=1, le=10_000_000), ty.NUMBER] = DEFAULT_MAX_JOBS
    """The most jobs the plan may have; a spec compiling to more is refused before it is
    built, with the count and estimated cost. Raise it (e.g. max_jobs=100000) if you mean it."""

    @field_validator("tasks", mode="before", json_schema_input_type=list[str | TaskSpec])
    @classmethod
    def _tasks(cls, value: Any) -> Any:
        return value  # TaskSpec reads a bare name; this only declares it in the schema

    @model_validator(mode="after")
    def _rules(self) -> Spec:
        from taskonomy.spec.rules import check_spec

        check_spec(self)
        return self
