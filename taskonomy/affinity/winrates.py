"""Published win rates: gain (vs the scratch network) and quality (vs the target's own).

The release publishes, per candidate ``sources → target``, the fraction of test images on
which that transfer beats the network trained from scratch on the same data (gain,
``wins_vs_pixels*``) and the target's fully supervised network (quality,
``wins_vs_task*``; ``self__t`` is 0.5 there). With them a taxonomy can be scored without
the per-image losses that a run keeps: the same fields as a run's ``evaluation.json``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taskonomy.affinity._input import show_path
from taskonomy.affinity.release import read_release_dict
from taskonomy.affinity.table import SELF, parse_key
from taskonomy.errors import AffinityError

_Ident = tuple[frozenset[str], str]


def _rates(data: Mapping[str, float], where: str) -> dict[_Ident, float]:
    out: dict[_Ident, float] = {}
    for key, value in data.items():
        try:
            sources, target = parse_key(key)
        except AffinityError as exc:
            raise AffinityError(f"{where}: {exc}") from None
        if not 0.0 <= value <= 1.0:
            raise AffinityError(f"{where}: win rate of {key!r} is {value!r}, not in [0, 1]")
        ident = (frozenset(sources), target)
        if ident in out:
            raise AffinityError(
                f"{where}: two entries for sources {sorted(sources)} into {target!r}"
            )
        out[ident] = value
    return out


def mean_of(values: Sequence[float | None]) -> float | None:
    """The mean of the known values (None where there is none)."""
    known = [v for v in values if v is not None]
    return math.fsum(known) / len(known) if known else None


@dataclass(frozen=True)
class WinRates:
    """Gain and quality per candidate, keyed by (source set, target)."""

    gain: Mapping[_Ident, float]
    quality: Mapping[_Ident, float]

    def of(self, sources: Sequence[str], target: str) -> tuple[float | None, float | None]:
        """``(gain, quality)`` of ``sources → target``; None where not published."""
        ident = (frozenset(sources), target)
        quality = self.quality.get(ident)
        if quality is None and tuple(sources) == (SELF,):
            quality = 0.5  # the target's own network against itself
        return self.gain.get(ident), quality

    def assess(self, edges: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """Score one taxonomy (``{target: sources}``) as a run's ``evaluation.json`` does:
        ``targets`` with ``sources``/``gain``/``quality``, then ``mean_gain`` and
        ``mean_quality`` over the targets that have a value."""
        targets: dict[str, Any] = {}
        for target, sources in sorted(edges.items()):
            gain, quality = self.of(sources, target)
            targets[target] = {"sources": list(sources), "gain": gain, "quality": quality}
        return {
            "targets": targets,
            "mean_gain": mean_of([t["gain"] for t in targets.values()]),
            "mean_quality": mean_of([t["quality"] for t in targets.values()]),
        }


def load_winrates(gain: str | os.PathLike[str], quality: str | os.PathLike[str]) -> WinRates:
    """Read the two win-rate files (JSON or release pickles, keys in the release form)."""
    return WinRates(
        _rates(read_release_dict(gain, "win rates (gain)"), show_path(gain)),
        _rates(read_release_dict(quality, "win rates (quality)"), show_path(quality)),
    )
