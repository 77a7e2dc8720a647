"""The compiled engine: chunks of iterations in one of two numba kernels, on a network's flat theta.

``train_chunk`` (:mod:`nnrun.engines.per_sample`) runs sample by sample, best while a step
holds little work; ``train_chunk_rows`` (:mod:`nnrun.engines.rows`) runs a batch as matrix
products (its own loops, not BLAS). :func:`use_rows` picks one per run; a first run compiles only its own. One
generic kernel serves every architecture, optimizer and schedule, so each compiles once
(``cache=True`` keeps the machine code on disk between processes) and a sweep of many
small networks pays no compilation per cell.
"""

from __future__ import annotations

import numpy as np

from nnrun.maths.activations import code
from nnrun.engines.layout import SECONDS
from nnrun.engines.per_sample import evaluate, train_chunk
from nnrun.engines.rows import ABT_BLOCK, evaluate_rows, train_chunk_rows

EVAL_BLOCK = 256  # samples per block when recording the loss over a whole data set (per sample)
EVAL_ROWS = 1024  # rows per block when recording it by matrix products
#: use_rows: the rows kernel once a step holds batch * n_params >= ROWS_MIN_WORK ...
ROWS_MIN_WORK = 800
#: ... or the network has this many parameters (recording the loss by rows pays off)
ROWS_MIN_PARAMS = 400


def use_rows(batch: int, n_params: int) -> bool:
    """True if a run goes through the rows kernel (matrix products), else sample by sample.

    Matrix products pay a fixed cost per call (~1 us) that per-sample loops do not, and
    win once a step holds enough multiply-adds: measured on 23- to 3760-parameter
    networks, per-sample won at batch * n_params = 708, rows from 870 (batch 2 of the
    digits network: 2x faster). Recording the loss over a data set by rows wins from
    ~400 parameters, so per-sample SGD on such networks runs by rows too.
    """
    return (batch > 1 and batch * n_params >= ROWS_MIN_WORK) or n_params >= ROWS_MIN_PARAMS


def kernel_cached(rows: bool) -> bool | None:
    """Whether numba's disk cache holds a compiled kernel for this source (None: cannot tell)."""
    kernel = train_chunk_rows if rows else train_chunk
    try:
        return bool(kernel._cache._cache_file._load_index())  # numba's own check, stamp included
    except Exception:  # noqa: BLE001 - a private API: never let it cost a run
        return None


def kernel_loaded(rows: bool) -> bool:
    """Whether this process holds the kernel already (loaded or compiled: nothing to wait for)."""
    return bool((train_chunk_rows if rows else train_chunk).signatures)


def load_cached_kernels(stop=None) -> list[str]:
    """Load every kernel that numba's disk cache holds for this source, compiling none;
    returns their names. The sweep's fork server calls this, so that the workers forked
    from it start with the kernels in memory instead of each loading its own. ``stop()``,
    asked before each kernel, ends the loading when it says True."""
    loaded = []
    for kernel in (train_chunk, train_chunk_rows):
        if stop is not None and stop():
            break
        try:  # numba's cache index: {(signature, codegen magic, code hashes): file}; private, hence guarded
            cache, codegen = kernel._cache, kernel.targetctx.codegen()
            index = cache._cache_file._load_index()  # {} when the source's stamp differs
            signatures = [key[0] for key in index if cache._index_key(key[0], codegen) == key]
            for signature in signatures:
                kernel.compile(signature)  # its key is in the index: loaded, not compiled
            if signatures:
                loaded.append(kernel.__name__)
        except Exception:  # noqa: BLE001 - a missed preload only costs the workers a load each
            pass
    return loaded


class NumbaEngine:
    """Runs chunks of iterations in the per-sample or the rows kernel."""

    name = "numba"

    def __init__(self, network, method, data, dropout: bool = False):
        self.net, self.m = network, method
        self.sizes = np.array(network.sizes, dtype=np.int64)
        self.codes = np.array([code(a) for a in network.activations], dtype=np.int64)
        self.off = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)[:-1]
        # column of hidden layer l's first unit in a dropout mask row
        self.hoff = np.concatenate([[0], np.cumsum(self.sizes[1:-1])]).astype(np.int64)
        width = int(self.sizes.sum())
        self.G = np.zeros_like(network.theta)
        self.sets = (data.X_train, data.Y_train, data.X_test, data.Y_test, data.X_val, data.Y_val)
        self.rows = use_rows(method.batch, len(network.theta))
        if self.rows:
            # M rows of every layer: a_l at moff[l] = M * off[l] in AM; z_l and delta_l (no
            # layer 0, which would be as large as the batch of inputs) at zoff[l] in ZM and DM
            M = max(method.batch, min(EVAL_ROWS, max(len(data.X_train), len(data.X_test), len(data.X_val), 1)))
            self.moff = (M * np.concatenate([self.off, [width]])).astype(np.int64)
            self.zoff = np.maximum(self.moff - self.moff[1], 0)
            self.AM = np.zeros(M * width)
            self.FM = np.zeros(M * width) if dropout else self.AM  # f(z) before the mask
            self.ZM, self.DM = np.zeros(M * (width - self.sizes[0])), np.zeros(M * (width - self.sizes[0]))
            widest = M * int(self.sizes.max())
            self.SM, self.KB, self.LSE = np.zeros(widest), np.zeros(widest, dtype=np.int64), np.zeros(M)
            self.WT = np.zeros(max(2 * ABT_BLOCK * int(self.sizes.max()),  # rows.mul_abt's scratch
                                   max(int(a * b) for a, b in zip(self.sizes[:-1], self.sizes[1:]))))
        else:
            self.Z, self.A, self.D = np.zeros(width), np.zeros(width), np.zeros(width)
            self.F = np.zeros(width) if dropout else self.A
            block = max(1, min(EVAL_BLOCK, max(len(data.X_train), len(data.X_test), len(data.X_val))))
            self.ZB, self.AB = np.zeros((width, block)), np.zeros((width, block))

    def run_chunk(self, idx, ptr, masks, it0, history):
        m, net = self.m, self.net
        head = (net.theta, self.sizes, net.w_off, net.b_off, self.codes)
        method = (m.loss_code, m.classify, m.opt_code, m.hyper, m.etas, m.state, m.moments, m.best_theta,
                  *self.sets, idx, ptr, masks, self.hoff, it0, m.total, m.log_every, history)
        if self.rows:
            return train_chunk_rows(*head, *method, self.G, self.moff, self.zoff, self.ZM, self.AM, self.FM,
                                    self.DM, self.SM, self.KB, self.LSE, self.WT)
        return train_chunk(*head, self.off, *method, self.Z, self.A, self.F, self.D, self.G, self.ZB, self.AB)

    def evaluate(self, X, Y) -> tuple[float, float]:
        """(mean loss, accuracy) of the network over the rows of X by this engine's compiled code
        (the very function its kernel records with), not by NumPy's BLAS: the same bits on
        every machine."""
        m, net = self.m, self.net
        head = (net.theta, self.sizes, net.w_off, net.b_off, self.codes)
        if self.rows:
            masks = np.empty((0, 0))  # no dropout when recording
            return evaluate_rows(*head, self.moff, self.zoff, m.loss_code, m.classify, X, Y, self.ZM, self.AM,
                                 self.SM, self.KB, self.LSE, masks, self.hoff, self.WT)
        return evaluate(*head, self.off, m.loss_code, m.classify, X, Y, self.ZB, self.AB, self.Z, self.A)

    def record(self, history, row: int, it: int, eta: float) -> float:
        """History row ``row`` as :func:`nnrun.engines.reference.record` writes it, by :meth:`evaluate`."""
        X_train, Y_train, X_test, Y_test, X_val, Y_val = self.sets
        tr, tra = self.evaluate(X_train, Y_train)
        te, tea = self.evaluate(X_test, Y_test)
        vl, va = self.evaluate(X_val, Y_val)
        history[row, :SECONDS] = (it, tr, te, tra, tea, vl, va, eta)
        return tr
