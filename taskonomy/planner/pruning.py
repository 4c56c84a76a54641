"""Higher-order candidate pruning (docs/method.md, Stage II).

For each target the first-order sources are ranked; order ``k <= beam`` then keeps all
``C(beam, k)`` combinations of the ``beam`` best, and order ``k > beam`` keeps the single
combination of the ``k`` best. The count depends only on how many first-order sources a
target has, so the planner knows it in advance; *which* sources fill a slot is bound
at run time from the ranking, by :func:`bind_slot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import comb

from taskonomy.errors import PlanError


def slot_count(n_sources: int, order: int, beam: int) -> int:
    """How many order-``order`` transfers a target with ``n_sources`` first-order sources gets."""
    if order < 1 or beam < 1 or n_sources < 0:
        raise PlanError(f"slot_count needs order, beam >= 1 (got order={order}, beam={beam})")
    if order == 1:
        return n_sources
    if order <= beam:
        return comb(min(beam, n_sources), order)
    return 1 if order <= n_sources else 0


def bind_slot(ranked: Sequence[str], order: int, beam: int, slot: int) -> tuple[str, ...]:
    """The source set of slot ``slot``, given sources ranked best first.

    Slots enumerate combinations of the top ``beam`` ranks in lexicographic rank order,
    so slot 0 is always the ``order`` best sources together.
    """
    if order < 2:
        raise PlanError(f"only orders >= 2 have slots bound at run time (got order {order})")
    count = slot_count(len(ranked), order, beam)
    if not 0 <= slot < count:
        raise PlanError(f"slot {slot} does not exist: order {order} has {count} slot(s) here")
    if order <= beam:
        return next(c for i, c in enumerate(combinations(ranked[:beam], order)) if i == slot)
    return tuple(ranked[:order])
