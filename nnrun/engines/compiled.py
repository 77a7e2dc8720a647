"""The compiled pieces both training kernels share: numba settings, the scalar twins of the
activations and losses, e^x, and one optimizer step, schedule and monitor.

Same maths as :mod:`nnrun.maths.network`, :mod:`nnrun.maths.optimizers` and :mod:`nnrun.maths.schedules`
(see their docstrings), written as scalar code on flat arrays so that nothing is
allocated inside a kernel. Activations are selected by the integer ``code`` of their
registry entry in :mod:`nnrun.maths.activations`; :data:`COMPILED_CODES` lists the ones with a
scalar twin here. Optimizers by the ``code`` of their entry in
:data:`nnrun.maths.optimizers.OPTIMIZERS`; the method's numbers travel in the ``hyper`` and
``state`` vectors of :mod:`nnrun.engines.layout`.

Floating point: the same bits on every x86-64 machine. Both kernels are compiled without
fast-math (each sum in its written order, no fused multiply-adds, no reciprocals), so the
code LLVM emits for a CPU (SSE2, AVX2 or AVX-512, vectorised or not) computes the same
numbers as for any other; they call no BLAS (:mod:`nnrun.engines.rows` writes its own
products) and no C maths library: e^x, e^x - 1, log, log(1 + x) and tanh come from
:mod:`nnrun.engines.exactmath`, built from + - * / and IEEE bits. Only ``sqrt`` and
``floor`` come from the machine, and IEEE 754 fixes their results. Fast-math
(``contract``, ``reassoc``, ``arcp``, ``nsz``, used until issue 22) let LLVM pick vector
widths and fused multiply-adds per CPU, so results moved by ~1e-16 relative between
machines (and chaotic runs, E5's, visibly); pinning a target instead (x86-64-v3) would
still differ on CPUs without FMA. Measured on E1 in one session (benchmarks/README.md,
2026-12-05), fast-math bought little: 1.80x and 1.97x the C loop with the loss recorded
every iteration against 2.30x and 2.21x without (recorded every 1000: 2.33x and 2.52x
against 1.99x and 2.50x); the branch-free sigmoid of the recorded loss then made the
kernel without it faster than the old one (1.47x against 1.73x). Never ``nnan``/``ninf``
either: detecting divergence relies on ``isfinite``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import nnrun.engines.cache  # noqa: F401 - before any kernel: the cache stamp covers every engine file
from nnrun.engines import exactmath
from nnrun.engines.layout import (
    DIVERGED, RUNNING, STOPPED,
    BETA1_T, BETA2_T, LAMBDA, STEPS, ES_BAD, ES_BEST, ES_BEST_IT, ES_MIN_DELTA, ES_PATIENCE, ES_RESTORE, ETA,
    HAS_VAL, OPTIMIZER_SLOTS, PL_BAD, PL_BEST, PL_FACTOR, PL_MIN_DELTA, PL_PATIENCE, PLATEAU,
)
from nnrun.maths.activations import ACTIVATIONS, LEAKY_SLOPE, SOFTMAX_CODE
from nnrun.maths.losses import LOSSES
from nnrun.maths.optimizers import OPTIMIZERS

# The dispatch below is written by hand (numba compiles each branch); its codes and slots
# come from the registries, never typed twice. numba takes them as constants, so the
# kernels' cache stamp covers the registries (nnrun.engines.cache).
IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, ELU = (
    ACTIVATIONS[n].code for n in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu"))
SOFTMAX = SOFTMAX_CODE
QUADRATIC, CROSS_ENTROPY = (LOSSES[n].code for n in ("quadratic", "cross_entropy"))
SGD, MOMENTUM, NESTEROV, ADAM, RMSPROP = (OPTIMIZERS[n].code for n in ("sgd", "momentum", "nesterov", "adam", "rmsprop"))
MU, BETA1, BETA2, EPSILON, ALPHA = (OPTIMIZER_SLOTS[s] for s in ("mu", "beta1", "beta2", "epsilon", "alpha"))

# what has a branch here (anything else runs on the NumPy engine; tests/test_registries.py names it)
COMPILED_CODES = {IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SOFTMAX}
COMPILED_LOSSES = {QUADRATIC, CROSS_ENTROPY}
COMPILED_OPTIMIZERS = {SGD, MOMENTUM, NESTEROV, ADAM, RMSPROP}

# exp_into: e^x = 2^k e^r, k = round(x / ln 2), r = x - k ln 2 (Cody & Waite: ln 2 split in
# two so that k * LN2_HI is exact), e^r by its Taylor series to r^13 (|r| <= ln(2)/2, so the
# truncation error is below 1e-17 relative), 2^k built from its IEEE exponent bits.
LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453  # log(2.0), the nearest double
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
EXP_MIN = -708.0  # below: e^x is below the smallest normal double; returned as 0
SHIFT = 2.0 ** 52 + 1023.0  # k + SHIFT: a double whose low bits are 1023 + k (exp_reduced)
SHIFT_BITS = np.int64(0x4330000000000000)  # the IEEE bits of 2.0 ** 52
C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13 = (1.0 / math.factorial(k) for k in range(2, 14))

# No fast-math anywhere (see the module docstring): the same machine-independent numbers
# in both kernels, and in a kernel compiled in this process or loaded from numba's cache.
jit = njit(cache=True, error_model="numpy", nogil=True, _nrt=False)
inline = njit(cache=True, error_model="numpy", nogil=True, _nrt=False, inline="always")
# The rows kernel takes views of its buffers (rows_of), which need numba's reference counting (NRT).
jit_rows = njit(cache=True, error_model="numpy", nogil=True)
inline_rows = njit(cache=True, error_model="numpy", nogil=True, inline="always")


@jit
def act(code, z):
    """a = f(z), the scalar twin of nnrun.maths.activations."""
    if code == SIGMOID:
        e = exactmath.exp(-abs(z))
        return (1.0 if z >= 0 else e) / (1.0 + e)
    if code == TANH:
        return exactmath.tanh(z)
    if code == RELU:
        return max(z, 0.0)
    if code == LEAKY_RELU:
        return max(z, LEAKY_SLOPE * z)
    if code == ELU:
        return max(z, 0.0) + exactmath.expm1(min(z, 0.0))
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


@inline
def softplus(x):
    """log(1 + e^x) as numpy.logaddexp(0, x) computes it."""
    if x == 0.0:
        return LN2
    if x > 0.0:
        return x + exactmath.log1p(exactmath.exp(-x))
    return exactmath.log1p(exactmath.exp(x))




@jit
def sample_loss(loss, out_code, Z, A, o, n, Y, s):
    """Per-sample loss C(a_L, y) from z_L (see nnrun.maths.losses)."""
    c = 0.0
    if loss == CROSS_ENTROPY and out_code == SOFTMAX:
        zmax = Z[o]
        for i in range(1, n):
            zmax = max(zmax, Z[o + i])
        total = 0.0
        for i in range(n):
            total += exactmath.exp(Z[o + i] - zmax)
        lse = zmax + exactmath.log(total)
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




@inline
def all_finite(x, start, stop):
    """True if x[start:stop] holds no inf or NaN."""
    for p in range(start, stop):
        if not math.isfinite(x[p]):
            return False
    return True





@inline_rows
def exp_reduced(v):
    """(e^r, k + SHIFT) with e^v = e^r 2^k, for EXP_MIN <= v <= 710 (see LOG2E above).

    k stays a float: ``np.floor`` rounds four lanes at once, where ``math.floor`` returns
    an integer in numba and sends every lane through a scalar conversion (1.5x slower).
    k + SHIFT is exact and its IEEE bits end in 1023 + k; :func:`exponent_bits` makes
    2^k of them."""
    k = np.floor(v * LOG2E + 0.5)
    r = (v - k * LN2_HI) - k * LN2_LO
    p = C13
    p = p * r + C12
    p = p * r + C11
    p = p * r + C10
    p = p * r + C9
    p = p * r + C8
    p = p * r + C7
    p = p * r + C6
    p = p * r + C5
    p = p * r + C4
    p = p * r + C3
    p = p * r + C2
    p = p * r + 1.0
    return p * r + 1.0, k + SHIFT


@inline_rows
def exponent_bits(bits):
    """In place: the bits of the doubles k + SHIFT (from exp_reduced) become those of 2^k,
    1023 + k in the exponent field. Integer lanes, vectorised."""
    for i in range(bits.shape[0]):
        bits[i] = (bits[i] - SHIFT_BITS) << 52


@inline
def exp_nonpositive(v):
    """e^v for v <= 0 as exp_into computes it (the same bits), without branches, so that a
    loop over it vectorises; NaN stays NaN. (exactmath.exp is faster on one value at a time.)"""
    p, k = exp_reduced(v if v > EXP_MIN else EXP_MIN)
    e = p * exactmath.from_bits((exactmath.bits_of(k) - SHIFT_BITS) << 52)
    return e if v >= EXP_MIN else (0.0 if v == v else v)


@inline
def sigmoid_vec(z):
    """1 / (1 + e^{-z}) as sigmoid_into computes it (the same bits), without branches."""
    e = exp_nonpositive(-abs(z))
    return (1.0 if z >= 0 else e) / (1.0 + e)


@jit_rows
def exp_into(x, out, bits):
    """out = e^x element-wise (1-D arrays; x and out distinct; bits an int64 scratch).

    Exact to 1 ulp against numpy.exp for x >= -708; below, 0 (e^x < 3.3e-308), and NaN
    stays NaN. Three branch-free loops, so LLVM vectorises them. (No fast-math:
    reassociating would undo the two-part ln 2 of the reduction.)
    """
    n = x.shape[0]
    scale = bits.view(np.float64)
    for i in range(n):
        v = min(x[i], 710.0) if x[i] > EXP_MIN else EXP_MIN  # NaN and -inf too: fixed below
        out[i], scale[i] = exp_reduced(v)
    exponent_bits(bits)
    for i in range(n):
        xi = x[i]
        out[i] = out[i] * scale[i] if xi >= EXP_MIN else (0.0 if xi == xi else xi)


@jit_rows
def sigmoid_into(z, out, bits):
    """out = 1 / (1 + e^{-z}) element-wise, from e = e^{-|z|} <= 1 (as activations.sigmoid):
    1 / (1 + e) for z >= 0, e / (1 + e) for z < 0. NaN stays NaN; vectorised like exp_into."""
    n = z.shape[0]
    scale = bits.view(np.float64)
    for i in range(n):
        v = -abs(z[i])
        out[i], scale[i] = exp_reduced(v if v > EXP_MIN else EXP_MIN)
    exponent_bits(bits)
    for i in range(n):
        zi = z[i]
        e = out[i] * scale[i] if -abs(zi) >= EXP_MIN else (0.0 if zi == zi else zi)
        out[i] = (1.0 if zi >= 0 else e) / (1.0 + e)


@inline_rows
def rows_of(buffer, start, m, n):
    """The (m, n) matrix stored row-major in buffer[start:start + m * n]."""
    return buffer[start:start + m * n].reshape((m, n))



# ------------------------------------------------------- the method of a run
@inline
def eta_of(hyper, etas, state, epoch):
    """The eta of an iteration in ``epoch`` (from 0): the schedule's table, or the plateau's eta.
    The kernels keep it in a local, renewed when an epoch ends or a record is observed: a
    lookup per iteration (a float-to-integer division, stores to ``state``) made steps slower."""
    if hyper[PLATEAU] > 0.0:
        return state[ETA]
    return etas[min(epoch, etas.shape[0] - 1)]


@inline
def update(opt, theta, moments, g, eta, hyper, step, root):
    """theta <- the optimizer's step with gradient g (all parameters; nnrun.maths.optimizers, same
    order of operations). ``step`` and ``root`` are Adam's eta / (1 - beta1^t) and
    sqrt(1 - beta2^t). One loop per optimizer, each free of branches, so that LLVM
    vectorises it (Adam's square roots and divisions four at a time)."""
    P = theta.shape[0]
    if opt == SGD:
        for p in range(P):
            theta[p] -= eta * g[p]
    elif opt == MOMENTUM:
        mu = hyper[MU]
        for p in range(P):
            v = mu * moments[0, p] + g[p]
            moments[0, p] = v
            theta[p] -= eta * v
    elif opt == NESTEROV:
        mu = hyper[MU]
        for p in range(P):
            v = mu * moments[0, p] + g[p]
            moments[0, p] = v
            theta[p] -= eta * (g[p] + mu * v)
    elif opt == ADAM:
        c1, c2, eps = 1.0 - hyper[BETA1], 1.0 - hyper[BETA2], hyper[EPSILON]
        b2 = hyper[BETA2]
        for p in range(P):
            m = moments[0, p] + c1 * (g[p] - moments[0, p])
            s = b2 * moments[1, p] + c2 * g[p] * g[p]
            moments[0, p] = m
            moments[1, p] = s
            theta[p] -= step * (m / (math.sqrt(s) / root + eps))
    elif opt == RMSPROP:
        alpha, c, eps = hyper[ALPHA], 1.0 - hyper[ALPHA], hyper[EPSILON]
        for p in range(P):
            s = alpha * moments[0, p] + c * g[p] * g[p]
            moments[0, p] = s
            theta[p] -= eta * (g[p] / (math.sqrt(s) + eps))


@inline
def adam_factors(opt, hyper, b1t, b2t, eta):
    """(beta1^t, beta2^t, eta / (1 - beta1^t), sqrt(1 - beta2^t)) for the step after the one
    where the powers were b1t, b2t: Adam's bias corrections. Running products (locals of the
    kernel), not two pow() calls a step (a fifth of E1's time); they agree with pow() to t
    ulps, far below 1e-10."""
    if opt != ADAM:
        return b1t, b2t, eta, 1.0
    b1t *= hyper[BETA1]
    b2t *= hyper[BETA2]
    return b1t, b2t, eta / (1.0 - b1t), math.sqrt(1.0 - b2t)


@inline
def save_counters(state, steps, b1t, b2t):
    """Write the kernel's local counters back to ``state`` (at every exit of a chunk)."""
    state[STEPS] = steps
    state[BETA1_T] = b1t
    state[BETA2_T] = b2t


@inline
def step_batch(theta, sizes, w_off, b_off, opt, hyper, moments, eta, step, root, G, m):
    """The step of a batch of m: G becomes g = G / m + lambda W (weights), G / m (biases),
    then the optimizer's update."""
    L = sizes.shape[0] - 1
    inv_m = 1.0 / m
    lam = hyper[LAMBDA]
    for l in range(L):
        w0, b0 = w_off[l], b_off[l]
        for p in range(w0, b0):
            G[p] = G[p] * inv_m + lam * theta[p]
        for p in range(b0, b0 + sizes[l + 1]):
            G[p] = G[p] * inv_m
    update(opt, theta, moments, G, eta, hyper, step, root)


@inline
def observe(hyper, state, theta, best_theta, it, train_loss, val_loss):
    """After a record: the plateau schedule and early stopping look at the monitored loss
    (validation, else training); True means stop (nnrun.engines.reference.observe)."""
    loss = val_loss if hyper[HAS_VAL] > 0.0 else train_loss
    if hyper[PLATEAU] > 0.0:
        if loss < state[PL_BEST] - hyper[PL_MIN_DELTA]:
            state[PL_BEST] = loss
            state[PL_BAD] = 0.0
        else:
            state[PL_BAD] += 1.0
            if state[PL_BAD] >= hyper[PL_PATIENCE]:
                state[ETA] = state[ETA] / hyper[PL_FACTOR]
                state[PL_BAD] = 0.0
    if hyper[ES_PATIENCE] > 0.0:
        if loss < state[ES_BEST] - hyper[ES_MIN_DELTA]:
            state[ES_BEST] = loss
            state[ES_BAD] = 0.0
            state[ES_BEST_IT] = it
            if hyper[ES_RESTORE] > 0.0:
                for p in range(theta.shape[0]):
                    best_theta[p] = theta[p]
        else:
            state[ES_BAD] += 1.0
            if state[ES_BAD] >= hyper[ES_PATIENCE]:
                return True
    return False


@inline
def close_record(history, row, it, tr, te, tra, tea, vl, va, eta, finite, hyper, state, theta, best_theta):
    """Write history row ``row``, then say how the chunk goes on: DIVERGED (a non-finite
    gradient or training loss), STOPPED (early stopping, after the plateau and the monitor
    have seen the record) or RUNNING. Both kernels end a record with this."""
    write_record(history, row, it, tr, te, tra, tea, vl, va, eta)
    if not finite or not math.isfinite(tr):
        return DIVERGED
    if observe(hyper, state, theta, best_theta, it, tr, vl):
        return STOPPED
    return RUNNING


@inline
def write_record(history, row, it, tr, te, tra, tea, vl, va, eta):
    """A history row (nnrun.engines.layout.HISTORY_COLUMNS; 'seconds' is filled by the loop)."""
    history[row, 0] = it
    history[row, 1] = tr
    history[row, 2] = te
    history[row, 3] = tra
    history[row, 4] = tea
    history[row, 5] = vl
    history[row, 6] = va
    history[row, 7] = eta
