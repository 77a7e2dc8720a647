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
               v <- beta2 v + (1 - beta2) g g
               theta <- theta - (eta / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
    rmsprop    s <- alpha s + (1 - alpha) g g;      theta <- theta - eta g / (sqrt(s) + epsilon)

(v, m, s start at 0; PyTorch starts v at the first g, which is the same number. The engines
keep beta^t as a running product, beta^t = beta^(t-1) * beta, where PyTorch calls pow():
the same number to within t ulps.)

Where to add an optimizer: one entry in :data:`OPTIMIZERS` here (its reference update, the
hyper-parameters it takes, its ``torch.optim`` counterpart; a hyper-parameter no optimizer
has yet is one :class:`Hyper` in :data:`HYPERS`, which gives it its ``train.<key>`` config
field, its check and its slot in the kernels' packed vector), and its compiled twin in
:func:`nnrun.engines.compiled.update` under the entry's code. Codes and slots are derived
from these tables, never written twice; ``tests/test_registries.py`` names what a new
entry lacks. An optimizer keeps at most two state vectors (``engines.method``'s
``moments``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


# ------------------------------------------------------------------ the updates
# hp: the step's hyper-parameters by name (mu, beta1, beta2, epsilon, alpha)
def sgd_step(theta, g, state, eta, hp, powers):
    theta -= eta * g


def momentum_step(theta, g, state, eta, hp, powers):
    v = state[0]
    v[:] = hp["mu"] * v + g
    theta -= eta * v


def nesterov_step(theta, g, state, eta, hp, powers):
    v = state[0]
    v[:] = hp["mu"] * v + g
    theta -= eta * (g + hp["mu"] * v)


def adam_step(theta, g, state, eta, hp, powers):
    """``powers`` = (beta1^t, beta2^t) of this step."""
    m, v = state[0], state[1]
    m[:] = m + (1.0 - hp["beta1"]) * (g - m)
    v[:] = hp["beta2"] * v + (1.0 - hp["beta2"]) * g * g
    step = eta / (1.0 - powers[0])
    root = np.sqrt(1.0 - powers[1])
    theta -= step * (m / (np.sqrt(v) / root + hp["epsilon"]))


def rmsprop_step(theta, g, state, eta, hp, powers):
    s = state[0]
    s[:] = hp["alpha"] * s + (1.0 - hp["alpha"]) * g * g
    theta -= eta * (g / (np.sqrt(s) + hp["epsilon"]))


# ------------------------------------------------------------------ torch.optim counterparts
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


# ------------------------------------------------------------------ the registries
@dataclass(frozen=True)
class Hyper:
    """A hyper-parameter: its config key (``train.<key>``), type and default, the check a
    value must pass and how an error says it, and the names of its scalars as the
    updates read them (``betas`` is two: beta1, beta2)."""

    key: str
    type: Any
    default: Any
    valid: Callable
    expected: str
    description: str
    scalars: tuple

    def values(self, value) -> dict:
        """{scalar name: number} of a config value."""
        numbers = value if isinstance(value, (list, tuple)) else [value]
        return dict(zip(self.scalars, map(float, numbers)))


HYPERS: dict[str, Hyper] = {h.key: h for h in [
    Hyper("momentum", float, 0.9, lambda v: 0.0 <= v < 1.0, "a number with 0 <= momentum < 1",
          "momentum/nesterov: mu (default 0.9)", ("mu",)),
    Hyper("betas", list[float], [0.9, 0.999], lambda v: len(v) == 2 and all(0.0 <= b < 1.0 for b in v),
          "[beta1, beta2], each in [0, 1)", "adam: [beta1, beta2] (default [0.9, 0.999])", ("beta1", "beta2")),
    Hyper("epsilon", float, 1e-8, lambda v: 0.0 < v and math.isfinite(v), "a number > 0",
          "adam/rmsprop: added to the root (default 1e-8)", ("epsilon",)),
    Hyper("alpha", float, 0.99, lambda v: 0.0 <= v < 1.0, "a number with 0 <= alpha < 1",
          "rmsprop: decay of the squared gradient (default 0.99)", ("alpha",)),
]}
#: every scalar of every hyper-parameter, in a fixed order (the kernels' slots follow it)
SCALARS = [scalar for h in HYPERS.values() for scalar in h.scalars]


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: the names of the state vectors it keeps (``state``; their count is its
    ``slots``), the NumPy reference ``step(theta, g, state, eta, hp, powers)``, the
    ``torch`` factory ``(torch, param_groups, eta, hyper) -> torch.optim.Optimizer``, the
    hyper-parameters it takes (keys of :data:`HYPERS`), and its update as ``nnrun explain``
    writes it (``formula`` in text, ``tex`` in LaTeX, for a parameter array p with gradient
    g). Its ``code`` (the kernels' dispatch) is its place in :data:`OPTIMIZERS`."""

    name: str
    state: tuple
    step: Callable
    torch: Callable
    hypers: tuple = ()
    formula: str = ""
    tex: str = ""
    code: int = field(default=-1, compare=False)

    @property
    def slots(self) -> int:
        return len(self.state)

    @property
    def defaults(self) -> dict:
        """{config key: default} of its hyper-parameters."""
        return {key: HYPERS[key].default for key in self.hypers}


def _numbered(entries) -> dict:
    """name -> entry, each with its code: its place in the table."""
    return {e.name: type(e)(**{**e.__dict__, "code": i}) for i, e in enumerate(entries)}


OPTIMIZERS: dict[str, Optimizer] = _numbered([
    Optimizer("sgd", (), sgd_step, _torch_sgd, (),
              "p <- p - eta g",
              r"p \leftarrow p - \eta\, g"),
    Optimizer("momentum", ("v",), momentum_step, _torch_momentum, ("momentum",),
              "v <- mu v + g;  p <- p - eta v",
              r"v \leftarrow \mu v + g,\quad p \leftarrow p - \eta\, v"),
    Optimizer("nesterov", ("v",), nesterov_step, _torch_nesterov, ("momentum",),
              "v <- mu v + g;  p <- p - eta (g + mu v)",
              r"v \leftarrow \mu v + g,\quad p \leftarrow p - \eta\,(g + \mu v)"),
    Optimizer("adam", ("m", "v"), adam_step, _torch_adam, ("betas", "epsilon"),
              "m <- m + (1 - beta1)(g - m);  v <- beta2 v + (1 - beta2) g^2;  "
              "p <- p - (eta / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)",
              r"m \leftarrow m + (1-\beta_1)(g - m),\quad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2,\quad "
              r"p \leftarrow p - \frac{\eta}{1-\beta_1^t}\,\frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}"),
    Optimizer("rmsprop", ("s",), rmsprop_step, _torch_rmsprop, ("alpha", "epsilon"),
              "s <- alpha s + (1 - alpha) g^2;  p <- p - eta g / (sqrt(s) + epsilon)",
              r"s \leftarrow \alpha s + (1-\alpha)\, g^2,\quad p \leftarrow p - \eta\,\frac{g}{\sqrt{s} + \epsilon}"),
])

#: every optimizer hyper-parameter key, with the optimizers that take it
HYPER_KEYS = {key: [name for name, o in OPTIMIZERS.items() if key in o.hypers] for key in HYPERS}
