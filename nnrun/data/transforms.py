"""The transforms of the inputs: one class per transform in :data:`TRANSFORMS`, each fitted
on the training part, and the :class:`Pipeline` that applies them in order.

Each class also says how it leaves nnrun (``nnrun export``, :mod:`nnrun.tools.export`), beside
its maths, so a new transform is one class here:

``onnx``
    x -> T(x) as a chain of element-wise ONNX operators, each with one of the fitted arrays as
    its second operand: ``(("Sub", "mean"), ("Div", "std"))`` is (x - mean) / std. Only IEEE
    operations that give NumPy's bits belong here (Add, Sub, Mul, Div), so the exported graph
    computes the same numbers. ``None`` when no such chain exists; ``onnx_refusal`` then says why.
``torch``
    the same as lines of Python on a float64 tensor ``x`` (``{mean}`` stands for the fitted
    array ``mean``), for the standalone PyTorch file.

``tests/test_export.py`` names a transform that lacks either.
"""

from __future__ import annotations

import numpy as np

from nnrun.errors import NnrunError


class Standardize:
    """x -> (x - mean) / std per feature (std 0 leaves the feature centred only)."""

    onnx = (("Sub", "mean"), ("Div", "std"))
    torch = ("x = (x - {mean}) / {std}",)

    def fit(self, X):
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def __call__(self, X):
        return (X - self.mean) / self.std


class MinMax:
    """x -> (x - min) / (max - min) per feature, into [0, 1] on the training part."""

    onnx = (("Sub", "low"), ("Div", "span"))
    torch = ("x = (x - {low}) / {span}",)

    def fit(self, X):
        self.low = X.min(axis=0)
        span = X.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        return self

    def __call__(self, X):
        return (X - self.low) / self.span


class Center:
    """x -> x - mean per feature."""

    onnx = (("Sub", "mean"),)
    torch = ("x = x - {mean}",)

    def fit(self, X):
        self.mean = X.mean(axis=0)
        return self

    def __call__(self, X):
        return X - self.mean


class Polar:
    """(x1, x2) -> (r, theta) of the point centred on the training mean c.

    r = |x - c|, theta = atan2(x2 - c2, x1 - c1), both from the same centred copy, so
    theta never sees an already-overwritten x1 (the bug of E2's report).

    ONNX has no atan2 (nor hypot). atan(y / x) with quadrant corrections is not exact: the
    signed zeros (atan2(+0, -1) = pi, atan2(-0, -1) = -pi) and x = y = 0 need bit tests ONNX
    cannot express cleanly, and onnxruntime has no double Atan kernel; so export to ONNX refuses it.
    PyTorch has both (torch.hypot, torch.atan2).
    """

    onnx = None
    onnx_refusal = ("its theta is atan2(x2 - c2, x1 - c1) and ONNX has no atan2 operator (an atan "
                    "composition differs at the signed zeros and onnxruntime has no double Atan)")
    torch = ("d = x - {centre}",
             "x = torch.stack([torch.hypot(d[:, 0], d[:, 1]), torch.atan2(d[:, 1], d[:, 0])], dim=1)")

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
