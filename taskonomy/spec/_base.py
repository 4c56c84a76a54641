"""The base of every spec model: unknown keys forbidden, frozen, field docstrings documented.

Pydantic copies a mutable default per instance, so ``= {}`` on a spec field is safe; ruff's
RUF012 cannot see the pydantic base through this module, hence its ``noqa`` in the models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_attribute_docstrings=True
    )
