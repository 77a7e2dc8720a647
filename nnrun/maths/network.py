"""The network: parameters, forward pass, backward pass (the readable reference).

Layers l = 1..L with sizes n_0 (inputs) .. n_L (outputs). Columns are samples::

    z_l = W_l a_{l-1} + b_l,        a_l = f_l(z_l),        a_0 = x

with W_l of shape (n_l, n_{l-1}) and b_l of shape (n_l,). Backpropagation
(Higham & Higham 2019, eq. 5.1-5.4; Nielsen ch. 2)::

    delta_L   = dC/dz_L                       (f'(z_L) o (a_L - y) for the quadratic cost)
    delta_l   = f'(z_l) o (W_{l+1}^T delta_{l+1})
    dC/dW_l   = delta_l a_{l-1}^T,            dC/db_l = delta_l

For a batch of m samples the gradient is the mean of the per-sample gradients, and
the L2 penalty (lambda/2) sum_l ||W_l||_F^2 adds lambda W_l (weights only).

Dropout (inverted) multiplies each hidden layer's output by a mask m_l whose entries are
1/(1-p) (kept) or 0 (dropped), so that nothing changes at evaluation::

    a_l = m_l o f_l(z_l),          delta_l = f'(z_l) o m_l o (W_{l+1}^T delta_{l+1})

All parameters live in one flat float64 vector ``theta``; ``W[l]`` and ``b[l]`` are
views into it. The compiled engine works on the same vector, so both engines update
the very same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnrun.maths.activations import ACTIVATIONS, apply
from nnrun.errors import NnrunError
from nnrun.maths.losses import LOSSES


def layout(sizes: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """Offsets of W_l and b_l in theta (index l-1 for layer l) and the parameter count."""
    w_off, b_off, at = [], [], 0
    for n_prev, n in zip(sizes[:-1], sizes[1:]):
        w_off.append(at)
        at += n * n_prev
        b_off.append(at)
        at += n
    return np.array(w_off, dtype=np.int64), np.array(b_off, dtype=np.int64), at


def parameter_count(sizes: list[int]) -> int:
    return layout(sizes)[2]


def parameter_shapes(sizes: list[int]) -> dict[str, tuple[int, ...]]:
    """The parameters by their names in model.npz (and ``model.weights``), with their shapes:
    W_l is (n_l, n_{l-1}) and b_l has n_l entries, for l = 1..L (W1, b1, W2, b2, ...)."""
    shapes = {}
    for l, (n_prev, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{l}"] = (n, n_prev)
        shapes[f"b{l}"] = (n,)
    return shapes


def parameter_problem(sizes: list[int], arrays: dict) -> str | None:
    """What is wrong with ``arrays`` as the parameters of a network of ``sizes`` (a missing
    or extra name, a shape that differs, a value that is not a finite number), as
    'W2: ...' for an error line, or None when they fit."""
    shapes = parameter_shapes(sizes)
    arch = "-".join(map(str, sizes))
    expected = ", ".join(shapes)
    for name in shapes:
        if name not in arrays:
            return f"{name}: missing; a {arch} network needs {expected}"
    for name in arrays:
        if name not in shapes:
            return f"{name}: not a parameter of a {arch} network, which has {expected}"
    for name, shape in shapes.items():
        try:
            value = np.asarray(arrays[name], dtype=np.float64)
        except (TypeError, ValueError):
            what = "a matrix (a list of rows)" if len(shape) == 2 else "a list"
            return f"{name}: {str(arrays[name])[:60]} is not {what} of numbers; expected shape {_shape(shape)}"
        if value.shape != shape:
            what = "rows of" if len(shape) == 2 else "entries"
            rows = f"{shape[0]} {what} {shape[1]} numbers" if len(shape) == 2 else f"{shape[0]} {what}"
            return (f"{name}: shape {_shape(value.shape)} given, expected {_shape(shape)} "
                    f"({rows}: layer {name[1:]} of {arch})")
        if not np.isfinite(value).all():
            return f"{name}: {value[~np.isfinite(value)][0]} is not a finite number"
    return None


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


class Network:
    """A fully connected network with one activation per layer (``activations[l-1]`` for layer l)."""

    def __init__(self, sizes: list[int], activations: list[str], theta: np.ndarray | None = None):
        if len(activations) != len(sizes) - 1:
            raise ValueError("one activation per layer after the input")
        self.sizes = [int(s) for s in sizes]
        self.activations = list(activations)
        self.w_off, self.b_off, n_params = layout(self.sizes)
        self.theta = np.zeros(n_params) if theta is None else np.ascontiguousarray(theta, dtype=np.float64)
        if self.theta.shape != (n_params,):
            raise ValueError(f"theta has shape {self.theta.shape}, expected ({n_params},)")
        self.W, self.b = [], []
        for l, (n_prev, n) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            w0, b0 = self.w_off[l], self.b_off[l]
            self.W.append(self.theta[w0:w0 + n * n_prev].reshape(n, n_prev))
            self.b.append(self.theta[b0:b0 + n])

    def set_parameters(self, arrays: dict, where: str) -> "Network":
        """Set W_l and b_l from ``arrays`` (names and shapes of :func:`parameter_shapes`:
        model.npz's, ``model.weights``'); a problem is one error starting with ``where``."""
        problem = parameter_problem(self.sizes, arrays)
        if problem is not None:
            raise NnrunError(f"{where}{problem}")
        for l in range(self.n_layers):
            self.W[l][...] = np.asarray(arrays[f"W{l + 1}"], dtype=np.float64)
            self.b[l][...] = np.asarray(arrays[f"b{l + 1}"], dtype=np.float64)
        return self

    @property
    def n_layers(self) -> int:
        """L, the number of layers with weights."""
        return len(self.sizes) - 1

    # ------------------------------------------------------------------ init
    def initialize(self, rng: np.random.Generator, init: str = "normal", scale: float = 1.0,
                   bias_init: str | float = "normal") -> "Network":
        """Draw the weights: 'normal' scale*N(0,1); 'xavier' N(0, 2/(n_in+n_out)); 'he' N(0, 2/n_in).

        Weights are drawn layer by layer (W_1, b_1, W_2, ...) from one generator, as netbp.m
        does; biases are N(0,1)*scale ('normal'), zero, or a constant.
        """
        for W_l, b_l in zip(self.W, self.b):
            n, n_prev = W_l.shape
            std = {"normal": scale, "xavier": np.sqrt(2.0 / (n + n_prev)), "he": np.sqrt(2.0 / n_prev)}[init]
            W_l[...] = std * rng.standard_normal((n, n_prev))
            if bias_init == "normal":
                b_l[...] = scale * rng.standard_normal(n)
            elif bias_init == "zeros":
                b_l[...] = 0.0
            else:
                b_l[...] = float(bias_init)
        return self

    # --------------------------------------------------------------- forward
    def forward(self, X: np.ndarray, masks: list[np.ndarray] | None = None
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """z_l = W_l a_{l-1} + b_l, a_l = f_l(z_l) for a batch X of shape (n_0, m) (columns = samples).

        ``masks[l-1]`` (shape (n_l, m)), if given, multiplies hidden layer l's output (dropout).
        Returns the lists Z = [z_1..z_L] and A = [a_0..a_L].
        """
        A, Z = [X], []
        for l, (W_l, b_l, f) in enumerate(zip(self.W, self.b, self.activations)):
            z = W_l @ A[-1] + b_l[:, None]
            Z.append(z)
            a = apply(f, z)
            A.append(a * masks[l] if masks is not None and l < self.n_layers - 1 else a)
        return Z, A

    def predict(self, X_rows: np.ndarray) -> np.ndarray:
        """Outputs a_L for samples in rows, shape (m, n_L)."""
        return self.forward(np.asarray(X_rows, dtype=np.float64).T)[1][-1].T

    # -------------------------------------------------------------- backward
    def backward(self, Z, A, Y: np.ndarray, loss: str, masks: list[np.ndarray] | None = None
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Mean gradients (dC/dW_l, dC/db_l) over the batch, by backpropagation: the
        :meth:`deltas`, then :meth:`gradients`."""
        return self.gradients(self.deltas(Z, A, Y, loss, masks), A)

    def deltas(self, Z, A, Y: np.ndarray, loss: str, masks: list[np.ndarray] | None = None) -> list[np.ndarray]:
        """[delta_1 .. delta_L], delta_l = dC/dz_l for each sample (shape (n_l, m)).

        delta_L = dC/dz_L (from the loss); delta_l = f'(z_l) o (W_{l+1}^T delta_{l+1}), times
        the mask m_l with dropout (f'(z_l) then needs the unmasked f(z_l), computed again).
        """
        L = self.n_layers
        delta = LOSSES[loss].delta(Z[-1], A[-1], Y, self.activations[-1])
        out = [delta]
        for l in range(L - 1, 0, -1):  # index l is layer l+1
            f = self.activations[l - 1]
            if masks is None:
                delta = ACTIVATIONS[f].df(Z[l - 1], A[l]) * (self.W[l].T @ delta)
            else:
                delta = (ACTIVATIONS[f].df(Z[l - 1], apply(f, Z[l - 1])) * (self.W[l].T @ delta)) * masks[l - 1]
            out.append(delta)
        return out[::-1]

    def gradients(self, deltas: list[np.ndarray], A: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """dC/dW_l = delta_l a_{l-1}^T / m and dC/db_l = the mean of delta_l over the batch."""
        inv_m = 1.0 / deltas[-1].shape[1]  # the mean over the batch (a multiply, as the compiled engine)
        dW = [(delta @ A[l].T) * inv_m for l, delta in enumerate(deltas)]
        db = [delta.sum(axis=1) * inv_m for delta in deltas]
        return dW, db

    def gradient(self, X_rows: np.ndarray, Y_rows: np.ndarray, loss: str, lam: float = 0.0,
                 masks: list[np.ndarray] | None = None) -> np.ndarray:
        """Gradient of mean-loss + (lambda/2) sum ||W_l||^2 as a flat vector shaped like theta
        (with dropout masks held fixed, if given)."""
        Z, A = self.forward(X_rows.T, masks)
        dW, db = self.backward(Z, A, Y_rows.T, loss, masks)
        g = np.empty_like(self.theta)
        for l in range(self.n_layers):
            w0, b0 = self.w_off[l], self.b_off[l]
            g[w0:w0 + dW[l].size] = (dW[l] + lam * self.W[l]).ravel()
            g[b0:b0 + db[l].size] = db[l]
        return g

    # ------------------------------------------------------------- the loss
    def loss(self, X_rows: np.ndarray, Y_rows: np.ndarray, loss: str, lam: float = 0.0,
             masks: list[np.ndarray] | None = None) -> float:
        """Mean over samples of the per-sample loss, plus (lambda/2) sum_l ||W_l||_F^2
        (with dropout masks held fixed, if given)."""
        Z, A = self.forward(X_rows.T, masks)
        value = float(LOSSES[loss].value(Z[-1], A[-1], Y_rows.T, self.activations[-1]).mean())
        return value + self.penalty(lam)

    def penalty(self, lam: float) -> float:
        """(lambda/2) sum_l ||W_l||_F^2, on the weights only."""
        return 0.5 * lam * sum(float((W_l * W_l).sum()) for W_l in self.W)

    def layer_masks(self, rows: np.ndarray) -> list[np.ndarray] | None:
        """Sampler mask rows (one row per sample, hidden units layer by layer) as the
        per-layer (n_l, m) masks of :meth:`forward`; None for no dropout."""
        if rows.size == 0:
            return None
        out, at = [], 0
        for n in self.sizes[1:-1]:
            out.append(rows[:, at:at + n].T)
            at += n
        return out

    # ------------------------------------------------------------------- I/O
    def to_npz(self, path) -> None:
        """Save W1..WL, b1..bL, architecture and activations (one per layer)."""
        arrays = {f"W{l + 1}": W_l for l, W_l in enumerate(self.W)}
        arrays.update({f"b{l + 1}": b_l for l, b_l in enumerate(self.b)})
        arrays["architecture"] = np.array(self.sizes, dtype=np.int64)
        arrays["activations"] = np.array(self.activations)
        np.savez(path, **arrays)

    @classmethod
    def from_npz(cls, path, key: str = "model.init_from") -> "Network":
        """Load a network saved by :meth:`to_npz`; errors name the file and what is wrong."""
        try:
            with np.load(Path(path), allow_pickle=False) as f:
                def array(name):
                    if name not in f.files:  # NumPy's KeyError: "architecture is not a file in the archive"
                        raise KeyError(name)
                    return f[name]

                sizes = [int(s) for s in array("architecture")]
                activations = [str(a) for a in array("activations")]
                net = cls(sizes, activations)
                net.set_parameters({name: array(name) for name in parameter_shapes(sizes)}, f"{key}: {path}: ")
        except FileNotFoundError:
            raise NnrunError(f"{key}: {path}: no such file") from None
        except KeyError as e:
            raise NnrunError(f"{key}: {path}: has no array '{e.args[0]}'; a model.npz of nnrun holds W1..WL, "
                             "b1..bL, architecture (the layer sizes, e.g. [2, 4, 2]) and activations (one name "
                             "per layer after the input), as nnrun train writes it") from None
        except ValueError as e:
            raise NnrunError(f"{key}: {path}: not a model.npz of nnrun ({e})") from None
        except OSError as e:
            raise NnrunError(f"{key}: {path}: cannot read ({e})") from None
        return net


def evaluate(net: Network, X: np.ndarray, Y: np.ndarray, loss: str, classify: bool) -> tuple[float, float]:
    """(mean loss, accuracy) over samples in rows, no dropout; accuracy is the share of
    correct classes (argmax of a_L, or a_L >= 0.5 for one unit) and NaN for regression or
    an empty set."""
    if len(X) == 0:
        return np.nan, np.nan
    Z, A = net.forward(X.T)
    value = float(LOSSES[loss].value(Z[-1], A[-1], Y.T, net.activations[-1]).mean())
    if not classify:
        return value, np.nan
    out = A[-1]
    if out.shape[0] == 1:
        correct = (out[0] >= 0.5) == (Y[:, 0] >= 0.5)
    else:
        correct = out.argmax(axis=0) == Y.argmax(axis=1)
    return value, float(correct.mean())
