"""Read and write affinity tables in the original release's convention.

The release stores one mapping ``"src1__src2__target" → float`` per data size, pickled
(Python 2 era, values often numpy float scalars). Every file is read with a size limit
(:mod:`taskonomy.affinity._input`); JSON is parsed strictly (no duplicate keys, NaN or
Infinity); a pickle is checked opcode by opcode and then loaded by a restricted unpickler
that can build a dict of str to float and nothing else (:mod:`taskonomy.affinity._pickle`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from taskonomy.affinity._input import limit_bytes, loads_strict, read_bounded, show, show_path
from taskonomy.affinity._losses import load_test_losses
from taskonomy.affinity._pickle import max_opcodes, restricted_loads
from taskonomy.affinity.table import AffinityTable
from taskonomy.errors import AffinityError


def max_entries(size_limit: int) -> int:
    """Entries of one table at most: one per 20 bytes of the size limit (200,000 by
    default; the largest published table has 1,758)."""
    return max(1_000, size_limit // 20)


def _as_release_dict(data: object, where: str, limit: int) -> dict[str, float]:
    if not isinstance(data, Mapping):
        raise AffinityError(
            f"{where}: expected a mapping 'src1__src2__target' -> number, got "
            f"{type(data).__name__}; write a JSON object like "
            '{"rgb2depth__rgb2mist": 0.12}'
        )
    if len(data) > limit:
        raise AffinityError(
            f"{where}: {len(data):,} entries, more than the {limit:,} an input file may hold"
        )
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(key, bytes):
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise AffinityError(f"{where}: key {show(key)} is not UTF-8 text") from None
        if not isinstance(key, str):
            raise AffinityError(
                f"{where}: key {show(key)} is a {type(key).__name__}, not a string "
                "'src1__src2__target'"
            )
        if key in out:
            raise AffinityError(f"{where}: key {show(key)} appears twice; keep one")
        ok_type = isinstance(value, (float, int, np.floating, np.integer))
        if not ok_type or isinstance(value, (bool, np.bool_)):
            raise AffinityError(
                f"{where}: value of {show(key)} is {show(value)} ({type(value).__name__}), "
                "expected a finite number"
            )
        try:
            number = float(value)
        except (OverflowError, ValueError):
            number = math.inf
        if not math.isfinite(number):
            raise AffinityError(
                f"{where}: value of {show(key)} is {show(value)}, not a finite number"
            )
        out[key] = number
    return out


def read_release_dict(path: str | os.PathLike[str], what: str = "affinities") -> dict[str, float]:
    """The raw release mapping in ``path``: JSON, or a pickle read by the safe unpickler.

    The format is decided by content (JSON starts with ``{``; binary pickles start with
    the protocol byte ``0x80``), then by suffix (``.json``, ``.pkl``, ``.pickle``).

    Raises:
        AffinityError: naming the file and what is wrong (unreadable, too large, not
            JSON or a safe pickle, not a mapping of str to finite numbers).
    """
    p = Path(path)
    blob = read_bounded(p, what)
    where = show_path(p)
    limit = limit_bytes()
    head = blob.lstrip()[:1]
    suffix = p.suffix.lower()
    if not blob.strip():
        raise AffinityError(
            f'{where}: the file is empty; write a JSON object like {{"rgb2depth__rgb2mist": 0.12}}'
        )
    if head == b"{" or (suffix == ".json" and blob[:1] != b"\x80"):
        data: object = loads_strict(blob, where)
    elif blob[:1] == b"\x80" or suffix in (".pkl", ".pickle"):
        data = restricted_loads(blob, where, max_opcodes(limit))
    else:
        raise AffinityError(
            f"{where}: cannot tell the format; write JSON (a mapping "
            "'src1__src2__target' -> number) or give a release pickle a .pkl suffix"
        )
    return _as_release_dict(data, where, max_entries(limit))


def load_affinities(path: str | os.PathLike[str]) -> AffinityTable:
    """Load an affinity table from a release-format JSON or pickle file.

    Raises:
        AffinityError: naming the file and the first problem (see
            :func:`read_release_dict` and :class:`AffinityTable`).
    """
    data = read_release_dict(path)
    if not data:
        raise AffinityError(
            f"{show_path(path)}: the table holds no entries; write a JSON object like "
            '{"rgb2depth__rgb2mist": 0.12}'
        )
    try:
        return AffinityTable.from_release_dict(data)
    except AffinityError as exc:
        raise AffinityError(f"{show_path(path)}: {exc}") from None


def save_affinities(table: AffinityTable, path: str | os.PathLike[str]) -> None:
    """Write ``table`` as release-convention JSON, keys sorted (diff-friendly)."""
    text = json.dumps(table.to_release_dict(), indent=1, sort_keys=True)
    Path(path).write_text(text + "\n", encoding="utf-8")


__all__ = [
    "load_affinities",
    "load_test_losses",
    "max_entries",
    "read_release_dict",
    "save_affinities",
]
