"""Learning-rate schedules: the eta in force at each iteration.

An epoch is ``ceil(N / batch)`` iterations (one pass for ``sampling: epoch``; the same
count of draws for ``sampling: random``). Iteration k (from 1) lies in epoch
e = (k - 1) // iterations_per_epoch, and runs with::

    constant      eta_e = eta
    step          eta_e = eta * gamma ^ floor(e / step_size)
    exponential   eta_e = eta * gamma ^ e
    inverse_time  eta_e = eta / (1 + decay * e)
    plateau       eta is divided by ``factor`` each time the monitored loss (the validation
                  loss, else the training loss) has gone ``patience`` records without
                  improving by more than ``min_delta`` (scikit-learn's ``adaptive``,
                  PyTorch's ReduceLROnPlateau with threshold_mode='abs')

The first four are tables of one eta per epoch, computed once here and shared by every
engine, so the engines use the very same numbers. ``plateau`` reacts to the recorded
losses, so the engines run it in their loops (:func:`nnrun.engines.reference.observe`).

Where to add a schedule: one model below and one entry in :data:`SCHEDULES` (its
table and its ``torch.optim.lr_scheduler`` counterpart for the twin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class _Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class Constant(_Schedule):
    type: Literal["constant"] = "constant"


class Step(_Schedule):
    type: Literal["step"] = "step"
    step_size: int = Field(gt=0, description="epochs between reductions")
    gamma: float = Field(0.1, gt=0.0, description="factor applied every step_size epochs")


class Exponential(_Schedule):
    type: Literal["exponential"] = "exponential"
    gamma: float = Field(gt=0.0, description="factor applied every epoch")


class InverseTime(_Schedule):
    type: Literal["inverse_time"] = "inverse_time"
    decay: float = Field(gt=0.0, description="eta / (1 + decay * epoch)")


class Plateau(_Schedule):
    type: Literal["plateau"] = "plateau"
    patience: int = Field(10, ge=1, description="records without improvement before eta is divided")
    factor: float = Field(10.0, gt=1.0, description="eta is divided by this")
    min_delta: float = Field(0.0, ge=0.0, description="an improvement must beat the best by more than this")


def constant_table(eta, epochs, s):
    return np.full(epochs, eta)


def step_table(eta, epochs, s):
    return eta * s.gamma ** (np.arange(epochs) // s.step_size).astype(np.float64)


def exponential_table(eta, epochs, s):
    return eta * s.gamma ** np.arange(epochs, dtype=np.float64)


def inverse_time_table(eta, epochs, s):
    return eta / (1.0 + s.decay * np.arange(epochs, dtype=np.float64))


def _torch_step(torch, optimizer, s):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=s.step_size, gamma=s.gamma)


def _torch_exponential(torch, optimizer, s):
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=s.gamma)


def _torch_inverse_time(torch, optimizer, s):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + s.decay * epoch))


def _torch_plateau(torch, optimizer, s):
    # torch reduces once more than `patience` records have not improved: patience - 1 there is
    # nnrun's "after `patience` records"; eps=0 so that no reduction is ever skipped
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=1.0 / s.factor, patience=s.patience - 1, threshold=s.min_delta,
        threshold_mode="abs", cooldown=0, min_lr=0.0, eps=0.0)


@dataclass(frozen=True)
class Schedule:
    """One schedule: its config ``model``, the per-epoch ``table`` (None: it reacts to the
    recorded loss) and the ``torch`` factory (None: constant)."""

    model: type
    table: Callable | None
    torch: Callable | None


SCHEDULES: dict[str, Schedule] = {
    "constant": Schedule(Constant, constant_table, None),
    "step": Schedule(Step, step_table, _torch_step),
    "exponential": Schedule(Exponential, exponential_table, _torch_exponential),
    "inverse_time": Schedule(InverseTime, inverse_time_table, _torch_inverse_time),
    "plateau": Schedule(Plateau, None, _torch_plateau),
}


def eta_table(eta: float, epochs: int, schedule) -> np.ndarray:
    """eta for each epoch 0 .. epochs-1 (plateau: the starting eta, changed in the loop)."""
    table = SCHEDULES[schedule.type].table or constant_table
    return np.ascontiguousarray(table(float(eta), max(int(epochs), 1), schedule), dtype=np.float64)
