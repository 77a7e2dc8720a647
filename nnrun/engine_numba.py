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

Two kernels, chosen per run by :func:`use_rows` (a first run compiles only its own):

``train_chunk``       sample by sample: forward, deltas and gradient in scalar loops;
                      best while a step holds little work (per-sample SGD, small networks).
``train_chunk_rows``  the batch as a matrix, one row per sample, layer by layer::

                          Z_l = A_{l-1} W_l^T + b_l            (m x n_l)
                          D_{l-1} = f'(Z_{l-1}) o (D_l W_l)     dC/dW_l = D_l^T A_{l-1}

                      The products go to BLAS (``np.dot`` inside numba calls SciPy's
                      BLAS); e^x goes through :func:`exp_into`, which LLVM vectorises (the
                      scalar ``math.exp`` costs ~4x more, and a sigmoid network spends most
                      of its non-BLAS time there). Recording the loss over a whole data set
                      uses the same products, in blocks of :data:`EVAL_ROWS` rows.

Floating point: in the per-sample kernel LLVM may fuse multiply-adds, reorder sums and use
reciprocals (fastmath ``contract``, ``reassoc``, ``arcp``, ``nsz``), which makes its loops
about 1.7x faster and moves results by ~1e-16 relative (the engine agreement tests hold
them to 1e-10 of the NumPy reference). Never ``nnan``/``ninf``: detecting divergence
relies on ``isfinite``. The rows kernel uses no fast-math (see ``jit_rows``).
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

EVAL_BLOCK = 256  # samples per block when recording the loss over a whole data set (per sample)
EVAL_ROWS = 1024  # rows per block when recording it by matrix products
#: use_rows: the rows kernel once a step holds batch * n_params >= ROWS_MIN_WORK ...
ROWS_MIN_WORK = 800
#: ... or the network has this many parameters (recording the loss by rows pays off)
ROWS_MIN_PARAMS = 400

# status of a chunk
RUNNING, DIVERGED = 0, 1

FAST = {"contract", "arcp", "nsz", "reassoc"}  # no nnan/ninf: divergence checks need them
# exp_into: e^x = 2^k e^r, k = round(x / ln 2), r = x - k ln 2 (Cody & Waite: ln 2 split in
# two so that k * LN2_HI is exact), e^r by its Taylor series to r^13 (|r| <= ln(2)/2, so the
# truncation error is below 1e-17 relative), 2^k built from its IEEE exponent bits.
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
EXP_MIN = -708.0  # below: e^x is below the smallest normal double; returned as 0
C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13 = (1.0 / math.factorial(k) for k in range(2, 14))

jit = njit(cache=True, error_model="numpy", nogil=True, _nrt=False, fastmath=FAST)
inline = njit(cache=True, error_model="numpy", nogil=True, _nrt=False, inline="always", fastmath=FAST)
# The rows path: no fast-math at all. With it, a kernel compiled in this process and the
# same kernel loaded from numba's cache rounded differently (functions compiled apart were
# optimised together differently), so a first run differed from later ones, visibly so
# where training is chaotic (E5's eta = 10). Its time is in BLAS and in exp_into, which
# gain nothing from reassociation; its loops vectorise without it. np.dot(a, b, out) also
# needs numba's reference counting (NRT).
jit_rows = njit(cache=True, error_model="numpy", nogil=True)
inline_rows = njit(cache=True, error_model="numpy", nogil=True, inline="always")


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


@inline
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


# ------------------------------------------------------------- the rows path
# The scalar helpers of the per-sample kernel, compiled again without fast-math for the rows
# path (softplus and other inline helpers are inlined as numba IR, so they take the flags
# of whatever calls them).
act_rows = jit_rows(act.py_func)
dact_rows = jit_rows(dact.py_func)
sample_loss_rows = jit_rows(sample_loss.py_func)
sample_correct_rows = jit_rows(sample_correct.py_func)


@inline_rows
def exp_reduced(v):
    """(e^r, the IEEE bits of 2^k) with e^v = e^r 2^k, for EXP_MIN <= v <= 709 (see LOG2E above)."""
    k = math.floor(v * LOG2E + 0.5)
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
    return p * r + 1.0, (np.int64(k) + 1023) << 52  # e^r and the bits of the double 2^k


@jit_rows
def exp_into(x, out, bits):
    """out = e^x element-wise (1-D arrays; x and out distinct; bits an int64 scratch).

    Exact to 1 ulp against numpy.exp for x >= -708; below, 0 (e^x < 3.3e-308), and NaN
    stays NaN. Two branch-free loops, so LLVM vectorises them. (No fast-math: reassociating
    would undo the two-part ln 2 of the reduction.)
    """
    n = x.shape[0]
    for i in range(n):
        v = x[i] if x[i] > EXP_MIN else EXP_MIN  # NaN and -inf too: fixed below
        out[i], bits[i] = exp_reduced(v)
    scale = bits.view(np.float64)
    for i in range(n):
        xi = x[i]
        out[i] = out[i] * scale[i] if xi >= EXP_MIN else (0.0 if xi == xi else xi)


@jit_rows
def sigmoid_into(z, out, bits):
    """out = 1 / (1 + e^{-z}) element-wise, from e = e^{-|z|} <= 1 (as activations.sigmoid):
    1 / (1 + e) for z >= 0, e / (1 + e) for z < 0. NaN stays NaN; vectorised like exp_into."""
    n = z.shape[0]
    for i in range(n):
        v = -abs(z[i])
        out[i], bits[i] = exp_reduced(v if v > EXP_MIN else EXP_MIN)
    scale = bits.view(np.float64)
    for i in range(n):
        zi = z[i]
        e = out[i] * scale[i] if -abs(zi) >= EXP_MIN else (0.0 if zi == zi else zi)
        out[i] = (1.0 if zi >= 0 else e) / (1.0 + e)


@inline_rows
def rows_of(buffer, start, m, n):
    """The (m, n) matrix stored row-major in buffer[start:start + m * n]."""
    return buffer[start:start + m * n].reshape((m, n))


@jit_rows
def forward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, SM, KB, LSE):
    """Z_l = A_{l-1} W_l^T + b_l and A_l = f_l(Z_l) for the m rows of A_0 (already in AM).

    Layer l's (m, n_l) matrices start at moff[l] in AM and at zoff[l] in ZM (which has no
    layer 0). For a softmax output, LSE[c] = log sum_k e^{z_k} of row c, kept for the loss.
    """
    L = sizes.shape[0] - 1
    for l in range(L):
        n_prev, n = sizes[l], sizes[l + 1]
        Ap = rows_of(AM, moff[l], m, n_prev)
        Z = rows_of(ZM, zoff[l + 1], m, n)
        A = rows_of(AM, moff[l + 1], m, n)
        W = rows_of(theta, w_off[l], n, n_prev)
        np.dot(Ap, W.T, Z)
        b0 = b_off[l]
        for c in range(m):
            for i in range(n):
                Z[c, i] += theta[b0 + i]
        code = codes[l]
        size = m * n
        z = ZM[zoff[l + 1]:zoff[l + 1] + size]
        a = AM[moff[l + 1]:moff[l + 1] + size]
        if code == SIGMOID:
            sigmoid_into(z, a, KB[:size])
        elif code == SOFTMAX:
            # p = e^{z - max z} / sum, and LSE = max z + log sum e^{z - max z} for the loss
            S = rows_of(SM, 0, m, n)
            for c in range(m):
                zmax = Z[c, 0]
                for i in range(1, n):
                    zmax = max(zmax, Z[c, i])
                LSE[c] = zmax
                for i in range(n):
                    S[c, i] = Z[c, i] - zmax
            exp_into(SM[:size], a, KB[:size])
            for c in range(m):
                total = 0.0
                for i in range(n):
                    total += A[c, i]
                LSE[c] += math.log(total)
                inv = 1.0 / total
                for i in range(n):
                    A[c, i] *= inv
        else:
            for p in range(size):
                a[p] = act_rows(code, z[p])


@jit_rows
def backward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, DM, loss, Y, idx, start, G):
    """G = sum over the m rows of dC/dtheta: delta_L per row, then layer by layer
    dC/dW_l = D_l^T A_{l-1}, dC/db_l = column sums of D_l, D_{l-1} = f'(Z_{l-1}) o (D_l W_l).
    Row c is the sample idx[start + c]."""
    L = sizes.shape[0] - 1
    n = sizes[L]
    out = codes[L - 1]
    Z = rows_of(ZM, zoff[L], m, n)
    A = rows_of(AM, moff[L], m, n)
    D = rows_of(DM, zoff[L], m, n)
    for c in range(m):
        s = idx[start + c]
        if loss == CROSS_ENTROPY:
            for i in range(n):
                D[c, i] = A[c, i] - Y[s, i]
        elif out == SOFTMAX:
            pg = 0.0
            for i in range(n):
                pg += A[c, i] * (A[c, i] - Y[s, i])
            for i in range(n):
                D[c, i] = A[c, i] * ((A[c, i] - Y[s, i]) - pg)
        else:
            for i in range(n):
                D[c, i] = dact_rows(out, Z[c, i], A[c, i]) * (A[c, i] - Y[s, i])
    for l in range(L - 1, -1, -1):
        n_prev, n = sizes[l], sizes[l + 1]
        D = rows_of(DM, zoff[l + 1], m, n)
        Ap = rows_of(AM, moff[l], m, n_prev)
        np.dot(D.T, Ap, rows_of(G, w_off[l], n, n_prev))
        b0 = b_off[l]
        for i in range(n):
            G[b0 + i] = 0.0
        for c in range(m):
            for i in range(n):
                G[b0 + i] += D[c, i]
        if l > 0:
            Dp = rows_of(DM, zoff[l], m, n_prev)
            np.dot(D, rows_of(theta, w_off[l], n, n_prev), Dp)
            code = codes[l - 1]
            size = m * n_prev
            d = DM[zoff[l]:zoff[l] + size]
            z = ZM[zoff[l]:zoff[l] + size]
            a = AM[moff[l]:moff[l] + size]
            for p in range(size):
                d[p] *= dact_rows(code, z[p], a[p])


@jit_rows
def evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, X, Y, ZM, AM, SM, KB, LSE):
    """(mean loss, accuracy) over the rows of X by matrix products, in blocks of rows
    (as :func:`evaluate`; the softmax cross-entropy from LSE: C = lse(z) sum y - y . z)."""
    m_all = X.shape[0]
    if m_all == 0:
        return np.nan, np.nan
    L = sizes.shape[0] - 1
    n0, n = sizes[0], sizes[L]
    out = codes[L - 1]
    block = min(m_all, (moff[1] - moff[0]) // n0)
    total, correct = 0.0, 0.0
    for start in range(0, m_all, block):
        m = min(block, m_all - start)
        A0 = rows_of(AM, moff[0], m, n0)
        for c in range(m):
            for j in range(n0):
                A0[c, j] = X[start + c, j]
        forward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, SM, KB, LSE)
        Z = rows_of(ZM, zoff[L], m, n)
        A = rows_of(AM, moff[L], m, n)
        for c in range(m):
            s = start + c
            if loss == CROSS_ENTROPY and out == SOFTMAX:
                ysum, yz = 0.0, 0.0
                for i in range(n):
                    ysum += Y[s, i]
                    yz += Y[s, i] * Z[c, i]
                total += LSE[c] * ysum - yz
            else:
                total += sample_loss_rows(loss, out, Z[c], A[c], 0, n, Y, s)
            if classify:
                correct += sample_correct_rows(A[c], 0, n, Y, s)
    return total / m_all, (correct / m_all if classify else np.nan)


@inline
def step_batch(theta, sizes, w_off, b_off, eta, lam, G, m):
    """theta <- theta - eta (G / m + lambda W): the mean gradient of a batch of m, L2 on weights."""
    L = sizes.shape[0] - 1
    inv_m = 1.0 / m
    for l in range(L):
        w0, b0 = w_off[l], b_off[l]
        for p in range(w0, b0):
            theta[p] -= eta * (G[p] * inv_m + lam * theta[p])
        for p in range(b0, b0 + sizes[l + 1]):
            theta[p] -= eta * (G[p] * inv_m)


@inline
def write_record(history, row, it, tr, te, tra, tea):
    history[row, 0] = it
    history[row, 1] = tr
    history[row, 2] = te
    history[row, 3] = tra
    history[row, 4] = tea


@jit
def train_chunk(theta, sizes, w_off, b_off, codes, off, loss, classify, eta, lam,
                X, Y, Xt, Yt, idx, ptr, it0, total, log_every, history, Z, A, D, G, ZB, AB):
    """Run len(ptr)-1 iterations of (minibatch) SGD, sample by sample; record every log_every-th.

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
                step_batch(theta, sizes, w_off, b_off, eta, lam, G, stop - start)
        until_record -= 1
        if until_record == 0 or (not finite) or it == total:
            if until_record == 0:
                until_record = log_every
            tr, tra = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, X, Y, ZB, AB, Z, A)
            te, tea = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, Xt, Yt, ZB, AB, Z, A)
            write_record(history, rows, it, tr, te, tra, tea)
            rows += 1
            if not finite or not math.isfinite(tr):
                return k + 1, rows, DIVERGED
    return k_max, rows, RUNNING


@jit_rows
def train_chunk_rows(theta, sizes, w_off, b_off, codes, loss, classify, eta, lam,
                     X, Y, Xt, Yt, idx, ptr, it0, total, log_every, history, G, moff, zoff, ZM, AM, DM, SM, KB, LSE):
    """:func:`train_chunk` by the rows path: each batch (one sample included) as matrices
    through :func:`forward_rows` and :func:`backward_rows`, the records by
    :func:`evaluate_rows`. Same arguments and return values, with the rows buffers."""
    P = theta.shape[0]
    rows = 0
    k_max = ptr.shape[0] - 1
    until_record = log_every - it0 % log_every
    n0 = sizes[0]
    for k in range(k_max):
        start, stop = ptr[k], ptr[k + 1]
        it = it0 + k + 1
        m = stop - start
        A0 = rows_of(AM, moff[0], m, n0)
        for c in range(m):
            s = idx[start + c]
            for j in range(n0):
                A0[c, j] = X[s, j]
        forward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, SM, KB, LSE)
        backward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, DM, loss, Y, idx, start, G)
        finite = all_finite(G, 0, P)
        if finite:
            step_batch(theta, sizes, w_off, b_off, eta, lam, G, m)
        until_record -= 1
        if until_record == 0 or (not finite) or it == total:
            if until_record == 0:
                until_record = log_every
            tr, tra = evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, X, Y,
                                    ZM, AM, SM, KB, LSE)
            te, tea = evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, Xt, Yt,
                                    ZM, AM, SM, KB, LSE)
            write_record(history, rows, it, tr, te, tra, tea)
            rows += 1
            if not finite or not math.isfinite(tr):
                return k + 1, rows, DIVERGED
    return k_max, rows, RUNNING


def use_rows(batch: int, n_params: int) -> bool:
    """True if a run goes through :func:`train_chunk_rows` (matrix products), else sample by sample.

    Matrix products pay a fixed cost per call (~1 us) that per-sample loops do not, and
    win once a step holds enough multiply-adds: measured on 23- to 3760-parameter
    networks, per-sample won at batch * n_params = 708, rows from 870 (batch 2 of the
    digits network: 2x faster). Recording the loss over a data set by rows wins from
    ~400 parameters, so per-sample SGD on such networks runs by rows too.
    """
    return (batch > 1 and batch * n_params >= ROWS_MIN_WORK) or n_params >= ROWS_MIN_PARAMS


class NumbaEngine:
    """Runs chunks of iterations in :func:`train_chunk` or :func:`train_chunk_rows` on a
    network's flat ``theta``."""

    name = "numba"

    def __init__(self, network, loss_code, classify, eta, lam, data, log_every, total, batch=1):
        from nnrun.activations import code

        self.net = network
        self.sizes = np.array(network.sizes, dtype=np.int64)
        self.codes = np.array([code(a) for a in network.activations], dtype=np.int64)
        self.off = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)[:-1]
        width = int(self.sizes.sum())
        self.G = np.zeros_like(network.theta)
        self.loss, self.classify = loss_code, data.task == "classification"
        self.eta, self.lam = float(eta), float(lam)
        self.X, self.Y = data.X_train, data.Y_train
        self.Xt, self.Yt = data.X_test, data.Y_test
        self.log_every, self.total = int(log_every), int(total)
        self.rows = use_rows(batch, len(network.theta))
        if self.rows:
            # M rows of every layer: a_l at moff[l] = M * off[l] in AM; z_l and delta_l (no
            # layer 0, which would be as large as the batch of inputs) at zoff[l] in ZM and DM
            M = max(batch, min(EVAL_ROWS, max(len(data.X_train), len(data.X_test), 1)))
            self.moff = (M * np.concatenate([self.off, [width]])).astype(np.int64)
            self.zoff = np.maximum(self.moff - self.moff[1], 0)
            self.AM = np.zeros(M * width)
            self.ZM, self.DM = np.zeros(M * (width - self.sizes[0])), np.zeros(M * (width - self.sizes[0]))
            widest = M * int(self.sizes.max())
            self.SM, self.KB, self.LSE = np.zeros(widest), np.zeros(widest, dtype=np.int64), np.zeros(M)
        else:
            self.Z, self.A, self.D = np.zeros(width), np.zeros(width), np.zeros(width)
            block = max(1, min(EVAL_BLOCK, max(len(data.X_train), len(data.X_test))))
            self.ZB, self.AB = np.zeros((width, block)), np.zeros((width, block))

    def run_chunk(self, idx, ptr, it0, history):
        if self.rows:
            return train_chunk_rows(
                self.net.theta, self.sizes, self.net.w_off, self.net.b_off, self.codes, self.loss,
                self.classify, self.eta, self.lam, self.X, self.Y, self.Xt, self.Yt, idx, ptr, it0,
                self.total, self.log_every, history, self.G, self.moff, self.zoff, self.ZM, self.AM, self.DM,
                self.SM, self.KB, self.LSE,
            )
        return train_chunk(
            self.net.theta, self.sizes, self.net.w_off, self.net.b_off, self.codes, self.off,
            self.loss, self.classify, self.eta, self.lam, self.X, self.Y, self.Xt, self.Yt,
            idx, ptr, it0, self.total, self.log_every, history, self.Z, self.A, self.D, self.G,
            self.ZB, self.AB,
        )
