"""The per-sample kernel: (minibatch) SGD sample by sample, in scalar loops.

Best while a step holds little work (per-sample SGD, small networks). Buffers ``Z``, ``A``
and ``D`` (z_l, a_l and delta_l of every layer, layer l at ``off[l]``), ``F`` (f(z_l)
before the dropout mask; the very array ``A`` when there is no dropout) and the gradient
``G`` are allocated once per run. The maths is :mod:`nnrun.maths.network`'s, with the
optimizer, schedule and monitor of :mod:`nnrun.engines.compiled`.
"""

from __future__ import annotations

import numpy as np

from nnrun.engines import exactmath
from nnrun.engines.compiled import (
    CROSS_ENTROPY, SGD, SIGMOID, SOFTMAX, act, adam_factors, all_finite, close_record, dact, eta_of, inline, jit, save_counters,
    sample_correct, sample_loss, sigmoid_vec, step_batch, update,
)
from nnrun.engines.layout import BETA1_T, BETA2_T, LAMBDA, PER_EPOCH, RUNNING, STEPS


@inline
def forward(theta, sizes, w_off, b_off, codes, off, X, s, Z, A, F, MK, q, hoff, dropout):
    """z_l = W_l a_{l-1} + b_l, a_l = m_l o f_l(z_l) for the sample x = X[s]; fills Z, A
    (and F = f_l(z_l) of the hidden layers when the sample occurrence q has a dropout mask)."""
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
                A[o + i] = exactmath.exp(Z[o + i] - zmax)
                total += A[o + i]
            for i in range(n):
                A[o + i] /= total
        else:
            for i in range(n):
                A[o + i] = act(codes[l], Z[o + i])
            if dropout and l < L - 1:
                h0 = hoff[l]
                for i in range(n):
                    F[o + i] = A[o + i]
                    A[o + i] *= MK[q, h0 + i]


@jit
def evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, X, Y, ZB, AB, Z, A):
    """(mean loss, accuracy) over the rows of X, no dropout; accuracy is NaN for regression
    or no data.

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
                        AB[o + i, c] = exactmath.exp(ZB[o + i, c] - zmax)
                        norm += AB[o + i, c]
                    for i in range(n):
                        AB[o + i, c] /= norm
            elif code == SIGMOID:  # branch-free, so that LLVM vectorises the loop
                for i in range(n):
                    for c in range(cnt):
                        AB[o + i, c] = sigmoid_vec(ZB[o + i, c])
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
def deltas(theta, sizes, w_off, codes, off, loss, Y, s, Z, A, F, D, MK, q, hoff, dropout):
    """delta_L = dC/dz_L, then delta_l = f'(z_l) o m_l o (W_{l+1}^T delta_{l+1}), into D."""
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
            D[a0 + j] = dact(code, Z[a0 + j], F[a0 + j]) * back
        if dropout:
            h0 = hoff[l - 1]
            for j in range(n_prev):
                D[a0 + j] *= MK[q, h0 + j]


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
def step_one_sample(theta, sizes, w_off, b_off, off, opt, hyper, moments, eta, step, root, A, D, G):
    """The step of one sample straight from the deltas: g = delta_l a_{l-1}^T + lambda W_l,
    g = delta_l for b_l. SGD updates theta as it goes (the same numbers as accumulating a
    gradient of one sample, without three extra passes over every parameter); the other
    optimizers write g into G and update in one vectorised pass."""
    L = sizes.shape[0] - 1
    lam = hyper[LAMBDA]
    for l in range(L):
        n_prev, n = sizes[l], sizes[l + 1]
        a0, o = off[l], off[l + 1]
        for i in range(n):
            d = D[o + i]
            row = w_off[l] + i * n_prev
            if opt == SGD:
                for j in range(n_prev):
                    theta[row + j] -= eta * (d * A[a0 + j] + lam * theta[row + j])
                theta[b_off[l] + i] -= eta * d
            else:
                for j in range(n_prev):
                    G[row + j] = d * A[a0 + j] + lam * theta[row + j]
                G[b_off[l] + i] = d
    if opt != SGD:
        update(opt, theta, moments, G, eta, hyper, step, root)


# The kernel takes its arrays one by one (35 of them): numba compiles a function of typed
# arrays, and a class or tuple of them would cost compile time and the cache's simplicity for
# nothing a reader gains. Its body is the method: plan, loop over iterations, record.
@jit
def train_chunk(theta, sizes, w_off, b_off, codes, off, loss, classify, opt, hyper, etas, state, moments,
                best_theta, X, Y, Xt, Yt, Xv, Yv, idx, ptr, MK, hoff, it0, total, log_every, history,
                Z, A, F, D, G, ZB, AB):
    """Run len(ptr)-1 iterations, sample by sample; record every log_every-th.

    Iteration k uses the samples idx[ptr[k]:ptr[k+1]] (dropout masks MK[ptr[k]:ptr[k+1]],
    none if MK is empty); its step is the optimizer's with the mean gradient plus lambda W
    (lambda on weights only) and the schedule's eta. A history row goes to ``history``
    after every iteration that is a multiple of log_every, and the last; then the plateau
    and early stopping look at it. Returns (iterations done, rows written, status):
    DIVERGED stops at the first non-finite gradient, before it is applied; STOPPED is
    early stopping.
    """
    L = sizes.shape[0] - 1
    P = theta.shape[0]
    rows = 0
    k_max = ptr.shape[0] - 1
    until_record = log_every - it0 % log_every  # a countdown: no division per iteration
    width = off[L] + sizes[L]
    dropout = MK.shape[0] > 0
    per_epoch = np.int64(hyper[PER_EPOCH])
    epoch, until_epoch = it0 // per_epoch, per_epoch - it0 % per_epoch  # as until_record
    eta = eta_of(hyper, etas, state, epoch)
    steps = state[STEPS]
    b1t, b2t = state[BETA1_T], state[BETA2_T]  # locals, not stores to state every step
    for k in range(k_max):
        start, stop = ptr[k], ptr[k + 1]
        it = it0 + k + 1
        if stop - start == 1:  # per-sample SGD: update straight from the deltas
            s = idx[start]
            forward(theta, sizes, w_off, b_off, codes, off, X, s, Z, A, F, MK, start, hoff, dropout)
            deltas(theta, sizes, w_off, codes, off, loss, Y, s, Z, A, F, D, MK, start, hoff, dropout)
            # a non-finite delta or activation would make a non-finite gradient
            finite = all_finite(D, sizes[0], width) and all_finite(A, 0, width)
            if finite:
                steps += 1.0
                b1t, b2t, step, root = adam_factors(opt, hyper, b1t, b2t, eta)
                step_one_sample(theta, sizes, w_off, b_off, off, opt, hyper, moments, eta, step, root, A, D, G)
        else:
            for p in range(P):
                G[p] = 0.0
            for q in range(start, stop):
                s = idx[q]
                forward(theta, sizes, w_off, b_off, codes, off, X, s, Z, A, F, MK, q, hoff, dropout)
                deltas(theta, sizes, w_off, codes, off, loss, Y, s, Z, A, F, D, MK, q, hoff, dropout)
                accumulate(sizes, w_off, b_off, off, A, D, G)
            finite = all_finite(G, 0, P)
            if finite:
                steps += 1.0
                b1t, b2t, step, root = adam_factors(opt, hyper, b1t, b2t, eta)
                step_batch(theta, sizes, w_off, b_off, opt, hyper, moments, eta, step, root, G, stop - start)
        until_record -= 1
        if until_record == 0 or (not finite) or it == total:
            if until_record == 0:
                until_record = log_every
            tr, tra = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, X, Y, ZB, AB, Z, A)
            te, tea = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, Xt, Yt, ZB, AB, Z, A)
            vl, va = evaluate(theta, sizes, w_off, b_off, codes, off, loss, classify, Xv, Yv, ZB, AB, Z, A)
            status = close_record(history, rows, it, tr, te, tra, tea, vl, va, eta, finite, hyper, state, theta,
                                  best_theta)
            rows += 1
            if status != RUNNING:
                save_counters(state, steps, b1t, b2t)
                return k + 1, rows, status
            eta = eta_of(hyper, etas, state, epoch)  # the plateau may have divided it
        until_epoch -= 1
        if until_epoch == 0:
            epoch, until_epoch = epoch + 1, per_epoch
            eta = eta_of(hyper, etas, state, epoch)
    save_counters(state, steps, b1t, b2t)
    return k_max, rows, RUNNING
