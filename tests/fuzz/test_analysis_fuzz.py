"""Hostile inputs for ``taskonomy solve``, ``tree`` and ``report --affinities``.

A seeded generator (code, not committed files) writes several hundred malformed inputs:
truncated, bit-flipped and spliced copies of the shipped release pickles and of a JSON
table; pickles whose ``__reduce__`` would run code (``os.system``, ``builtins.eval``,
``subprocess``, ``open``, ...) in every protocol and position; memory bombs (a memo index
of 2^29 in 9 bytes, ``BINBYTES8`` and memo indices of 2^32-1, huge frames); JSON with NaN,
infinities, negatives, strings, nulls, duplicate and ambiguous keys, targets without
candidates; oversized, empty, special and directory files; and options out of range.

Each case runs through the command line in-process (the typer app, for speed); a sample
also runs as its own process, with its peak memory measured. Every hostile case must end
with exit code 2 and one ``error:`` message naming the file (for file inputs), with no
traceback, within 2 s, and nothing that a pickle asked for may run: every payload would
create one sentinel file, which must never exist. Mutations that happen to leave a valid
input (a flipped bit inside a float) may also succeed (exit 0); they are counted apart.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import random
import resource
import struct
import subprocess
import sys
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from taskonomy.affinity.paper import DATA_DIR
from taskonomy.cli import main
from taskonomy.solvers.synthetic import synthetic_table

SEED = 14
#: Seconds a case may take in-process, and peak memory (MB) of a case in its own process.
TIME_LIMIT_S = 2.0
MEMORY_LIMIT_MB = 200.0
SMALL_PKL = DATA_DIR / "affinities" / "all_affinities.pkl"
BIG_PKL = DATA_DIR / "affinities" / "all_affinities_16k.pkl"
WINRATES_PKL = DATA_DIR / "winrates" / "wins_vs_pixels.pkl"
TABLE = synthetic_table(n_targets=5, n_source_only=1, max_order=2, beam=3, seed=7)
BASE = TABLE.to_release_dict()


@dataclass
class Case:
    """One command line. ``hostile``: must exit 2; otherwise exit 0 is allowed too.
    ``mention``: text the error must contain (the file's name); ``match``: what is wrong."""

    name: str
    argv: list[str]
    hostile: bool = True
    mention: str | None = None
    match: str | None = None


@dataclass
class Outcome:
    case: Case
    code: int | None
    err: str
    seconds: float
    crash: str | None = None


@dataclass
class Corpus:
    root: Path
    rng: random.Random
    sentinel: Path
    cases: list[Case] = field(default_factory=list)
    _n: int = 0

    def path(self, stem: str, suffix: str) -> Path:
        self._n += 1
        return self.root / f"c{self._n:04d}_{stem}{suffix}"

    def file(self, stem: str, suffix: str, blob: bytes) -> Path:
        p = self.path(stem, suffix)
        p.write_bytes(blob)
        return p

    def add(self, name: str, argv: list[str], **kw: object) -> None:
        self.cases.append(Case(name, argv, **kw))  # type: ignore[arg-type]

    def on_file(
        self,
        name: str,
        path: Path,
        hostile: bool = True,
        match: str | None = None,
        commands: tuple[str, ...] = ("solve", "tree", "report"),
    ) -> None:
        """Run one input file through a command chosen by the seed."""
        cmd = self.rng.choice(commands if hostile else tuple(c for c in commands if c != "report"))
        self.add(
            f"{cmd}:{name}",
            command(cmd, str(path), self.root),
            hostile=hostile,
            mention=path.name,
            match=match,
        )


def command(cmd: str, affinities: str, root: Path) -> list[str]:
    if cmd == "solve":
        return ["solve", "-a", affinities, "-b", "2", "-k", "1", "-f", "json"]
    if cmd == "tree":
        return ["tree", "-a", affinities, "-f", "json"]
    return ["report", "--affinities", affinities, "--out", str(root / "report"), "-k", "1"]


# --- hostile pickles ---------------------------------------------------------------------


class _Reduce:
    """Pickles as ``func(*args)``: what a malicious file asks the loader to call."""

    def __init__(self, func: Callable[..., object], *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


def _payloads(sentinel: Path) -> Iterator[tuple[str, object]]:
    import builtins
    import shutil
    import subprocess as sp

    s = str(sentinel)
    yield "os.system", _Reduce(os.system, f"touch {s}")
    yield "os.popen", _Reduce(os.popen, f"touch {s}")
    yield "builtins.eval", _Reduce(builtins.eval, f"open({s!r}, 'w').close()")
    yield "builtins.exec", _Reduce(builtins.exec, f"open({s!r}, 'w').close()")
    yield "builtins.open", _Reduce(builtins.open, s, "w")
    yield "io.open", _Reduce(io.open, s, "w")
    yield "os.mkdir", _Reduce(os.mkdir, s)
    yield "os.makedirs", _Reduce(os.makedirs, s)
    yield "subprocess.Popen", _Reduce(sp.Popen, ["touch", s])
    yield "subprocess.call", _Reduce(sp.call, ["touch", s])
    yield "subprocess.run", _Reduce(sp.run, ["touch", s])
    yield "subprocess.check_output", _Reduce(sp.check_output, ["touch", s])
    yield "shutil.copyfile", _Reduce(shutil.copyfile, os.devnull, s)
    yield "builtins.getattr", _Reduce(getattr, _Reduce(__import__, "os"), "system")


def _raw_pickles(sentinel: Path) -> Iterator[tuple[str, bytes]]:
    """Hand-written opcode streams: old-style code execution and memory bombs."""
    s = str(sentinel).encode()
    cmd = b"touch " + s
    yield "p0 GLOBAL os.system", b"cos\nsystem\n(S'" + cmd + b"'\ntR."
    yield "p0 GLOBAL posix.system", b"cposix\nsystem\n(S'" + cmd + b"'\ntR."
    yield "p0 eval", b"c__builtin__\neval\n(S'open(\"" + s + b'","w")\'\ntR.'
    yield "INST os.system", b"(S'" + cmd + b"'\nios\nsystem\n."
    yield "OBJ os.system", b"(cos\nsystem\nS'" + cmd + b"'\no."
    yield "value os.system", b"\x80\x02}X\x04\x00\x00\x00a__bcos\nsystem\nU\x05touch\x85Rs."
    yield "allowed module, other name", b"\x80\x02cnumpy\nload\nX\x01\x00\x00\x00x\x85R."
    yield "numpy _reconstruct", b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n)R."
    yield "NEWOBJ on dtype", b"\x80\x02cnumpy\ndtype\n)\x81."
    yield "persistent id", b"\x80\x02X\x01\x00\x00\x00aQ."
    yield "extension code", b"\x80\x02\x82\x01."
    yield (
        "STACK_GLOBAL os.system",
        (b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c" + bytes([len(cmd)]) + cmd + b"\x85R."),
    )
    yield (
        "codecs encode rot13",
        b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.",
    )
    yield "memo 2^29 (9 bytes)", bytes.fromhex("80027d72000000202e")
    yield "LONG_BINPUT 2^32-1", b"\x80\x02}r" + struct.pack("<I", 2**32 - 1) + b"."
    yield "BINGET unset", b"\x80\x02}h\x05."
    yield "LONG_BINGET 2^32-1", b"\x80\x02}j" + struct.pack("<I", 2**32 - 1) + b"."
    yield "BINBYTES8 2^32-1", b"\x80\x04\x8e" + struct.pack("<Q", 2**32 - 1) + b"ab."
    yield "BINUNICODE8 2^62", b"\x80\x04\x8d" + struct.pack("<Q", 2**62) + b"ab."
    yield "BYTEARRAY8 2^40", b"\x80\x05\x96" + struct.pack("<Q", 2**40) + b"ab."
    yield "BINBYTES 2^31", b"\x80\x03B" + struct.pack("<I", 2**31 - 1) + b"ab."
    yield "FRAME 2^40", b"\x80\x04\x95" + struct.pack("<Q", 2**40) + b"}."
    yield "LONG4 2^31", b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1) + b"\x01."
    yield "LONG 5000 digits", b"L" + b"9" * 5000 + b"L\n."
    yield (
        "huge int value",
        b"\x80\x02}X\x04\x00\x00\x00a__b\x8b" + struct.pack("<i", 200) + b"\x7f" * 200 + b"s.",
    )
    yield "many MARKs", b"\x80\x02" + b"(" * 600_000 + b"."
    yield "deep tuples", b"\x80\x02N" + b"\x85" * 200_000 + b"."
    yield "only PROTO", b"\x80\x02"
    yield "only STOP", b"\x80\x02."
    yield "empty", b""
    yield "not a dict", pickle.dumps([0.1, 0.2], protocol=2)
    yield "tuple keys", pickle.dumps({("a", "b"): 0.5}, protocol=2)
    yield "str value", pickle.dumps({"a__b": "0.5"}, protocol=2)
    yield "None value", pickle.dumps({"a__b": None}, protocol=2)
    yield "bool value", pickle.dumps({"a__b": True}, protocol=2)
    yield "nan value", pickle.dumps({"a__b": float("nan")}, protocol=2)
    yield "int8 dtype", pickle.dumps({"a__b": np.int8(1)}, protocol=2)
    yield "object array", pickle.dumps({"a__b": np.array([1.0])}, protocol=2)
    yield "set value", pickle.dumps({"a__b": {1.0}}, protocol=4)
    yield "bytes key, not utf-8", pickle.dumps({b"\xff__b": 0.5}, protocol=3)
    yield "nested dict", pickle.dumps({"a__b": {"c": 1.0}}, protocol=2)


def _hostile_pickles(c: Corpus) -> None:
    for name, obj in _payloads(c.sentinel):
        for protocol in range(6):
            for where, data in (
                ("top", obj),
                ("value", {"a__b": obj}),
                ("after valid", {"a__b": 0.5, "a__c": obj}),
                ("key", {("k", obj): 0.5}),
            ):
                try:
                    blob = pickle.dumps(data, protocol=protocol)
                except (pickle.PicklingError, TypeError, AttributeError):
                    continue
                suffix = c.rng.choice([".pkl", ".pickle", ".json", ""])
                p = c.file("evil", suffix, blob)
                # Protocols 0 and 1 have no header: without a pickle suffix they are read
                # (and refused) as JSON or as an unknown format instead.
                as_pickle = protocol >= 2 or suffix in (".pkl", ".pickle")
                match = "not a safe affinity pickle" if as_pickle else None
                c.on_file(f"{name} p{protocol} {where}", p, match=match)
    for name, blob in _raw_pickles(c.sentinel):
        c.on_file(name, c.file("raw", ".pkl", blob))


# --- mutations of the shipped pickles and of a JSON table --------------------------------


def _mutations(c: Corpus) -> None:
    rng = c.rng
    for source, n_trunc, n_flip in ((SMALL_PKL, 45, 60), (BIG_PKL, 10, 10), (WINRATES_PKL, 10, 10)):
        blob = source.read_bytes()
        for _ in range(n_trunc):
            cut = rng.randrange(0, len(blob) - 1)
            c.on_file(f"truncated {source.name}@{cut}", c.file("trunc", ".pkl", blob[:cut]))
        for _ in range(n_flip):
            data = bytearray(blob)
            for _ in range(rng.choice([1, 1, 2, 8])):
                # Mostly in the header and opcodes; sometimes anywhere.
                pos = rng.randrange(0, 400) if rng.random() < 0.5 else rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
            c.on_file(f"flipped {source.name}", c.file("flip", ".pkl", bytes(data)), hostile=False)
    text = json.dumps(BASE).encode()
    for _ in range(40):
        cut = rng.randrange(1, len(text) - 1)
        c.on_file(f"truncated json@{cut}", c.file("trunc", ".json", text[:cut]))
    for _ in range(40):
        data = bytearray(text)
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)
        c.on_file("flipped json", c.file("flip", ".json", bytes(data)), hostile=False)


#: Values no affinity may have, as JSON text, and what the error says.
BAD_VALUES = [
    ("NaN", "not a number"),
    ("Infinity", "not a number"),
    ("-Infinity", "not a number"),
    ("-1", ">= 0"),
    ("-1e-9", ">= 0"),
    ('"0.5"', "expected a finite number"),
    ("null", "expected a finite number"),
    ("true", "expected a finite number"),
    ("[]", "expected a finite number"),
    ('{"x": 1}', "expected a finite number"),
    ("1e308", "above"),
    ("1e400", "not a finite number"),
    ("9" * 500, "digits"),
    ("1" + "0" * 300, "above"),
    ("1e7", "above"),
]
#: Keys no table may have, and what the error says.
BAD_KEYS = [
    ("", "release form"),
    ("task00", "release form"),
    ("__task00", "empty name"),
    ("task00__", "empty name"),
    ("task05____task00", "empty name"),
    ("task05___task00", "ambiguous"),
    ("_task05__task00", "ambiguous"),
    ("task05__task00_", "ambiguous"),
    ("task 05__task00", "spaces"),
    ("task05\n__task00", "control"),
    ("task05\u0000__task00", "control"),
    ("x" * 200 + "__task00", "characters"),
    ("y" * 5000, "longer than"),
    ("self__pixels__task00", "only appear alone"),
    ("task05__self", "baseline"),
    ("task05__task05__task00", "appears twice"),
    ("pixels__task05__task00", "only appear alone"),
]


def _json_variants(c: Corpus) -> None:
    rng = c.rng
    keys = sorted(BASE)

    def dump(pairs: list[tuple[str, str]]) -> bytes:
        return ("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}").encode()

    base_pairs = [(k, repr(v)) for k, v in BASE.items()]
    for value, match in BAD_VALUES:
        for _ in range(4):
            pairs = list(base_pairs)
            i = rng.randrange(len(pairs))
            pairs[i] = (pairs[i][0], value)
            c.on_file(f"value {value[:12]}", c.file("value", ".json", dump(pairs)), match=match)
    for key, match in BAD_KEYS:
        for _ in range(3):
            pairs = list(base_pairs)
            pairs.insert(rng.randrange(len(pairs) + 1), (key, "0.25"))
            c.on_file(f"key {key[:16]!r}", c.file("key", ".json", dump(pairs)), match=match)
    for _ in range(12):
        pairs = list(base_pairs)
        k = rng.choice(keys)
        pairs.append((k, "0.125"))
        c.on_file("duplicate key", c.file("dup", ".json", dump(pairs)), match="appears twice")
    for _ in range(6):
        k = rng.choice([k for k in keys if k.count("__") == 2])
        a, b, t = k.split("__")
        pairs = [*base_pairs, (f"{b}__{a}__{t}", "0.5")]
        c.on_file("same source set", c.file("swap", ".json", dump(pairs)), match="same sources")
    for extra in ("pixels__zz", "self__zz"):
        pairs = [*base_pairs, (extra, "0.5")]
        c.on_file(
            f"target without candidates ({extra})",
            c.file("nocand", ".json", dump(pairs)),
            match="no candidate transfer",
            commands=("solve", "report"),
        )
    wrappers: list[tuple[str, bytes, str]] = [
        ("list", b"[0.1, 0.2]", "expected a mapping"),
        ("number", b"0.5", "cannot tell the format"),
        ("string", b'"a__b"', "cannot tell the format"),
        ("null", b"null", "cannot tell the format"),
        ("nested", json.dumps({"affinities": BASE}).encode(), "expected a finite number"),
        ("empty object", b"{}", "no entries"),
        ("empty file", b"", "empty"),
        ("whitespace", b"  \n\t ", "empty"),
        ("utf-16", json.dumps(BASE).encode("utf-16"), "not UTF-8"),
        ("latin-1 key", b'{"t\xe4sk__task00": 0.5}', "not UTF-8"),
        ("deep arrays", b'{"a__b": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
        ("deep objects", b'{"a__b": ' + b'{"x": ' * 50_000 + b"1" + b"}" * 50_001, "nested"),
        ("trailing garbage", json.dumps(BASE).encode() + b" }", "invalid JSON"),
        ("two objects", json.dumps(BASE).encode() * 2, "invalid JSON"),
        ("single quotes", b"{'a__b': 0.5}", "invalid JSON"),
        ("comment", b'{"a__b": 0.5 // one\n}', "invalid JSON"),
        ("binary", bytes(range(256)), "cannot tell the format"),
    ]
    for name, blob, match in wrappers:
        for suffix in (".json", rng.choice([".json", ".txt"])):
            # Without a .json suffix, text that does not start with "{" has no known format.
            known = suffix == ".json" or blob.lstrip()[:1] == b"{" or not blob.strip()
            plain = name in ("number", "string", "null", "binary")
            c.on_file(
                name, c.file("wrap", suffix, blob), match=None if plain or not known else match
            )


def _files(c: Corpus) -> None:
    """Sizes, special files and paths."""
    for suffix in (".json", ".pkl"):
        big = c.path("50MB", suffix)
        with open(big, "wb") as fh:
            fh.truncate(50_000_000)  # sparse: no disk used
        for cmd in ("solve", "tree", "report"):
            c.add(
                f"{cmd}:50 MB {suffix}",
                command(cmd, str(big), c.root),
                mention=big.name,
                match="over the 4 MB limit",
            )
    real = c.file("5MB", ".json", b'{"a__b": 0.5' + b" " * 5_000_000 + b"}")
    c.add(
        "solve:5 MB json",
        command("solve", str(real), c.root),
        mention=real.name,
        match="TASKONOMY_MAX_INPUT_MB",
    )
    fifo = c.path("fifo", ".json")
    os.mkfifo(fifo)
    folder = c.path("folder", ".json")
    folder.mkdir()
    link = c.path("link", ".pkl")
    link.symlink_to("/dev/zero")
    dangling = c.path("dangling", ".json")
    dangling.symlink_to(c.root / "nowhere")
    specials = [
        (fifo, "named pipe"),
        (folder, "directory"),
        (link, "device"),
        (Path("/dev/zero"), "device"),
        (Path("/dev/urandom"), "device"),
        (Path("/dev/null"), "device"),
        (dangling, "No such file"),
        (c.root / "missing.json", "No such file"),
        (Path("/proc/self/mem"), "cannot read"),
    ]
    for path, match in specials:
        for cmd in ("solve", "tree", "report"):
            c.add(
                f"{cmd}:{path.name}",
                command(cmd, str(path), c.root),
                mention=path.name,
                match=match,
            )
    long_name = str(c.root / ("x" * 5000 + ".json"))
    c.add("solve:long path", command("solve", long_name, c.root), match="too long")
    c.add("solve:paper:3k", command("solve", "paper:3k", c.root), match="paper, paper:1k")
    c.add("tree:empty name", command("tree", "", c.root), match="empty")


def _options(c: Corpus) -> None:
    """A valid table with every option out of range."""
    table = c.file("valid", ".json", json.dumps(BASE).encode())
    a = ["-a", str(table)]
    bad_json = {
        "nan": (b'{"src00": NaN}', "not a number"),
        "string": (b'{"src00": "2"}', "must be a number"),
        "negative": (b'{"src00": -1}', "must be a finite number"),
        "huge": (b'{"src00": 1e300}', "at most"),
        "unknown": (b'{"scr00": 1}', "did you mean"),
        "list": (b"[1, 2]", "JSON object"),
        "dup": (b'{"src00": 1, "src00": 2}', "appears twice"),
        "broken": (b'{"src00": ', "invalid JSON"),
        "binary": (b"\xff\xfe\x00", "not UTF-8"),
    }
    for option in ("--costs", "--importance"):
        for name, (blob, match) in bad_json.items():
            p = c.file(f"weights_{name}", ".json", blob)
            if option == "--importance":  # task00 is a target, src00 a source only
                p.write_bytes(blob.replace(b"src00", b"task00").replace(b"scr00", b"tsak00"))
            c.add(
                f"solve:{option} {name}", ["solve", *a, option, str(p)], mention=p.name, match=match
            )
    zero = c.file("importance_zero", ".json", b'{"task00": 0}')
    c.add("solve:--importance 0", ["solve", *a, "--importance", str(zero)], match="> 0")
    for option in ("--costs", "--importance"):
        c.add(f"solve:{option} dir", ["solve", *a, option, str(c.root)], match="directory")
        c.add(f"solve:{option} fifo", ["solve", *a, option, "/dev/zero"], match="device")
    option_cases = [
        (["--budgets", "1-100000000"], "more than"),
        (["--budgets", "1-6:0.0000001"], "more than"),
        (["--budgets", "1-" + "9" * 400], "more than"),
        (["--budgets", "abc"], "cannot read"),
        (["--budgets", ""], "empty"),
        (["--budgets", " "], "empty"),
        (["--budgets", "3-1"], "empty"),
        (["--budgets", "1," * 20_000], "more than"),
        (["-b", "nan"], "finite"),
        (["-b", "inf"], "finite"),
        (["-b", "1e400"], "finite"),
        (["-b", "-3"], ">= 0"),
        (["-b", "1", "--budgets", "1-3"], "not both"),
        (["-b", "x"], "Invalid value"),
        (["-k", "0"], "Invalid value"),
        (["-k", "-1"], "Invalid value"),
        (["-k", str(10**30)], "out of range"),
        (["-k", "1000"], "out of range"),
        (["-k", "x"], "Invalid value"),
        (["--solver", "bogus"], "Invalid value"),
        (["--solver", ""], "Invalid value"),
        (["--time-limit", "0"], "Invalid value"),
        (["--time-limit", "-1"], "Invalid value"),
        (["--time-limit", "nan"], "Invalid value"),
        (["--time-limit", "inf"], "finite"),
        (["--threads", "0"], "Invalid value"),
        (["--threads", str(10**9)], "more than"),
        (["--form", "weak"], "unknown constraint form"),
        (["--format", "xml"], "Invalid value"),
        (["--bootstrap", "-1"], "Invalid value"),
        (["--winrates-gain", str(table)], "--winrates-quality"),
        (["--seed", "-1"], "seed"),
    ]
    for extra, match in option_cases:
        c.add(f"solve:{' '.join(extra)[:30]}", ["solve", *a, *extra], match=match)
    many = ["--budgets", "0-1000:0.1", *(x for k in range(1, 3) for x in ("-k", str(k)))]
    c.add("solve:10,001 budgets x 2 orders", ["solve", *a, *many], match="more than")
    # Win-rate and losses files.
    wr_bad = c.file("winrates", ".json", json.dumps({k: 1.5 for k in BASE}).encode())
    c.add(
        "solve:win rate 1.5",
        ["solve", *a, "--winrates-gain", str(wr_bad), "--winrates-quality", str(wr_bad)],
        mention=wr_bad.name,
        match="not in",
    )
    wr_nan = c.file("winrates_nan", ".json", b'{"task05__task00": NaN}')
    c.add(
        "solve:win rate NaN",
        ["solve", *a, "--winrates-gain", str(wr_nan), "--winrates-quality", str(wr_nan)],
        mention=wr_nan.name,
        match="not a number",
    )
    for name, blob, match in _bad_losses(c):
        p = c.file(f"losses_{name}", ".npz", blob)
        c.add(
            f"solve:--losses {name}",
            ["solve", *a, "--losses", str(p), "--bootstrap", "2"],
            mention=p.name,
            match=match,
        )
    tree_cases = [
        (["--clusters", "0"], "Invalid value"),
        (["--normalisation", "zscore"], "unknown"),
        (["--linkage", "bogus"], "unknown linkage"),
        (["--metric", "bogus"], "unknown metric"),
        (["--metric", "mahalanobis"], "unknown metric"),
        (["--linkage", "ward"], "euclidean"),
        (["--format", "svg"], "Invalid value"),
        (["--seed", "-1"], "seed"),
    ]
    for extra, match in tree_cases:
        c.add(f"tree:{' '.join(extra)}", ["tree", *a, *extra], match=match)
    out = str(c.root / "report")
    report_cases = [
        (["report", *a], "needs --out"),
        (["report", *a, "--out", out, "-k", "9"], "not an order"),
        (["report", str(c.root), *a, "--out", out], "not both"),
        (["report", "--affinities", "paper:2k", "--out", out], "choose one of"),
        (["report", *a, "--out", str(table)], "Invalid value"),
    ]
    for argv, match in report_cases:
        c.add(f"report:{' '.join(argv[1:])[:30]}", argv, match=match)


def _bad_losses(c: Corpus) -> Iterator[tuple[str, bytes, str]]:
    def npz(arrays: dict[str, np.ndarray]) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    n = 8
    good = {k: np.linspace(0.1, 1.0, n) for k in BASE}
    yield "garbage", b"not a zip file at all", "cannot read test losses"
    yield "truncated", npz(good)[:200], "cannot read test losses"
    yield "nan", npz({**good, next(iter(BASE)): np.full(n, np.nan)}), "finite 1-D"
    yield "2-D", npz({**good, next(iter(BASE)): np.ones((2, 2))}), "finite 1-D"
    yield "bad key", npz({**good, "a____b": np.ones(n)}), "empty name"
    yield "missing", npz(dict(list(good.items())[1:])), "does not hold the losses"
    # A valid zip (right CRC) whose member's .npy header claims 10^12 float64 values.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{next(iter(BASE))}.npy", header.getvalue() + bytes(32))
    yield "claims 10^12", buf.getvalue(), "claims 8,000,000,000,000 bytes"


def build_corpus(root: Path, seed: int = SEED) -> Corpus:
    c = Corpus(root, random.Random(seed), root / "SENTINEL")
    _hostile_pickles(c)
    _mutations(c)
    _json_variants(c)
    _files(c)
    _options(c)
    return c


# --- running -----------------------------------------------------------------------------


def run_in_process(case: Case) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    crash = None
    code: int | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(case.argv)
    except BaseException:
        crash = traceback.format_exc()
    return Outcome(case, code, err.getvalue(), time.perf_counter() - start, crash)


def problems(o: Outcome, sentinel: Path) -> list[str]:
    """What is wrong with one outcome (empty: the case passed)."""
    found = []
    if sentinel.exists():
        found.append("a pickle ran code: the sentinel file exists")
    if o.crash is not None:
        return [*found, f"crashed:\n{o.crash}"]
    if o.seconds > TIME_LIMIT_S:
        found.append(f"took {o.seconds:.2f} s")
    if "Traceback" in o.err:
        found.append("printed a traceback")
    if o.code == 0 and not o.case.hostile:
        return found
    if o.code != 2:
        found.append(f"exit code {o.code}, expected 2")
    if "error" not in o.err.lower():
        found.append("no error message")
    flat = " ".join(o.err.split())
    if o.case.mention and o.case.mention not in flat and o.case.mention not in o.err:
        found.append(f"the message does not name {o.case.mention!r}")
    said = flat.replace(o.case.mention, "<file>") if o.case.mention else flat
    if o.case.hostile and o.case.match and o.case.match not in said:
        found.append(f"the message does not say {o.case.match!r}")
    return found


@pytest.fixture(scope="module", autouse=True)
def _typer_command_built_once() -> Iterator[None]:
    """``main`` rebuilds the click command from the typer app on every call (~40 ms, most
    of a case's time); here it is built once, and everything else ``main`` does is kept."""
    import typer.main

    from taskonomy import cli

    cli._register()
    built = typer.main.get_command(cli.app)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.main, "get_command", lambda app: built)
        yield


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("fuzz"))


def test_generator_is_seeded(tmp_path: Path) -> None:
    """Property: the same seed gives the same cases (names and command lines)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = build_corpus(tmp_path / "a")
    b = build_corpus(tmp_path / "b")
    assert [x.name for x in a.cases] == [x.name for x in b.cases]
    assert len(a.cases) >= 500


def test_every_hostile_input_is_a_clean_error(corpus: Corpus) -> None:
    """Property: every case ends with exit code 2 and a message naming the file and what
    is wrong (or, for a mutation that left a valid input, exit 0); no traceback, no case
    over 2 s, the process's peak memory grows by less than 200 MB over the whole corpus,
    and no pickle runs anything."""
    for argv in (command("solve", str(SMALL_PKL), corpus.root), ["report", "-a", str(SMALL_PKL)]):
        run_in_process(Case("warm-up", argv))  # imports, and the first HiGHS instance
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outcomes = [run_in_process(case) for case in corpus.cases]
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failures = [(o, p) for o in outcomes if (p := problems(o, corpus.sentinel))]
    counts = Counter(
        "clean error"
        if o.code == 2
        else "accepted (valid after mutation)"
        if o.code == 0
        else "other"
        for o in outcomes
    )
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(
        f"\nanalysis fuzz: {len(outcomes)} cases, {dict(counts)}, "
        f"{sum(c.hostile for c in corpus.cases)} hostile by construction, "
        f"slowest {slowest.seconds:.2f} s ({slowest.case.name}), "
        f"peak memory +{peak_after - peak_before:.0f} MB, {len(failures)} failures"
    )
    report = "\n".join(
        f"- {o.case.name}: {'; '.join(p)}\n  argv {o.case.argv[:6]}\n  stderr {o.err[-400:]!r}"
        for o, p in failures[:15]
    )
    assert not failures, f"{len(failures)} of {len(outcomes)} cases failed:\n{report}"
    assert not corpus.sentinel.exists()
    assert len(outcomes) >= 500
    assert counts["clean error"] >= 450
    assert peak_after - peak_before < MEMORY_LIMIT_MB


#: Cases run as their own process: the memory bombs and a few of each other class.
SUBPROCESS_SAMPLE = (
    "memo 2^29 (9 bytes)", "BINBYTES8 2^32-1", "LONG_BINPUT 2^32-1", "os.system p2 top",
    "builtins.eval p0 value", "50 MB .json", ":zero", "deep arrays",
)  # fmt: skip
#: Runs the command line in a process whose address space is capped at 4 GB (a bomb
#: cannot take the machine down) and reports its peak resident memory at exit: VmHWM,
#: which, unlike ru_maxrss, does not count the forking parent's pages.
_RUNNER = """
import atexit, re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

def peak_kb():
    try:
        with open("/proc/self/status") as fh:
            return int(re.search(r"VmHWM:\\s*(\\d+)", fh.read()).group(1))
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

atexit.register(lambda: sys.stderr.write(f"\\nMAXRSS {peak_kb()}\\n"))
from taskonomy.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_process(argv: list[str]) -> tuple[int, str, float, float]:
    """Exit code, stderr, seconds and peak memory (MB) of the command in its own process."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{argv[:4]} hung") from None
    seconds = time.perf_counter() - start
    err = proc.stderr.decode(errors="replace")
    text, _, rss = err.rpartition("\nMAXRSS ")
    return proc.returncode, text, seconds, int(rss.split()[0]) / 1024


def test_a_sample_in_its_own_process(corpus: Corpus) -> None:
    """Property: as its own process, each sampled case exits 2 with a message, within 2 s
    of the command line's own start-up and under 200 MB peak memory, and runs nothing."""
    # Start-up of each command: its own imports, on an input it refuses at once.
    base_seconds = {}
    for cmd in ("solve", "tree", "report"):
        code, _, base_seconds[cmd], _ = _run_process(command(cmd, "", corpus.root))
        assert code == 2
    picked = [
        next(c for c in corpus.cases if c.hostile and key in c.name) for key in SUBPROCESS_SAMPLE
    ]
    peaks = []
    for case in picked:
        code, err, seconds, peak = _run_process(case.argv)
        peaks.append(peak)
        assert code == 2, (case.name, code, err[-800:])
        assert "error" in err.lower() and "Traceback" not in err, (case.name, err[-800:])
        start_up = base_seconds[case.argv[0]]
        assert seconds < start_up + TIME_LIMIT_S, (case.name, seconds, start_up)
        assert peak < MEMORY_LIMIT_MB, (case.name, peak)
    assert not corpus.sentinel.exists()
    print(
        f"\nanalysis fuzz, own processes: {len(picked)} cases, peak memory at most "
        f"{max(peaks):.0f} MB, start-up { ({k: round(v, 2) for k, v in base_seconds.items()}) } s"
    )
