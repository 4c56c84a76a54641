"""Read and write affinity tables in the original release's convention.

The release stores one mapping ``"src1__src2__target" → float`` per data size, pickled
(Python 2 era, values often numpy float scalars). A pickle can run arbitrary code while
it loads, so pickles go through :class:`_RestrictedUnpickler`, which resolves no real
global at all: the only names it knows are numpy's scalar and dtype constructors, and
those are replaced by stand-ins that can decode a float and nothing else.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.affinity.table import AffinityTable
from taskonomy.errors import AffinityError

_FLOAT_KINDS = frozenset({"f2", "f4", "f8", "f16", "e", "f", "d", "g"})


class _DType:
    """Stand-in for ``numpy.dtype`` while unpickling: float kinds only."""

    def __init__(self, spec: object, align: object = False, copy: object = True) -> None:
        if not isinstance(spec, str) or spec.lstrip("<>=|") not in _FLOAT_KINDS:
            raise pickle.UnpicklingError(f"dtype {spec!r} is not a float type")
        self.kind = spec.lstrip("<>=|")
        self.byteorder = "<" if spec[:1] not in ("<", ">") else spec[0]

    def __setstate__(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = "<" if state[1] in ("|", "=") else str(state[1])

    def real(self) -> np.dtype[Any]:
        dt = np.dtype(self.kind)
        native = "<" if np.little_endian else ">"
        if self.byteorder == native:
            return dt
        return dt.newbyteorder("<" if self.byteorder == "<" else ">")


def _scalar(dtype: object, data: object = b"") -> float:
    """Stand-in for ``numpy.core.multiarray.scalar``: decode one float."""
    if not isinstance(dtype, _DType):
        raise pickle.UnpicklingError("numpy scalar with an unexpected dtype")
    raw = data.encode("latin1") if isinstance(data, str) else data
    if not isinstance(raw, bytes):
        raise pickle.UnpicklingError("numpy scalar without raw bytes")
    dt = dtype.real()
    if len(raw) != dt.itemsize:
        raise pickle.UnpicklingError("numpy scalar bytes do not match its dtype")
    return float(np.frombuffer(raw, dtype=dt)[0])


def _encode(text: object, encoding: object = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode``, which protocols 0-2 use to spell ``bytes``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only latin1 text may be encoded")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], object] = {
    ("_codecs", "encode"): _encode,
    ("numpy", "dtype"): _DType,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: an affinity pickle may only "
                "hold a dict of str to float"
            ) from None


def _restricted_loads(blob: bytes, where: str) -> object:
    try:
        return _RestrictedUnpickler(io.BytesIO(blob), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise AffinityError(f"{where}: not a safe affinity pickle ({exc})") from None


def _as_release_dict(data: object, where: str) -> dict[str, float]:
    if not isinstance(data, Mapping):
        raise AffinityError(
            f"{where}: expected a mapping 'src1__src2__target' -> float, got {type(data).__name__}"
        )
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(key, bytes):
            key = key.decode("utf-8")
        if not isinstance(key, str):
            raise AffinityError(f"{where}: key {key!r} is not a string")
        ok_type = isinstance(value, (float, int, np.floating, np.integer))
        if not ok_type or isinstance(value, bool):
            raise AffinityError(
                f"{where}: value of {key!r} is {type(value).__name__}, expected a float"
            )
        number = float(value)
        if not math.isfinite(number):
            raise AffinityError(f"{where}: value of {key!r} is not finite")
        out[key] = number
    return out


def read_release_dict(path: str | os.PathLike[str]) -> dict[str, float]:
    """The raw release mapping in ``path``: JSON, or a pickle read by the safe unpickler.

    The format is decided by content (JSON starts with ``{``; binary pickles start with
    the protocol byte ``0x80``), then by suffix (``.json``, ``.pkl``, ``.pickle``).
    """
    p = Path(path)
    where = str(p)
    try:
        blob = p.read_bytes()
    except OSError as exc:
        raise AffinityError(f"cannot read affinities {where}: {exc.strerror or exc}") from None
    head = blob.lstrip()[:1]
    suffix = p.suffix.lower()
    if head == b"{" or (suffix == ".json" and head != b"\x80"):
        try:
            data: object = json.loads(blob.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AffinityError(f"{where}: invalid JSON ({exc})") from None
    elif blob[:1] == b"\x80" or suffix in (".pkl", ".pickle"):
        data = _restricted_loads(blob, where)
    else:
        raise AffinityError(
            f"{where}: cannot tell the format; write JSON (a mapping "
            "'src1__src2__target' -> float) or give a release pickle a .pkl suffix"
        )
    return _as_release_dict(data, where)


def load_affinities(path: str | os.PathLike[str]) -> AffinityTable:
    """Load an affinity table from a release-format JSON or pickle file."""
    data = read_release_dict(path)
    try:
        return AffinityTable.from_release_dict(data)
    except AffinityError as exc:
        raise AffinityError(f"{path}: {exc}") from None


def save_affinities(table: AffinityTable, path: str | os.PathLike[str]) -> None:
    """Write ``table`` as release-convention JSON, keys sorted (diff-friendly)."""
    text = json.dumps(table.to_release_dict(), indent=1, sort_keys=True)
    Path(path).write_text(text + "\n", encoding="utf-8")


def load_test_losses(
    path: str | os.PathLike[str],
) -> dict[str, dict[tuple[str, ...], np.ndarray]]:
    """Per-image test losses keyed like the release (``"src1__src2__target"``), as a run
    publishes them in ``test_losses.npz``: ``{target: {sources: losses}}``.

    Raises:
        AffinityError: unreadable file, a key not in the release form, losses that are
            not a finite 1-D array, or candidates of one target on different images.
    """
    from taskonomy.affinity.table import parse_key

    where = str(path)
    out: dict[str, dict[tuple[str, ...], np.ndarray]] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                sources, target = parse_key(key)
                arr = np.asarray(npz[key], dtype=np.float64)
                if arr.ndim != 1 or not arr.size or not np.isfinite(arr).all():
                    raise AffinityError(
                        f"{where}: losses of {key!r} must be a non-empty finite 1-D array"
                    )
                out.setdefault(target, {})[sources] = arr
    except AffinityError as exc:
        raise AffinityError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise AffinityError(
            f"cannot read test losses {where} ({exc}); give a run's test_losses.npz"
        ) from None
    for target, cands in out.items():
        if len({a.size for a in cands.values()}) > 1:
            raise AffinityError(f"{where}: candidates of {target!r} have different image counts")
    return out
