"""Bounded reading of the analysis inputs: affinity tables, win rates, weights, losses.

Every file the analysis commands read goes through :func:`read_bounded`: it refuses
directories and special files (a FIFO would hang, ``/dev/zero`` never ends) and files
over a size limit, before reading a byte. JSON goes through :func:`loads_strict`, which
refuses what :func:`json.loads` lets through silently: duplicate keys, ``NaN`` and
``Infinity``, integers too long to convert, and nesting deep enough to exhaust the stack.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import stat
from pathlib import Path
from typing import Any

from taskonomy.errors import AffinityError

#: The environment variable that raises the size limit, in MB (10^6 bytes).
LIMIT_ENV = "TASKONOMY_MAX_INPUT_MB"
#: Default size limit of one analysis input file. The largest published table is a
#: 0.19 MB pickle (about 0.1 MB as JSON); a run's table is of the same size.
DEFAULT_LIMIT_MB = 4.0
#: Digits of the longest integer accepted in JSON (a float's range is 309 digits).
MAX_INT_DIGITS = 400

_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80
_short.maxlevel = 3
_short.maxtuple = _short.maxlist = _short.maxdict = 4


def show(value: object) -> str:
    """A ``repr`` short enough for an error message, whatever ``value`` is."""
    try:
        return _short.repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def show_path(path: str | os.PathLike[str]) -> str:
    """A path for an error message (very long paths are cut in the middle)."""
    text = os.fspath(path)
    return text if len(text) <= 160 else f"{text[:70]}...{text[-70:]}"


def limit_bytes() -> int:
    """The size limit of one input file: ``TASKONOMY_MAX_INPUT_MB`` or the default."""
    raw = os.environ.get(LIMIT_ENV)
    if raw is None or not raw.strip():
        return int(DEFAULT_LIMIT_MB * 1e6)
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if not math.isfinite(mb) or mb <= 0 or mb > 1e6:
        raise AffinityError(
            f"{LIMIT_ENV}={show(raw)} is not a size in MB; set it to a number such as 16"
        )
    return int(mb * 1e6)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bounded(path: str | os.PathLike[str], what: str) -> bytes:
    """The bytes of ``path``, a regular file of at most :func:`limit_bytes` bytes.

    Args:
        path: the file.
        what: what the file should hold, for messages (``"affinities"``).

    Raises:
        AffinityError: naming the file and what is wrong with it.
    """
    where = show_path(path)
    if "\0" in os.fspath(path):
        raise AffinityError(f"cannot read {what} {where!r}: the path holds a NUL byte")
    limit = limit_bytes()
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise AffinityError(
                f"cannot read {what} {where}: it is {_kind(info.st_mode)}; give a JSON or "
                "pickle file"
            )
        if info.st_size > limit:
            raise AffinityError(_too_big(what, where, info.st_size, limit))
        with open(path, "rb") as fh:
            blob = fh.read(limit + 1)
    except OSError as exc:
        raise AffinityError(f"cannot read {what} {where}: {exc.strerror or exc}") from None
    if len(blob) > limit:
        raise AffinityError(_too_big(what, where, len(blob), limit))
    return blob


def _too_big(what: str, where: str, size: int, limit: int) -> str:
    return (
        f"{what} {where} is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit of an "
        f"input file (the largest published table is 0.2 MB); if it is right, raise the "
        f"limit with the environment variable {LIMIT_ENV}, e.g. {LIMIT_ENV}=64"
    )


def _no_duplicates(where: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise AffinityError(
                    f"{where}: key {show(key)} appears twice in one JSON object; keep one"
                )
            out[key] = value
        return out

    return hook


def _constant(where: str) -> Any:
    def hook(name: str) -> float:
        raise AffinityError(f"{where}: {name} is not a number; every value must be a finite number")

    return hook


def _integer(where: str) -> Any:
    def hook(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise AffinityError(
                f"{where}: an integer of {len(text)} digits; values must be finite numbers"
            )
        return int(text)

    return hook


def loads_strict(blob: bytes, where: str) -> object:
    """Parse JSON, refusing duplicate keys, NaN/Infinity, huge integers, deep nesting.

    Raises:
        AffinityError: naming ``where`` and the problem (with the line and column of a
            syntax error).
    """
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AffinityError(
            f"{where}: not UTF-8 text (byte {exc.start}); give a JSON file or a release pickle"
        ) from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates(where),
            parse_constant=_constant(where),
            parse_int=_integer(where),
        )
    except json.JSONDecodeError as exc:
        raise AffinityError(
            f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise AffinityError(f"{where}: JSON nested too deeply") from None


def read_json(path: str | os.PathLike[str], what: str) -> object:
    """A bounded, strictly parsed JSON file (see :func:`read_bounded`, :func:`loads_strict`)."""
    return loads_strict(read_bounded(path, what), show_path(Path(path)))
