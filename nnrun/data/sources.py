"""The data generators: each generated source is its config model beside its function, and
one entry in :data:`GENERATORS`.

A model (a :class:`~nnrun.data.common.DataCommon`) holds the source's ``data`` keys, their
defaults and checks; :mod:`nnrun.config.sources` joins these models, in this order, into
the ``data`` section of the config. A function takes the data stream's generator and the
model's own fields and returns (X, y): inputs in rows, and class labels or regression targets.

Where to add a generator: its model, its function and their ``Generator`` entry in
:data:`GENERATORS`, all in this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np
from pydantic import ConfigDict, Field

from nnrun.data.common import DataCommon

HIGHAM_X1 = [0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7]
HIGHAM_X2 = [0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6]


class HighamData(DataCommon):
    """The 10 points of Higham & Higham (2019), classes A (first 5) and B."""

    source: Literal["higham"]


def higham(rng, **_):
    """The 10 points of Higham & Higham (2019): the first 5 class A (0), the last 5 class B (1)."""
    X = np.column_stack([HIGHAM_X1, HIGHAM_X2]).astype(np.float64)
    return X, np.repeat([0, 1], 5)


def _halves(n):
    return n // 2, n - n // 2


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


def ellipse(rng, n_samples, noise, inner, outer, aspect, angle, **_):
    """Two closed ellipse contours around (0.5, 0.5), one inside the other.

    A point of a contour with semi-major axis s is c + R(angle) (s cos t, aspect s sin t)
    with t uniform in [0, 2 pi), plus N(0, noise^2) per coordinate. Inner contour is class 0.
    """
    counts = _halves(n_samples)
    rot = np.deg2rad(angle)
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    parts, labels = [], []
    for label, (s, n) in enumerate(zip((inner, outer), counts)):
        t = rng.uniform(0.0, 2 * np.pi, n)
        P = np.column_stack([s * np.cos(t), aspect * s * np.sin(t)]) @ R.T
        parts.append(0.5 + P + noise * rng.standard_normal((n, 2)))
        labels.append(np.full(n, label))
    return np.vstack(parts), np.concatenate(labels)


class MoonsData(GeneratedData):
    """Two interleaving half-moons, as scikit-learn's make_moons."""

    source: Literal["moons"]
    noise: float = Field(0.1, ge=0.0)


def moons(rng, n_samples, noise, **_):
    """Two interleaving half circles (scikit-learn's make_moons), N(0, noise^2) added."""
    n0, n1 = _halves(n_samples)
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    X = np.vstack([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1 - np.cos(t1), 1 - np.sin(t1) - 0.5]),
    ])
    X += noise * rng.standard_normal(X.shape)
    return X, np.repeat([0, 1], [n0, n1])


class CirclesData(GeneratedData):
    """Two concentric circles, as scikit-learn's make_circles."""

    source: Literal["circles"]
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="inner radius / outer radius")


def circles(rng, n_samples, noise, factor, **_):
    """Two concentric circles of radii 1 and ``factor`` (scikit-learn's make_circles)."""
    n_out, n_in = _halves(n_samples)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
    ])
    X += noise * rng.standard_normal(X.shape)
    return X, np.repeat([0, 1], [n_out, n_in])


class XorData(GeneratedData):
    """Uniform points in [-1, 1]^2, class = sign(x1) xor sign(x2)."""

    source: Literal["xor"]
    noise: float = Field(0.0, ge=0.0)


def xor(rng, n_samples, noise, **_):
    """Uniform points in [-1, 1]^2; class 1 where x1 and x2 have different signs."""
    X = rng.uniform(-1.0, 1.0, (n_samples, 2))
    labels = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    return X + noise * rng.standard_normal(X.shape), labels


class SpiralsData(GeneratedData):
    """Interleaved spiral arms, one class per arm."""

    source: Literal["spirals"]
    classes: int = Field(2, ge=2, le=20)
    turns: float = Field(1.0, gt=0.0)
    noise: float = Field(0.03, ge=0.0)


def spirals(rng, n_samples, noise, classes, turns, **_):
    """``classes`` spiral arms r = t, angle = 2 pi turns t + 2 pi k / classes, t in (0, 1]."""
    counts = np.full(classes, n_samples // classes)
    counts[: n_samples % classes] += 1
    parts, labels = [], []
    for k, n in enumerate(counts):
        t = np.linspace(0.05, 1.0, n)
        phi = 2 * np.pi * turns * t + 2 * np.pi * k / classes
        parts.append(np.column_stack([t * np.cos(phi), t * np.sin(phi)]))
        labels.append(np.full(n, k))
    X = np.vstack(parts)
    return X + noise * rng.standard_normal(X.shape), np.concatenate(labels)


class GaussData(GeneratedData):
    """Isotropic Gaussian blobs with centres evenly spaced on a circle."""

    source: Literal["gauss"]
    classes: int = Field(2, ge=2, le=100)
    radius: float = Field(2.0, ge=0.0, description="distance of the centres from the origin")
    noise: float = Field(1.0, ge=0.0, description="standard deviation of each blob")


def gauss(rng, n_samples, noise, classes, radius, **_):
    """Gaussian blobs N(mu_k, noise^2 I), centres mu_k evenly spaced on a circle of ``radius``."""
    counts = np.full(classes, n_samples // classes)
    counts[: n_samples % classes] += 1
    phi = 2 * np.pi * np.arange(classes) / classes
    centres = radius * np.column_stack([np.cos(phi), np.sin(phi)])
    labels = np.repeat(np.arange(classes), counts)
    X = centres[labels] + noise * rng.standard_normal((n_samples, 2))
    return X, labels


class SineData(GeneratedData):
    """1-D regression: y = sin(2 pi x) + noise, x uniform in [0, 1]."""

    source: Literal["sine"]
    noise: float = Field(0.1, ge=0.0, description="std of the noise added to the target")
    task: Literal["classification", "regression"] = "regression"


def sine(rng, n_samples, noise, **_):
    """1-D regression: x uniform in [0, 1], y = sin(2 pi x) + N(0, noise^2)."""
    x = rng.uniform(0.0, 1.0, n_samples)
    return x[:, None], np.sin(2 * np.pi * x) + noise * rng.standard_normal(n_samples)


def franke_function(x, y):
    """Franke's function, the regression test surface of Hjorth-Jensen's course, on [0, 1]^2."""
    return (0.75 * np.exp(-(9 * x - 2) ** 2 / 4 - (9 * y - 2) ** 2 / 4)
            + 0.75 * np.exp(-(9 * x + 1) ** 2 / 49 - (9 * y + 1) / 10)
            + 0.5 * np.exp(-(9 * x - 7) ** 2 / 4 - (9 * y - 3) ** 2 / 4)
            - 0.2 * np.exp(-(9 * x - 4) ** 2 - (9 * y - 7) ** 2))


class FrankeData(GeneratedData):
    """2-D regression: Franke's function on [0, 1]^2 plus noise (Hjorth-Jensen's test surface)."""

    source: Literal["franke"]
    noise: float = Field(0.05, ge=0.0, description="std of the noise added to the target")
    task: Literal["classification", "regression"] = "regression"


def franke(rng, n_samples, noise, **_):
    """2-D regression: (x, y) uniform in [0, 1]^2, target franke_function(x, y) + N(0, noise^2)."""
    X = rng.uniform(0.0, 1.0, (n_samples, 2))
    return X, franke_function(X[:, 0], X[:, 1]) + noise * rng.standard_normal(n_samples)


class Generator(NamedTuple):
    """A generated source: its function and its config model (the ``data`` keys it takes)."""

    generate: Callable[..., tuple[np.ndarray, np.ndarray]]
    model: type[DataCommon]


# source name -> Generator; the config offers them in this order
GENERATORS: dict[str, Generator] = {
    "higham": Generator(higham, HighamData),
    "ellipse": Generator(ellipse, EllipseData),
    "moons": Generator(moons, MoonsData),
    "circles": Generator(circles, CirclesData),
    "xor": Generator(xor, XorData),
    "spirals": Generator(spirals, SpiralsData),
    "gauss": Generator(gauss, GaussData),
    "sine": Generator(sine, SineData),
    "franke": Generator(franke, FrankeData),
}
