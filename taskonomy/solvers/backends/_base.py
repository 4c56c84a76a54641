"""The contract every backend implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from taskonomy._optional import has_module
from taskonomy.solvers.formulation import MilpModel
from taskonomy.solvers.result import SolveOptions, SolveStatus

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RawResult:
    """A backend's answer in the shared vocabulary (values of every column)."""

    status: SolveStatus
    x: FloatArray | None
    objective: float | None
    gap: float | None
    seconds: float
    native: str


class Backend(abc.ABC):
    """A loaded model that can be re-solved with another budget, order and warm start.

    Subclasses declare ``name``, the modules they need (``REQUIRED_MODULES``), the pip
    package that provides them (``INSTALL``), and whether they use warm starts. The
    solver package is imported in ``__init__``, never at module import.
    """

    name: ClassVar[str]
    REQUIRED_MODULES: ClassVar[tuple[str, ...]]
    INSTALL: ClassVar[str]
    WARM_START: ClassVar[bool] = True
    OPEN_SOURCE: ClassVar[bool] = True

    def __init__(self, model: MilpModel, options: SolveOptions) -> None:
        self.model = model
        self.options = options

    @classmethod
    def installed(cls) -> bool:
        return all(has_module(m) for m in cls.REQUIRED_MODULES)

    @abc.abstractmethod
    def solve(
        self, budget: float, col_upper: FloatArray, warm_start: FloatArray | None
    ) -> RawResult:
        """Solve with the budget row's bound and column upper bounds replaced."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release native resources (optional)."""
