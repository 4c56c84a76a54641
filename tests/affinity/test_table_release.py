"""The affinity table, release-format IO (JSON and pickle) and the similarity tree."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from taskonomy.affinity import (
    AffinityTable,
    load_affinities,
    save_affinities,
    similarity_tree,
)
from taskonomy.errors import AffinityError

RELEASE = {
    "normals__depth": 0.30,
    "edges__depth": 0.10,
    "normals__edges__depth": 0.35,
    "self__depth": 0.20,
    "pixels__depth": 0.05,
    "depth__normals": 0.45,
    "edges__normals": 0.15,
    "self__normals": 0.40,
    "depth__edges": 0.2,
    "normals__edges": 0.3,
    "self__edges": 0.5,
    "jigsaw__edges": 0.0,
}


def test_table_views() -> None:
    table = AffinityTable.from_release_dict(RELEASE)
    assert table.targets == ["depth", "edges", "normals"]
    assert table.sources == ["depth", "edges", "jigsaw", "normals"]
    assert table.max_order == 2
    assert table.candidates("depth")[("normals", "edges")] == 0.35
    assert table.get(["edges", "normals"], "depth") == 0.35
    assert table.to_release_dict() == RELEASE
    labels, values = table.first_order_matrix()
    assert labels == ("depth", "edges", "jigsaw", "normals")
    assert values[0, 0] == 0.20  # self on the diagonal
    assert values[3, 0] == 0.30  # normals -> depth
    assert np.isnan(values[0, 2])  # nothing into jigsaw


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"depth": 1.0}, "release form"),
        ({"self__pixels__depth": 1.0}, "only appear alone"),
        ({"a__b__c": 1.0, "b__a__c": 2.0}, "name the same sources into"),
        ({"a__self": 1.0}, "baseline and cannot be a target"),
        ({"a__b": -1.0}, "finite number >= 0"),
    ],
)
def test_bad_tables(data: dict[str, float], match: str) -> None:
    with pytest.raises(AffinityError, match=match):
        AffinityTable.from_release_dict(data)


def test_json_round_trip(tmp_path: Path) -> None:
    table = AffinityTable.from_release_dict(RELEASE)
    path = tmp_path / "aff.json"
    save_affinities(table, path)
    assert json.loads(path.read_text()) == RELEASE
    assert load_affinities(path) == table


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_release_pickle_with_numpy_scalars(tmp_path: Path, protocol: int) -> None:
    data = {
        k: (np.float64(v) if i % 2 else np.float32(v)) for i, (k, v) in enumerate(RELEASE.items())
    }
    path = tmp_path / "affinities.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    table = load_affinities(path)
    expected = {k: float(v) for k, v in data.items()}
    assert table.to_release_dict() == expected


def test_big_endian_numpy_scalar(tmp_path: Path) -> None:
    path = tmp_path / "be.pkl"
    path.write_bytes(pickle.dumps({"a__b": np.dtype(">f8").type(0.5)}, protocol=2))
    assert load_affinities(path).to_release_dict() == {"a__b": 0.5}


class _Evil:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "affinities.pkl"
    path.write_bytes(pickle.dumps({"a__b": _Evil(str(marker))}))
    with pytest.raises(AffinityError, match=r"refusing to load global posix\.system"):
        load_affinities(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (pickle.dumps([1.0, 2.0]), "expected a mapping"),
        (pickle.dumps({"a__b": "0.5"}), "expected a finite number"),
        (pickle.dumps({"a__b": np.int8(1).dtype}), "not a safe affinity pickle"),
        (b"\x80\x04garbage", "not a safe affinity pickle"),
    ],
)
def test_pickle_shapes_refused(tmp_path: Path, payload: bytes, match: str) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(payload)
    with pytest.raises(AffinityError, match=match):
        load_affinities(path)


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(AffinityError, match="cannot read affinities"):
        load_affinities(tmp_path / "missing.json")
    odd = tmp_path / "aff.txt"
    odd.write_text("hello")
    with pytest.raises(AffinityError, match="cannot tell the format"):
        load_affinities(odd)
    broken = tmp_path / "aff.json"
    broken.write_text("{not json")
    with pytest.raises(AffinityError, match="invalid JSON"):
        load_affinities(broken)


def test_similarity_tree_groups_alike_tasks() -> None:
    # Two families: {a, b} transfer well to x, {c, d} transfer well to y.
    data = {
        "a__x": 0.9, "b__x": 0.8, "c__x": 0.1, "d__x": 0.05,
        "a__y": 0.1, "b__y": 0.15, "c__y": 0.8, "d__y": 0.9,
    }  # fmt: skip
    tree = similarity_tree(AffinityTable.from_release_dict(data))
    assert tree.labels == ("a", "b", "c", "d")
    assert tree.clusters(2) == [["a", "b"], ["c", "d"]]
    assert sorted(tree.leaf_order) == ["a", "b", "c", "d"]
    newick = tree.to_newick()
    assert newick.endswith(";") and all(name in newick for name in "abcd")
    with pytest.raises(AffinityError, match="needs metric 'euclidean'"):
        similarity_tree(AffinityTable.from_release_dict(data), method="ward", metric="cosine")


def test_mutual_transfer_groups_tasks_only_when_a_task_is_its_own_best_source() -> None:
    """Two families whose only evidence is mutual: a and b are each other's best source,
    c and d likewise, while on the remaining targets a looks like d and b like c. With
    each task's own entry at the target's mean, the mutual evidence drops out of the
    cosine (a's entry for b meets b's blank own entry) and a pairs with d; counted as
    the target's best, the families come out."""
    s_, m_, l_ = 0.6, 0.3, 0.1  # strong, middling, weak
    rows = {  # source -> its affinity into each other target
        "a": {"b": s_, "c": m_, "d": l_},
        "b": {"a": s_, "c": l_, "d": m_},
        "c": {"a": m_, "b": l_, "d": s_},
        "d": {"a": l_, "b": m_, "c": s_},
    }
    data = {f"{src}__{tgt}": v for src, row in rows.items() for tgt, v in row.items()}
    table = AffinityTable.from_release_dict(data)
    assert similarity_tree(table).own == "best"
    assert sorted(map(sorted, similarity_tree(table).clusters(2))) == [["a", "b"], ["c", "d"]]
    blank = similarity_tree(table, own="mean")
    assert sorted(map(sorted, blank.clusters(2))) == [["a", "d"], ["b", "c"]]
    with pytest.raises(AffinityError, match="unknown own-entry rule 'max'; choose one of best"):
        similarity_tree(table, own="max")  # type: ignore[arg-type]
