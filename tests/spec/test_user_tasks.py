"""User tasks named by import path: the one way a spec may run code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from taskonomy.errors import SpecError
from taskonomy.spec import Spec, resolve_tasks


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_tasks.py").write_text(
        "from taskonomy.tasks import TaskInfo, OutputKind, Loss\n"
        "GLOSS = TaskInfo('gloss', 'glossiness', OutputKind.DENSE_REGRESSION, 1, Loss.L1,"
        " label_cost=3.0)\n"
        "class Holder:\n    info = GLOSS\n"
        "NOT_A_TASK = 42\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_tasks"
    sys.modules.pop("my_tasks", None)


def test_user_task_by_import_path(user_module: str) -> None:
    spec = Spec(
        name="u",
        tasks=[
            {"name": "gloss", "kind": f"{user_module}:GLOSS"},
            {"name": "g2", "kind": f"{user_module}:Holder"},
            "rgb2depth",
        ],
    )
    tasks = {t.name: t for t in resolve_tasks(spec)}
    assert tasks["gloss"].label_cost == 3.0
    assert tasks["g2"].info.name == "gloss"


def test_import_path_to_non_task(user_module: str) -> None:
    with pytest.raises(ValueError, match="is a int, not a task"):
        Spec(name="u", tasks=[{"name": "x", "kind": f"{user_module}:NOT_A_TASK"}, "rgb2depth"])
    with pytest.raises(ValueError, match="has no attribute 'MISSING'"):
        Spec(name="u", tasks=[{"name": "x", "kind": f"{user_module}:MISSING"}, "rgb2depth"])


def test_spec_error_is_value_error() -> None:
    assert issubclass(SpecError, ValueError)
