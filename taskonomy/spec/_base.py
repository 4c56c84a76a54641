"""The base of every spec model: unknown keys forbidden, frozen, field docstrings documented.

Pydantic copies a mutable default per instance, so ``= {}`` on a spec field is safe; ruff's
RUF012 cannot see the pydantic base through this module, hence its ``noqa`` in the models.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_attribute_docstrings=True
    )


_NAME = re.compile(r"^[a-z](?:[a-z0-9]|_(?!_))*(?<!_)$")
Name = Annotated[str, Field(min_length=1, max_length=64)]
