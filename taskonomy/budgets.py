"""Supervision budgets written as text: ``3``, ``"1-26"``, ``"2,4,8"``, ``"1-9:2"``.

Shared by the spec and the ``solve`` command; it imports nothing heavy, so the command
line reads budgets without loading the spec models. Ranges are counted before they are
expanded, so ``"1-6:0.0000001"`` is refused at once instead of filling memory.
"""

from __future__ import annotations

import math
import re

#: The most budgets one text may expand to (the paper sweeps 26 or 27).
MAX_BUDGETS = 100_000
#: The longest budget text read.
MAX_TEXT = 10_000

_NUM = r"(\d{1,15}(?:\.\d{1,15})?)"
_PART = re.compile(rf"{_NUM}(?:-{_NUM}(?::{_NUM})?)?")


def budget_label(budget: float) -> str:
    """How a budget appears in job ids and tables (``1``, ``2.5``): 6 significant digits."""
    return f"{budget:g}"


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:40]}... ({len(text)} characters)"


def parse_budgets(value: str | int | float) -> list[float]:
    """Parse ``3``, ``"1-26"``, ``"2,4,8"`` or ``"1-9:2"`` (a step) into a budget list.

    Raises:
        ValueError: the text is malformed, empty, not finite, or expands to more than
            :data:`MAX_BUDGETS` budgets.
    """
    if isinstance(value, bool):
        raise ValueError(f"budgets cannot be the boolean {str(value).lower()}; write e.g. '1-5'")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 < value <= 1e6:
            raise ValueError(f"budget {value!r} must be a finite number in (0, 1000000]")
        return [float(value)]
    if len(value) > MAX_TEXT:
        raise ValueError(f"budgets text of {len(value)} characters is too long; write a range")
    text = value.replace(" ", "")
    parts = [p for p in text.split(",") if p]
    ranges: list[tuple[float, float, int]] = []
    total = 0
    for part in parts:
        m = _PART.fullmatch(part)
        if not m:
            raise ValueError(
                f"cannot read budgets {_short(value)!r}; write a number, a range like '1-26', "
                "a stepped range like '2-10:2', or a comma list like '1,2,5'"
            )
        lo = float(m.group(1))
        hi = float(m.group(2)) if m.group(2) else lo
        step = float(m.group(3)) if m.group(3) else 1.0
        if hi < lo or step <= 0:
            raise ValueError(f"budget range {part!r} is empty; write it low-high, e.g. '1-26'")
        n = math.floor((hi - lo) / step + 1e-9) + 1
        total += n
        if total > MAX_BUDGETS:
            raise ValueError(
                f"budgets {_short(value)!r} expand to {total:,} or more budgets, more than "
                f"the {MAX_BUDGETS:,} allowed; use a coarser step, e.g. '1-26' or '1-100:5'"
            )
        ranges.append((lo, step, n))
    out = [lo + i * step for lo, step, n in ranges for i in range(n)]
    if not out:
        raise ValueError("budgets is empty; give at least one budget, e.g. '1-5'")
    return out
