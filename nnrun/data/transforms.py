"""The transforms of the inputs: one class per transform in :data:`TRANSFORMS`, each fitted
on the training part, and the :class:`Pipeline` that applies them in order.
"""

from __future__ import annotations

import numpy as np

from nnrun.errors import NnrunError


class Standardize:
    """x -> (x - mean) / std per feature (std 0 leaves the feature centred only)."""

    def fit(self, X):
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def __call__(self, X):
        return (X - self.mean) / self.std


class MinMax:
    """x -> (x - min) / (max - min) per feature, into [0, 1] on the training part."""

    def fit(self, X):
        self.low = X.min(axis=0)
        span = X.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        return self

    def __call__(self, X):
        return (X - self.low) / self.span


class Center:
    """x -> x - mean per feature."""

    def fit(self, X):
        self.mean = X.mean(axis=0)
        return self

    def __call__(self, X):
        return X - self.mean


class Polar:
    """(x1, x2) -> (r, theta) of the point centred on the training mean c.

    r = |x - c|, theta = atan2(x2 - c2, x1 - c1), both from the same centred copy, so
    theta never sees an already-overwritten x1 (the bug of E2's report).
    """

    def fit(self, X):
        if X.shape[1] != 2:
            raise NnrunError(f"data.transform: polar needs exactly 2 input features, the data has {X.shape[1]}")
        self.centre = X.mean(axis=0)
        return self

    def __call__(self, X):
        D = X - self.centre
        return np.column_stack([np.hypot(D[:, 0], D[:, 1]), np.arctan2(D[:, 1], D[:, 0])])


TRANSFORMS = {"standardize": Standardize, "minmax": MinMax, "center": Center, "polar": Polar}


class Pipeline:
    """Transforms applied in order, each fitted on the (already transformed) training part."""

    def __init__(self, names):
        self.names = list(names)
        self.steps = []

    def fit(self, X):
        for name in self.names:
            step = TRANSFORMS[name]().fit(X)
            X = step(X)
            self.steps.append(step)
        return self

    def __call__(self, X):
        for step in self.steps:
            X = step(X)
        return X

    def state(self) -> list[dict]:
        """The fitted transforms as plain data (name and fitted arrays), for model.json."""
        return [{"name": name, **{k: np.asarray(v).tolist() for k, v in vars(step).items()}}
                for name, step in zip(self.names, self.steps)]

    @classmethod
    def from_state(cls, state: list[dict]) -> "Pipeline":
        """The pipeline :meth:`state` described, fitted as it was in training."""
        pipeline = cls([entry["name"] for entry in state])
        for entry in state:
            step = TRANSFORMS[entry["name"]]()
            for k, v in entry.items():
                if k != "name":
                    setattr(step, k, np.asarray(v, dtype=np.float64))
            pipeline.steps.append(step)
        return pipeline
