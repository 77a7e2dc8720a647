"""The PyTorch twin: the same experiment, re-implemented independently, number for number.

``nnrun compare CONFIG --with torch`` (:mod:`nnrun.tools.compare`) trains CONFIG twice from the same initial weights
and the same sequence of samples:

1. with nnrun itself, exactly as ``nnrun train`` does (same engine choice, same run
   folder artifacts), and
2. with :func:`torch_twin`, a separate implementation in PyTorch (float64), whose
   gradients come from autograd instead of nnrun's hand-written backpropagation,

and reports how far apart the two are (``compare.json``, ``compare.png``,
``history_torch.csv`` in the run folder).

The maths both sides implement, for layers l = 1..L and a batch B_k of m samples::

    z_l = W_l a_{l-1} + b_l,    a_l = m_l o f_l(z_l) (hidden),  f_L(z_L) (output),   a_0 = x
    g = grad (1/m) sum_{i in B_k} C_i  +  lambda W        (weights only)
    theta <- torch.optim step with g and the schedule's eta

with the per-sample losses

    quadratic                  C_i = 1/2 ||a_L - y||^2
    cross_entropy, softmax     C_i = -sum_k y_k log softmax(z_L)_k        (torch.log_softmax)
    cross_entropy, sigmoid     C_i = sum_k BCE(z_L,k, y_k) from logits    (binary_cross_entropy_with_logits)

Recorded rows (iteration 0, every ``log_every``-th iteration and the last) hold the
mean *data* loss over the whole training and test sets (no penalty, as nnrun records
it) and the accuracy (argmax of a_L against argmax of y; a_L >= 0.5 for one unit).

Why this is an independent check
--------------------------------
The twin shares with nnrun only its *inputs*: the data set, the initial weights, the
sample indices and dropout masks of every iteration (nnrun's
:class:`~nnrun.maths.sampling.Sampler`, replayed from the same seed) and the recording
schedule. It uses none of nnrun's forward pass, backward pass, activations, losses,
penalty gradient, optimizer, schedule or early stopping: those are PyTorch's
(``torch.nn.Linear``, ``torch.sigmoid``/``tanh``/``relu``/``F.leaky_relu``/``F.elu``,
``torch.log_softmax``, ``F.binary_cross_entropy_with_logits``, autograd,
``torch.optim.SGD/Adam/RMSprop``, ``torch.optim.lr_scheduler``), or written here
afresh (early stopping). A wrong derivative, a missing output activation, a sum where a
mean belongs or a penalty on the biases in either implementation moves the weights
by far more than rounding does, so agreement to a relative 1e-8 after thousands of
steps means both compute the same thing. The remaining differences are rounding
(about 1e-16 per operation, amplified by the training dynamics).

The L2 penalty is the optimizers' ``weight_decay`` on a parameter group of the weights
(the biases in a group without it), which adds lambda W to the gradient as nnrun does.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from nnrun.errors import NnrunError
from nnrun.training import HISTORY_COLUMNS


def import_torch():
    """PyTorch, or a one-line NnrunError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise NnrunError(
            "nnrun compare --with torch needs PyTorch: pip install -e '.[torch]' in the nnrun checkout (or pip install torch)"
        ) from None
    return torch


# ------------------------------------------------------------------ the twin's maths
def torch_activations() -> dict:
    """PyTorch's own activation functions by nnrun's names (softmax over the units, dim 1),
    from the registry's entries (an entry without one is left out, and said so by the caller)."""
    from functools import partial

    from nnrun.maths.activations import ACTIVATIONS, SOFTMAX, torch_softmax

    torch = import_torch()
    out = {name: partial(a.torch, torch) for name, a in ACTIVATIONS.items() if a.torch is not None}
    out[SOFTMAX] = partial(torch_softmax, torch)
    return out


def layer_functions(names: list[str]) -> list:
    """The activation of each layer after the input (hidden layers, then the output)."""
    table = torch_activations()
    missing = [name for name in names if name not in table]
    if missing:  # a new activation whose twin was not written yet: say where it goes
        raise NnrunError(f"model.activation: {missing[0]!r} has no PyTorch twin yet, so compare --with torch cannot "
                         "check it; give its entry in nnrun/maths/activations.py a torch counterpart")
    return [table[name] for name in names]


def per_sample_loss(loss: str, output: str, z, a, y):
    """Per-sample data loss, shape (m,), from the output pre-activation z and activation a.

    Samples are rows here (PyTorch's convention); units are dim 1.
    """
    from nnrun.maths.losses import LOSSES

    twin = LOSSES[loss].torch
    if twin is None:
        raise NnrunError(f"nnrun compare --with torch: no PyTorch twin for loss {loss}; give its entry in "
                         "nnrun/maths/losses.py a torch counterpart")
    return twin(import_torch(), output, z, a, y)


class _Twin:
    """The network as ``torch.nn.Linear`` layers in float64, started from given weights."""

    def __init__(self, initial_network, activations: list[str], loss: str):
        torch = import_torch()
        self.torch = torch
        self.layers = []
        with torch.no_grad():
            for W, b in zip(initial_network.W, initial_network.b):
                n, n_prev = W.shape
                layer = torch.nn.Linear(n_prev, n, bias=True, dtype=torch.float64)
                layer.weight.copy_(torch.from_numpy(np.array(W, dtype=np.float64)))
                layer.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float64)))
                self.layers.append(layer)
        self.functions = layer_functions(activations)
        self.output = activations[-1]
        self.loss = loss

    def parameters(self) -> list:
        return [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def weights(self) -> list:
        return [layer.weight for layer in self.layers]

    def forward(self, x, masks=None):
        """(z_L, a_L) for samples in rows; ``masks`` (rows like x, hidden units layer by
        layer) multiply the hidden layers' outputs (dropout)."""
        a, at = x, 0
        for l, (layer, f) in enumerate(zip(self.layers, self.functions)):
            z = layer(a)  # x W^T + b: the row form of z_l = W_l a_{l-1} + b_l
            a = f(z)
            if masks is not None and l < len(self.layers) - 1:
                a = a * masks[:, at:at + a.shape[1]]
                at += a.shape[1]
        return z, a

    def data_loss(self, x, y, masks=None):
        """Mean over the samples of the per-sample loss (no penalty)."""
        z, a = self.forward(x, masks)
        return per_sample_loss(self.loss, self.output, z, a, y).mean(), a

    def evaluate(self, x, y, classify: bool) -> tuple[float, float]:
        """(mean data loss, accuracy) over a whole set; NaN for an empty set or regression."""
        if x.shape[0] == 0:
            return np.nan, np.nan
        with self.torch.no_grad():
            value, a = self.data_loss(x, y)
        if not classify:
            return float(value), np.nan
        if a.shape[1] == 1:
            correct = (a[:, 0] >= 0.5) == (y[:, 0] >= 0.5)
        else:
            correct = a.argmax(dim=1) == y.argmax(dim=1)
        return float(value), float(correct.double().mean())

    def theta(self) -> np.ndarray:
        """W_1, b_1, W_2, ... flattened row-major: nnrun's layout of theta."""
        with self.torch.no_grad():
            return np.concatenate([p.detach().numpy().ravel() for p in self.parameters()])


@contextmanager
def one_thread(torch):
    """Run torch on one intra-op thread, restoring the setting afterwards.

    The twin's tensors are tiny: with several threads every softmax or reduction pays
    an OpenMP fork/join (milliseconds on a busy machine, 1000x the work), and one
    thread also makes the twin's own rounding independent of the machine.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_twin(cfg, data, initial_network, iterations: int | None = None, progress=None,
               should_stop=None) -> tuple[np.ndarray, np.ndarray]:
    """Train ``cfg`` in PyTorch from ``initial_network``'s weights; returns (history, final theta).

    ``history`` has the columns of nnrun's history.csv (iteration, train_loss, test_loss,
    train_accuracy, test_accuracy, seconds) and one row per recorded iteration: 0, every
    ``log_every``, and the last. ``theta`` is flattened in nnrun's layout (W_1, b_1, ...).
    ``iterations`` (default: the planned number) lets the twin stop where nnrun stopped.
    ``initial_network`` is only read. ``progress(iterations_done)`` is called now and then;
    when ``should_stop()`` turns True (Ctrl-C), the twin stops and returns what it has.

    The sample sequence is nnrun's: a :class:`~nnrun.maths.sampling.Sampler` seeded from
    ``streams(cfg.seed)["sampling"]`` and drawn in the same chunks as
    :func:`nnrun.training.train` draws them (the sampler also gives the same indices for
    any other chunking; the tests check that).
    """
    torch = import_torch()
    with one_thread(torch):
        return _train_twin(torch, cfg, data, initial_network, iterations, progress, should_stop)


def _train_twin(torch, cfg, data, initial_network, iterations, progress=None, should_stop=None):
    run = _TwinRun(torch, cfg, data, initial_network)
    run.loop(run.planned if iterations is None else int(iterations), progress, should_stop)
    run.restore_best()
    return np.array(run.rows, dtype=np.float64).reshape(-1, len(HISTORY_COLUMNS)), run.net.theta()


class _TwinRun:
    """One training run of the twin: torch.optim's optimizer and scheduler on the twin's
    parameters, nnrun's sample sequence, and the records (with plateau and early
    stopping written afresh here, as nnrun's docs state them)."""

    def __init__(self, torch, cfg, data, initial_network):
        from nnrun.data import streams
        from nnrun.maths.sampling import Sampler, batch_count, chunk_iterations, unit_rates
        from nnrun.training import planned_iterations, resolve_log_every

        t = self.train_cfg = cfg.train
        self.torch, self.data = torch, data
        n_train = len(data.X_train)
        self.planned = planned_iterations(cfg, n_train)
        self.log_every = resolve_log_every(cfg, n_train)
        self.per_epoch = batch_count(n_train, t.batch_size)
        self.classify = data.task == "classification"
        self.net = _Twin(initial_network, cfg.model.activations, t.loss)
        self.params = self.net.parameters()
        tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))  # noqa: E731
        self.X_train, self.Y_train = tensor(data.X_train), tensor(data.Y_train)
        self.sets = [(tensor(data.X_test), tensor(data.Y_test)), (tensor(data.X_val), tensor(data.Y_val))]
        self.optimizer, self.scheduler = self._optimizer_and_scheduler()
        self.plateau = t.schedule.type == "plateau"
        self.stopping = t.early_stopping
        self.best = {"loss": np.inf, "bad": 0, "theta": None}
        self.rows, self.seconds, self.done, self.finite = [], 0.0, 0, True
        rngs = streams(cfg.seed)
        self.sampler = Sampler(n_train, t.batch_size, t.sampling, rngs["sampling"],
                               unit_rates(cfg.model.dropout_rates, initial_network.sizes), rngs["dropout"])
        batch = n_train if t.batch_size == "full" else int(t.batch_size)
        self.chunk = chunk_iterations(len(initial_network.theta), batch, n_train,
                                      len(data.X_test) + len(data.X_val), self.log_every, self.planned)

    def _optimizer_and_scheduler(self):
        """torch.optim's optimizer (the penalty as weight decay on the weights' group only)
        and the schedule's torch.optim.lr_scheduler, from the registries' torch entries."""
        from nnrun.maths.optimizers import OPTIMIZERS
        from nnrun.maths.schedules import SCHEDULES

        t = self.train_cfg
        hyper = {key: getattr(t, key) for key in OPTIMIZERS[t.optimizer].defaults}
        groups = [{"params": self.net.weights(), "weight_decay": float(t.lambda_)},
                  {"params": [layer.bias for layer in self.net.layers], "weight_decay": 0.0}]
        optimizer = OPTIMIZERS[t.optimizer].torch(self.torch, groups, float(t.eta), hyper)
        factory = SCHEDULES[t.schedule.type].torch
        return optimizer, (factory(self.torch, optimizer, t.schedule) if factory else None)

    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def record(self, it: int, eta: float) -> bool:
        """A history row; then the plateau scheduler and early stopping see the monitored loss.
        True: early stopping says stop."""
        tr, tra = self.net.evaluate(self.X_train, self.Y_train, self.classify)
        (te, tea), (vl, va) = (self.net.evaluate(x, y, self.classify) for x, y in self.sets)
        self.rows.append((it, tr, te, tra, tea, vl, va, eta, self.seconds))
        monitored = vl if self.data.has_val else tr
        if self.plateau:
            self.scheduler.step(monitored)
        if self.stopping is None:
            return False
        if monitored < self.best["loss"] - self.stopping.min_delta:
            self.best.update(loss=monitored, bad=0, it=it, theta=[p.detach().clone() for p in self.params])
            return False
        self.best["bad"] += 1
        return self.best["bad"] >= self.stopping.patience

    def step(self, it: int, batch_idx, masks) -> None:
        """One iteration: the batch's mean data loss, autograd, the optimizer's step (not
        taken on a non-finite gradient, as nnrun), the scheduler at an epoch's end."""
        t0 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        objective, _ = self.net.data_loss(self.X_train[batch_idx], self.Y_train[batch_idx], masks)
        objective.backward()
        self.finite = bool(self.torch.isfinite(self.torch.cat([p.grad.reshape(-1) for p in self.params])).all())
        if self.finite:
            self.optimizer.step()
        if self.scheduler is not None and not self.plateau and it % self.per_epoch == 0:
            self.scheduler.step()  # the end of an epoch
        self.seconds += time.perf_counter() - t0

    def loop(self, total: int, progress=None, should_stop=None) -> None:
        """Steps in nnrun's chunks until ``total``, a non-finite loss or gradient, early
        stopping, or ``should_stop()``; records every log_every iterations and at the end."""
        stop = self.record(0, self.lr())
        while self.done < total and not stop:
            idx, ptr, masks = self.sampler.chunk(min(self.chunk, self.planned - self.done))
            idx = self.torch.from_numpy(idx)
            masks = self.torch.from_numpy(masks) if masks.size else None
            for k in range(min(len(ptr) - 1, total - self.done)):
                it, eta = self.done + 1, self.lr()
                self.step(it, idx[ptr[k]:ptr[k + 1]], None if masks is None else masks[ptr[k]:ptr[k + 1]])
                self.done = it
                if not self.finite or it % self.log_every == 0 or it == total:
                    stop = self.record(it, eta)
                    if not self.finite or not np.isfinite(self.rows[-1][1]):
                        total = self.done
                        break
                    if stop:
                        break
                if it % 256 == 0:
                    if progress:
                        progress(self.done)
                    if should_stop and should_stop():
                        stop = True
                        break
            if progress:
                progress(self.done)

    def restore_best(self) -> None:
        """As nnrun: with early stopping's restore_best, end with the weights of the best record."""
        diverged = (not np.isfinite(self.rows[-1][1]) or not self.finite) if self.done else False
        if self.stopping is not None and self.stopping.restore_best and self.best["theta"] is not None \
                and not diverged:
            with self.torch.no_grad():
                for p, saved in zip(self.params, self.best["theta"]):
                    p.copy_(saved)


