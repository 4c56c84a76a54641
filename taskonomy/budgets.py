"""Supervision budgets written as text: ``3``, ``"1-26"``, ``"2,4,8"``, ``"1-9:2"``.

Shared by the spec and the ``solve`` command; it imports nothing heavy, so the command
line reads budgets without loading the spec models.
"""

from __future__ import annotations

import re


def parse_budgets(value: str | int | float) -> list[float]:
    """Parse ``3``, ``"1-26"``, ``"2,4,8"`` or ``"1-9:2"`` (a step) into a budget list."""
    if isinstance(value, (int, float)):
        return [float(value)]
    text = value.replace(" ", "")
    out: list[float] = []
    for part in filter(None, text.split(",")):
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?)?", part)
        if not m:
            raise ValueError(
                f"cannot read budgets {value!r}; write a number, a range like '1-26', "
                "a stepped range like '2-10:2', or a comma list like '1,2,5'"
            )
        lo = float(m.group(1))
        hi = float(m.group(2)) if m.group(2) else lo
        step = float(m.group(3)) if m.group(3) else 1.0
        if hi < lo or step <= 0:
            raise ValueError(f"budget range {part!r} is empty; write it low-high, e.g. '1-26'")
        n = int((hi - lo) / step + 1e-9) + 1
        out.extend(lo + i * step for i in range(n))
    if not out:
        raise ValueError("budgets is empty; give at least one budget, e.g. '1-5'")
    return out
