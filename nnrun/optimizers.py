"""Optimizers: how a step turns the gradient into a change of the parameters.

Every optimizer sees the same gradient of a step, for the batch B (|B| = m)::

    g = (1/m) sum_{i in B} grad C_i(theta)  +  lambda * W        (lambda on the weights only)

and keeps its state in flat vectors beside theta (``state[k]`` has theta's shape). The
updates are PyTorch's (``torch.optim``, single-tensor form), so that the PyTorch twin is
an exact check; t counts the steps taken, from 1::

    sgd        theta <- theta - eta g
    momentum   v <- mu v + g;                       theta <- theta - eta v
    nesterov   v <- mu v + g;                       theta <- theta - eta (g + mu v)
    adam       m <- m + (1 - beta1) (g - m)         (torch's lerp: beta1 m + (1 - beta1) g)
               s <- beta2 s + (1 - beta2) g g
               theta <- theta - (eta / (1 - beta1^t)) m / (sqrt(s) / sqrt(1 - beta2^t) + epsilon)
    rmsprop    s <- alpha s + (1 - alpha) g g;      theta <- theta - eta g / (sqrt(s) + epsilon)

(v, m, s start at 0; PyTorch starts v at the first g, which is the same number. The engines
keep beta^t as a running product, beta^t = beta^(t-1) * beta, where PyTorch calls pow():
the same number to within t ulps.)

Where to add an optimizer: one entry in :data:`OPTIMIZERS` (its reference update here,
its hyper-parameters and their defaults, its ``torch.optim`` counterpart), and its
compiled twin in :func:`nnrun.engines.compiled.update` under the entry's ``code`` (a new
constant beside SGD ... RMSPROP, listed in ``COMPILED_OPTIMIZERS``). An optimizer keeps at
most two state vectors (``engines.method``'s ``moments``). A hyper-parameter no optimizer
has yet also needs its config field (``config.TrainConfig``, with its check), its slot in
``engines/layout.py`` and the line that fills it in ``engines/method.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nnrun.engines.layout import ALPHA, BETA1, BETA2, EPSILON, MU


def sgd_step(theta, g, state, eta, h, powers):
    theta -= eta * g


def momentum_step(theta, g, state, eta, h, powers):
    v = state[0]
    v[:] = h[MU] * v + g
    theta -= eta * v


def nesterov_step(theta, g, state, eta, h, powers):
    v = state[0]
    v[:] = h[MU] * v + g
    theta -= eta * (g + h[MU] * v)


def adam_step(theta, g, state, eta, h, powers):
    """``powers`` = (beta1^t, beta2^t) of this step."""
    m, s = state[0], state[1]
    m[:] = m + (1.0 - h[BETA1]) * (g - m)
    s[:] = h[BETA2] * s + (1.0 - h[BETA2]) * g * g
    step = eta / (1.0 - powers[0])
    root = np.sqrt(1.0 - powers[1])
    theta -= step * (m / (np.sqrt(s) / root + h[EPSILON]))


def rmsprop_step(theta, g, state, eta, h, powers):
    s = state[0]
    s[:] = h[ALPHA] * s + (1.0 - h[ALPHA]) * g * g
    theta -= eta * (g / (np.sqrt(s) + h[EPSILON]))


def _torch_sgd(torch, groups, eta, hp):
    return torch.optim.SGD(groups, lr=eta, momentum=0.0, foreach=False)


def _torch_momentum(torch, groups, eta, hp):
    return torch.optim.SGD(groups, lr=eta, momentum=hp["momentum"], foreach=False)


def _torch_nesterov(torch, groups, eta, hp):
    return torch.optim.SGD(groups, lr=eta, momentum=hp["momentum"], nesterov=True, foreach=False)


def _torch_adam(torch, groups, eta, hp):
    return torch.optim.Adam(groups, lr=eta, betas=tuple(hp["betas"]), eps=hp["epsilon"], foreach=False)


def _torch_rmsprop(torch, groups, eta, hp):
    return torch.optim.RMSprop(groups, lr=eta, alpha=hp["alpha"], eps=hp["epsilon"], foreach=False)


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: its compiled ``code``, how many state vectors it keeps, its
    hyper-parameters (config key -> default), the NumPy reference ``step`` and the
    ``torch`` factory ``(torch, param_groups, eta, hyper) -> torch.optim.Optimizer``."""

    code: int
    slots: int
    step: Callable
    torch: Callable
    defaults: dict = field(default_factory=dict)


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer(0, 0, sgd_step, _torch_sgd),
    "momentum": Optimizer(1, 1, momentum_step, _torch_momentum, {"momentum": 0.9}),
    "nesterov": Optimizer(2, 1, nesterov_step, _torch_nesterov, {"momentum": 0.9}),
    "adam": Optimizer(3, 2, adam_step, _torch_adam, {"betas": [0.9, 0.999], "epsilon": 1e-8}),
    "rmsprop": Optimizer(4, 1, rmsprop_step, _torch_rmsprop, {"alpha": 0.99, "epsilon": 1e-8}),
}

#: every optimizer hyper-parameter key, with the optimizers that take it
HYPER_KEYS = {key: [name for name, o in OPTIMIZERS.items() if key in o.defaults]
              for key in ("momentum", "betas", "epsilon", "alpha")}
