"""The data sources of the config: one pydantic model per source in :data:`DATA_SOURCES`.

The ``data`` section is one of these models, chosen by its ``source`` key. Where to add
things: a data source is one model here plus its generator in ``nnrun/data/sources.py``
(or its reader in ``nnrun/data/tables.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import ConfigDict, Field, model_validator

from nnrun.config.base import Strict
from nnrun.data.transforms import TRANSFORMS as TRANSFORM_STEPS

TRANSFORMS = tuple(TRANSFORM_STEPS)  # the names of data.TRANSFORMS, its one registry


class DataCommon(Strict):
    test_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share held out for testing")
    validation_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share held out for validation")
    transform: list[Literal[TRANSFORMS]] = Field(
        default_factory=list, description="applied in order, fitted on the training part"
    )
    task: Literal["classification", "regression"] = "classification"
    image_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = Field(
        None, description="[height, width]: the inputs are images (features.png, misclassified.png)")

    @model_validator(mode="after")
    def _held_out(self):
        if self.test_fraction + self.validation_fraction >= 1.0:
            raise ValueError(
                f"data.validation_fraction: {self.validation_fraction:g} with data.test_fraction "
                f"{self.test_fraction:g} leaves no training sample; the two must add up to less than 1"
            )
        return self


class HighamData(DataCommon):
    """The 10 points of Higham & Higham (2019), classes A (first 5) and B."""

    source: Literal["higham"]


class GeneratedData(DataCommon):
    # an infinite noise or radius gives infinite points, which no plot can place
    model_config = ConfigDict(allow_inf_nan=False)
    n_samples: int = Field(400, gt=1, le=10_000_000)
    noise: float = Field(0.05, ge=0.0)


class EllipseData(GeneratedData):
    """Two classes on two concentric ellipse contours around (0.5, 0.5)."""

    source: Literal["ellipse"]
    inner: float = Field(0.18, gt=0.0, description="semi-major axis of the inner contour")
    outer: float = Field(0.38, gt=0.0, description="semi-major axis of the outer contour")
    aspect: float = Field(0.6, gt=0.0, le=1.0, description="minor / major axis")
    angle: float = Field(30.0, description="rotation of the major axis, degrees")
    noise: float = Field(0.02, ge=0.0)


class MoonsData(GeneratedData):
    """Two interleaving half-moons, as scikit-learn's make_moons."""

    source: Literal["moons"]
    noise: float = Field(0.1, ge=0.0)


class CirclesData(GeneratedData):
    """Two concentric circles, as scikit-learn's make_circles."""

    source: Literal["circles"]
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="inner radius / outer radius")


class XorData(GeneratedData):
    """Uniform points in [-1, 1]^2, class = sign(x1) xor sign(x2)."""

    source: Literal["xor"]
    noise: float = Field(0.0, ge=0.0)


class SpiralsData(GeneratedData):
    """Interleaved spiral arms, one class per arm."""

    source: Literal["spirals"]
    classes: int = Field(2, ge=2, le=20)
    turns: float = Field(1.0, gt=0.0)
    noise: float = Field(0.03, ge=0.0)


class GaussData(GeneratedData):
    """Isotropic Gaussian blobs with centres evenly spaced on a circle."""

    source: Literal["gauss"]
    classes: int = Field(2, ge=2, le=100)
    radius: float = Field(2.0, ge=0.0, description="distance of the centres from the origin")
    noise: float = Field(1.0, ge=0.0, description="standard deviation of each blob")


class SineData(GeneratedData):
    """1-D regression: y = sin(2 pi x) + noise, x uniform in [0, 1]."""

    source: Literal["sine"]
    noise: float = Field(0.1, ge=0.0, description="std of the noise added to the target")
    task: Literal["classification", "regression"] = "regression"


class FrankeData(GeneratedData):
    """2-D regression: Franke's function on [0, 1]^2 plus noise (Hjorth-Jensen's test surface)."""

    source: Literal["franke"]
    noise: float = Field(0.05, ge=0.0, description="std of the noise added to the target")
    task: Literal["classification", "regression"] = "regression"


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


DATA_SOURCES = (
    HighamData, EllipseData, MoonsData, CirclesData, XorData, SpiralsData, GaussData, SineData,
    FrankeData, CsvData, DigitsData,
)
DataConfig = Annotated[Union[DATA_SOURCES], Field(discriminator="source")]  # type: ignore[valid-type]
SOURCES = tuple(m.model_fields["source"].annotation.__args__[0] for m in DATA_SOURCES)
