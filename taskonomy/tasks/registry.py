"""Resolve a task kind: a built-in name, or a user task given by import path.

A user task is named ``package.module:OBJECT`` where ``OBJECT`` is a
:class:`~taskonomy.tasks.bank.TaskInfo` or has an ``info`` attribute holding one. This is
the only place a spec can cause code to run, and only because the user named the module.
"""

from __future__ import annotations

import difflib
import importlib
import re

from taskonomy.tasks.bank import BUILTIN_TASKS, TASKONOMY_ONLY_TASKS, TaskInfo, builtin_task

_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


class TaskKindError(ValueError):
    """A task kind is neither a built-in task nor an importable user task."""


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_task_kind(kind: str) -> TaskInfo:
    """The :class:`TaskInfo` of ``kind``.

    Raises:
        TaskKindError: unknown built-in name (with a suggestion), malformed import path,
            a module that fails to import, or an object that is not a task.
    """
    info = builtin_task(kind)
    if info is not None:
        return info
    obj = task_object(kind)
    info = obj if isinstance(obj, TaskInfo) else getattr(obj, "info", None)
    if not isinstance(info, TaskInfo):
        raise TaskKindError(
            f"{kind!r} is a {type(obj).__name__}, not a task; it must be a "
            "taskonomy.tasks.TaskInfo or an object with an 'info' attribute holding one"
        )
    return info


def task_object(kind: str) -> object:
    """The object a task kind names: the built-in :class:`TaskInfo`, or the user's object
    (which may carry more than its ``info``, e.g. the data layer's ``make_label``)."""
    info = builtin_task(kind)
    if info is not None:
        return info
    if ":" not in kind:
        names = sorted([*BUILTIN_TASKS, *TASKONOMY_ONLY_TASKS])
        raise TaskKindError(
            f"unknown task {kind!r}{suggest(kind, names)} Built-in tasks: {', '.join(names)}; "
            "for a task of your own give its import path 'package.module:OBJECT'"
        )
    if not _IMPORT_PATH.match(kind):
        raise TaskKindError(f"import path {kind!r} is malformed; write 'package.module:OBJECT'")
    module_name, _, attr_path = kind.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
    except Exception as exc:  # the user's module can fail in any way; report, don't crash
        raise TaskKindError(
            f"cannot import module {module_name!r} for task {kind!r}: "
            f"{type(exc).__name__}: {exc} (is it on PYTHONPATH?)"
        ) from exc
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise TaskKindError(f"module {module_name!r} has no attribute {attr_path!r}")
        obj = getattr(obj, part)
    return obj
