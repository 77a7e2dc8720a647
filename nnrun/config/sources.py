"""The data sources of the config: one pydantic model per source in :data:`DATA_SOURCES`.

The ``data`` section is one of these models, chosen by its ``source`` key: the
generators' models, each beside its function in :data:`nnrun.data.sources.GENERATORS`,
then the file sources' models below. Where to add things: a generated source is one file,
``nnrun/data/sources.py``; a file source is one model here plus its branch in ``_raw`` of
``nnrun/data/__init__.py`` (reading with ``nnrun/data/tables.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from nnrun.data.common import TRANSFORMS, DataCommon
from nnrun.data.sources import GENERATORS

__all__ = ["DATA_SOURCES", "SOURCES", "TRANSFORMS", "CsvData", "DataCommon", "DataConfig", "DigitsData",
           "InlineData"]


class CsvData(DataCommon):
    """A CSV file with a header row; the label column and the feature columns."""

    source: Literal["csv"]
    path: str = Field(description="CSV file; in a config file relative to it, on the command line to the "
                      "current directory")
    label: str | list[str] | None = Field(None, description="label column (default: the last); a list "
                                          "for several regression targets")
    features: list[str] | None = Field(None, description="feature columns (default: all others)")


class InlineData(DataCommon):
    """A few rows written in the config itself (a textbook example's data): the column
    names, the rows, and the label and feature columns as for a CSV file."""

    source: Literal["inline"]
    columns: list[str] = Field(min_length=2, description="the column names, as a CSV file's header")
    rows: list[list[Any]] = Field(min_length=1, description="the data rows, one value per column")
    label: str | list[str] | None = Field(None, description="label column (default: the last); a list "
                                          "for several regression targets")
    features: list[str] | None = Field(None, description="feature columns (default: all others)")

    @model_validator(mode="after")
    def _table(self):
        """Named columns, each once; every row one value per column (rows counted from 0)."""
        names = [str(c).strip() for c in self.columns]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"data.columns: '{twice}' is named twice; give each column its own name")
        if "" in names:
            raise ValueError(f"data.columns: column {names.index('')} has an empty name; give each column a name")
        for i, row in enumerate(self.rows):
            if len(row) != len(names):
                raise ValueError(f"data.rows[{i}]: {len(row)} value{'s' if len(row) != 1 else ''}, but data.columns "
                                 f"names {len(names)} ({', '.join(names)}); give one value per column "
                                 "(rows are counted from 0)")
        return self


class DigitsData(DataCommon):
    """The 8x8 handwritten digits (1797 images, 64 pixels 0..16, 10 classes)."""

    source: Literal["digits"]
    path: str = Field("../datasets/digits.csv", description="relative to the config file")
    image_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = (8, 8)


DATA_SOURCES = (*(generator.model for generator in GENERATORS.values()), CsvData, InlineData, DigitsData)
DataConfig = Annotated[Union[DATA_SOURCES], Field(discriminator="source")]  # type: ignore[valid-type]
SOURCES = tuple(m.model_fields["source"].annotation.__args__[0] for m in DATA_SOURCES)
