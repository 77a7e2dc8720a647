"""The base of every config section: :class:`Strict` (unknown keys are errors).

The data sources' base, :class:`nnrun.data.common.DataCommon`, has the same ``model_config``
written out, since ``nnrun.data`` cannot import ``nnrun.config`` (tests/test_data.py holds
the two equal).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, defer_build=True)
