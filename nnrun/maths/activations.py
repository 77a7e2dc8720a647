"""Activation functions f and their derivatives f', in a registry.

Each entry of :data:`ACTIVATIONS` is an :class:`Activation` holding two element-wise
functions::

    f(z)        the activation a = f(z)
    df(z, a)    its derivative f'(z), given z and a = f(z) (whichever is cheaper)

They work on NumPy arrays of any shape: this is the reference implementation that
the NumPy engine runs and students read. None of them can overflow: sigmoid only
ever exponentiates -|z|, ELU takes expm1 of a non-positive number.

Adding an activation is one entry in :data:`ACTIVATIONS`: f, f', its PyTorch counterpart
(``torch(torch, z)``, what ``nnrun compare --with torch`` runs) and its traits, side by
side; its integer code is its place in the table. The compiled engine's scalar twin goes
in ``nnrun/engines/compiled.py`` (``act``/``dact`` under the entry's code, which compiled.py
takes from here); until it has one, the activation runs on the NumPy engine.
``tests/test_registries.py`` names what a new entry lacks, and the engine agreement tests
hold every twin to the reference.

Output layers can also be ``softmax``, which is a vector function (each output
depends on every z): it lives in :func:`softmax` and is handled by the losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01


def identity(z):
    """f(z) = z."""
    return z + 0.0


def d_identity(z, a):
    """f'(z) = 1."""
    return 0.0 * z + 1.0


def sigmoid(z):
    """f(z) = 1 / (1 + e^{-z}), computed from e = e^{-|z|} <= 1 so it never overflows:
    1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def d_sigmoid(z, a):
    """f'(z) = f(z) (1 - f(z))."""
    return a * (1.0 - a)


def tanh(z):
    """f(z) = tanh(z)."""
    return np.tanh(z)


def d_tanh(z, a):
    """f'(z) = 1 - tanh(z)^2."""
    return 1.0 - a * a


def relu(z):
    """f(z) = max(z, 0)."""
    return np.maximum(z, 0.0)


def d_relu(z, a):
    """f'(z) = 1 if z > 0 else 0 (0 at the kink, as PyTorch)."""
    return (z > 0.0) * 1.0


def leaky_relu(z):
    """f(z) = z if z > 0 else 0.01 z."""
    return np.maximum(z, LEAKY_SLOPE * z)


def d_leaky_relu(z, a):
    """f'(z) = 1 if z > 0 else 0.01."""
    return LEAKY_SLOPE + (1.0 - LEAKY_SLOPE) * (z > 0.0)


def elu(z):
    """f(z) = z if z > 0 else e^z - 1  (written max(z,0) + expm1(min(z,0)))."""
    return np.maximum(z, 0.0) + np.expm1(np.minimum(z, 0.0))


def d_elu(z, a):
    """f'(z) = 1 if z > 0 else e^z = f(z) + 1."""
    return 1.0 + np.minimum(a, 0.0)


@dataclass(frozen=True)
class Activation:
    """An element-wise activation: ``f(z)``, ``df(z, a)``, its PyTorch counterpart
    ``torch(torch, z)``, and the compiled engine's ``code`` (its place in :data:`ACTIVATIONS`)."""

    name: str
    f: Callable
    df: Callable
    torch: Callable | None = None
    #: f and f' as ``nnrun explain`` writes them: in text, and in LaTeX
    formula: str = ""
    d_formula: str = ""
    tex: str = ""
    d_tex: str = ""
    #: "saturating" units are flagged by the diagnostics when |z| is large on every point.
    saturating: bool = False
    #: "rectifying" units are flagged as dead when f(z) = 0 on every point.
    rectifying: bool = False
    #: f' jumps at z = 0: finite differences across the kink are not derivatives.
    kink: bool = False
    #: the same f as a ``torch.nn`` layer, as Python source (``nnrun export --to torch`` writes it
    #: into a standalone file; tests/test_export.py holds it to ``torch`` above, bit for bit)
    torch_layer: str = ""
    code: int = field(default=-1, compare=False)


ACTIVATIONS: dict[str, Activation] = {a.name: replace(a, code=i) for i, a in enumerate([
    Activation("identity", identity, d_identity, lambda torch, z: z,
               "z", "1", "z", "1", torch_layer="nn.Identity()"),
    Activation("sigmoid", sigmoid, d_sigmoid, lambda torch, z: torch.sigmoid(z),
               "1 / (1 + e^-z)", "sigmoid(z) (1 - sigmoid(z))",
               r"\frac{1}{1+e^{-z}}", r"\sigma(z)\,(1-\sigma(z))", saturating=True,
               torch_layer="nn.Sigmoid()"),
    Activation("tanh", tanh, d_tanh, lambda torch, z: torch.tanh(z),
               "tanh(z)", "1 - tanh(z)^2", r"\tanh z", r"1-\tanh^2 z", saturating=True,
               torch_layer="nn.Tanh()"),
    Activation("relu", relu, d_relu, lambda torch, z: torch.relu(z),
               "max(z, 0)", "1 if z > 0 else 0", r"\max(z, 0)", r"[z > 0]", rectifying=True, kink=True,
               torch_layer="nn.ReLU()"),
    Activation("leaky_relu", leaky_relu, d_leaky_relu,
               lambda torch, z: torch.nn.functional.leaky_relu(z, negative_slope=LEAKY_SLOPE),
               "z if z > 0 else 0.01 z", "1 if z > 0 else 0.01",
               r"\max(z, 0.01z)", r"1 \text{ if } z>0 \text{ else } 0.01", kink=True,
               torch_layer=f"nn.LeakyReLU(negative_slope={LEAKY_SLOPE!r})"),
    Activation("elu", elu, d_elu, lambda torch, z: torch.nn.functional.elu(z),
               "z if z > 0 else e^z - 1", "1 if z > 0 else e^z",
               r"z \text{ if } z>0 \text{ else } e^z-1", r"1 \text{ if } z>0 \text{ else } e^z",
               torch_layer="nn.ELU()"),
])}

#: Output layers accept every activation plus softmax (code below every element-wise code).
SOFTMAX = "softmax"
SOFTMAX_CODE = 100
SOFTMAX_FORMULA, SOFTMAX_TEX = "e^z_k / sum_j e^z_j", r"\frac{e^{z_k}}{\sum_j e^{z_j}}"


#: softmax as a torch.nn layer (see Activation.torch_layer)
SOFTMAX_TORCH_LAYER = "nn.Softmax(dim=1)"


def torch_softmax(torch, z):
    """PyTorch's softmax over the units (dim 1: a row per sample)."""
    return torch.softmax(z, dim=1)
OUTPUTS = tuple(ACTIVATIONS) + (SOFTMAX,)


def softmax(Z):
    """p_k = e^{z_k - max z} / sum_j e^{z_j - max z}, column-wise (axis 0 indexes units).

    Shifting by the maximum leaves p unchanged and keeps every exponent <= 0.
    """
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def apply(name: str, Z):
    """a = f(z) for any layer, softmax included."""
    return softmax(Z) if name == SOFTMAX else ACTIVATIONS[name].f(Z)


def code(name: str) -> int:
    """The integer the compiled engine uses for an activation or softmax."""
    return SOFTMAX_CODE if name == SOFTMAX else ACTIVATIONS[name].code
