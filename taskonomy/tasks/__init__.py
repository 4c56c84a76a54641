"""Tasks: the built-in bank (metadata only, torch-free) and user tasks by import path."""

from taskonomy.tasks.bank import (
    BUILTIN_TASKS,
    TASKONOMY_ONLY_TASKS,
    InputTransform,
    Loss,
    OutputKind,
    Role,
    TaskInfo,
    builtin_task,
)

__all__ = [
    "BUILTIN_TASKS",
    "TASKONOMY_ONLY_TASKS",
    "InputTransform",
    "Loss",
    "OutputKind",
    "Role",
    "TaskInfo",
    "builtin_task",
]
