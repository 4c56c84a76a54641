"""Bounded value types of the spec: every number finite and in a range a cluster or a GPU
would accept, every string free of characters that could break a generated script.

YAML reads ``true``, ``yes`` and ``on`` as booleans and quoted digits as text; neither is
accepted where a number is expected (``splits.test: true`` is an error, not 1 image).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

#: Unicode categories refused in every string: control characters (newline, tab, NUL,
#: escape), invisible format characters, line/paragraph separators and lone surrogates.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}

#: The longest path the spec accepts, and the longest path component (POSIX NAME_MAX).
MAX_PATH_CHARS = 4096
MAX_PATH_PART_CHARS = 255


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters with a count of what was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def _number(value: Any) -> Any:
    if isinstance(value, LongNumber):
        raise ValueError(
            f"a number of {sum(c.isdigit() for c in value):,} digits is far outside any "
            "range this field takes; write a number within its range"
        )
    if isinstance(value, bool):
        raise ValueError(
            f"expected a number, got the boolean {str(value).lower()} (YAML reads true, "
            "false, yes, no, on and off as booleans); write a number"
        )
    if isinstance(value, (str, bytes)):
        text = value if isinstance(value, str) else repr(value)
        raise ValueError(f"expected a number, got the text {shorten(text)!r}; write it unquoted")
    return value


def _printable(value: str) -> str:
    for i, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise ValueError(
                f"contains the control character {char!r} at position {i}; strings here "
                "reach generated scripts and file names, so they must be printable text "
                "on one line"
            )
    return value


def validate_path(value: Path) -> Path:
    """``value`` if it is printable and within the file system's limits (ValueError)."""
    text = str(value)
    _printable(text)
    if len(text) > MAX_PATH_CHARS:
        raise ValueError(
            f"path of {len(text)} characters is longer than {MAX_PATH_CHARS}, "
            "the most a file system takes; choose a shorter one"
        )
    long_part = next((p for p in value.parts if len(p) > MAX_PATH_PART_CHARS), None)
    if long_part is not None:
        raise ValueError(
            f"path component {shorten(long_part)!r} is longer than {MAX_PATH_PART_CHARS} "
            "characters, the most a file name may have; choose a shorter one"
        )
    return value


NUMBER = BeforeValidator(_number)
#: What the JSON Schema says of printable text (the validators refuse more: format
#: characters and separators too).
PRINTABLE_PATTERN = "^[^\\u0000-\\u001f\\u007f\\u2028\\u2029]*$"

#: Printable one-line text.
Text = Annotated[
    str,
    Field(max_length=1000, json_schema_extra={"pattern": PRINTABLE_PATTERN}),
    AfterValidator(_printable),
]
#: A SLURM name (partition, account, QOS): letters, digits and ``_ . , + -``.
SlurmName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.,+-]*$", max_length=128),
    AfterValidator(_printable),
]
#: An sbatch long option, ``--name=value`` or ``--name``.
ExtraFlag = Annotated[
    str,
    Field(pattern=r"^--[A-Za-z0-9][A-Za-z0-9_-]*(=[^\x00-\x1f\x7f]*)?$", max_length=1000),
    AfterValidator(_printable),
]
#: A building of the Taskonomy release (a folder name).
Building = Annotated[
    str, Field(pattern=r"^[^/\x00-\x1f\x7f]+$", max_length=255), AfterValidator(_printable)
]
#: A file system path, printable and within the limits of a file system.
SafePath = Annotated[
    Path,
    Field(json_schema_extra={"pattern": PRINTABLE_PATTERN, "maxLength": MAX_PATH_CHARS}),
    AfterValidator(validate_path),
]


def _finite(ge: float | None = None, gt: float | None = None, le: float | None = None) -> Any:
    return Field(ge=ge, gt=gt, le=le, allow_inf_nan=False)


Seed = Annotated[int, Field(ge=0, le=2**63 - 1), NUMBER]
Steps = Annotated[int, Field(ge=0, le=100_000_000), NUMBER]
Epochs = Annotated[float, _finite(gt=0, le=100_000), NUMBER]
Images = Annotated[int, Field(ge=1, le=100_000_000), NUMBER]
BatchSize = Annotated[int, Field(ge=1, le=65_536), NUMBER]
LearningRate = Annotated[float, _finite(gt=0, le=10), NUMBER]
WeightDecay = Annotated[float, _finite(ge=0, le=10), NUMBER]
LabelCost = Annotated[float, _finite(ge=0, le=1_000_000), NUMBER]
Importance = Annotated[float, _finite(gt=0, le=1_000_000), NUMBER]
Budget = Annotated[float, _finite(gt=0, le=1_000_000), NUMBER]
Order = Annotated[int, Field(ge=1, le=8), NUMBER]
Beam = Annotated[int, Field(ge=1, le=26), NUMBER]
Gpus = Annotated[int, Field(ge=0, le=64), NUMBER]
Cpus = Annotated[int, Field(ge=1, le=1024), NUMBER]
Threads = Annotated[int, Field(ge=1, le=1024), NUMBER]
Workers = Annotated[int, Field(ge=1, le=256), NUMBER]
MemGb = Annotated[float, _finite(gt=0, le=16_384), NUMBER]
#: Minutes; at most a year.
TimeMin = Annotated[int, Field(ge=1, le=525_600), NUMBER]
#: Seconds; at most a year.
TimeLimitS = Annotated[float, _finite(gt=0, le=31_536_000), NUMBER]
JobsPerTask = Annotated[int, Field(ge=1, le=10_000), NUMBER]
ArrayParallelism = Annotated[int, Field(ge=1, le=100_000), NUMBER]
Retries = Annotated[int, Field(ge=0, le=100), NUMBER]
MemFactor = Annotated[float, _finite(gt=1, le=16), NUMBER]
Resamples = Annotated[int, Field(ge=0, le=100_000), NUMBER]


class LongNumber(str):
    """A YAML integer with too many digits to convert (Python refuses past 4,300), kept
    as its text so that validation can name the field it was written in."""

    __slots__ = ()
