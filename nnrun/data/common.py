"""The fields every data source shares: :class:`DataCommon`, the base of each source's model.

Here, below both :mod:`nnrun.data.sources` (the generators' models) and
:mod:`nnrun.config.sources` (the file sources' models, and the union of all), so each
can import it. Its ``model_config`` is :class:`nnrun.config.base.Strict`'s (unknown keys
are errors), written out because importing ``nnrun.config`` from here would be a circle.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nnrun.data.tables import class_name
from nnrun.data.transforms import TRANSFORMS as TRANSFORM_STEPS

TRANSFORMS = tuple(TRANSFORM_STEPS)  # the names of data.TRANSFORMS, its one registry


class DataCommon(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, defer_build=True)

    test_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share held out for testing")
    validation_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share held out for validation")
    transform: list[Literal[TRANSFORMS]] = Field(
        default_factory=list, description="applied in order, fitted on the training part"
    )
    task: Literal["classification", "regression"] = "classification"
    image_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = Field(
        None, description="[height, width]: the inputs are images (features.png, misclassified.png)")
    class_names: list[str | int | float] | None = Field(
        None, description="the class names in output-unit order (default: the labels, sorted)")

    @field_validator("class_names")
    @classmethod
    def _class_names(cls, v):
        """Names as the labels' class names are written (1.0 -> '1'), each once, at least 2."""
        if v is None:
            return v
        names = [class_name(c) for c in v]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"'{twice}' is named twice in [{', '.join(names)}]; name each class once")
        if len(names) < 2:
            raise ValueError(f"[{', '.join(names)}] names {len(names)} class; a classifier has at "
                             "least 2 (one output unit each, or one sigmoid unit for 2)")
        return names

    @model_validator(mode="after")
    def _held_out(self):
        if self.test_fraction + self.validation_fraction >= 1.0:
            raise ValueError(
                f"data.validation_fraction: {self.validation_fraction:g} with data.test_fraction "
                f"{self.test_fraction:g} leaves no training sample; the two must add up to less than 1"
            )
        if self.class_names is not None and self.task != "classification":
            raise ValueError(f"data.class_names: [{', '.join(self.class_names)}] given for data.task {self.task}; class "
                             "names are for data.task: classification")
        return self
