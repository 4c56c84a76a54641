"""Canonical content hashes: the same value gives the same hash on any machine."""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: Bump when the meaning of a job's parameters changes, so old artifacts are not reused
#: (2: the mini generator draws decor and object hues apart from scene type and class;
#: image decoders flatten instead of pooling).
HASH_SCHEMA = 2


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace and no NaN, so it is byte-for-byte stable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
