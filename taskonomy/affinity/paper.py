"""The original release's published results, shipped with the package.

``paper`` (orders 1-2, the paper's main setting), ``paper:1k`` and ``paper:16k`` (transfers
trained on 1k and 16k images) name an affinity table together with its published win
rates; every command that takes ``--affinities FILE`` takes these names too. The files
(MIT licence) and their provenance are in ``release_data/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taskonomy.affinity.release import load_affinities
from taskonomy.affinity.table import AffinityTable
from taskonomy.affinity.winrates import WinRates, load_winrates
from taskonomy.errors import AffinityError

DATA_DIR = Path(__file__).with_name("release_data")

#: name -> (affinities, gain win rates, quality win rates), relative to ``DATA_DIR``.
PAPER_SETS: dict[str, tuple[str, str, str]] = {
    "paper": (
        "affinities/all_affinities.pkl",
        "winrates/wins_vs_pixels.pkl",
        "winrates/wins_vs_task.pkl",
    ),
    "paper:1k": (
        "affinities/all_affinities_1k.pkl",
        "winrates/wins_vs_pixels_1k.pkl",
        "winrates/wins_vs_task_1k.pkl",
    ),
    "paper:16k": (
        "affinities/all_affinities_16k.pkl",
        "winrates/wins_vs_pixels_16k.pkl",
        "winrates/wins_vs_task_16k.pkl",
    ),
}


@dataclass(frozen=True)
class AffinitySource:
    """Where an affinity table (and, if known, its win rates) comes from."""

    name: str
    affinities: Path
    gain: Path | None = None
    quality: Path | None = None


def resolve_affinities(
    value: str | Path, gain: Path | None = None, quality: Path | None = None
) -> AffinitySource:
    """A path, or ``paper``/``paper:1k``/``paper:16k`` for the shipped release.

    Win-rate files given explicitly override the shipped ones; both or neither.
    """
    if (gain is None) != (quality is None):
        raise AffinityError(
            "give both --winrates-gain and --winrates-quality (win rates against scratch "
            "and against the target's own network), or neither"
        )
    text = str(value)
    if not text.strip():
        raise AffinityError(
            "--affinities is empty; give an affinity file or one of " + ", ".join(PAPER_SETS)
        )
    if "\0" in text:
        raise AffinityError(f"affinities path {text!r} holds a NUL byte; give a file path")
    if text in PAPER_SETS:
        aff, g, q = (DATA_DIR / rel for rel in PAPER_SETS[text])
        return AffinitySource(text, aff, gain or g, quality or q)
    if text.startswith("paper") and not _exists(text):
        raise AffinityError(
            f"unknown published table {text!r}; choose one of {', '.join(PAPER_SETS)} "
            "or give the path of an affinity file"
        )
    return AffinitySource(text, Path(text), gain, quality)


def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def load_source(source: AffinitySource) -> tuple[AffinityTable, WinRates | None]:
    """The table of ``source`` and its win rates (None when none are known)."""
    table = load_affinities(source.affinities)
    if source.gain is None or source.quality is None:
        return table, None
    return table, load_winrates(source.gain, source.quality)
