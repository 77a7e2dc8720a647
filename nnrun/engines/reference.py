"""The NumPy reference engine: the training loop as the equations read, an iteration at a time.

Each iteration: forward and backward on the batch as matrices (:class:`nnrun.maths.network.Network`,
dropout masks from the sampler), the gradient g = mean gradient + lambda W (weights only),
the optimizer's update (:data:`nnrun.maths.optimizers.OPTIMIZERS`) with the schedule's eta, and
every ``log_every`` iterations a record of the loss and accuracy over the whole training,
test and validation sets, which the plateau schedule and early stopping then look at
(:func:`observe`). The compiled kernels (:mod:`nnrun.engines.per_sample`,
:mod:`nnrun.engines.rows`) compute the same numbers; the tests hold them to 1e-10.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnrun.engines import layout as ix
from nnrun.maths.network import evaluate
from nnrun.maths.optimizers import OPTIMIZERS


def observe(method, theta: np.ndarray, it: int, train_loss: float, val_loss: float) -> bool:
    """After a record: the plateau schedule and early stopping look at the monitored loss
    (validation, else training). The plateau divides eta by ``factor`` after ``patience``
    records without an improvement of more than ``min_delta``; early stopping keeps the best
    weights and says stop (True) after its ``patience`` such records."""
    h, st = method.hyper, method.state
    loss = val_loss if h[ix.HAS_VAL] > 0 else train_loss
    if h[ix.PLATEAU] > 0:
        if loss < st[ix.PL_BEST] - h[ix.PL_MIN_DELTA]:
            st[ix.PL_BEST], st[ix.PL_BAD] = loss, 0.0
        else:
            st[ix.PL_BAD] += 1.0
            if st[ix.PL_BAD] >= h[ix.PL_PATIENCE]:
                st[ix.ETA], st[ix.PL_BAD] = st[ix.ETA] / h[ix.PL_FACTOR], 0.0
    if h[ix.ES_PATIENCE] > 0:
        if loss < st[ix.ES_BEST] - h[ix.ES_MIN_DELTA]:
            st[ix.ES_BEST], st[ix.ES_BAD], st[ix.ES_BEST_IT] = loss, 0.0, it
            if h[ix.ES_RESTORE] > 0:
                method.best_theta[:] = theta
        else:
            st[ix.ES_BAD] += 1.0
            if st[ix.ES_BAD] >= h[ix.ES_PATIENCE]:
                return True
    return False


def record(net, data, method, history: np.ndarray, row: int, it: int, eta: float) -> float:
    """History row ``row``: loss and accuracy over the training, test and validation sets."""
    tr, tra = evaluate(net, data.X_train, data.Y_train, method.loss, method.classify)
    te, tea = evaluate(net, data.X_test, data.Y_test, method.loss, method.classify)
    vl, va = evaluate(net, data.X_val, data.Y_val, method.loss, method.classify)
    history[row, :ix.SECONDS] = (it, tr, te, tra, tea, vl, va, eta)
    return tr


class Iteration(NamedTuple):
    """The numbers of one iteration, as :meth:`NumpyEngine.iterate` computed them (batch as
    columns): Z = [z_1..z_L], A = [a_0..a_L], deltas = [delta_1..delta_L], the mean
    gradients dW, db, the flat g the optimizer took (None if not finite), and eta."""

    Z: list
    A: list
    deltas: list
    dW: list
    db: list
    g: np.ndarray | None
    eta: float
    finite: bool


class NumpyEngine:
    """The reference engine: forward and backward on matrices, an iteration at a time.
    ``watch(iteration)``, if set, sees each :class:`Iteration` (``nnrun explain`` shows it)."""

    name = "numpy"
    watch = None

    def __init__(self, network, method, data, stop_flag=None, full_batch=False):
        self.net, self.method, self.data = network, method, data
        self.stop_flag = stop_flag or (lambda: False)
        self.step = OPTIMIZERS[method.optimizer].step
        # full-batch gradient descent uses the same columns every step: transpose once
        self.full = (np.ascontiguousarray(data.X_train.T), np.ascontiguousarray(data.Y_train.T)) \
            if full_batch else None

    def record(self, history, row: int, it: int, eta: float) -> float:
        """History row ``row`` (see :func:`record`)."""
        return record(self.net, self.data, self.method, history, row, it, eta)

    def evaluate(self, X, Y) -> tuple[float, float]:
        return evaluate(self.net, X, Y, self.method.loss, self.method.classify)

    def gradient(self, dW, db) -> np.ndarray:
        """g = dC/dtheta + lambda W (weights only), flat like theta."""
        net, lam = self.net, self.method.hyper[ix.LAMBDA]
        g = np.empty_like(net.theta)
        for l in range(net.n_layers):
            w0, b0 = net.w_off[l], net.b_off[l]
            g[w0:b0] = (dW[l] + lam * net.W[l]).ravel()
            g[b0:b0 + db[l].size] = db[l]
        return g

    def iterate(self, X, Y, layer_masks, it: int) -> Iteration:
        """Iteration ``it`` on the batch (X, Y as columns): forward, deltas, gradients, and
        the optimizer's step with the schedule's eta (skipped when the gradient is not finite)."""
        net, method = self.net, self.method
        Z, A = net.forward(X, layer_masks)
        deltas = net.deltas(Z, A, Y, method.loss, layer_masks)
        dW, db = net.gradients(deltas, A)
        finite = all(np.isfinite(g).all() for g in dW + db)
        eta = method.eta_at(it)
        g = None
        if finite:
            st = method.state
            st[ix.STEPS] += 1.0
            # beta^t as running products, as the kernels keep them (0 for optimizers without betas)
            st[ix.BETA1_T] *= method.hp.get("beta1", 0.0)
            st[ix.BETA2_T] *= method.hp.get("beta2", 0.0)
            g = self.gradient(dW, db)
            self.step(net.theta, g, method.moments, eta, method.hp, (st[ix.BETA1_T], st[ix.BETA2_T]))
        return Iteration(Z, A, deltas, dW, db, g, eta, finite)

    def run_chunk(self, idx, ptr, masks, it0, history):
        """Iterations it0+1 .. it0+len(ptr)-1; returns (done, rows, status) like the compiled ones."""
        net, d, method = self.net, self.data, self.method
        rows = 0
        for k in range(len(ptr) - 1):
            if self.full:
                X, Y = self.full
            else:
                batch = idx[ptr[k]:ptr[k + 1]]
                X, Y = d.X_train[batch].T, d.Y_train[batch].T
            layer_masks = net.layer_masks(masks[ptr[k]:ptr[k + 1]])
            it = it0 + k + 1
            done = self.iterate(X, Y, layer_masks, it)
            if self.watch is not None:
                self.watch(done)
            if not done.finite or it % method.log_every == 0 or it == method.total:
                train_loss = record(net, d, method, history, rows, it, done.eta)
                rows += 1
                if not done.finite or not np.isfinite(train_loss):
                    return k + 1, rows, ix.DIVERGED
                if observe(method, net.theta, it, train_loss, history[rows - 1, ix.VAL_LOSS]):
                    return k + 1, rows, ix.STOPPED
            if self.stop_flag():
                return k + 1, rows, ix.RUNNING
        return len(ptr) - 1, rows, ix.RUNNING
