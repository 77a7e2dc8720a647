"""The rows kernel: each batch as a matrix, one row per sample, layer by layer::

    Z_l = A_{l-1} W_l^T + b_l            (m x n_l)      A_l = M_l o f_l(Z_l)
    D_{l-1} = f'(Z_{l-1}) o M_{l-1} o (D_l W_l)          dC/dW_l = D_l^T A_{l-1}

The products are numba loops, not BLAS: :func:`mul_abt`, :func:`mul_atb` and :func:`mul_ab`
sum every output element over its inner index in ascending order, starting from 0, so
the numbers do not depend on the CPU (BLAS picks its kernel, and so its order of
summation, per CPU: E5's rmsprop run ended at training loss 0.0383 or 0.0596 depending
on the machine). Their inner loops run along contiguous rows, element-wise, so LLVM
vectorises them without reordering any sum. e^x goes through
:func:`~nnrun.engines.compiled.exp_into`, which LLVM vectorises too (the scalar
:func:`~nnrun.engines.exactmath.exp` costs more, and a sigmoid network spends much of its
time there). Recording the loss over a whole data set uses the same products, in blocks
of rows. No fast-math (see :mod:`nnrun.engines.compiled`).

Layer l's (m, n_l) matrices start at moff[l] in AM (and FM, f(Z_l) before the dropout
mask, the very array AM without dropout) and at zoff[l] in ZM and DM (which have no
layer 0: it would be as large as the batch of inputs).
"""

from __future__ import annotations

import numpy as np

from nnrun.engines import exactmath
from nnrun.engines.compiled import (
    CROSS_ENTROPY, SIGMOID, SOFTMAX, act, adam_factors, all_finite, close_record, dact, eta_of, exp_into,
    inline_rows, jit_rows, rows_of, save_counters, sample_correct, sample_loss, sigmoid_into, step_batch,
)
from nnrun.engines.layout import BETA1_T, BETA2_T, PER_EPOCH, RUNNING, STEPS


#: rows of A at a time in mul_abt's transposed blocks (measured: 64 beat 32 and 128)
ABT_BLOCK = 64


@inline_rows
def mul_abt(A, B, C, S):
    """C = A B^T, C[c, i] = sum_j A[c, j] B[i, j] summed over j = 0, 1, ... in this order.

    S: scratch of at least max(2 ABT_BLOCK max(k, n), n k) doubles. Both A and B run along
    j, which is no loop to vectorise without reordering a sum. So, for a block of up to
    ABT_BLOCK rows of A: A^T goes to S, and C^T[i, :] += B[i, j] A^T[j, :] (four values of
    j per pass, added one after another) runs along the block's rows, element-wise; C^T
    goes back to C. For fewer than 8 rows, B^T goes to S instead and C[c, :] += A[c, j] B^T[j, :].
    Both orders of loops add the same terms in the same order: the same bits.
    """
    m, k = A.shape
    n = B.shape[0]
    if m < 8:
        T = rows_of(S, 0, k, n)
        for i in range(n):
            for j in range(k):
                T[j, i] = B[i, j]
        mul_ab(A, T, C)  # C[c, :] += A[c, j] B^T[j, :], over j in order
        return
    half = S.shape[0] // 2
    k4 = k - k % 4
    for c0 in range(0, m, ABT_BLOCK):
        mb = min(ABT_BLOCK, m - c0)
        AT = rows_of(S, 0, k, mb)
        CT = rows_of(S, half, n, mb)
        for c in range(mb):
            for j in range(k):
                AT[j, c] = A[c0 + c, j]
        for i in range(n):
            for c in range(mb):
                CT[i, c] = 0.0
            for j in range(0, k4, 4):
                b0, b1, b2, b3 = B[i, j], B[i, j + 1], B[i, j + 2], B[i, j + 3]
                for c in range(mb):
                    CT[i, c] = (((CT[i, c] + b0 * AT[j, c]) + b1 * AT[j + 1, c]) + b2 * AT[j + 2, c]) + b3 * AT[j + 3, c]
            for j in range(k4, k):
                b = B[i, j]
                for c in range(mb):
                    CT[i, c] += b * AT[j, c]
        for c in range(mb):
            for i in range(n):
                C[c0 + c, i] = CT[i, c]


@inline_rows
def mul_atb(A, B, C):
    """C = A^T B, C[i, j] = sum_c A[c, i] B[c, j] summed over c = 0, 1, ... in this order
    (rank-one updates C[i, :] += A[c, i] B[c, :], element-wise)."""
    m, n = A.shape
    k = B.shape[1]
    for i in range(n):
        for j in range(k):
            C[i, j] = 0.0
    for c in range(m):
        for i in range(n):
            a = A[c, i]
            for j in range(k):
                C[i, j] += a * B[c, j]


@inline_rows
def mul_ab(A, B, C):
    """C = A B, C[c, j] = sum_i A[c, i] B[i, j] summed over i = 0, 1, ... in this order
    (C[c, :] += A[c, i] B[i, :], element-wise)."""
    m, n = A.shape
    k = B.shape[1]
    for c in range(m):
        for j in range(k):
            C[c, j] = 0.0
        for i in range(n):
            a = A[c, i]
            for j in range(k):
                C[c, j] += a * B[i, j]


@jit_rows
def forward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, FM, SM, KB, LSE, MK, start, hoff, dropout,
                 WT):
    """Z_l = A_{l-1} W_l^T + b_l and A_l = M_l o f_l(Z_l) for the m rows of A_0 (already in AM);
    row c's mask is MK[start + c] when ``dropout``. For a softmax output,
    LSE[c] = log sum_k e^{z_k} of row c, kept for the loss. WT: mul_abt's scratch."""
    L = sizes.shape[0] - 1
    for l in range(L):
        n_prev, n = sizes[l], sizes[l + 1]
        Ap = rows_of(AM, moff[l], m, n_prev)
        Z = rows_of(ZM, zoff[l + 1], m, n)
        A = rows_of(AM, moff[l + 1], m, n)
        W = rows_of(theta, w_off[l], n, n_prev)
        mul_abt(Ap, W, Z, WT)
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
                LSE[c] += exactmath.log(total)
                inv = 1.0 / total
                for i in range(n):
                    A[c, i] *= inv
        else:
            for p in range(size):
                a[p] = act(code, z[p])
        if dropout and l < L - 1:
            F = rows_of(FM, moff[l + 1], m, n)
            h0 = hoff[l]
            for c in range(m):
                for i in range(n):
                    F[c, i] = A[c, i]
                    A[c, i] *= MK[start + c, h0 + i]


@jit_rows
def backward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, FM, DM, loss, Y, idx, start, G,
                  MK, hoff, dropout):
    """G = sum over the m rows of dC/dtheta: delta_L per row, then layer by layer
    dC/dW_l = D_l^T A_{l-1}, dC/db_l = column sums of D_l,
    D_{l-1} = f'(Z_{l-1}) o M_{l-1} o (D_l W_l). Row c is the sample idx[start + c]."""
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
                D[c, i] = dact(out, Z[c, i], A[c, i]) * (A[c, i] - Y[s, i])
    for l in range(L - 1, -1, -1):
        n_prev, n = sizes[l], sizes[l + 1]
        D = rows_of(DM, zoff[l + 1], m, n)
        Ap = rows_of(AM, moff[l], m, n_prev)
        mul_atb(D, Ap, rows_of(G, w_off[l], n, n_prev))
        b0 = b_off[l]
        for i in range(n):
            G[b0 + i] = 0.0
        for c in range(m):
            for i in range(n):
                G[b0 + i] += D[c, i]
        if l > 0:
            Dp = rows_of(DM, zoff[l], m, n_prev)
            mul_ab(D, rows_of(theta, w_off[l], n, n_prev), Dp)
            code = codes[l - 1]
            size = m * n_prev
            d = DM[zoff[l]:zoff[l] + size]
            z = ZM[zoff[l]:zoff[l] + size]
            f = FM[moff[l]:moff[l] + size]
            for p in range(size):
                d[p] *= dact(code, z[p], f[p])
            if dropout:
                h0 = hoff[l - 1]
                for c in range(m):
                    for j in range(n_prev):
                        Dp[c, j] *= MK[start + c, h0 + j]


@jit_rows
def evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, X, Y, ZM, AM, SM, KB, LSE, MK, hoff,
                  WT):
    """(mean loss, accuracy) over the rows of X by matrix products, in blocks of rows, no
    dropout (the softmax cross-entropy from LSE: C = lse(z) sum y - y . z)."""
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
        forward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, AM, SM, KB, LSE, MK, 0, hoff, False, WT)
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
                total += sample_loss(loss, out, Z[c], A[c], 0, n, Y, s)
            if classify:
                correct += sample_correct(A[c], 0, n, Y, s)
    return total / m_all, (correct / m_all if classify else np.nan)


@jit_rows
def train_chunk_rows(theta, sizes, w_off, b_off, codes, loss, classify, opt, hyper, etas, state, moments,
                     best_theta, X, Y, Xt, Yt, Xv, Yv, idx, ptr, MK, hoff, it0, total, log_every, history, G,
                     moff, zoff, ZM, AM, FM, DM, SM, KB, LSE, WT):
    """:func:`nnrun.engines.per_sample.train_chunk` by the rows path: each batch (one sample
    included) as matrices through :func:`forward_rows` and :func:`backward_rows`, the
    records by :func:`evaluate_rows`. Same arguments and return values, with the rows buffers
    (WT: :func:`mul_abt`'s scratch)."""
    P = theta.shape[0]
    rows = 0
    k_max = ptr.shape[0] - 1
    until_record = log_every - it0 % log_every
    n0 = sizes[0]
    dropout = MK.shape[0] > 0
    per_epoch = np.int64(hyper[PER_EPOCH])
    epoch, until_epoch = it0 // per_epoch, per_epoch - it0 % per_epoch  # as until_record
    eta = eta_of(hyper, etas, state, epoch)
    steps = state[STEPS]
    b1t, b2t = state[BETA1_T], state[BETA2_T]  # locals, not stores to state every step
    for k in range(k_max):
        start, stop = ptr[k], ptr[k + 1]
        it = it0 + k + 1
        m = stop - start
        A0 = rows_of(AM, moff[0], m, n0)
        for c in range(m):
            s = idx[start + c]
            for j in range(n0):
                A0[c, j] = X[s, j]
        forward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, FM, SM, KB, LSE, MK, start, hoff,
                     dropout, WT)
        backward_rows(theta, sizes, w_off, b_off, codes, moff, zoff, m, ZM, AM, FM, DM, loss, Y, idx, start, G,
                      MK, hoff, dropout)
        finite = all_finite(G, 0, P)
        if finite:
            steps += 1.0
            b1t, b2t, step, root = adam_factors(opt, hyper, b1t, b2t, eta)
            step_batch(theta, sizes, w_off, b_off, opt, hyper, moments, eta, step, root, G, m)
        until_record -= 1
        if until_record == 0 or (not finite) or it == total:
            if until_record == 0:
                until_record = log_every
            tr, tra = evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, X, Y,
                                    ZM, AM, SM, KB, LSE, MK, hoff, WT)
            te, tea = evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, Xt, Yt,
                                    ZM, AM, SM, KB, LSE, MK, hoff, WT)
            vl, va = evaluate_rows(theta, sizes, w_off, b_off, codes, moff, zoff, loss, classify, Xv, Yv,
                                   ZM, AM, SM, KB, LSE, MK, hoff, WT)
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
