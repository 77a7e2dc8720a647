"""The data sources of the config: one pydantic model per source in :data:`DATA_SOURCES`.

The ``data`` section is one of these models, chosen by its ``source`` key: the
generators' models, each beside its function in :data:`nnrun.data.sources.GENERATORS`,
then the file sources' models below. Where to add things: a generated source is one file,
``nnrun/data/sources.py``; a file source is one model here plus its branch in ``_raw`` of
``nnrun/data/__init__.py`` (reading with ``nnrun/data/tables.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from nnrun.data.common import TRANSFORMS, DataCommon
from nnrun.data.sources import GENERATORS

__all__ = ["DATA_SOURCES", "SOURCES", "TRANSFORMS", "CsvData", "DataCommon", "DataConfig", "DigitsData"]


class CsvData(DataCommon):
    """A CSV file with a header row; the label column and the feature columns."""

    source: Literal["csv"]
    path: str = Field(description="CSV file; in a config file relative to it, on the command line to the "
                      "current directory")
    label: str | None = Field(None, description="label column (default: the last)")
    features: list[str] | None = Field(None, description="feature columns (default: all others)")


class DigitsData(DataCommon):
    """The 8x8 handwritten digits (1797 images, 64 pixels 0..16, 10 classes)."""

    source: Literal["digits"]
    path: str = Field("../datasets/digits.csv", description="relative to the config file")
    image_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = (8, 8)


DATA_SOURCES = (*(generator.model for generator in GENERATORS.values()), CsvData, DigitsData)
DataConfig = Annotated[Union[DATA_SOURCES], Field(discriminator="source")]  # type: ignore[valid-type]
SOURCES = tuple(m.model_fields["source"].annotation.__args__[0] for m in DATA_SOURCES)
