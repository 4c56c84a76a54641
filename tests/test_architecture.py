"""The package's structure, read from its source: imports point one way (spec <- planner
<- executor <- jobs), and no two modules import each other in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "taskonomy"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, *, module_level: bool) -> set[str]:
    """The taskonomy modules ``name`` imports: at module level (run on import) or
    anywhere (function-level imports included); ``if TYPE_CHECKING:`` blocks never run."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if module_level else list(ast.walk(tree))
    skip = {
        id(n)
        for top in ast.walk(tree)
        if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test)
        for n in ast.walk(top)
    }
    found: set[str] = set()
    for node in nodes:
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def test_no_import_cycles_between_modules() -> None:
    graph = nx.DiGraph()
    for name in MODULES:
        graph.add_node(name)
        graph.add_edges_from((name, dep) for dep in _imports(name, module_level=True))
    cycles = sorted(nx.simple_cycles(graph), key=len)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("taskonomy.spec", ("taskonomy.planner", "taskonomy.executor", "taskonomy.jobs")),
        ("taskonomy.planner", ("taskonomy.executor", "taskonomy.jobs")),
        ("taskonomy.executor", ("taskonomy.jobs",)),
    ],
)
def test_dependencies_point_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    """Anywhere in the layer's modules, lazy imports in functions included."""
    bad = sorted(
        f"{name} imports {dep}"
        for name in MODULES
        if name == layer or name.startswith(layer + ".")
        for dep in _imports(name, module_level=False)
        if dep.startswith(forbidden)
    )
    assert not bad, bad


def test_the_checker_sees_imports() -> None:
    """The checks above would fail on a real edge: the executor imports the planner at
    module level, and the Python API wires the job bodies in lazily."""
    assert "taskonomy.planner.jobs" in _imports("taskonomy.executor.local", module_level=True)
    lazy = _imports("taskonomy.api", module_level=False)
    assert "taskonomy.jobs" in lazy and "taskonomy.jobs" not in _imports(
        "taskonomy.api", module_level=True
    )
