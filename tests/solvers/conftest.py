from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskonomy.solvers.backends.highs import HighsBackend


@pytest.fixture(scope="module")
def monkeypatch_lp_first() -> Iterator[None]:
    """HiGHS without its LP-relaxation shortcut (every instance through the MIP)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(HighsBackend, "LP_FIRST", False)
        yield
