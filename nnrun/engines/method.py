"""The method of a run, as every engine takes it: loss, optimizer, schedule, dropout,
recording and early stopping, turned into the arrays of :mod:`nnrun.engines.layout`.

Built once per run by :func:`make_method` from the config, so that the NumPy reference
and the compiled kernels read the very same numbers (the eta table included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnrun.engines import layout as ix
from nnrun.maths.losses import LOSSES
from nnrun.maths.optimizers import HYPERS, OPTIMIZERS
from nnrun.maths.sampling import batch_count
from nnrun.maths.schedules import eta_table


@dataclass
class Method:
    """How a run trains. ``state``, ``moments`` and ``best_theta`` change as it does."""

    loss: str
    loss_code: int
    classify: bool
    optimizer: str
    opt_code: int
    hyper: np.ndarray  # layout.HYPER_SIZE: what the kernels read
    hp: dict  # the optimizer's hyper-parameters by name (mu, beta1, ...): what the reference step reads
    etas: np.ndarray  # eta per epoch (the schedule's table)
    log_every: int
    total: int
    batch: int
    state: np.ndarray  # layout.STATE_SIZE
    moments: np.ndarray  # (2, P): the optimizer's vectors beside theta
    best_theta: np.ndarray  # (P,): the best weights seen (early stopping with restore_best)

    @property
    def early_stopping(self) -> bool:
        return self.hyper[ix.ES_PATIENCE] > 0

    def eta_at(self, it: int) -> float:
        """The eta of iteration it (from 1)."""
        if self.hyper[ix.PLATEAU] > 0:
            return float(self.state[ix.ETA])
        epoch = (it - 1) // int(self.hyper[ix.PER_EPOCH])
        return float(self.etas[min(epoch, len(self.etas) - 1)])


def make_method(cfg, n_params: int, n_train: int, has_val: bool, classify: bool, log_every: int,
                total: int) -> Method:
    t = cfg.train
    batch = n_train if t.batch_size == "full" else int(t.batch_size)
    per_epoch = batch_count(n_train, t.batch_size)
    h = np.zeros(ix.HYPER_SIZE)
    h[ix.LAMBDA] = t.lambda_
    optimizer = OPTIMIZERS[t.optimizer]
    hp = {}  # the optimizer's own; the other optimizers' slots stay 0
    for key in optimizer.hypers:
        hp.update(HYPERS[key].values(getattr(t, key)))
    for scalar, value in hp.items():
        h[ix.OPTIMIZER_SLOTS[scalar]] = value
    schedule = t.schedule
    if schedule.type == "plateau":
        h[ix.PLATEAU], h[ix.PL_PATIENCE] = 1.0, schedule.patience
        h[ix.PL_FACTOR], h[ix.PL_MIN_DELTA] = schedule.factor, schedule.min_delta
    if t.early_stopping is not None:
        e = t.early_stopping
        h[ix.ES_PATIENCE], h[ix.ES_MIN_DELTA], h[ix.ES_RESTORE] = e.patience, e.min_delta, float(e.restore_best)
    h[ix.PER_EPOCH] = per_epoch
    h[ix.HAS_VAL] = float(has_val)
    state = np.zeros(ix.STATE_SIZE)
    state[ix.ETA] = t.eta
    state[ix.PL_BEST] = state[ix.ES_BEST] = math.inf
    state[ix.BETA1_T] = state[ix.BETA2_T] = 1.0
    keep_best = t.early_stopping is not None and t.early_stopping.restore_best
    return Method(
        loss=t.loss, loss_code=LOSSES[t.loss].code, classify=classify, optimizer=t.optimizer,
        opt_code=optimizer.code, hyper=h, hp=hp, etas=eta_table(t.eta, math.ceil(total / per_epoch), schedule),
        log_every=int(log_every), total=int(total), batch=batch, state=state,
        moments=np.zeros((2, n_params if optimizer.slots else 0)),
        best_theta=np.zeros(n_params if keep_best else 0),
    )
