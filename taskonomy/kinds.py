"""The kinds of job a plan holds: the planner's vocabulary.

A leaf module, imported by the spec (``executor.resources`` is keyed by kind), the
planner, the executor and the job bodies alike; :mod:`taskonomy.planner` re-exports it.
"""

from __future__ import annotations

import enum


class JobKind(enum.StrEnum):
    """The kinds of job a plan holds; also the keys of ``executor.resources``."""

    DATASET = "dataset"
    ENCODER = "encoder"
    FEATURES = "features"
    SCRATCH = "scratch"
    TRANSFER = "transfer"
    RANK = "rank"
    EVALUATE = "evaluate"
    AFFINITY = "affinity"
    TAXONOMY = "taxonomy"
    ASSESS = "assess"
    BOOTSTRAP = "bootstrap"
    REPORT = "report"
