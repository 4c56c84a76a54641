"""Turn pydantic's validation errors into messages a user can act on.

Each problem becomes one line: the dotted path, the YAML line (or the command-line
override that set it), what is wrong, the valid choices and a suggestion.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from taskonomy.spec.rules import SpecRuleError
from taskonomy.spec.types import shorten
from taskonomy.tasks.registry import suggest

Loc = tuple[str | int, ...]

#: The most problems one message lists.
MAX_LISTED = 30


def _model_fields_at(loc: Loc) -> list[str] | None:
    """Names a user may write at ``loc`` (the keys of the model found there), if any."""
    from taskonomy.spec.models import Spec

    annotation: Any = Spec
    for key in loc:
        annotation = _unwrap(annotation, key)
        if annotation is None:
            return None
    model = _unwrap(annotation, None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted((f.alias or name) for name, f in model.model_fields.items())
    return None


def _unwrap(annotation: Any, key: str | int | None) -> Any:
    """Follow one path step through models, lists, dicts and optionals."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], key)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                found = _unwrap(arg, key)
                if found is not None:
                    return found
        return None
    if key is None:
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if key in (name, field.alias):
                return field.annotation
        return None
    if origin is list and isinstance(key, int):
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


#: What each pattern of the spec models asks for, in words.
_PATTERNS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.,+-]*$": "must be a SLURM name: letters, digits and "
    "_ . , + - (no spaces, quotes or control characters)",
    r"^--[A-Za-z0-9][A-Za-z0-9_-]*(=[^\x00-\x1f\x7f]*)?$": "must be one long sbatch "
    "option on one line, '--name=value' or '--name' (e.g. '--constraint=a100')",
    r"^[^/\x00-\x1f\x7f]+$": "must be a folder name: no '/' and no control characters",
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "must be letters, digits, '_', '.' and '-', "
    "starting with a letter or digit",
}


def _choices(error: ErrorDetails) -> list[str]:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return re.findall(r"'([^']*)'", expected)


def _explain(error: ErrorDetails) -> tuple[Loc, str]:
    """The full path and a message for one pydantic error."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, SpecRuleError):
        return loc + cause.path, cause.message
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        fields = _model_fields_at(loc[:-1]) or []
        message = f"unknown key {shorten(key, 40)!r}{suggest(key[:100], fields)}"
        if fields:
            message += f" Valid keys here: {', '.join(fields)}"
    elif kind in ("literal_error", "enum"):
        choices = _choices(error)
        given = error.get("input")
        hint = suggest(given[:100], choices) if isinstance(given, str) else ""
        shown = shorten(given, 40) if isinstance(given, str) else shorten(repr(given), 40)
        message = f"{shown!r} is not allowed{hint} Choose one of: {', '.join(choices)}"
    elif kind == "missing":
        message = "is required but missing"
    elif kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        message = _PATTERNS.get(pattern, message)
    return loc, message


def describe_errors(
    exc: ValidationError,
    source: str,
    line_of: Callable[[Loc], int | None],
    overridden: dict[Loc, str],
) -> str:
    """One message listing every problem in ``exc``."""
    lines = []
    errors = exc.errors()
    for error in errors[:MAX_LISTED]:
        loc, message = _explain(error)
        loc = tuple(part for part in loc if part != "[key]")  # pydantic's marker for dict keys
        dotted = ".".join(shorten(str(part), 40) for part in loc) or "(top level)"
        where = where_of(loc, line_of, overridden)
        lines.append(f"  - {dotted}{where}: {message}")
    if len(errors) > MAX_LISTED:
        lines.append(f"  - ... and {len(errors) - MAX_LISTED:,} more")
    n = len(errors)
    head = f"invalid spec {source!r} ({n:,} problem{'s' if n > 1 else ''}):"
    return "\n".join([head, *lines])


def where_of(loc: Loc, line_of: Callable[[Loc], int | None], overridden: dict[Loc, str]) -> str:
    """`` (set by override '...')`` when an override set ``loc``, else `` (line N)``."""
    for path, text in reversed(overridden.items()):
        if loc[: len(path)] == path or (loc and path[: len(loc)] == loc):
            return f" (set by override {text!r})"
    line = line_of(loc)
    return f" (line {line})" if line is not None else ""
