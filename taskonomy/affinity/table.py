"""The affinity table: candidate source set → target → normalised performance ``p``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from taskonomy.affinity.ahp import DEFAULT_CLIP, ahp_scores
from taskonomy.errors import AffinityError

#: Candidate names that are not tasks: the target's own network and the scratch readout.
SELF = "self"
PIXELS = "pixels"
BASELINES: frozenset[str] = frozenset({SELF, PIXELS})

Sources = tuple[str, ...]
Key = tuple[Sources, str]

#: The separator of names in a release key ``"src1__src2__target"``.
KEY_SEPARATOR = "__"
#: The longest task name and key accepted.
MAX_NAME_LENGTH = 128
MAX_KEY_LENGTH = 4096
#: The largest affinity accepted. AHP gives scores in [0, 1] and the release's are below
#: 1; much larger values would lose the solvers' exactness (their tolerances are
#: absolute), and the taxonomy does not change when every affinity is divided by one
#: constant.
MAX_AFFINITY = 1e6


def sources_key(sources: Sources | list[str]) -> str:
    """A source set as the release spells it: ``"src1__src2"`` (``"self"``, ``"pixels"``)."""
    return KEY_SEPARATOR.join(sources)


def format_key(sources: Sources | list[str], target: str) -> str:
    """The release key of ``sources → target``: ``"src1__src2__target"``."""
    return KEY_SEPARATOR.join((*sources, target))


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a task name in a release key, or None if it can.

    Names are joined by ``__``, so a name must be non-empty, hold no ``__``, and neither
    start nor end with ``_`` (``depth___rgb2mist`` could be ``depth_`` then ``rgb2mist``
    or ``depth`` then ``_rgb2mist``); control characters and spaces are refused too.
    """
    if not name:
        return "an empty name"
    if len(name) > MAX_NAME_LENGTH:
        return f"a name of {len(name)} characters (at most {MAX_NAME_LENGTH})"
    if KEY_SEPARATOR in name:
        return f"name {name!r} holds '__', the separator of names"
    if name.startswith("_") or name.endswith("_"):
        return f"name {name!r} starts or ends with '_', which makes keys ambiguous"
    if not name.isprintable() or any(ch.isspace() for ch in name):
        return f"name {name!r} holds spaces or control characters"
    return None


def parse_key(key: str) -> Key:
    """``(sources, target)`` of a release key; the last name is the target.

    ``"t__t"`` (a readout on t's own frozen encoder) parses as ``(("t",), "t")``; it is a
    candidate of its own, distinct from ``"self__t"`` (t's fully supervised network).

    Raises:
        AffinityError: a key with fewer than two names, an empty name (``"a____b"``), or a
            name that starts or ends with ``_`` (``"depth___rgb2mist"`` is ambiguous).
    """
    if not isinstance(key, str):
        raise AffinityError(f"key {key!r} is not a string 'src1__src2__target'")
    shown = key if len(key) <= 120 else f"{key[:100]}...({len(key)} characters)"
    if len(key) > MAX_KEY_LENGTH:
        raise AffinityError(f"key {shown!r} is longer than {MAX_KEY_LENGTH} characters")
    parts = key.split(KEY_SEPARATOR)
    if len(parts) < 2:
        raise AffinityError(
            f"key {shown!r} is not in the release form 'source__target' or 'src1__src2__target'"
        )
    if not all(parts):
        raise AffinityError(
            f"key {shown!r} has an empty name (a leading, trailing or doubled '__'); write "
            "'src1__src2__target'"
        )
    for part in parts:
        problem = name_problem(part)
        if problem is not None:
            raise AffinityError(
                f"key {shown!r} is ambiguous or malformed: {problem}; task names must not "
                "start or end with '_' (rename the task, e.g. 'depth_' to 'depth')"
            )
    return tuple(parts[:-1]), parts[-1]


class FirstOrderMatrix(NamedTuple):
    """Square first-order affinities for plots: ``values[i, j]`` = p(labels[i] → labels[j]).

    The diagonal holds the ``self`` affinity where present (a readout on the target's
    own encoder, ``t__t``, is not shown); missing transfers are NaN.
    """

    labels: tuple[str, ...]
    values: npt.NDArray[np.float64]


def _check_entry(sources: Sources, target: str, p: object) -> None:
    if not sources or not target:
        raise AffinityError(
            f"entry {sources!r} -> {target!r}: needs at least one source and a target"
        )
    for name in (*sources, target):
        problem = name_problem(name) if isinstance(name, str) else "a name that is not text"
        if problem is not None:
            raise AffinityError(f"entry {sources!r} -> {target!r}: {problem}")
    where = f"entry {format_key(sources, target)!r}"
    if target in BASELINES:
        raise AffinityError(f"{where}: {target!r} is a baseline and cannot be a target")
    if len(set(sources)) != len(sources):
        raise AffinityError(f"{where}: a source appears twice")
    if len(sources) > 1 and BASELINES & set(sources):
        raise AffinityError(f"{where}: 'self' and 'pixels' can only appear alone")
    if not (isinstance(p, float) and math.isfinite(p) and p >= 0.0):
        raise AffinityError(f"{where}: affinity must be a finite number >= 0, got {p!r}")
    if p > MAX_AFFINITY:
        raise AffinityError(
            f"{where}: affinity {p:g} is above {MAX_AFFINITY:g}; AHP affinities lie in "
            "[0, 1]: divide every value by one constant (the taxonomy does not change)"
        )


@dataclass(frozen=True)
class AffinityTable:
    """Affinities ``p`` keyed by ``(sources, target)``.

    ``sources`` is a tuple of task names (its length is the transfer's order), or
    ``("self",)`` for the target's own supervised network, or ``("pixels",)`` for the
    scratch baseline. A target may be among its own sources: ``(("t",), "t")`` is a
    readout trained on t's frozen encoder (the release's ``t__t``), not ``self``. The
    order of names inside ``sources`` is kept as given (it is how the release spells
    keys) but two keys with the same source *set* are rejected.
    """

    entries: Mapping[Key, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean: dict[Key, float] = {}
        seen: dict[tuple[frozenset[str], str], Sources] = {}
        for (sources, target), p in self.entries.items():
            srcs = tuple(sources)
            value: object = p
            if isinstance(p, (int, float, np.floating, np.integer)) and not isinstance(p, bool):
                try:
                    value = float(p)
                except OverflowError:
                    value = math.inf
            _check_entry(srcs, target, value)
            ident = (frozenset(srcs), target)
            if ident in seen:
                raise AffinityError(
                    f"entries {format_key(seen[ident], target)!r} and "
                    f"{format_key(srcs, target)!r} name the same sources into {target!r}; "
                    "keep one"
                )
            seen[ident] = srcs
            clean[(srcs, target)] = value  # type: ignore[assignment]
        object.__setattr__(self, "entries", clean)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def targets(self) -> list[str]:
        """Every target with at least one entry, sorted."""
        return sorted({t for _, t in self.entries})

    @property
    def sources(self) -> list[str]:
        """Every task named as a source (baselines excluded), sorted."""
        return sorted({s for srcs, _ in self.entries for s in srcs} - BASELINES)

    @property
    def tasks(self) -> list[str]:
        """Sources and targets together, sorted."""
        return sorted(set(self.sources) | set(self.targets))

    @property
    def max_order(self) -> int:
        """The largest transfer order present (baselines count as order 1)."""
        return max((len(s) for s, _ in self.entries), default=0)

    def candidates(self, target: str) -> dict[Sources, float]:
        """All candidates into ``target`` (baselines included) with their affinities."""
        return {s: p for (s, t), p in self.entries.items() if t == target}

    def get(self, sources: Iterable[str], target: str) -> float | None:
        """The affinity of ``sources → target`` (any source order), or None."""
        want = frozenset(sources)
        for (s, t), p in self.entries.items():
            if t == target and frozenset(s) == want:
                return p
        return None

    def first_order_matrix(self) -> FirstOrderMatrix:
        """The square matrix of first-order affinities (rows: source, columns: target)."""
        labels = tuple(self.tasks)
        index = {name: i for i, name in enumerate(labels)}
        values = np.full((len(labels), len(labels)), np.nan)
        for (sources, target), p in self.entries.items():
            if len(sources) != 1 or sources[0] in (PIXELS, target):
                continue
            src = target if sources[0] == SELF else sources[0]
            values[index[src], index[target]] = p
        return FirstOrderMatrix(labels, values)

    def to_release_dict(self) -> dict[str, float]:
        """The release convention: ``{"src1__src2__target": p}``."""
        return {format_key(s, t): p for (s, t), p in self.entries.items()}

    @classmethod
    def from_release_dict(cls, data: Mapping[str, float]) -> AffinityTable:
        """Parse ``{"src1__src2__target": p}``; the last name of a key is the target."""
        return cls({parse_key(key): p for key, p in data.items()})


def affinities_from_losses(
    losses: Mapping[str, Mapping[Sources, npt.ArrayLike]],
    clip: tuple[float, float] = DEFAULT_CLIP,
) -> AffinityTable:
    """Run one AHP tournament per target holding all of its candidates.

    Args:
        losses: ``{target: {sources: per-image losses}}``; every candidate of a target
            must be evaluated on the same images (equal lengths, same order).
        clip: the clip range of the tournament fractions.
    """
    entries: dict[Key, float] = {}
    for target, cands in losses.items():
        keys = list(cands)
        if not keys:
            raise AffinityError(f"target {target!r} has no candidates")
        rows = [np.asarray(cands[k], dtype=np.float64).ravel() for k in keys]
        lengths = {r.size for r in rows}
        if len(lengths) != 1:
            raise AffinityError(
                f"candidates of target {target!r} were evaluated on different numbers of "
                f"images {sorted(lengths)}; evaluate all of them on the same test images"
            )
        scores = ahp_scores(np.vstack(rows), clip)
        for k, p in zip(keys, scores, strict=True):
            entries[(tuple(k), target)] = float(p)
    return AffinityTable(entries)
