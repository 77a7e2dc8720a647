"""Training: the SGD loop, its two engines, and the history it records.

The update, for the batch B_k of iteration k (|B_k| = m)::

    theta <- theta - eta * ( (1/m) sum_{i in B_k} grad C_i(theta) + lambda * W )

with lambda acting on the weights only. Every ``log_every`` iterations (and after the
last) the mean loss and accuracy over the whole training and test sets are recorded.
Recorded losses are the data loss alone; the penalty is reported in ``metrics.json``.

Two engines run that loop on the same flat parameter vector and the same chunks of
sample indices (:mod:`nnrun.sampling`):

``numpy``  :class:`NumpyEngine`, the reference: ``Network.forward``/``backward`` on
           matrices, one iteration per Python step.
``numba``  :class:`nnrun.engine_numba.NumbaEngine`, the same maths compiled: per-sample
           SGD at C speed, minibatches as matrix products (BLAS) without Python in the loop.
``auto``   numba; NumPy (with one warning) when numba cannot be imported, and NumPy when
           it has no compiled version of the configured functions.

Training stops early on a non-finite gradient or loss (``diverged``) or on Ctrl-C /
SIGTERM (``interrupted``, within one chunk, i.e. well under a second).
"""

from __future__ import annotations

import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from nnrun.activations import code as activation_code
from nnrun.errors import NnrunError
from nnrun.losses import LOSSES
from nnrun.network import Network
from nnrun.sampling import Sampler, batch_count, chunk_iterations
from nnrun.snapshots import snapshot_iterations

HISTORY_COLUMNS = ["iteration", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "seconds"]


def evaluate(net: Network, X: np.ndarray, Y: np.ndarray, loss: str, classify: bool) -> tuple[float, float]:
    """(mean loss, accuracy) over samples in rows; accuracy is the share of correct classes
    (argmax of a_L, or a_L >= 0.5 for one unit) and NaN for regression or an empty set."""
    if len(X) == 0:
        return np.nan, np.nan
    Z, A = net.forward(X.T)
    value = float(LOSSES[loss].value(Z[-1], A[-1], Y.T, net.activations[-1]).mean())
    if not classify:
        return value, np.nan
    out = A[-1]
    if out.shape[0] == 1:
        correct = (out[0] >= 0.5) == (Y[:, 0] >= 0.5)
    else:
        correct = out.argmax(axis=0) == Y.argmax(axis=1)
    return value, float(correct.mean())


class NumpyEngine:
    """The reference engine: forward and backward on matrices, an iteration at a time."""

    name = "numpy"

    def __init__(self, network, loss, classify, eta, lam, data, log_every, total, stop_flag=None,
                 full_batch=False):
        self.net, self.loss, self.classify = network, loss, classify
        self.eta, self.lam = float(eta), float(lam)
        self.data, self.log_every, self.total = data, int(log_every), int(total)
        self.stop_flag = stop_flag or (lambda: False)
        # full-batch gradient descent uses the same columns every step: transpose once
        self.full = (np.ascontiguousarray(data.X_train.T), np.ascontiguousarray(data.Y_train.T)) \
            if full_batch else None

    def _record(self, history, row, it):
        d = self.data
        tr, tra = evaluate(self.net, d.X_train, d.Y_train, self.loss, self.classify)
        te, tea = evaluate(self.net, d.X_test, d.Y_test, self.loss, self.classify)
        history[row, :5] = (it, tr, te, tra, tea)
        return tr

    def run_chunk(self, idx, ptr, it0, history):
        """Iterations it0+1 .. it0+len(ptr)-1; returns (done, rows, status) like the compiled one."""
        net, d = self.net, self.data
        rows = 0
        for k in range(len(ptr) - 1):
            if self.full:
                X, Y = self.full
            else:
                batch = idx[ptr[k]:ptr[k + 1]]
                X, Y = d.X_train[batch].T, d.Y_train[batch].T
            Z, A = net.forward(X)
            dW, db = net.backward(Z, A, Y, self.loss)
            finite = all(np.isfinite(g).all() for g in dW + db)
            it = it0 + k + 1
            if finite:
                for W_l, b_l, dW_l, db_l in zip(net.W, net.b, dW, db):
                    W_l -= self.eta * (dW_l + self.lam * W_l)
                    b_l -= self.eta * db_l
            if not finite or it % self.log_every == 0 or it == self.total:
                train_loss = self._record(history, rows, it)
                rows += 1
                if not finite or not np.isfinite(train_loss):
                    return k + 1, rows, 1
            if self.stop_flag():
                return k + 1, rows, 0
        return len(ptr) - 1, rows, 0


def numba_supports(activations: list[str], loss: str) -> bool:
    try:
        from nnrun import engine_numba
    except ImportError:
        return False
    return (all(activation_code(a) in engine_numba.COMPILED_CODES for a in activations)
            and LOSSES[loss].code in engine_numba.COMPILED_LOSSES)


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(requested: str, net: Network, loss: str) -> tuple[str, str | None]:
    """(engine name, warning or None). auto: numba whenever it can run the configuration.

    The compiled engine is faster at every batch size (per-sample loops for small
    batches, BLAS products for large ones: benchmarks/bench_speed.py, table 3b); NumPy
    stays the readable reference the tests hold it to.
    """
    if requested == "numpy":
        return "numpy", None
    if not numba_available():
        return "numpy", "numba is not installed; training on the (slower) NumPy engine"
    if not numba_supports(net.activations, loss):
        if requested == "numba":
            raise NnrunError(
                "train.engine: numba has no compiled version of these activations/loss "
                f"({', '.join(net.activations)}, {loss}); use train.engine=numpy or auto"
            )
        return "numpy", None
    return "numba", None


@dataclass
class TrainResult:
    """What a training run produced. ``history`` holds the recorded rows (HISTORY_COLUMNS)."""

    network: Network
    history: np.ndarray
    status: str  # completed | diverged | interrupted
    iterations: int  # iterations actually run
    planned_iterations: int
    train_seconds: float
    engine: str
    log_every: int
    diverged_at: int | None = None
    warnings: list[str] = field(default_factory=list)
    signal: int | None = None  # the signal that interrupted training, if any
    snapshots: list = field(default_factory=list)  # (iteration, theta copy) for train.snapshots


def resolve_log_every(cfg, n_train: int) -> int:
    """Explicit value, else once per epoch (epochs given) or ~1000 records in all."""
    if cfg.train.log_every is not None:
        return cfg.train.log_every
    if cfg.train.epochs is not None:
        return batch_count(n_train, cfg.train.batch_size)
    return max(1, cfg.train.iterations // 1000)


def batch_size(cfg, n_train: int) -> int:
    """Samples per step ('full' is all of them); more than the training set is an error."""
    batch = n_train if cfg.train.batch_size == "full" else cfg.train.batch_size
    if batch > n_train:
        raise NnrunError(
            f"train.batch_size: {batch} is more than the {n_train} training samples; use at most {n_train} or 'full'"
        )
    return batch


def planned_iterations(cfg, n_train: int) -> int:
    if cfg.train.iterations is not None:
        return cfg.train.iterations
    return cfg.train.epochs * batch_count(n_train, cfg.train.batch_size)


@contextmanager
def stop_on_signals():
    """Turn SIGINT/SIGTERM into a flag the loop checks between chunks (main thread only)."""
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def build_network(cfg, rng: np.random.Generator) -> Network:
    """The configured network, freshly initialised or loaded from model.init_from."""
    m = cfg.model
    if m.init_from:
        net = Network.from_npz(m.init_from)
        if net.sizes != m.architecture or net.activations != m.activations:
            raise NnrunError(
                f"model.init_from: {m.init_from} holds a {'-'.join(map(str, net.sizes))} network with "
                f"activations {net.activations}; the config asks for "
                f"{'-'.join(map(str, m.architecture))} with {m.activations}"
            )
        return net
    return Network(m.architecture, m.activations).initialize(rng, m.init, m.init_scale, m.bias_init)


def train(cfg, data, network: Network | None = None, *, progress=None, on_rows=None,
          sampling_rng: np.random.Generator | None = None) -> TrainResult:
    """Train ``network`` (default: built from cfg and its seed) on ``data`` as cfg.train says.

    ``progress(iterations_done, last_train_loss)`` is called after every chunk;
    ``on_rows(rows)`` receives each chunk's recorded history rows (to stream them to
    disk); without it the rows are collected into ``TrainResult.history``.
    """
    from nnrun.data import streams

    rngs = streams(cfg.seed)
    net = network if network is not None else build_network(cfg, rngs["init"])
    t = cfg.train
    n_train = len(data.X_train)
    batch = batch_size(cfg, n_train)
    total = planned_iterations(cfg, n_train)
    log_every = resolve_log_every(cfg, n_train)
    classify = data.task == "classification"
    name, warning = choose_engine(t.engine, net, t.loss)
    notes = []
    if warning:
        warnings.warn(warning, UserWarning, stacklevel=2)
        notes.append(warning)

    sampler = Sampler(n_train, t.batch_size, t.sampling, sampling_rng or rngs["sampling"])
    chunk = chunk_iterations(len(net.theta), batch, n_train, len(data.X_test), log_every, total)

    collected = []
    # Overflow is how divergence starts; it is detected and reported as status
    # 'diverged' with a hint, so NumPy's floating-point warnings would only repeat it.
    with stop_on_signals() as flag, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if name == "numba":
            from nnrun.engine_numba import NumbaEngine

            engine = NumbaEngine(net, LOSSES[t.loss].code, classify, t.eta, t.lambda_, data, log_every, total,
                                 batch)
        else:
            engine = NumpyEngine(net, t.loss, classify, t.eta, t.lambda_, data, log_every, total,
                                 stop_flag=lambda: flag["signal"] is not None, full_batch=t.batch_size == "full")
        buffer = np.full((chunk // log_every + 2, len(HISTORY_COLUMNS)), np.nan)
        reference = NumpyEngine(net, t.loss, classify, t.eta, t.lambda_, data, log_every, total)
        first = np.full((1, len(HISTORY_COLUMNS)), np.nan)
        reference._record(first, 0, 0)
        first[0, -1] = 0.0
        (on_rows or collected.append)(first)
        last_recorded = 0

        # train_seconds and the 'seconds' column count time inside the engine only, not
        # sampling or history writing (which a background thread overlaps anyway).
        done, status, diverged_at, seconds = 0, "completed", None, 0.0
        # an empty first call loads (or compiles) the compiled kernel outside the timer
        engine.run_chunk(np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64), 0, buffer)
        # train.snapshots: chunks end at the snapshot iterations (the sampler hands out the
        # same indices for any chunking, so the numbers do not change)
        marks = list(snapshot_iterations(total, t.snapshots))
        snapshots = []
        while marks and marks[0] == 0:
            snapshots.append((0, net.theta.copy()))
            marks.pop(0)
        while done < total:
            k = min(chunk, total - done, (marks[0] - done) if marks else chunk)
            idx, ptr = sampler.chunk(k)
            t0 = time.perf_counter()
            n, rows, code = engine.run_chunk(idx, ptr, done, buffer)
            before, seconds = seconds, seconds + (time.perf_counter() - t0)
            done += n
            if marks and done == marks[0]:
                snapshots.append((done, net.theta.copy()))
                marks.pop(0)
            if rows:
                block = buffer[:rows].copy()
                # rows inside a compiled chunk are timed by interpolation
                block[:, -1] = before + (seconds - before) * (block[:, 0] - (done - n)) / max(n, 1)
                (on_rows or collected.append)(block)
                last_recorded = int(block[-1, 0])
                if progress:
                    progress(done, float(block[-1, 1]))
            elif progress:
                progress(done, None)
            if code == 1:
                status, diverged_at = "diverged", done
                break
            if flag["signal"] is not None:
                status = "interrupted"
                break
        if status == "interrupted" and last_recorded != done:
            final = np.full((1, len(HISTORY_COLUMNS)), np.nan)
            reference._record(final, 0, done)
            final[0, -1] = seconds
            (on_rows or collected.append)(final)
        interrupted_by = flag["signal"]
        if t.snapshots and (not snapshots or snapshots[-1][0] != done):  # stopped early: where it ended
            snapshots.append((done, net.theta.copy()))

    history = np.vstack(collected) if collected else np.empty((0, len(HISTORY_COLUMNS)))
    return TrainResult(net, history, status, done, total, seconds, name, log_every, diverged_at,
                       notes, interrupted_by, snapshots)
