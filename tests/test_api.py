"""The top-level API: small, lazily imported, and enough for the Python route."""

from __future__ import annotations

import subprocess
import sys

import pytest

import taskonomy as tx


def test_import_is_light_and_every_public_name_resolves() -> None:
    code = (
        "import sys, taskonomy\n"
        "names = ('torch', 'numpy', 'pydantic', 'networkx', 'scipy')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)\n"
        "print(len(taskonomy.__all__))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert 20 <= int(out[1]) <= 32
    for name in tx.__all__:
        assert getattr(tx, name) is not None
    assert sorted(dir(tx)) == sorted(tx.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = tx.nope  # type: ignore[attr-defined]


def test_the_python_route_builds_plans_and_reads_the_paper() -> None:
    spec = tx.Spec(name="api", tasks=[tx.TaskSpec(name="rgb2depth"), tx.TaskSpec(name="edge2d")])
    plan = tx.build_plan(spec)
    assert plan.hash == tx.build_plan(spec).hash and len(plan) > 0
    table, winrates = tx.load_published("paper:16k")
    assert len(table.targets) == 22 and winrates is not None
    sols = tx.solve_sweep(table, budgets=[3], orders=[1])
    assert sols[0].status.value == "optimal" and len(sols[0].supervised) <= 3
    groups = tx.similarity_tree(table).clusters(4)
    assert sum(len(g) for g in groups) == len(table.sources)
