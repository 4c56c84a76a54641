"""The backends in preference order, found without importing any solver package.

``auto`` takes the first installed backend. HiGHS leads: it is open, installed with
the toolkit, has no size limit and was within ~1.4x of Gurobi on paper-sized sweeps
(docs/solvers.md); Gurobi follows (the pip licence caps model size);
CBC (a subprocess per solve) is the fallback.
"""

from __future__ import annotations

from taskonomy.errors import SolverError
from taskonomy.solvers.backends._base import Backend
from taskonomy.solvers.backends.cbc import CbcBackend
from taskonomy.solvers.backends.gurobi import GurobiBackend
from taskonomy.solvers.backends.highs import HighsBackend

BACKENDS: tuple[type[Backend], ...] = (HighsBackend, GurobiBackend, CbcBackend)
SOLVER_NAMES: tuple[str, ...] = ("auto", *(b.name for b in BACKENDS))


def available_solvers() -> list[str]:
    """Names of the installed backends, best first."""
    return [b.name for b in BACKENDS if b.installed()]


def open_solvers() -> list[str]:
    """Installed backends without licence limits, best first."""
    return [b.name for b in BACKENDS if b.installed() and b.OPEN_SOURCE]


def get_backend(name: str) -> type[Backend]:
    """The backend class for ``name`` (``auto``: the best installed one)."""
    if name == "auto":
        for backend in BACKENDS:
            if backend.installed():
                return backend
        installs = " or ".join(f"'pip install {b.INSTALL}'" for b in BACKENDS)
        raise SolverError(f"no taxonomy solver is installed; run {installs}")
    for backend in BACKENDS:
        if backend.name == name:
            if not backend.installed():
                others = ", ".join(available_solvers()) or "none"
                raise SolverError(
                    f"solver {name!r} needs the package {backend.INSTALL!r}: run "
                    f"'pip install {backend.INSTALL}' (installed solvers: {others})"
                )
            return backend
    raise SolverError(f"unknown solver {name!r}; choose one of {', '.join(SOLVER_NAMES)}")
