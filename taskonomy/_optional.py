"""Detect optional packages without importing them (no side effects at import)."""

from __future__ import annotations

import functools
import importlib.util


@functools.cache
def has_module(name: str) -> bool:
    """Whether ``name`` is importable, found with ``find_spec`` and cached."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
