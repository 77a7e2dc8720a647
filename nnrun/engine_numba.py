"""The compiled training engine: the reference loop of ``train.py``, in numba.

Same maths as :mod:`nnrun.network` (see its docstring for the equations), written as
scalar loops over one flat parameter vector so that nothing is allocated inside the
loop. Buffers ``Z``, ``A`` and ``D`` (z_l, a_l and delta_l of every layer, layer l at
``off[l]``) and the gradient ``G`` are allocated once per run.

Activations are selected by the integer ``code`` of their registry entry in
:mod:`nnrun.activations`; :data:`COMPILED_CODES` lists the ones this module has a
scalar twin for. A run using any other activation, output or loss runs on NumPy.

One generic kernel serves every architecture, so it compiles once (``cache=True``
keeps the machine code on disk between processes) and a sweep of many small networks
pays no compilation per cell.

Floating point: LLVM may fuse multiply-adds, reorder sums and use reciprocals
(fastmath ``contract``, ``reassoc``, ``arcp``, ``nsz``), which makes the per-sample
loops about 1.7x faster and moves results by ~1e-16 relative (the engine agreement
tests hold them to 1e-10 of the NumPy reference). Never ``nnan``/``ninf``: detecting
divergence relies on ``isfinite``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# codes: see nnrun.activations.ACTIVATIONS and SOFTMAX_CODE, nnrun.losses.LOSSES
IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, ELU = 0, 1, 2, 3, 4, 5
SOFTMAX = 100
QUADRATIC, CROSS_ENTROPY = 0, 1
LEAKY_SLOPE = 0.01

COMPILED_CODES = {IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SOFTMAX}
COMPILED_LOSSES = {QUADRATIC, CROSS_ENTROPY}

EVAL_BLOCK = 256  # samples per block when recording the loss over a whole data set

# status of a chunk
RUNNING, DIVERGED = 0, 1

FAST = {"contract", "arcp", "nsz", "reassoc"}  # no nnan/ninf: divergence checks need them
jit = njit(cache=True, error_model="numpy", nogil=True, _nrt=False, fastmath=FAST)
inline = njit(cache=True, error_model="numpy", nogil=True, _nrt=False, inline="always", fastmath=FAST)


@jit
def act(code, z):
    """a = f(z), the scalar twin of nnrun.activations."""
    if code == SIGMOID:
        e = math.exp(-abs(z))
        return (1.0 if z >= 0 else e) / (1.0 + e)
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return max(z, 0.0)
    if code == LEAKY_RELU:
        return max(z, LEAKY_SLOPE * z)
    if code == ELU:
        return max(z, 0.0) + math.expm1(min(z, 0.0))
    return z + 0.0


@jit
def dact(code, z, a):
    """f'(z) given z and a = f(z)."""
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if z > 0.0 else 0.0
    if code == LEAKY_RELU:
        return LEAKY_SLOPE + (1.0 - LEAKY_SLOPE) * (1.0 if z > 0.0 else 0.0)
    if code == ELU:
        return 1.0 + min(a, 0.0)
    return 1.0


@jit
def softplus(x):
    """log(1 + e^x) as numpy.logaddexp(0, x) computes it."""
    if x == 0.0:
        return math.log(2.0)
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@inline
def forward(theta, sizes, w_off, b_off, codes, off, X, s, Z, A):
    """z_l = W_l a_{l-1} + b_l, a_l = f_l(z_l) for the sample x = X[s]; fills Z and A."""
    L = sizes.shape[0] - 1
    for j in range(sizes[0]):
        A[j] = X[s, j]
    for l in range(L):
        n_prev, n = sizes[l], sizes[l + 1]
        a0, o = off[l], off[l + 1]
        for i in range(n):
            zi = theta[b_off[l] + i]
            row = w_off[l] + i * n_prev
            for j in range(n_prev):
                zi += theta[row + j] * A[a0 + j]
            Z[o + i] = zi
        if codes[l] == SOFTMAX:
            zmax = Z[o]
            for i in range(1, n):
                zmax = max(zmax, Z[o + i])
            total = 0.0
            for i in range(n):
                A[o + i] = math.exp(Z[o + i] - zmax)
                total += A[o + i]
            for i in range(n):
                A[o + i] /= total
        else:
            for i in range(n):
                A[o + i] = act(codes[l], Z[o + i])


@jit
def sample_loss(loss, out_code, Z, A, o, n, Y, s):
    """Per-sample loss C(a_L, y) from z_L (see nnrun.losses)."""
    c = 0.0
    if loss == CROSS_ENTROPY and out_code == SOFTMAX:
        zmax = Z[o]
        for i in range(1, n):
            zmax = max(zmax, Z[o + i])
        total = 0.0
        for i in range(n):
            total += math.exp(Z[o + i] - zmax)
        lse = zmax + math.log(total)
        ysum = 0.0
        yz = 0.0
        for i in range(n):
            ysum += Y[s, i]
            yz += Y[s, i] * Z[o + i]
        return lse * ysum - yz
    if loss == CROSS_ENTROPY:
        for i in range(n):
            c += Y[s, i] * softplus(-Z[o + i]) + (1.0 - Y[s, i]) * softplus(Z[o + i])
        return c
    for i in range(n):
        d = A[o + i] - Y[s, i]
        c += d * d
    return 0.5 * c


@jit
def sample_correct(A, o, n, Y, s):
    """1 if the predicted class matches: argmax for several units, a >= 0.5 for one."""
    if n == 1:
        return 1.0 if (A[o] >= 0.5) == (Y[s, 0] >= 0.5) else 0.0
    best, target = 0, 0
    for i in range(1, n):
        if A[o + i] > A[o + best]:
            best = i
        if Y[s, i] > Y[s, target]:
            target = i
    return 1.0 if best == target else 0.0


@jit
def evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, X, Y, ZB, AB, Z, A):
    """(mean loss, accuracy) over the rows of X; accuracy is NaN for regression or no data.

    Samples go through the network in blocks of ZB.shape[1] columns, layer by layer
    (z_l = W_l a_{l-1} + b_l for the whole block), so the loop overhead is paid per
    unit, not per unit and sample: recording the loss every iteration stays cheap.
    """
    m = X.shape[0]
    if m == 0:
        return np.nan, np.nan
    L = sizes.shape[0] - 1
    n_out, o_out = sizes[L], off[L]
    block = ZB.shape[1]
    total, correct = 0.0, 0.0
    for start in range(0, m, block):
        cnt = min(block, m - start)
        for j in range(sizes[0]):
            for c in range(cnt):
                AB[j, c] = X[start + c, j]
        for l in range(L):
            n_prev, n = sizes[l], sizes[l + 1]
            a0, o = off[l], off[l + 1]
            for i in range(n):
                bi = theta[b_off[l] + i]
                for c in range(cnt):
                    ZB[o + i, c] = bi
                row = w_off[l] + i * n_prev
                for j in range(n_prev):
                    w = theta[row + j]
                    for c in range(cnt):
                        ZB[o + i, c] += w * AB[a0 + j, c]
            code = codes[l]
            if code == SOFTMAX:
                for c in range(cnt):
                    zmax = ZB[o, c]
                    for i in range(1, n):
                        zmax = max(zmax, ZB[o + i, c])
                    norm = 0.0
                    for i in range(n):
                        AB[o + i, c] = math.exp(ZB[o + i, c] - zmax)
                        norm += AB[o + i, c]
                    for i in range(n):
                        AB[o + i, c] /= norm
            else:
                for i in range(n):
                    for c in range(cnt):
                        AB[o + i, c] = act(code, ZB[o + i, c])
        for c in range(cnt):
            for i in range(n_out):
                Z[i] = ZB[o_out + i, c]
                A[i] = AB[o_out + i, c]
            total += sample_loss(loss, codes[L - 1], Z, A, 0, n_out, Y, start + c)
            if classify:
                correct += sample_correct(A, 0, n_out, Y, start + c)
    return total / m, (correct / m if classify else np.nan)


@inline
def deltas(theta, sizes, w_off, codes, off, loss, Y, s, Z, A, D):
    """delta_L = dC/dz_L, then delta_l = f'(z_l) o (W_{l+1}^T delta_{l+1}), into D."""
    L = sizes.shape[0] - 1
    n, o = sizes[L], off[L]
    out = codes[L - 1]
    if loss == CROSS_ENTROPY:
        for i in range(n):
            D[o + i] = A[o + i] - Y[s, i]
    elif out == SOFTMAX:
        pg = 0.0
        for i in range(n):
            pg += A[o + i] * (A[o + i] - Y[s, i])
        for i in range(n):
            D[o + i] = A[o + i] * ((A[o + i] - Y[s, i]) - pg)
    else:
        for i in range(n):
            D[o + i] = dact(out, Z[o + i], A[o + i]) * (A[o + i] - Y[s, i])
    for l in range(L - 1, 0, -1):
        n_prev, n = sizes[l], sizes[l + 1]
        a0, o = off[l], off[l + 1]
        code = codes[l - 1]
        for j in range(n_prev):
            back = 0.0
            for i in range(n):
                back += theta[w_off[l] + i * n_prev + j] * D[o + i]
            D[a0 + j] = dact(code, Z[a0 + j], A[a0 + j]) * back


@inline
def accumulate(sizes, w_off, b_off, off, A, D, G):
    """Add this sample's dC/dW_l = delta_l a_{l-1}^T and dC/db_l = delta_l to G."""
    L = sizes.shape[0] - 1
    for l in range(L):
        n_prev, n = sizes[l], sizes[l + 1]
        a0, o = off[l], off[l + 1]
        for i in range(n):
            d = D[o + i]
            G[b_off[l] + i] += d
            row = w_off[l] + i * n_prev
            for j in range(n_prev):
                G[row + j] += d * A[a0 + j]


@inline
def all_finite(x, start, stop):
    """True if x[start:stop] holds no inf or NaN."""
    for p in range(start, stop):
        if not math.isfinite(x[p]):
            return False
    return True


@inline
def step_one_sample(theta, sizes, w_off, b_off, off, eta, lam, A, D):
    """Per-sample SGD straight from the deltas: W_l -= eta (delta_l a_{l-1}^T + lambda W_l),
    b_l -= eta delta_l. Same numbers as accumulating a gradient of one sample, without the
    three extra passes over every parameter (zero, check, update)."""
    L = sizes.shape[0] - 1
    for l in range(L):
        n_prev, n = sizes[l], sizes[l + 1]
        a0, o = off[l], off[l + 1]
        for i in range(n):
            d = D[o + i]
            row = w_off[l] + i * n_prev
            for j in range(n_prev):
                theta[row + j] -= eta * (d * A[a0 + j] + lam * theta[row + j])
            theta[b_off[l] + i] -= eta * d


@jit
def train_chunk(theta, sizes, w_off, b_off, codes, off, loss, classify, eta, lam,
                X, Y, Xt, Yt, idx, ptr, it0, total, log_every, history, Z, A, D, G, ZB, AB):
    """Run len(ptr)-1 iterations of (minibatch) SGD; record every log_every-th.

    Iteration k uses the samples idx[ptr[k]:ptr[k+1]]; the step is
    theta <- theta - eta (mean gradient + lambda W) (lambda on weights only).
    A row [iteration, train loss, test loss, train accuracy, test accuracy] goes to
    ``history`` after every iteration that is a multiple of log_every, and the last.
    Returns (iterations done, rows written, status); status DIVERGED stops at the
    first non-finite gradient, before it is applied.
    """
    L = sizes.shape[0] - 1
    P = theta.shape[0]
    rows = 0
    k_max = ptr.shape[0] - 1
    until_record = log_every - it0 % log_every  # a countdown: no division per iteration
    width = off[L] + sizes[L]
    for k in range(k_max):
        start, stop = ptr[k], ptr[k + 1]
        it = it0 + k + 1
        if stop - start == 1:  # per-sample SGD: update straight from the deltas
            s = idx[start]
            forward(theta, sizes, w_off, b_off, codes, off, X, s, Z, A)
            deltas(theta, sizes, w_off, codes, off, loss, Y, s, Z, A, D)
            # a non-finite delta or activation would make a non-finite gradient
            finite = all_finite(D, sizes[0], width) and all_finite(A, 0, width)
            if finite:
                step_one_sample(theta, sizes, w_off, b_off, off, eta, lam, A, D)
        else:
            for p in range(P):
                G[p] = 0.0
            for q in range(start, stop):
                s = idx[q]
                forward(theta, sizes, w_off, b_off, codes, off, X, s, Z, A)
                deltas(theta, sizes, w_off, codes, off, loss, Y, s, Z, A, D)
                accumulate(sizes, w_off, b_off, off, A, D, G)
            finite = all_finite(G, 0, P)
            if finite:
                inv_m = 1.0 / (stop - start)  # the mean over the batch
                for l in range(L):
                    w0, b0 = w_off[l], b_off[l]
                    for p in range(w0, b0):
                        theta[p] -= eta * (G[p] * inv_m + lam * theta[p])
                    for p in range(b0, b0 + sizes[l + 1]):
                        theta[p] -= eta * (G[p] * inv_m)
        until_record -= 1
        if until_record == 0 or (not finite) or it == total:
            if until_record == 0:
                until_record = log_every
            tr, tra = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, X, Y, ZB, AB, Z, A)
            te, tea = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, Xt, Yt, ZB, AB, Z, A)
            history[rows, 0] = it
            history[rows, 1] = tr
            history[rows, 2] = te
            history[rows, 3] = tra
            history[rows, 4] = tea
            rows += 1
            if not finite or not math.isfinite(tr):
                return k + 1, rows, DIVERGED
    return k_max, rows, RUNNING


class NumbaEngine:
    """Runs chunks of iterations in :func:`train_chunk` on a network's flat ``theta``."""

    name = "numba"

    def __init__(self, network, loss_code, classify, eta, lam, data, log_every, total):
        from nnrun.activations import code

        self.net = network
        self.sizes = np.array(network.sizes, dtype=np.int64)
        self.codes = np.array([code(a) for a in network.activations], dtype=np.int64)
        self.off = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)[:-1]
        width = int(self.sizes.sum())
        self.Z, self.A, self.D = np.zeros(width), np.zeros(width), np.zeros(width)
        self.G = np.zeros_like(network.theta)
        block = max(1, min(EVAL_BLOCK, max(len(data.X_train), len(data.X_test))))
        self.ZB, self.AB = np.zeros((width, block)), np.zeros((width, block))
        self.loss, self.classify = loss_code, data.task == "classification"
        self.eta, self.lam = float(eta), float(lam)
        self.X, self.Y = data.X_train, data.Y_train
        self.Xt, self.Yt = data.X_test, data.Y_test
        self.log_every, self.total = int(log_every), int(total)

    def run_chunk(self, idx, ptr, it0, history):
        return train_chunk(
            self.net.theta, self.sizes, self.net.w_off, self.net.b_off, self.codes, self.off,
            self.loss, self.classify, self.eta, self.lam, self.X, self.Y, self.Xt, self.Yt,
            idx, ptr, it0, self.total, self.log_every, history, self.Z, self.A, self.D, self.G,
            self.ZB, self.AB,
        )
