"""Backpropagation against an independent oracle: central finite differences.

Every activation x output x loss combination nnrun accepts, with the L2 term.
"""

import itertools

import numpy as np
import pytest

from nnrun.maths.activations import ACTIVATIONS, OUTPUTS, SOFTMAX
from nnrun.maths.losses import LOSSES
from nnrun.maths.network import Network

COMBINATIONS = [
    (hidden, output, loss)
    for hidden, output, loss in itertools.product(ACTIVATIONS, OUTPUTS, LOSSES)
    if LOSSES[loss].outputs is None or output in LOSSES[loss].outputs
]


def finite_difference_gradient(net, X, Y, loss, lam, h=1e-6):
    """dJ/dtheta_p ~ (J(theta + h e_p) - J(theta - h e_p)) / 2h, one parameter at a time."""
    g = np.zeros_like(net.theta)
    for p in range(len(net.theta)):
        keep = net.theta[p]
        net.theta[p] = keep + h
        plus = net.loss(X, Y, loss, lam)
        net.theta[p] = keep - h
        minus = net.loss(X, Y, loss, lam)
        net.theta[p] = keep
        g[p] = (plus - minus) / (2 * h)
    return g


@pytest.mark.parametrize("hidden,output,loss", COMBINATIONS)
def test_backprop_matches_finite_differences(hidden, output, loss):
    rng = np.random.default_rng(7)
    sizes = [3, 4, 5, 3]
    net = Network(sizes, [hidden, hidden, output]).initialize(rng, "normal", 0.7)
    X = rng.normal(size=(6, 3))
    labels = rng.integers(0, 3, 6)
    Y = np.eye(3)[labels] if output in (SOFTMAX, "sigmoid") or loss == "cross_entropy" else rng.normal(size=(6, 3))
    lam = 0.03
    analytic = net.gradient(X, Y, loss, lam)
    numeric = finite_difference_gradient(net, X, Y, loss, lam)
    # error relative to the largest entry: entries near 0 carry only rounding noise
    error = np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric))
    assert error < 1e-7
