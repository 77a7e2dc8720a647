"""Gradient check: backpropagation against central finite differences.

For the objective J(theta) = mean_i C(a_L(x_i), y_i) + (lambda/2) sum_l ||W_l||_F^2,
each partial derivative is estimated independently of backprop as

    dJ/dtheta_p  ~  (J(theta + h e_p) - J(theta - h e_p)) / (2h),     h = 1e-5,

whose error is O(h^2) from truncation plus O(eps J / h) from rounding, ~1e-10 here.
Per parameter array (W1, b1, W2, ...) we report the maximum absolute error and the
relative error max|backprop - numeric| / max|numeric|: relative to the array's
largest entry, because entries near zero carry only rounding noise.

With dropout, J is the loss of one training step: every hidden unit's mask (drawn from the
run's dropout stream, as training draws it) is held fixed, so J is a smooth function of
theta and its gradient is what that step applies.

ReLU and leaky ReLU have a kink at z = 0. When theta +- h puts some pre-activation on
both sides of it, the difference quotient is not a derivative at all, so such
entries are left out of the comparison and counted (``kinks``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnrun.maths.activations import ACTIVATIONS
from nnrun.maths.network import Network

STEP = 1e-5
TOLERANCE = 1e-7


@dataclass
class ArrayCheck:
    name: str
    shape: tuple
    relative_error: float
    absolute_error: float
    kinks: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.relative_error < TOLERANCE)


def _kink_side(net: Network, X, masks=None) -> np.ndarray:
    """Which side of 0 every pre-activation of a kinked unit is on (empty if none)."""
    kinked = [l for l, a in enumerate(net.activations) if a in ACTIVATIONS and ACTIVATIONS[a].kink]
    if not kinked:
        return np.empty(0, dtype=bool)
    Z, _ = net.forward(X.T, masks)
    return np.concatenate([(Z[l] > 0).ravel() for l in kinked])


def numeric_gradient(net: Network, X, Y, loss: str, lam: float, h: float = STEP, masks=None):
    """Central differences of Network.loss (dropout masks held fixed), one parameter at a time.

    Returns (gradient, smooth) where smooth[p] is False if theta_p +- h crosses a kink.
    """
    g = np.empty_like(net.theta)
    smooth = np.ones(net.theta.size, dtype=bool)
    for p in range(net.theta.size):
        keep = net.theta[p]
        net.theta[p] = keep + h
        plus = net.loss(X, Y, loss, lam, masks)
        side = _kink_side(net, X, masks)
        net.theta[p] = keep - h
        minus = net.loss(X, Y, loss, lam, masks)
        smooth[p] = np.array_equal(side, _kink_side(net, X, masks))
        net.theta[p] = keep
        g[p] = (plus - minus) / (2 * h)
    return g, smooth


def arrays(net: Network) -> list[tuple[str, slice, tuple]]:
    """(name, slice of theta, shape) of W1, b1, W2, b2, ..."""
    out = []
    for l, (W_l, b_l) in enumerate(zip(net.W, net.b)):
        w0, b0 = int(net.w_off[l]), int(net.b_off[l])
        out.append((f"W{l + 1}", slice(w0, w0 + W_l.size), W_l.shape))
        out.append((f"b{l + 1}", slice(b0, b0 + b_l.size), b_l.shape))
    return out


def check(net: Network, X, Y, loss: str, lam: float, points: int = 3, seed: int = 0,
          max_samples: int = 32, mask_rows: np.ndarray | None = None) -> list[ArrayCheck]:
    """Worst errors per array over ``points`` parameter vectors: the given one and
    random perturbations of it (so a check does not pass by luck at one point).
    ``mask_rows`` (one row per sample of X, as the sampler draws them) fixes dropout masks."""
    rng = np.random.default_rng(seed)
    if len(X) > max_samples:
        rows = rng.choice(len(X), max_samples, replace=False)
        X, Y = X[rows], Y[rows]
        mask_rows = None if mask_rows is None else mask_rows[rows]
    masks = None if mask_rows is None else net.layer_masks(mask_rows)
    start = net.theta.copy()
    worst = {name: [0.0, 0.0, 0] for name, _, _ in arrays(net)}
    try:
        for k in range(points):
            net.theta[:] = start if k == 0 else start + 0.1 * rng.standard_normal(start.shape)
            analytic = net.gradient(X, Y, loss, lam, masks)
            numeric, smooth = numeric_gradient(net, X, Y, loss, lam, masks=masks)
            for name, part, _ in arrays(net):
                keep = smooth[part]
                worst[name][2] += int((~keep).sum())
                if not keep.any():
                    continue
                a, n = analytic[part][keep], numeric[part][keep]
                absolute = float(np.max(np.abs(a - n)))
                scale = max(float(np.max(np.abs(n))), float(np.max(np.abs(a))), 1e-12)
                worst[name][0] = max(worst[name][0], absolute / scale)
                worst[name][1] = max(worst[name][1], absolute)
    finally:
        net.theta[:] = start
    return [ArrayCheck(name, shape, *worst[name]) for name, _, shape in arrays(net)]


def gradcheck(cfg, points: int = 3) -> list[ArrayCheck]:
    """Build the configured data and initial network and check every gradient array."""
    from nnrun.experiment import prepare

    from nnrun.data import streams
    from nnrun.maths.sampling import Sampler, unit_rates

    data, net = prepare(cfg, load_kernel=False)
    drop = unit_rates(cfg.model.dropout_rates, net.sizes)
    masks = Sampler(len(data.X_train), 1, "random", None, drop, streams(cfg.seed)["dropout"]).masks(len(data.X_train))
    return check(net, data.X_train, data.Y_train, cfg.train.loss, cfg.train.lambda_, points=points, seed=cfg.seed,
                 mask_rows=masks if masks.size else None)


def table(results: list[ArrayCheck]) -> str:
    lines = [f"{'array':<6} {'shape':<10} {'max rel error':>14} {'max abs error':>14}  result "
             f"(rel error = max|backprop - numeric| / max|numeric| per array, must be < {TOLERANCE:g})"]
    for r in results:
        shape = "x".join(map(str, r.shape))
        kinks = (f"  ({r.kinks} {'entry' if r.kinks == 1 else 'entries'} skipped: the step crossed a ReLU kink)"
                 if r.kinks else "")
        lines.append(f"{r.name:<6} {shape:<10} {r.relative_error:>14.3e} {r.absolute_error:>14.3e}  "
                     f"{'ok' if r.ok else 'FAIL'}{kinks}")
    return "\n".join(lines)
