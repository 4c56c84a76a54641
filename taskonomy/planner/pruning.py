"""Higher-order candidate pruning (docs/method.md, Stage II).

For each target the first-order sources are ranked; order ``k <= beam`` then keeps all
``C(beam, k)`` combinations of the ``beam`` best, and order ``k > beam`` keeps the single
combination of the ``k`` best. The count depends only on how many first-order sources a
target has, so the planner knows it in advance; *which* sources fill a slot is bound
at run time from the ranking, by :func:`bind_slot`. :func:`plan_size` counts a whole
plan the same way, so that a spec that would compile to millions of jobs is refused
before any is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import TYPE_CHECKING

from taskonomy.errors import PlanError

if TYPE_CHECKING:
    from taskonomy.spec.models import Spec
    from taskonomy.spec.rules import ResolvedTask


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


@dataclass(frozen=True)
class PlanSize:
    """What a spec compiles to, counted in closed form before anything is built.

    Attributes:
        transfers: per order, the transfer jobs of every target together.
        evaluations: evaluate jobs (one per trained model and baseline).
        taxonomies: taxonomy jobs (distinct orders x distinct budgets).
        total: every job of the plan.
    """

    transfers: Mapping[int, int]
    evaluations: int
    taxonomies: int
    total: int


def plan_size(spec: Spec, tasks: Sequence[ResolvedTask]) -> PlanSize:
    """The job counts :func:`taskonomy.planner.build_plan` would produce for ``spec``."""
    tr, tax = spec.transfers, spec.taxonomy
    sources = [t for t in tasks if t.is_source]
    targets = [t for t in tasks if t.is_target]
    transfers: dict[int, int] = {}
    evaluations = ranks = 0
    for t in targets:
        n = sum(1 for s in sources if s.name != t.name or tr.include_own_encoder)
        per_order = {1: n}
        if tr.max_order >= 2 and n:
            ranks += 1
            per_order.update(
                {k: slot_count(n, k, tr.beam_for(k)) for k in range(2, tr.max_order + 1)}
            )
        for k, count in per_order.items():
            transfers[k] = transfers.get(k, 0) + count
        evaluations += sum(per_order.values())
        evaluations += int(t.is_source and tr.baselines.self_) + int(tr.baselines.scratch)
    n_orders = len(set(tax.orders or range(1, tr.max_order + 1)))
    n_budgets = len(set(tax.budgets)) if tax.budgets else len(sources)
    taxonomies = n_orders * n_budgets
    fixed = 1 + 2  # dataset; assess and report
    total = (
        fixed
        + len(sources) * (2 if tr.cache_features else 1)
        + (len(targets) if tr.baselines.scratch else 0)
        + sum(transfers.values())
        + ranks
        + evaluations
        + len(targets)  # affinity
        + taxonomies
        + (1 if tax.bootstrap else 0)
    )
    return PlanSize(dict(sorted(transfers.items())), evaluations, taxonomies, total)
