"""The shipped examples stay valid and agree with each other."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from taskonomy.planner import build_plan
from taskonomy.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_python_example_equals_yaml_example() -> None:
    module_spec = importlib.util.spec_from_file_location("example_spec", EXAMPLES / "spec.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    built = module.mini_spec()
    loaded = load_spec(EXAMPLES / "mini.yaml")
    assert built.model_dump(exclude={"workdir"}) == loaded.spec.model_dump(exclude={"workdir"})
    assert (EXAMPLES / "work" / "mini").resolve() == loaded.workdir
    assert build_plan(built).hash == build_plan(loaded.spec).hash


def test_python_example_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "spec.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "plan mini" in proc.stdout and "transfer (order 2)" in proc.stdout
