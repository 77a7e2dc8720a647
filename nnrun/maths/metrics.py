"""The metrics table: every number nnrun reports about a run, once.

Each :class:`Metric` says what it is (its key in metrics.json, results.csv and
history.csv), what a page calls it, which way is better, which tasks have it, and whether
it is recorded during training (a history column). The history's columns, a sweep's
results columns, the run pages' metric rows, ``nnrun runs``' columns, the best cell's
choice and the best records kept while training all read it; nothing else says whether a
larger value is better.

The measures themselves: a loss is the mean of the training loss over a set (the penalty
apart); accuracy is the share of samples whose largest output (one sigmoid unit: a_L >= 0.5)
is the true class; R² = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2 (several targets: the mean of
their R²).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CLASSIFICATION, REGRESSION = "classification", "regression"
BOTH = (CLASSIFICATION, REGRESSION)


@dataclass(frozen=True)
class Metric:
    key: str  # metrics.json, results.csv and history.csv
    label: str  # as a page says it
    higher_is_better: bool
    tasks: tuple = BOTH
    recorded: bool = False  # a history column, recorded every log_every iterations
    #: a final-only metric's value, ``final(run)`` (run.net, run.data, run.cfg, run.so_far: the
    #: metrics computed before it); recorded metrics come from the engine's evaluation
    final: Callable | None = None

    @property
    def split(self) -> str | None:
        """'train', 'val' or 'test' for a measure on one set; None for the others."""
        head = self.key.split("_", 1)[0]
        return head if head in ("train", "val", "test") else None

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b


def r2_score(y, y_hat) -> float | None:
    """R² = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2; None for fewer than two values or a constant y.

    For several targets (y and y_hat of shape (N, k), k > 1) the mean of the k targets' R²
    (scikit-learn's ``multioutput="uniform_average"``); None when any target's R² is (a
    constant target: scikit-learn would count it as 0 or 1)."""
    if y.ndim == 2:
        if y.shape[1] == 1:
            return r2_score(y[:, 0], y_hat[:, 0])
        each = [r2_score(y[:, k], y_hat[:, k]) for k in range(y.shape[1])]
        return None if any(r is None for r in each) else sum(each) / len(each)
    if len(y) < 2:
        return None
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return None if ss_tot == 0 else 1.0 - float(((y - y_hat) ** 2).sum()) / ss_tot


def _r2_on(split: str) -> Callable:
    def r2(run):
        X, Y = getattr(run.data, f"X_{split}"), getattr(run.data, f"Y_{split}")
        return r2_score(Y, run.net.predict(X)) if len(X) else None

    return r2


# In history.csv's and results.csv's column order.
METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("train_loss", "training loss", False, recorded=True),
    Metric("test_loss", "test loss", False, recorded=True),
    Metric("train_accuracy", "training accuracy", True, (CLASSIFICATION,), recorded=True),
    Metric("test_accuracy", "test accuracy", True, (CLASSIFICATION,), recorded=True),
    Metric("val_loss", "validation loss", False, recorded=True),
    Metric("val_accuracy", "validation accuracy", True, (CLASSIFICATION,), recorded=True),
    Metric("train_r2", "training R²", True, (REGRESSION,), final=_r2_on("train")),
    Metric("test_r2", "test R²", True, (REGRESSION,), final=_r2_on("test")),
    Metric("penalty", "L2 penalty (λ/2)Σ‖W‖²", False, final=lambda run: run.net.penalty(run.cfg.train.lambda_)),
    Metric("objective", "objective (training loss + penalty)", False,
           final=lambda run: run.so_far["train_loss"] + run.so_far["penalty"]),
]}

#: what training records, in history.csv's order (between 'iteration' and 'eta', 'seconds')
RECORDED = [m.key for m in METRICS.values() if m.recorded]
#: a measure on one set (train, validation, test): results.csv's and ``nnrun runs``' metrics
PER_SET = [m.key for m in METRICS.values() if m.split is not None]
_KIND_ORDER, _SPLIT_ORDER = ("loss", "accuracy", "r2"), ("train", "val", "test")


def page_order(keys) -> list[str]:
    """Keys as a reader wants them: losses, accuracies, R², the rest; train, validation, test."""
    def rank(key):
        m = METRICS[key]
        kind = key.split("_", 1)[-1] if m.split else ""
        return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER),
                _SPLIT_ORDER.index(m.split) if m.split else 0)

    return sorted(keys, key=rank)


def higher_is_better(key: str) -> bool:
    """For a metric's key, or a derived column ('test_accuracy_mean'): whether larger is better."""
    if key in METRICS:
        return METRICS[key].higher_is_better
    base = next((k for k in sorted(METRICS, key=len, reverse=True) if key.startswith(k)), None)
    return METRICS[base].higher_is_better if base else False
