"""Read spec text and YAML with bounds, so that no input hangs or exhausts memory.

A spec file must be a regular file of at most :data:`MAX_SPEC_BYTES` of UTF-8 text (no
device, pipe, directory or binary file: it is opened without blocking and checked before
anything is read). YAML is read with ruamel's round-trip loader, which builds only plain
data (maps, lists, scalars), never Python objects from tags, and remembers the line of
every key. Aliases share nodes, so the loaded tree is small even for a "billion laughs";
:func:`check_size` counts what it would expand to (and how deep it nests) before anything
walks it, and refuses past :data:`MAX_NODES` values or :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarint import ScalarInt

from taskonomy.errors import SpecError
from taskonomy.spec.types import LongNumber, shorten

#: The largest spec file read (the paper's 26-task spec is about 3 KB).
MAX_SPEC_BYTES = 64 * 1024
#: The most lines and flow items a spec may have before it is parsed (the paper's has
#: about 90): ruamel's pure-Python parser takes some 0.1 ms per token on a slow core.
MAX_ITEMS = 3000
#: The most values (maps, lists, scalars) a spec may hold once its aliases are expanded.
MAX_NODES = 20_000
#: The deepest a spec may nest (the deepest real key, executor.resources.<kind>.gpus, is 4).
MAX_DEPTH = 32
#: Integers with more digits than this are kept as text (see LongNumber).
MAX_NUMBER_DIGITS = 1000

Path_ = tuple[str | int, ...]


class _Constructor(RoundTripConstructor):
    """The round-trip constructor, except that over-long integers stay text."""

    def construct_yaml_int(self, node: Any) -> Any:
        value = str(node.value)
        if sum(c.isdigit() for c in value) > MAX_NUMBER_DIGITS:
            return LongNumber(value)
        return super().construct_yaml_int(node)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    return yaml


def show_path(path: str | Path) -> str:
    """A path as messages quote it: repr, cut when very long, NUL and newlines escaped."""
    return repr(shorten(str(path), 200))


_KINDS: list[tuple[Callable[[int], bool], str]] = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def read_spec_text(file: Path) -> str:
    """The text of the spec file ``file``, or a SpecError saying why it cannot be one."""
    name = show_path(file)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        mode = os.stat(file).st_mode
    except FileNotFoundError:
        raise SpecError(f"spec file {name} does not exist") from None
    except ValueError:  # an embedded NUL byte
        raise SpecError(f"spec file {name}: a path cannot contain a NUL byte") from None
    except OSError as exc:
        raise SpecError(f"cannot open spec file {name}: {exc.strerror or exc}") from None
    _refuse_special(mode, name)  # before opening: opening a FIFO would block
    try:
        fd = os.open(file, flags)
    except FileNotFoundError:
        raise SpecError(f"spec file {name} does not exist") from None
    except OSError as exc:
        raise SpecError(f"cannot open spec file {name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)  # of what was opened, in case the path changed since the stat
        _refuse_special(info.st_mode, name)
        if info.st_size > MAX_SPEC_BYTES:
            raise _too_big(name, info.st_size)
        chunks, size = [], 0
        while size <= MAX_SPEC_BYTES:
            chunk = os.read(fd, MAX_SPEC_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SpecError(f"cannot read spec file {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_SPEC_BYTES:
        raise _too_big(name, len(data))
    if b"\0" in data:
        raise SpecError(
            f"spec file {name} is a binary file (it holds NUL bytes), not YAML text; "
            "give a YAML file such as examples/mini.yaml"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"spec file {name}: line {line}: byte {exc.start} is not UTF-8 text; "
            "save the file as UTF-8"
        ) from None
    return text.removeprefix("\ufeff")


def _refuse_special(mode: int, name: str) -> None:
    if not stat.S_ISREG(mode):
        what = next((w for test, w in _KINDS if test(mode)), "not a regular file")
        raise SpecError(
            f"spec file {name} is {what}, not a regular file; give a YAML file "
            "such as examples/mini.yaml"
        )


def _too_big(name: str, size: int) -> SpecError:
    return SpecError(
        f"spec file {name} is {size:,} bytes; a spec is at most {MAX_SPEC_BYTES // 1024} KiB "
        "of YAML (the paper's 26-task spec is about 3 KB): is this the right file?"
    )


def _shape(text: str) -> tuple[int, int, int]:
    """The deepest nesting of flow brackets in ``text``, its line, and the number of
    lines and flow items, skipping quoted strings and comments (ruamel's scanner is
    quadratic in the depth and slow per item)."""
    depth = deepest = items = 0
    line = at = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            items += 1
        elif c == ",":
            items += 1
        elif c in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, line
        elif c in "]}":
            depth = max(0, depth - 1)
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n"):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "'\"":
            end = i + 1
            while end < n and text[end] != c:
                end += 2 if c == '"' and text[end] == "\\" else 1
            line += text.count("\n", i, end)
            i = end + 1
            continue
        i += 1
    return deepest, at, items


def load_yaml(text: str, where: str) -> Any:
    """Parse ``text`` (from ``where``: a file or an override) into round-trip YAML."""
    depth, line, items = _shape(text)
    if depth > MAX_DEPTH:
        raise SpecError(
            f"{where}: line {line}: brackets nest {depth:,} levels deep; a spec nests at "
            f"most {MAX_DEPTH} levels"
        )
    if items > MAX_ITEMS:
        raise SpecError(
            f"{where}: {items:,} lines and list items, more than the {MAX_ITEMS:,} a spec "
            "may hold (the paper's has about 90): is this the right file?"
        )
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        raise SpecError(f"{where}: {_describe_yaml_error(exc)}") from None
    except YAMLError as exc:
        raise SpecError(f"{where}: not valid YAML: {shorten(str(exc), 200)}") from None
    except RecursionError:
        raise SpecError(
            f"{where}: the YAML nests too deeply to read; a spec nests at most {MAX_DEPTH} levels"
        ) from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        # ruamel's constructors raise these on some malformed documents
        raise SpecError(f"{where}: not readable YAML: {shorten(str(exc), 200)}") from None


def _describe_yaml_error(exc: MarkedYAMLError) -> str:
    """``line L, column C: problem`` with the construct being parsed, where known."""
    parts = []
    if exc.context_mark is not None and exc.context:
        parts.append(f"line {exc.context_mark.line + 1}: {shorten(str(exc.context), 200)}")
    if exc.problem_mark is not None:
        where = f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
        parts.append(f"{where}: {shorten(str(exc.problem or 'invalid YAML'), 200)}")
    return "; ".join(parts) or "invalid YAML"


def check_size(root: Any, where: str, line_of: Callable[[Path_], int | None]) -> None:
    """Refuse ``root`` if, with its aliases expanded, it nests deeper than MAX_DEPTH or
    holds more than MAX_NODES values. Linear in the loaded (shared) tree."""
    memo: dict[int, int] = {}

    def dotted(path: Path_) -> str:
        text = ".".join(shorten(str(p), 40) for p in path) or "(top level)"
        line = line_of(path)
        return text + (f" (line {line})" if line is not None else "")

    def count(node: Any, path: Path_) -> int:
        if not isinstance(node, (Mapping, list)):
            return 1
        if len(path) >= MAX_DEPTH:
            raise SpecError(
                f"{where}: {dotted(path[:4])} nests more than {MAX_DEPTH} levels deep "
                "(or refers to itself through an alias); a spec nests at most a few levels"
            )
        key = id(node)
        if key not in memo:
            items = node.items() if isinstance(node, Mapping) else enumerate(node)
            total = 1
            for k, child in items:
                total += 1 + count(child, (*path, k))
                if total > MAX_NODES:
                    raise SpecError(
                        f"{where}: {dotted(path)} expands to more than {MAX_NODES:,} values "
                        "(YAML aliases repeating a node?); a spec holds a few hundred"
                    )
            memo[key] = total
        return memo[key]

    count(root, ())


def plain(node: Any) -> Any:
    """Round-trip YAML as plain dicts, lists and built-in scalars (after check_size)."""
    if isinstance(node, Mapping):
        return {_plain_key(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, ScalarBoolean):  # an anchored boolean: an int subclass in ruamel
        return bool(node)
    if isinstance(node, ScalarInt):
        return int(node)
    if isinstance(node, ScalarFloat):
        return float(node)
    if isinstance(node, str) and not isinstance(node, LongNumber):
        return str(node)
    if node is None or isinstance(node, (bool, int, float, LongNumber)):
        return node
    return Unsupported(type(node).__name__)


class Unsupported:
    """A YAML value no spec field takes (bytes from ``!!binary``, a date, a set, a tagged
    node): kept opaque so that validation names the field it was written in."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<YAML {self.kind}>"


def _plain_key(key: Any) -> Any:
    if isinstance(key, (bool, ScalarBoolean)):
        return str(bool(key)).lower()
    if isinstance(key, int):
        return int(key)
    return str(key)
