"""``taskonomy solve`` on synthetic tables in the original release's format."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from taskonomy.affinity import AffinityTable
from taskonomy.cli import main
from taskonomy.solvers import BACKENDS, solutions_to_json, solve_sweep
from taskonomy.solvers.synthetic import synthetic_table

TABLE = synthetic_table(n_targets=5, n_source_only=1, max_order=2, beam=3, seed=7)


@pytest.fixture
def release_json(tmp_path: Path) -> Path:
    path = tmp_path / "affinities.json"
    path.write_text(json.dumps(TABLE.to_release_dict()), encoding="utf-8")
    return path


@pytest.fixture
def release_pickle(tmp_path: Path) -> Path:
    # Like the original release: one pickled dict, values numpy float scalars.
    data = {k: np.float64(v) for k, v in TABLE.to_release_dict().items()}
    path = tmp_path / "affinities_16k.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["solve", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_json_schema_and_values(release_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "-a", str(release_json), "--budgets", "1-3", "-k", "1", "-k", "2")
    sols = doc["solutions"]
    assert isinstance(sols, list) and len(sols) == 6
    first = sols[0]
    assert {"budget", "max_order", "solver", "status", "objective", "supervised", "edges"} <= set(
        first
    )
    assert (first["budget"], first["max_order"], first["solver"]) == (1, 1, "highs")
    assert first["status"] == "optimal"
    assert set(first["edges"]) == set(TABLE.targets)
    assert ["self"] in first["edges"].values()
    expected = solutions_to_json(solve_sweep(TABLE, [1, 2, 3], [1, 2]))
    for got, want in zip(sols, expected["solutions"], strict=True):
        assert got["objective"] == pytest.approx(want["objective"], abs=1e-9)
        assert (got["supervised"], got["edges"]) == (want["supervised"], want["edges"])
    assert [p["budget"] for p in doc["curve"]] == [1, 2, 3, 1, 2, 3]  # type: ignore[union-attr]


def test_pickle_gives_the_same_answer(
    release_json: Path, release_pickle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _json(capsys, "-a", str(release_json), "-b", "2", "-b", "4")
    b = _json(capsys, "-a", str(release_pickle), "-b", "2", "-b", "4")
    for doc in (a, b):
        for sol in doc["solutions"]:  # type: ignore[attr-defined]
            sol.pop("solve_seconds")
    assert a == b


@pytest.mark.parametrize("solver", [b.name for b in BACKENDS if b.installed()])
def test_every_installed_solver(
    solver: str, release_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(capsys, "-a", str(release_json), "-b", "2", "--solver", solver)
    (sol,) = doc["solutions"]  # type: ignore[misc]
    assert sol["solver"] == solver and sol["status"] == "optimal"


def test_text_and_dot(release_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "-a", str(release_json), "--budgets", "1-2"]) == 0
    text = capsys.readouterr().out
    assert "budget 1, max order 2: optimal, objective" in text
    assert "supervised (1):" in text and "<-  own network" in text
    assert "budget curve" in text
    assert main(["solve", "-a", str(release_json), "--budgets", "1,2", "-f", "dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.count("digraph taxonomy_b") == 2 and dot.count("{") == dot.count("}")
    assert "fillcolor=lightblue" in dot and "->" in dot


def test_infeasible_budget_is_reported(
    release_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(capsys, "-a", str(release_json), "-b", "0")
    (sol,) = doc["solutions"]  # type: ignore[misc]
    assert sol["status"] == "infeasible"
    assert sol["reason"].startswith("budget 0 cannot cover targets task00, task01")


def test_costs_file(release_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _json(capsys, "-a", str(release_json), "-b", "1", "-k", "1")
    chosen = base["solutions"][0]["supervised"][0]  # type: ignore[index]
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({chosen: 5}), encoding="utf-8")
    doc = _json(capsys, "-a", str(release_json), "-b", "1", "-k", "1", "--costs", str(costs))
    assert chosen not in doc["solutions"][0]["supervised"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["-b", "1", "--budgets", "1-3"], "not both"),
        (["--budgets", "3-1"], "is empty"),
        (["--solver", "highs", "--costs", "missing.json"], "cannot read costs file"),
        (["--form", "weak"], "unknown constraint form 'weak'"),
    ],
)
def test_user_errors_exit_2(
    release_json: Path, capsys: pytest.CaptureFixture[str], args: list[str], match: str
) -> None:
    assert main(["solve", "-a", str(release_json), *args]) == 2
    assert match in capsys.readouterr().err


@pytest.mark.parametrize("solver", [b.name for b in BACKENDS if b.installed()])
def test_a_time_limit_is_not_infeasibility(
    solver: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: with a time limit too short to prove anything, feasible budgets came back
    'infeasible' (and which ones changed run to run); they are 'time_limit' now."""
    bigger = synthetic_table(n_targets=10, n_source_only=3, max_order=3, beam=4, seed=1)
    path = tmp_path / "affinities.json"
    path.write_text(json.dumps(bigger.to_release_dict()), encoding="utf-8")
    for _ in range(3):
        args = ["-a", str(path), "--budgets", "1-5", "--solver", solver, "--time-limit", "0.001"]
        doc = _json(capsys, *args)
        statuses = {s["status"] for s in doc["solutions"]}  # type: ignore[attr-defined]
        assert statuses <= {"optimal", "time_limit"}, statuses


@pytest.mark.parametrize(
    ("content", "args", "match"),
    [
        ('{"a__b": NaN}', [], "NaN is not a number"),
        ('{"a__b": 0.5, "a__b": 0.25}', [], "key 'a__b' appears twice"),
        ('{"depth___rgb2mist": 0.5}', [], "ambiguous"),
        ('{"a____b": 0.5}', [], "empty name"),
        ('{"a__b": 1e308}', [], "above 1e+06"),
        ('{"pixels__x": 0.5, "a__y": 0.5}', [], "targets x have no candidate transfer"),
        ('{"a__b": 0.5}', ["--budgets", "1-100000000"], "asks for 100,000,000 budgets"),
        ('{"a__b": 0.5}', ["-k", str(10**30)], "out of range"),
        ('{"a__b": 0.5}', ["--time-limit", "inf"], "finite number of seconds"),
        ('{"a__b": 0.5}', ["--threads", "100000"], "more than 1024"),
    ],
)
def test_hostile_inputs_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    args: list[str],
    match: str,
) -> None:
    path = tmp_path / "affinities.json"
    path.write_text(content, encoding="utf-8")
    assert main(["solve", "-a", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    if not args:
        assert str(path) in " ".join(err.split())


def test_a_malformed_run_record_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "affinities.json"
    path.write_text(json.dumps(TABLE.to_release_dict()), encoding="utf-8")
    record = tmp_path / "taxonomy.json"
    for problem, match in [
        ({"budgets": ["x"]}, "problem.budgets must be"),
        ({"orders": [0]}, "problem.orders must be"),
        ({"label_costs": {"task00": "cheap"}}, "label cost of 'task00' must be a number"),
    ]:
        record.write_text(json.dumps({"problem": problem}), encoding="utf-8")
        assert main(["solve", "-a", str(path)]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert str(record) in err and match in err, err
    record.write_text('{"problem": ', encoding="utf-8")
    assert main(["solve", "-a", str(path)]) == 2
    assert "invalid JSON" in capsys.readouterr().err


def test_bad_costs_names_the_task(
    release_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    costs = tmp_path / "costs.json"
    costs.write_text('{"tsak03": 2}', encoding="utf-8")
    assert main(["solve", "-a", str(release_json), "--costs", str(costs)]) == 2
    assert "did you mean 'task03'" in capsys.readouterr().err


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "affinities.pkl"
    path.write_bytes(pickle.dumps({"a__b": _Evil(str(marker))}, protocol=2))
    assert main(["solve", "-a", str(path)]) == 2
    assert "refusing to load global" in capsys.readouterr().err
    assert not marker.exists()


def test_solve_does_not_import_torch(release_json: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from taskonomy.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['solve', '-a', {str(release_json)!r}, '-b', '2', '-f', 'json'])\n"
        "print(rc, 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["0", "False"]


def test_json_stdout_is_clean_in_a_fresh_process(release_json: Path) -> None:
    # The first HiGHS instance of a process prints a banner on C stdout; it must not
    # reach the JSON.
    code = "import sys; from taskonomy.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", code, "solve", "-a", str(release_json), "-b", "1", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout)["solutions"][0]["status"] == "optimal"


def test_table_round_trip_through_release_dict() -> None:
    assert AffinityTable.from_release_dict(TABLE.to_release_dict()) == TABLE


def test_plot_draws_one_grid_per_order(
    release_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from matplotlib.image import imread

    out = tmp_path / "figs"
    args = ["solve", "-a", str(release_json), "--budgets", "1-3", "-k", "1", "-k", "2"]
    assert main([*args, "--plot", str(out), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["solutions"]  # stdout stays clean JSON
    assert "wrote 2 taxonomy figure(s)" in captured.err
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["taxonomy_order1.png", "taxonomy_order2.png"]
    assert float(imread(out / pngs[0]).std()) > 0.01  # not blank


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from taskonomy import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"taskonomy {__version__}"
