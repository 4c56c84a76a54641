"""Load a spec from YAML or a mapping, apply command-line overrides, explain errors.

YAML is read with ruamel's round-trip loader, which builds only plain data (maps, lists,
scalars) and never constructs Python objects from tags, and which remembers the line of
every key so an error can point at it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from taskonomy.errors import SpecError
from taskonomy.spec.errors import describe_errors
from taskonomy.spec.models import Spec

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec together with where it came from.

    Attributes:
        spec: the validated spec.
        source: the file it was read from (None when built in Python).
        workdir: the work directory, resolved (relative paths are relative to the spec
            file's folder; the default is ``work/<name>`` beside the spec file).
    """

    spec: Spec
    source: Path | None
    workdir: Path


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k) if not isinstance(k, int) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def line_of(root: Any, path: Path_) -> int | None:
    """The 1-based YAML line of the deepest node of ``path`` that exists in ``root``."""
    node, line = root, None
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def parse_override(text: str) -> tuple[Path_, Any]:
    """Split ``a.b.0.c=value`` into a path and a YAML-parsed value."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise SpecError(
            f"override {text!r} is not of the form dotted.key=value "
            "(e.g. transfers.max_order=3 or executor.kind=slurm)"
        )
    try:
        value = YAML(typ="safe", pure=True).load(io.StringIO(raw)) if raw.strip() else raw
    except YAMLError as exc:
        raise SpecError(f"override {text!r}: cannot read the value {raw!r} as YAML: {exc}") from exc
    path: Path_ = tuple(int(p) if p.lstrip("-").isdigit() else p for p in key.split("."))
    return path, value


def apply_override(data: dict[str, Any], path: Path_, value: Any, text: str) -> None:
    """Set ``value`` at ``path`` in ``data`` (in place); list items match by index or name."""
    node: Any = data
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            index = _list_index(node, key, text)
            if last:
                node[index] = value
                return
            if isinstance(node[index], str):  # a task written as a bare name
                node[index] = {"name": node[index]}
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
                return
            if not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]
        else:
            where = ".".join(map(str, path[:depth]))
            raise SpecError(f"override {text!r}: {where!r} is a value, not a section")


def _list_index(node: list[Any], key: str | int, text: str) -> int:
    if isinstance(key, int):
        if -len(node) <= key < len(node):
            return key % len(node)
        raise SpecError(
            f"override {text!r}: index {key} is out of range (the list has {len(node)})"
        )
    for i, item in enumerate(node):
        name = (
            item if isinstance(item, str) else item.get("name") if isinstance(item, dict) else None
        )
        if name == key:
            return i
    raise SpecError(f"override {text!r}: no list item is named {key!r}")


def spec_from_mapping(
    data: Mapping[str, Any],
    *,
    overrides: Sequence[str] = (),
    source: str = "<python>",
    yaml_root: Any = None,
) -> Spec:
    """Validate ``data`` (after ``overrides``) into a :class:`Spec`, or raise SpecError."""
    plain: dict[str, Any] = _plain(data)
    overridden: dict[Path_, str] = {}
    for text in overrides:
        path, value = parse_override(text)
        apply_override(plain, path, value, text)
        overridden[path] = text
    try:
        return Spec.model_validate(plain)
    except ValidationError as exc:
        raise SpecError(
            describe_errors(exc, source, lambda p: line_of(yaml_root, p), overridden)
        ) from None


def load_spec(
    path: str | Path, overrides: Sequence[str] = (), *, workdir: str | Path | None = None
) -> LoadedSpec:
    """Read, override and validate the spec file at ``path``.

    Args:
        path: a YAML spec file.
        overrides: ``dotted.key=value`` strings applied in order before validation.
        workdir: overrides the spec's work directory (relative to the current directory).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file {str(file)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {str(file)!r}: {exc}") from None
    try:
        root = _yaml().load(text)
    except MarkedYAMLError as exc:
        raise SpecError(f"{file}: {_describe_yaml_error(exc)}") from None
    except YAMLError as exc:
        raise SpecError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(root, Mapping):
        raise SpecError(
            f"{file}: a spec is a YAML mapping with keys such as name, tasks, dataset; "
            f"this file holds a {type(root).__name__}"
        )
    spec = spec_from_mapping(root, overrides=overrides, source=str(file), yaml_root=root)
    return LoadedSpec(spec, file, resolve_workdir(spec, file.parent, workdir))


def _describe_yaml_error(exc: MarkedYAMLError) -> str:
    """``line L, column C: problem`` with the construct being parsed, where known."""
    parts = []
    if exc.context_mark is not None and exc.context:
        parts.append(f"line {exc.context_mark.line + 1}: {exc.context}")
    if exc.problem_mark is not None:
        where = f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
        parts.append(f"{where}: {exc.problem or 'invalid YAML'}")
    return "; ".join(parts) or "invalid YAML"


def resolve_workdir(spec: Spec, base: Path, explicit: str | Path | None = None) -> Path:
    """The absolute work directory: ``explicit``, else the spec's, else ``work/<name>``."""
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    chosen = spec.workdir if spec.workdir is not None else Path("work") / spec.name
    chosen = chosen.expanduser()
    return (chosen if chosen.is_absolute() else base / chosen).resolve()


def loaded_from_python(spec: Spec, workdir: str | Path | None = None) -> LoadedSpec:
    """Wrap a spec built in Python; relative work directories are relative to the cwd."""
    return LoadedSpec(spec, None, resolve_workdir(spec, Path.cwd(), workdir))
