"""The data generators: one function per generated source in :data:`GENERATORS`.

Each takes the data stream's generator and the source's parameters (its model in
``config.sources.DATA_SOURCES``) and returns (X, y): inputs in rows, and class labels
or regression targets.
"""

from __future__ import annotations

import numpy as np

HIGHAM_X1 = [0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7]
HIGHAM_X2 = [0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6]


def higham(rng, **_):
    """The 10 points of Higham & Higham (2019): the first 5 class A (0), the last 5 class B (1)."""
    X = np.column_stack([HIGHAM_X1, HIGHAM_X2]).astype(np.float64)
    return X, np.repeat([0, 1], 5)


def _halves(n):
    return n // 2, n - n // 2


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


def xor(rng, n_samples, noise, **_):
    """Uniform points in [-1, 1]^2; class 1 where x1 and x2 have different signs."""
    X = rng.uniform(-1.0, 1.0, (n_samples, 2))
    labels = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    return X + noise * rng.standard_normal(X.shape), labels


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


def gauss(rng, n_samples, noise, classes, radius, **_):
    """Gaussian blobs N(mu_k, noise^2 I), centres mu_k evenly spaced on a circle of ``radius``."""
    counts = np.full(classes, n_samples // classes)
    counts[: n_samples % classes] += 1
    phi = 2 * np.pi * np.arange(classes) / classes
    centres = radius * np.column_stack([np.cos(phi), np.sin(phi)])
    labels = np.repeat(np.arange(classes), counts)
    X = centres[labels] + noise * rng.standard_normal((n_samples, 2))
    return X, labels


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


def franke(rng, n_samples, noise, **_):
    """2-D regression: (x, y) uniform in [0, 1]^2, target franke_function(x, y) + N(0, noise^2)."""
    X = rng.uniform(0.0, 1.0, (n_samples, 2))
    return X, franke_function(X[:, 0], X[:, 1]) + noise * rng.standard_normal(n_samples)


GENERATORS = {
    "higham": higham,
    "ellipse": ellipse,
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "spirals": spirals,
    "gauss": gauss,
    "sine": sine,
    "franke": franke,
}
