"""Training: the loop that runs an engine over chunks of iterations and records the history.

The step of iteration k, for its batch B_k (|B_k| = m) and the schedule's eta_k::

    g = (1/m) sum_{i in B_k} grad C_i(theta) + lambda * W          (lambda on the weights only)
    theta <- optimizer step with g and eta_k                        (nnrun.maths.optimizers)

With dropout, the forward and backward passes of the batch use the sampler's masks
(:mod:`nnrun.maths.sampling`). Every ``log_every`` iterations (and after the last) the mean
loss and accuracy over the whole training, test and validation sets are recorded, with
the eta in force; the plateau schedule and early stopping look at each record. Recorded
losses are the data loss alone; the penalty is reported in ``metrics.json``.

The engines (:mod:`nnrun.engines`) run that step on the same flat parameter vector and the
same chunks of sample indices and masks; which one runs is :func:`nnrun.engines.choose_engine`'s
choice. Training stops early on a non-finite gradient or loss (``diverged``), on early
stopping (``completed``, with where it stopped), or on Ctrl-C / SIGTERM (``interrupted``,
within one chunk, i.e. well under a second).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from nnrun.engines import choose_engine, make_engine
from nnrun.engines import layout as ix
from nnrun.engines.layout import HISTORY_COLUMNS
from nnrun.engines.method import Method, make_method
from nnrun.engines.reference import observe
from nnrun.errors import NnrunError
from nnrun.maths.network import Network, evaluate  # noqa: F401  (evaluate: part of this module's API)
from nnrun.maths.sampling import NO_MASKS, Sampler, batch_count, chunk_iterations, unit_rates
from nnrun.maths.snapshots import snapshot_iterations


@dataclass
class TrainResult:
    """What a training run produced. ``history`` holds the recorded rows (HISTORY_COLUMNS)."""

    network: Network
    history: np.ndarray
    status: str  # completed | diverged | interrupted | pruned
    iterations: int  # iterations actually run
    planned_iterations: int
    train_seconds: float
    engine: str
    log_every: int
    diverged_at: int | None = None
    warnings: list[str] = field(default_factory=list)
    signal: int | None = None  # the signal that interrupted training, if any
    method: Method | None = None  # the optimizer, schedule and monitor as they ended
    stopped_early: bool = False  # early stopping ended the run
    snapshots: list = field(default_factory=list)  # (iteration, theta copy) for train.snapshots

    def early_stopping(self) -> dict | None:
        """Where early stopping stopped (None: it ran to the end) and which record was best."""
        if self.method is None or not self.method.early_stopping:
            return None
        st, h = self.method.state, self.method.hyper
        return {
            "monitor": "val_loss" if h[ix.HAS_VAL] > 0 else "train_loss",
            "stopped_at": self.iterations if self.stopped_early else None,
            "best_iteration": int(st[ix.ES_BEST_IT]),
            "best_loss": float(st[ix.ES_BEST]),
            # restore_best acts on a completed run only: an interrupted or diverged one keeps its last weights
            "restored_best": bool(h[ix.ES_RESTORE] > 0) and self.status == "completed",
        }


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
    """The configured network: loaded from model.init_from, set from model.weights, or
    freshly initialised from ``rng`` (the init stream, which the other two leave unused)."""
    m = cfg.model
    if m.weights is not None:
        return Network(m.architecture, m.activations).set_parameters(m.weights, "model.weights.")
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


COMPILE_SECONDS = "10-30 s"  # measured per kernel on the 2-core reference machine (benchmarks/README.md)


def load_engine(cfg, data, network: Network, announce=None, only_if_missing: bool = False) -> str:
    """Load the compiled kernel a run of ``cfg`` needs, compiling it if numba's cache does
    not hold it yet (``announce(message)`` says so first); returns the engine's name.
    ``only_if_missing``: do nothing when the cache holds it (a sweep's client, whose
    workers load it themselves).

    Called before a run folder exists, with Python's own Ctrl-C handling, so a user who
    stops the first, compiling run gets exit 130 and no folder.
    """
    name, _ = choose_engine(cfg.train.engine, network.activations, cfg.train.loss, cfg.train.optimizer)
    if name != "numba":
        return name
    import time as clock

    from nnrun.engines.numba_engine import NumbaEngine, kernel_cached, use_rows

    n_train = len(data.X_train)
    method = make_method(cfg, len(network.theta), n_train, data.has_val, data.task == "classification",
                         resolve_log_every(cfg, n_train), planned_iterations(cfg, n_train))
    rows = use_rows(method.batch, len(network.theta))
    cached = kernel_cached(rows)
    if cached and only_if_missing:
        return name
    if cached is False and announce:
        announce(f"nnrun: compiling the {'minibatch (rows)' if rows else 'per-sample'} training kernel with numba "
                 f"(not in its cache yet: the first run on this machine or of this nnrun version; "
                 f"about {COMPILE_SECONDS}, once)")
    start = clock.perf_counter()
    try:
        engine = NumbaEngine(Network(network.sizes, network.activations, network.theta.copy()), method, data)
        history = np.empty((1, len(HISTORY_COLUMNS)))
        engine.run_chunk(np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64), NO_MASKS, 0, history)
    except KeyboardInterrupt:
        if cached is False and announce:  # else the line that said it was compiling would be the last word
            announce("nnrun: interrupted while compiling: nothing was written, and the next run compiles it again")
        raise
    if cached is False and announce:
        announce(f"nnrun: compiled in {clock.perf_counter() - start:.1f} s; later runs load it from numba's cache")
    return name


@dataclass
class _Plan:
    """What a run needs before its first step: the network, the method, the engine and the
    sampler, how many iterations, in chunks of how many, and where the snapshots fall."""

    net: Network
    method: Method
    engine: str
    notes: list
    sampler: Sampler
    dropout: bool
    chunk: int
    total: int
    log_every: int
    marks: list  # snapshot iterations still to come
    should_stop: object = None  # should_stop(rows) -> bool, asked after each block of records (see train)


@dataclass
class _Progress:
    """Where the loop stands: iterations done, how it ended, seconds inside the engine."""

    done: int = 0
    status: str = "completed"
    diverged_at: int | None = None
    seconds: float = 0.0
    stopped: bool = False
    last_recorded: int = 0
    snapshots: list = field(default_factory=list)


def train(cfg, data, network: Network | None = None, *, progress=None, on_rows=None,
          sampling_rng: np.random.Generator | None = None, should_stop=None) -> TrainResult:
    """Train ``network`` (default: built from cfg and its seed) on ``data`` as cfg.train says.

    ``progress(iterations_done, last_train_loss)`` is called after every chunk;
    ``on_rows(rows)`` receives each chunk's recorded history rows (to stream them to
    disk); without it the rows are collected into ``TrainResult.history``. With early
    stopping and restore_best, the network ends with the weights of the best record.

    ``should_stop(rows)`` (a search's pruner, :mod:`nnrun.sweeps.search`) sees each block of
    records as it is emitted and may say stop: chunks then end at the records it decides at
    (its ``next_step(record)``, else every record; the same numbers: the sampler hands out
    the same indices for any chunking), and training stops at that record with status ``pruned``.
    """
    plan = plan_training(cfg, data, network, sampling_rng)
    plan.should_stop = should_stop
    collected = []
    emit = on_rows or collected.append
    # Overflow is how divergence starts; it is detected and reported as status
    # 'diverged' with a hint, so NumPy's floating-point warnings would only repeat it.
    with stop_on_signals() as flag, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        engine = make_engine(plan.engine, plan.net, plan.method, data, dropout=plan.dropout,
                             stop_flag=lambda: flag["signal"] is not None, full_batch=cfg.train.batch_size == "full")
        record_start(plan, engine, emit)
        state = run_chunks(plan, engine, emit, progress, flag)
        if state.status == "interrupted" and state.last_recorded != state.done:
            record_end(plan, engine, state, emit)
        interrupted_by = flag["signal"]
        if cfg.train.snapshots and (not state.snapshots or state.snapshots[-1][0] != state.done):
            state.snapshots.append((state.done, plan.net.theta.copy()))  # stopped early: where it ended
    if plan.method.early_stopping and plan.method.hyper[ix.ES_RESTORE] > 0 and state.status == "completed":
        plan.net.theta[:] = plan.method.best_theta  # the weights of the best record
    history = np.vstack(collected) if collected else np.empty((0, len(HISTORY_COLUMNS)))
    return TrainResult(plan.net, history, state.status, state.done, plan.total, state.seconds, plan.engine,
                       plan.log_every, state.diverged_at, plan.notes, interrupted_by, plan.method, state.stopped,
                       state.snapshots)


def plan_training(cfg, data, network, sampling_rng) -> _Plan:
    """The network, the method's vectors, the engine (its kernel loaded), the sampler and
    the chunk size of a run: everything decided before the first step."""
    from nnrun.data import streams

    rngs = streams(cfg.seed)
    net = network if network is not None else build_network(cfg, rngs["init"])
    t = cfg.train
    n_train = len(data.X_train)
    batch, total, log_every = batch_size(cfg, n_train), planned_iterations(cfg, n_train), resolve_log_every(cfg, n_train)
    method = make_method(cfg, len(net.theta), n_train, data.has_val, data.task == "classification", log_every, total)
    name, warning = choose_engine(t.engine, net.activations, t.loss, t.optimizer)
    notes = []
    if warning:
        warnings.warn(warning, UserWarning, stacklevel=3)
        notes.append(warning)
    if name == "numba":
        from nnrun.engines.numba_engine import kernel_loaded, use_rows

        if not kernel_loaded(use_rows(method.batch, len(net.theta))):
            # called from Python without prepare(): a compile would be 10-30 silent seconds
            load_engine(cfg, data, net, announce=lambda message: print(message, file=sys.stderr))
    drop = unit_rates(cfg.model.dropout_rates, net.sizes)
    sampler = Sampler(n_train, t.batch_size, t.sampling, sampling_rng or rngs["sampling"], drop, rngs["dropout"])
    chunk = chunk_iterations(len(net.theta), batch, n_train, len(data.X_test) + len(data.X_val), log_every, total)
    return _Plan(net, method, name, notes, sampler, len(drop) > 0, chunk, total, log_every,
                 list(snapshot_iterations(total, t.snapshots)))


def record_start(plan: _Plan, engine, emit) -> None:
    """Record iteration 0 (the initial weights), which early stopping and plateau also see;
    with the engine's own evaluation (the compiled one uses no BLAS: the same bits everywhere)."""
    first = np.full((1, len(HISTORY_COLUMNS)), np.nan)
    engine.record(first, 0, 0, plan.method.eta_at(1))
    first[0, ix.SECONDS] = 0.0
    observe(plan.method, plan.net.theta, 0, first[0, ix.TRAIN_LOSS], first[0, ix.VAL_LOSS])  # the start counts
    emit(first)


def run_chunks(plan: _Plan, engine, emit, progress, flag) -> _Progress:
    """The loop: chunks of sample indices and masks through the engine, their records
    emitted, until the planned iterations are done, the loss diverges, early stopping
    fires or a signal arrives.

    ``seconds`` counts time inside the engine only, not sampling or history writing
    (which a background thread overlaps anyway). Chunks also end at the snapshot
    iterations; the sampler hands out the same indices for any chunking, so the numbers
    do not change."""
    state = _Progress()
    buffer = np.full((plan.chunk // plan.log_every + 2, len(HISTORY_COLUMNS)), np.nan)
    # an empty first call loads (or compiles) the compiled kernel outside the timer
    engine.run_chunk(np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64), plan.sampler.masks(0), 0, buffer)
    marks = plan.marks
    while marks and marks[0] == 0:
        state.snapshots.append((0, plan.net.theta.copy()))
        marks.pop(0)
    while state.done < plan.total:
        k = min(plan.chunk, plan.total - state.done, (marks[0] - state.done) if marks else plan.chunk)
        if plan.should_stop is not None:  # end where the hook decides next (its next_step, else every record)
            k = min(k, next_decision(plan.should_stop, state.done, plan.log_every) - state.done)
        idx, ptr, masks = plan.sampler.chunk(k)
        t0 = time.perf_counter()
        n, rows, code = engine.run_chunk(idx, ptr, masks, state.done, buffer)
        before, state.seconds = state.seconds, state.seconds + (time.perf_counter() - t0)
        state.done += n
        if marks and state.done == marks[0]:
            state.snapshots.append((state.done, plan.net.theta.copy()))
            marks.pop(0)
        block = emit_records(buffer, rows, n, before, state, emit, progress)
        if code == ix.DIVERGED:
            state.status, state.diverged_at = "diverged", state.done
            break
        if code == ix.STOPPED:
            state.stopped = True
            break
        if block is not None and plan.should_stop is not None and state.done < plan.total \
                and plan.should_stop(block):
            state.status = "pruned"
            break
        if flag["signal"] is not None:
            state.status = "interrupted"
            break
    return state


def next_decision(should_stop, done: int, log_every: int) -> int:
    """The iteration of the next record ``should_stop`` decides at, after iteration ``done``
    (record ``s`` is iteration ``s * log_every``): its ``next_step(record)``, else the next record."""
    step = done // log_every
    following = should_stop.next_step(step) if hasattr(should_stop, "next_step") else step + 1
    return max(following, step + 1) * log_every


def emit_records(buffer, rows: int, n: int, before: float, state: _Progress, emit, progress):
    """Hand on a chunk's recorded rows, each timed by interpolation inside the chunk; the
    block handed on (None: no record in this chunk)."""
    if rows:
        block = buffer[:rows].copy()
        block[:, ix.SECONDS] = before + (state.seconds - before) * (block[:, ix.IT] - (state.done - n)) / max(n, 1)
        emit(block)
        state.last_recorded = int(block[-1, ix.IT])
        if progress:
            progress(state.done, float(block[-1, ix.TRAIN_LOSS]))
        return block
    if progress:
        progress(state.done, None)
    return None


def record_end(plan: _Plan, engine, state: _Progress, emit) -> None:
    """An interrupted run records where it stopped, between two scheduled records."""
    final = np.full((1, len(HISTORY_COLUMNS)), np.nan)
    engine.record(final, 0, state.done, plan.method.eta_at(max(state.done, 1)))
    final[0, ix.SECONDS] = state.seconds
    emit(final)
