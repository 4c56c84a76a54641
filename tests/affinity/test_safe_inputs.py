"""Bounded, strict reading of affinity inputs: the key codec, JSON, pickles, sizes."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from taskonomy.affinity import AffinityTable, load_affinities
from taskonomy.affinity._input import LIMIT_ENV
from taskonomy.affinity.paper import DATA_DIR, PAPER_SETS
from taskonomy.affinity.release import load_test_losses, read_release_dict
from taskonomy.affinity.table import format_key, parse_key
from taskonomy.errors import AffinityError


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("depth___rgb2mist", r"ambiguous.*'_rgb2mist' starts or ends with '_'"),
        ("depth____rgb2mist", "empty name"),
        ("__depth", "empty name"),
        ("depth__", "empty name"),
        ("_depth__rgb2mist", "ambiguous"),
        ("depth__rgb2mist_", "ambiguous"),
        ("dep th__rgb2mist", "spaces or control characters"),
        ("depth\x00__rgb2mist", "spaces or control characters"),
        ("depth", "release form"),
        ("a" * 5000, "longer than"),
    ],
)
def test_keys_that_do_not_split_one_way_are_refused(key: str, match: str) -> None:
    with pytest.raises(AffinityError, match=match):
        parse_key(key)


def test_release_names_still_parse() -> None:
    assert parse_key("segmentsemantic_rb__class_1000__vanishing_point_well_defined") == (
        ("segmentsemantic_rb", "class_1000"),
        "vanishing_point_well_defined",
    )
    assert parse_key("rgb2depth__rgb2depth") == (("rgb2depth",), "rgb2depth")


def test_a_table_cannot_hold_a_name_that_would_not_round_trip() -> None:
    for sources, target, problem in [
        (("depth_",), "rgb2mist", "name 'depth_' starts or ends with '_'"),
        (("a",), "_b", "name '_b' starts or ends with '_'"),
        (("a__b",), "c", "name 'a__b' holds '__'"),
    ]:
        with pytest.raises(AffinityError, match=re.escape(f"-> {target!r}: {problem}")):
            AffinityTable({(sources, target): 0.5})
    assert format_key(("a", "b"), "c") == "a__b__c"
    with pytest.raises(AffinityError, match="above 1e"):
        AffinityTable.from_release_dict({"a__b": 1e308})
    with pytest.raises(AffinityError, match="finite number >= 0"):
        AffinityTable.from_release_dict({"a__b": True})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"a__b": 0.5, "a__b": 0.25}', "key 'a__b' appears twice"),
        ('{"a__b": NaN}', "NaN is not a number"),
        ('{"a__b": -Infinity}', "-Infinity is not a number"),
        ('{"a__b": 1e400}', "not a finite number"),
        ('{"a__b": ' + "9" * 1000 + "}", "integer of 1000 digits"),
        ('{"a__b": "0.5"}', "expected a finite number"),
        ('{"a__b": null}', "expected a finite number"),
        ('{"a__b": -0.5}', "finite number >= 0"),
        ("{}", "no entries"),
        ('{"a__b": 0.5', "invalid JSON at line 1"),
        ('{"a__b": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    ],
)
def test_strict_json(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "table.json"
    path.write_text(text)
    with pytest.raises(AffinityError, match=match) as err:
        load_affinities(path)
    assert str(path) in str(err.value)


def _bomb(tmp_path: Path, blob: bytes) -> Path:
    path = tmp_path / "bomb.pkl"
    path.write_bytes(blob)
    return path


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (bytes.fromhex("80027d72000000202e"), "memo index 536,870,912 at byte 3 in a 9-byte"),
        (b"\x80\x02}r" + struct.pack("<I", 2**32 - 1) + b".", "memo index 4,294,967,295"),
        (b"\x80\x02}j" + struct.pack("<I", 2**32 - 1) + b".", "memo index 4,294,967,295"),
        (b"\x80\x04\x8e" + struct.pack("<Q", 2**32 - 1) + b"ab.", "expected 4294967295 bytes"),
        (b"\x80\x04\x95" + struct.pack("<Q", 2**40) + b"}.", "a frame of"),
        (b"\x80\x02" + b"(" * 300_000 + b".", "more than 250,000 opcodes"),
        (b"\x80\x02cnumpy\ndtype\n)\x81.", "opcode NEWOBJ at byte"),
        (b"(S'touch x'\nios\nsystem\n.", "opcode INST"),
        (b"cos\nsystem\n(S'touch x'\ntR.", r"refusing to load global os\.system"),
    ],
)
def test_pickles_are_scanned_before_anything_runs(tmp_path: Path, blob: bytes, match: str) -> None:
    """The pre-scan refuses these from the opcodes alone: the messages are its own, so the
    unpickler (which would allocate the memo or call the global) never ran."""
    start = time.perf_counter()
    with pytest.raises(AffinityError, match=match):
        load_affinities(_bomb(tmp_path, blob))
    assert time.perf_counter() - start < 2.0


def test_a_stack_global_is_refused_by_the_unpickler(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    path = _bomb(tmp_path, pickle.dumps({"a__b": Evil()}, protocol=4))
    with pytest.raises(AffinityError, match=r"refusing to load global posix\.system"):
        load_affinities(path)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("name", sorted(PAPER_SETS))
def test_the_shipped_pickles_pass_the_scan(name: str) -> None:
    for rel in PAPER_SETS[name]:
        data = read_release_dict(DATA_DIR / rel)
        assert len(data) > 800 and all(0.0 <= v <= 1.0 for v in data.values())


def test_the_size_limit_and_how_to_raise_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "table.json"
    path.write_text(json.dumps({f"s{i}__t": 0.5 for i in range(200)}))
    monkeypatch.setenv(LIMIT_ENV, "0.001")
    with pytest.raises(AffinityError, match=f"over the 0.001 MB limit.*{LIMIT_ENV}=64"):
        load_affinities(path)
    monkeypatch.setenv(LIMIT_ENV, "1")
    assert len(load_affinities(path)) == 200
    monkeypatch.setenv(LIMIT_ENV, "lots")
    with pytest.raises(AffinityError, match=f"{LIMIT_ENV}='lots' is not a size in MB"):
        load_affinities(path)


def test_special_files_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for path, what in [
        (fifo, "a named pipe"),
        (tmp_path, "a directory"),
        ("/dev/zero", "a device"),
    ]:
        with pytest.raises(AffinityError, match=f"it is {what}"):
            load_affinities(path)
    sparse = tmp_path / "big.pkl"
    with open(sparse, "wb") as fh:
        fh.truncate(50_000_000)
    with pytest.raises(AffinityError, match=r"is 50\.0 MB, over the 4 MB limit"):
        load_affinities(sparse)


def huge_npz(path: Path) -> Path:
    """A valid zip (right CRC) whose member's .npy header claims 10^12 float64 values."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a__b.npy", header.getvalue() + bytes(32))
    return path


def test_losses_that_claim_a_huge_array_are_refused(tmp_path: Path) -> None:
    path = huge_npz(tmp_path / "losses.npz")
    with pytest.raises(AffinityError, match="claims 8,000,000,000,000 bytes of data but holds"):
        load_test_losses(path)
