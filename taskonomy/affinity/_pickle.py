"""Safe loading of the original release's pickles: a pre-scan, then a restricted unpickler.

A pickle can run arbitrary code while it loads, and even a harmless-looking one can ask
for gigabytes: a 9-byte pickle that stores to memo index 2^29 makes the C unpickler
allocate its memo table to that size, and a ``BINBYTES8`` header can claim 2^32 bytes.
So a pickle is first read opcode by opcode (:func:`prescan`, pure Python, nothing
executed): only the opcodes a dict of ``str -> float`` needs are allowed, every global is
checked against the allow-list, memo indices must follow the order the pickler numbers
them in, and lengths must fit in the file. Only then does :class:`_RestrictedUnpickler`
run, which resolves no real global at all: the only names it knows are numpy's scalar and
dtype constructors and ``_codecs.encode``, replaced by stand-ins that can decode a float
and nothing else.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from typing import Any

import numpy as np

from taskonomy.affinity._input import show
from taskonomy.errors import AffinityError

_FLOAT_KINDS = frozenset({"f2", "f4", "f8", "f16", "e", "f", "d", "g"})


class _DType:
    """Stand-in for ``numpy.dtype`` while unpickling: float kinds only."""

    def __init__(self, spec: object, align: object = False, copy: object = True) -> None:
        if not isinstance(spec, str) or spec.lstrip("<>=|") not in _FLOAT_KINDS:
            raise pickle.UnpicklingError(f"dtype {show(spec)} is not a float type")
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

#: The opcodes a pickled dict of str -> float (numpy scalars included) is made of.
#: Everything else (object construction without a checked global, persistent ids,
#: extension codes, out-of-band buffers, sets) is refused before anything runs.
_OPCODES = frozenset(
    {
        # framing, stack and containers
        "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP",
        "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS",
        "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
        "EMPTY_LIST", "LIST", "APPEND", "APPENDS",
        # scalars and text
        "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2",
        "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
        "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES",
        "BINBYTES8", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
        # memo
        "PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET", "MEMOIZE",
        # calls, on the allow-listed globals only
        "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD",
    }
)  # fmt: skip
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})


def max_opcodes(size_limit: int) -> int:
    """Opcodes scanned at most: one per 16 bytes of the size limit (250,000 by default; the
    largest published pickle has 17,611), so that the pure-Python scan of a hostile file
    stays well under a second."""
    return max(10_000, size_limit // 16)


def prescan(blob: bytes, where: str, op_limit: int) -> None:
    """Check a pickle opcode by opcode without running it.

    Raises:
        AffinityError: an opcode or global an affinity pickle does not use, a memo index
            out of order, a length or frame beyond the file, a truncated stream, or more
            than ``op_limit`` opcodes.
    """
    size = len(blob)
    puts = 0
    count = 0
    try:
        for op, raw_arg, pos in pickletools.genops(blob):
            arg: Any = raw_arg
            count += 1
            if count > op_limit:
                raise AffinityError(
                    f"{where}: not a safe affinity pickle (more than {op_limit:,} opcodes; the "
                    "largest published table has 17,611: raise TASKONOMY_MAX_INPUT_MB if it "
                    "is right)"
                )
            name = op.name
            at = f"at byte {pos}" if pos is not None else ""
            if name not in _OPCODES:
                raise AffinityError(
                    f"{where}: not a safe affinity pickle (opcode {name} {at} is not used by "
                    "a dict of str -> float; refusing to run it)"
                )
            if name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                if (module, attr) not in _ALLOWED:
                    raise AffinityError(
                        f"{where}: not a safe affinity pickle (refusing to load global "
                        f"{show(module)[1:-1]}.{show(attr)[1:-1]} {at}: an affinity pickle "
                        "may only hold a dict of str to float)"
                    )
            elif name in _PUTS or name in _GETS:
                index = int(arg)
                bound = puts if name in _PUTS else puts - 1
                if not 0 <= index <= bound:
                    raise AffinityError(
                        f"{where}: not a safe affinity pickle (memo index {index:,} {at} in a "
                        f"{size:,}-byte file; a pickler numbers its memo 0, 1, 2, ...)"
                    )
                puts += name in _PUTS
            elif name == "MEMOIZE":
                puts += 1
            elif name == "FRAME" and int(arg) > size:
                raise AffinityError(
                    f"{where}: not a safe affinity pickle (a frame of {int(arg):,} bytes "
                    f"{at} in a {size:,}-byte file)"
                )
    except AffinityError:
        raise
    except Exception as exc:
        raise AffinityError(
            f"{where}: not a safe affinity pickle (unreadable: {show(str(exc))[1:-1]}); it "
            "may be truncated or corrupted"
        ) from None
    if count == 0:
        raise AffinityError(f"{where}: an empty pickle")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {show(module)[1:-1]}.{show(name)[1:-1]}: an "
                "affinity pickle may only hold a dict of str to float"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed in an affinity pickle")


def restricted_loads(blob: bytes, where: str, op_limit: int) -> object:
    """Pre-scan ``blob`` (:func:`prescan`), then unpickle it with the restricted unpickler.

    Raises:
        AffinityError: naming ``where`` and why the pickle is refused.
    """
    prescan(blob, where, op_limit)
    try:
        return _RestrictedUnpickler(io.BytesIO(blob), encoding="latin1").load()
    except Exception as exc:
        raise AffinityError(
            f"{where}: not a safe affinity pickle ({show(str(exc))[1:-1]})"
        ) from None
