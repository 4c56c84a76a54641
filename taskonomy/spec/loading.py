"""Load a spec from YAML or a mapping, apply command-line overrides, explain errors.

Reading is bounded (:mod:`taskonomy.spec.reading`): file size and kind, alias expansion,
nesting depth. Overrides are read with the same loader. What follows from an
overridden setting follows it unless the user set that too (``transfers.max_order=3``
takes ``taxonomy.orders`` along when the file's orders were simply 1 to max_order); the
loader says so in :attr:`LoadedSpec.notes`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from taskonomy.errors import SpecError
from taskonomy.spec.errors import describe_errors, where_of
from taskonomy.spec.models import Spec
from taskonomy.spec.reading import (
    MAX_DEPTH,
    Path_,
    check_size,
    load_yaml,
    plain,
    read_spec_text,
    show_path,
)
from taskonomy.spec.rules import spec_warnings
from taskonomy.spec.types import shorten, validate_path

#: The longest override read (a 10,000-character workdir still gets its own message).
MAX_OVERRIDE_CHARS = 16 * 1024


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec together with where it came from.

    Attributes:
        spec: the validated spec.
        source: the file it was read from (None when built in Python).
        workdir: the work directory, resolved (relative paths are relative to the spec
            file's folder; the default is ``work/<name>`` beside the spec file).
        notes: what the loader derived or found without effect, for the user to read
            (e.g. ``taxonomy.orders`` following an overridden ``transfers.max_order``).
    """

    spec: Spec
    source: Path | None
    workdir: Path
    notes: tuple[str, ...] = ()
    yaml_root: Any = field(default=None, compare=False, repr=False)
    overridden: Mapping[Path_, str] = field(default_factory=dict, compare=False, repr=False)

    def where(self, path: Path_) -> str:
        """`` (line N)`` or `` (set by override '...')`` for a dotted path, or ``""``."""
        return where_of(path, lambda p: line_of(self.yaml_root, p), dict(self.overridden))

    def describe(self, path: Path_, message: str) -> str:
        """One problem at ``path``, worded like the loader's own errors."""
        dotted = ".".join(map(str, path)) or "(top level)"
        source = str(self.source) if self.source is not None else "<python>"
        return f"invalid spec {source!r} (1 problem):\n  - {dotted}{self.where(path)}: {message}"


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
    shown = shorten(text, 80)
    if len(text) > MAX_OVERRIDE_CHARS:
        raise SpecError(
            f"override {shown!r} is {len(text):,} characters; an override is at most "
            f"{MAX_OVERRIDE_CHARS:,}"
        )
    key, sep, raw = text.partition("=")
    parts = key.split(".")
    if not sep or not key or any(not part.strip() for part in parts):
        raise SpecError(
            f"override {shown!r} is not of the form dotted.key=value "
            "(e.g. transfers.max_order=3 or executor.kind=slurm)"
        )
    if len(parts) > MAX_DEPTH:
        raise SpecError(f"override {shown!r}: the key has more than {MAX_DEPTH} parts")
    where = f"override {shown!r}"
    root = load_yaml(raw, where) if raw.strip() else raw
    check_size(root, where, lambda _p: None)
    path: Path_ = tuple(
        int(p) if p.lstrip("-").isdigit() and len(p) < 10 else p.strip() for p in parts
    )
    return path, plain(root)


def apply_override(data: dict[str, Any], path: Path_, value: Any, text: str) -> Path_:
    """Set ``value`` at ``path`` in ``data`` (in place); list items match by index or name.

    Returns:
        the path with list items named by their index, as validation errors give it.
    """
    node: Any = data
    resolved: list[str | int] = []
    shown = shorten(text, 80)
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            index = _list_index(node, key, shown)
            resolved.append(index)
            if last:
                node[index] = value
                break
            if isinstance(node[index], str):  # a task written as a bare name
                node[index] = {"name": node[index]}
            node = node[index]
        elif isinstance(node, dict):
            resolved.append(key)
            if last:
                node[key] = value
                break
            if not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]
        else:
            where = ".".join(map(str, path[:depth]))
            raise SpecError(f"override {shown!r}: {where!r} is a value, not a section")
    return tuple(resolved)


def _list_index(node: list[Any], key: str | int, shown: str) -> int:
    if isinstance(key, int):
        if -len(node) <= key < len(node):
            return key % len(node)
        raise SpecError(
            f"override {shown!r}: index {key} is out of range (the list has {len(node)})"
        )
    for i, item in enumerate(node):
        name = (
            item if isinstance(item, str) else item.get("name") if isinstance(item, dict) else None
        )
        if name == key:
            return i
    raise SpecError(f"override {shown!r}: no list item is named {shorten(key, 40)!r}")


def _follow_max_order(
    before: Mapping[str, Any], after: dict[str, Any], overridden: Mapping[Path_, str]
) -> list[str]:
    """Let ``taxonomy.orders`` follow an overridden ``transfers.max_order``.

    Only when no override touched the orders and the file's orders were exactly 1 to
    its own max_order, i.e. what leaving them out would have meant.
    """

    def get(data: Mapping[str, Any], *path: str) -> Any:
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node

    touched_max = any(
        p[:2] == ("transfers", "max_order") or p == ("transfers",) for p in overridden
    )
    touched_orders = any(
        p[:2] == ("taxonomy", "orders") or p in (("taxonomy",), ()) for p in overridden
    )
    old_max, new_max = get(before, "transfers", "max_order"), get(after, "transfers", "max_order")
    orders = get(after, "taxonomy", "orders")
    if not touched_max or touched_orders or not isinstance(orders, list):
        return []
    old = old_max if isinstance(old_max, int) and not isinstance(old_max, bool) else 1
    if not isinstance(new_max, int) or isinstance(new_max, bool) or not 1 <= new_max <= 8:
        return []
    if orders != list(range(1, old + 1)) or new_max == old:
        return []
    after["taxonomy"]["orders"] = list(range(1, new_max + 1))
    return [
        f"taxonomy.orders follows transfers.max_order={new_max}: {list(range(1, new_max + 1))} "
        f"(the spec's {orders} were 1 to its max_order {old}); set taxonomy.orders too "
        "to choose others"
    ]


def _validate(
    data: Mapping[str, Any], overrides: Sequence[str], source: str, yaml_root: Any
) -> tuple[Spec, list[str], dict[Path_, str]]:
    check_size(data, source, lambda p: line_of(yaml_root, p))
    before: dict[str, Any] = plain(data)
    work: dict[str, Any] = plain(data)
    overridden: dict[Path_, str] = {}
    for text in overrides:
        try:
            path, value = parse_override(text)
            overridden[apply_override(work, path, value, text)] = shorten(text, 80)
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from None
    notes = _follow_max_order(before, work, overridden) if overrides else []
    try:
        spec = Spec.model_validate(work)
    except ValidationError as exc:
        raise SpecError(
            describe_errors(exc, source, lambda p: line_of(yaml_root, p), overridden)
        ) from None
    except RecursionError:
        raise SpecError(f"{source}: the spec nests too deeply to validate") from None
    return spec, notes + spec_warnings(spec), overridden


def spec_from_mapping(
    data: Mapping[str, Any],
    *,
    overrides: Sequence[str] = (),
    source: str = "<python>",
    yaml_root: Any = None,
) -> Spec:
    """Validate ``data`` (after ``overrides``) into a :class:`Spec`, or raise SpecError."""
    return _validate(data, overrides, source, yaml_root)[0]


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
    text = read_spec_text(file)
    where = str(file) if len(str(file)) <= 200 else show_path(file)
    root = load_yaml(text, where)
    if not isinstance(root, Mapping):
        kind = "nothing" if root is None else f"a {type(root).__name__}"
        raise SpecError(
            f"{where}: a spec is a YAML mapping with keys such as name, tasks, dataset; "
            f"this file holds {kind}"
        )
    spec, notes, overridden = _validate(root, overrides, where, root)
    loaded = LoadedSpec(spec, file, file, tuple(notes), root, overridden)
    try:
        resolved = resolve_workdir(spec, file.parent, workdir)
    except _WorkdirError as exc:
        if workdir is not None:
            raise SpecError(f"{where}: --workdir: {exc}") from None
        raise SpecError(loaded.describe(("workdir",), str(exc))) from None
    return dataclasses.replace(loaded, workdir=resolved)


class _WorkdirError(SpecError):
    """The work directory cannot be resolved (the message leaves out where it was set)."""


def resolve_workdir(spec: Spec, base: Path, explicit: str | Path | None = None) -> Path:
    """The absolute work directory: ``explicit``, else the spec's, else ``work/<name>``."""
    try:
        if explicit is not None:
            return validate_path(Path(explicit)).expanduser().resolve()
        chosen = spec.workdir if spec.workdir is not None else Path("work") / spec.name
        chosen = chosen.expanduser()
        return validate_path(chosen if chosen.is_absolute() else base / chosen).resolve()
    except RuntimeError as exc:  # Path.home() without a home directory
        raise _WorkdirError(
            f"cannot expand '~' ({exc}); set HOME or give an absolute path"
        ) from None
    except (OSError, ValueError) as exc:
        shown = show_path(explicit if explicit is not None else spec.workdir or "")
        raise _WorkdirError(f"{shown}: {exc}") from None


def loaded_from_python(spec: Spec, workdir: str | Path | None = None) -> LoadedSpec:
    """Wrap a spec built in Python; relative work directories are relative to the cwd."""
    return LoadedSpec(spec, None, resolve_workdir(spec, Path.cwd(), workdir), ())
