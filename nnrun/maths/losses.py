"""Losses C(a_L, y) per sample and the output error delta_L, in a registry.

Conventions: columns are samples, so ``Z`` and ``A`` of the output layer and the
targets ``Y`` have shape (n_L, m). The training loss is the mean over samples of the
per-sample loss; the L2 penalty is added by the trainer, not here.

``quadratic``      C = 1/2 ||a - y||^2,     dC/da = a - y,
                   delta_L = f'(z_L) o (a - y)     (softmax: J^T (a - y), J the softmax Jacobian).
``cross_entropy``  softmax output:  C = -sum_k y_k log p_k,           delta_L = p - y
                   (as dC/dz_j = p_j sum_k y_k - y_j: exact for targets that sum to 1,
                   which one-hot labels do; C itself takes any y);
                   sigmoid output:  C = -sum_k [y log p + (1-y) log(1-p)], delta_L = p - y.

Both logs are computed from z, never from p (log p = z - logsumexp(z),
log sigmoid(z) = -softplus(-z)), so a saturated output gives a large finite loss
instead of log(0). Adding a loss is one entry in :data:`LOSSES` (with its PyTorch
counterpart), and its compiled twin in ``nnrun/engines/compiled.py`` under its code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from nnrun.maths.activations import ACTIVATIONS, SOFTMAX


def softplus(x):
    """softplus(x) = log(1 + e^x), without overflow."""
    return np.logaddexp(0.0, x)


def logsumexp(Z):
    """log sum_k e^{z_k}, column-wise, shifted by the maximum."""
    m = Z.max(axis=0, keepdims=True)
    return (m + np.log(np.exp(Z - m).sum(axis=0, keepdims=True)))[0]


def quadratic_value(Z, A, Y, output):
    """Per-sample C = 1/2 ||a - y||^2, shape (m,)."""
    return 0.5 * ((A - Y) ** 2).sum(axis=0)


def quadratic_delta(Z, A, Y, output):
    """delta_L = f'(z_L) o (a_L - y); for softmax J^T (a - y) = p o ((a - y) - p.(a - y))."""
    G = A - Y
    if output == SOFTMAX:
        return A * (G - (A * G).sum(axis=0, keepdims=True))
    return ACTIVATIONS[output].df(Z, A) * G


def cross_entropy_value(Z, A, Y, output):
    """Per-sample cross-entropy, from z: softmax -sum y (z - lse(z)); sigmoid sum of binary CEs."""
    if output == SOFTMAX:
        return logsumexp(Z) * Y.sum(axis=0) - (Y * Z).sum(axis=0)
    return (Y * softplus(-Z) + (1.0 - Y) * softplus(Z)).sum(axis=0)


def cross_entropy_delta(Z, A, Y, output):
    """delta_L = dC/dz_L = p - y, for softmax and for sigmoid outputs alike."""
    return A - Y


def torch_quadratic(torch, output, z, a, y):
    """C_i = 1/2 ||a_L - y||^2, samples as rows (PyTorch's convention)."""
    return 0.5 * ((a - y) ** 2).sum(dim=1)


def torch_cross_entropy(torch, output, z, a, y):
    """-sum_k y_k log softmax(z)_k (torch.log_softmax), or sum_k BCE(z_k, y_k) from logits
    for sigmoid outputs (binary_cross_entropy_with_logits): PyTorch's own, never log(a)."""
    if output == SOFTMAX:
        return -(y * torch.log_softmax(z, dim=1)).sum(dim=1)
    return torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=1)


@dataclass(frozen=True)
class Loss:
    """A loss: per-sample ``value(Z, A, Y, output)`` and ``delta(Z, A, Y, output)`` = dC/dz_L,
    its PyTorch counterpart ``torch(torch, output, z, a, y)`` (per-sample values, samples as
    rows), and the compiled engine's ``code`` (its place in :data:`LOSSES`)."""

    name: str
    value: Callable
    delta: Callable
    torch: Callable | None = None
    #: output layers the loss is defined for (None: every output).
    outputs: tuple[str, ...] | None = None
    #: C and delta_L as ``nnrun explain`` writes them, in text and in LaTeX (f' is the output's
    #: derivative; softmax's Jacobian J where it applies)
    formula: str = ""
    delta_formula: str = ""
    tex: str = ""
    delta_tex: str = ""
    code: int = field(default=-1, compare=False)


LOSSES: dict[str, Loss] = {loss.name: replace(loss, code=i) for i, loss in enumerate([
    Loss("quadratic", quadratic_value, quadratic_delta, torch_quadratic, None,
         "1/2 ||a_L - y||^2", "f'(z_L) o (a_L - y)  (softmax: J^T (a_L - y))",
         r"\tfrac12\,\lVert a_L - y\rVert^2", r"f'(z_L)\circ(a_L - y)"),
    Loss("cross_entropy", cross_entropy_value, cross_entropy_delta, torch_cross_entropy, ("sigmoid", SOFTMAX),
         "-sum_k y_k log a_k  (sigmoid: -sum_k [y_k log a_k + (1 - y_k) log(1 - a_k)])", "a_L - y",
         r"-\sum_k y_k \log a_k \;\text{(sigmoid: }-\sum_k [y_k \log a_k + (1-y_k)\log(1-a_k)]\text{)}",
         r"a_L - y"),
])}
