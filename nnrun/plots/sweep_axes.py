"""How a sweep's axes read in every sweep picture: a cell's value as text, one tick-label
style per axis, how many seeds share a value, and which metric panels the results have.

Shared by the results pictures (:mod:`nnrun.plots.heatmaps`, the metrics picture in
:mod:`nnrun.plots.sweep`) and the learning curves (:mod:`nnrun.plots.sweep_curves`);
imports none of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnrun.maths.metrics import METRICS

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# the validation accuracy first where there is one: it chooses the best cell (sweep.best_row)
PANELS = [("val_accuracy", "validation accuracy: chooses the best cell", True), ("test_accuracy", "test accuracy", True),
          ("train_accuracy", "train accuracy", True), ("train_loss", "final training loss", False)]


def label(value) -> str:
    """A value of an axis as the key its cells are grouped by (and the legend's text)."""
    if isinstance(value, float):
        return f"{value:.0e}" if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e3) else f"{value:.3g}"
    return str(value)


def parse(value):
    """A value read back from results.csv: a number where it is one, else as it is."""
    try:
        return float(value) if not isinstance(value, (int, float)) else value
    except (TypeError, ValueError):
        return value


def axis_labels(values) -> list[str]:
    """Tick labels for one axis, all in one style: powers of ten as 10⁻⁵ … 10¹ when every
    value is one, else plain digits (0.05, 0.5, 20; three significant ones when the values
    span more than two decades), else, when plain digits would need an exponent for one of
    them or would make two values look alike, one scientific style (1.0e-05)."""
    try:
        v = np.array(values, dtype=float)
    except (TypeError, ValueError):
        return [str(x) for x in values]
    if np.all(v > 0):
        exponents = np.log10(v)
        if np.allclose(exponents, np.round(exponents), atol=1e-9):
            return ["10" + str(int(round(e))).translate(_SUPERSCRIPT) for e in exponents]
        if v.max() / v.min() > 100:
            short = [f"{x:.3g}" for x in v]  # 0.05 … 20 reads better than 5.0e-02 … 2.0e+01
            if any("e" in x for x in short) or len(set(short)) < len(short):
                return [f"{x:.1e}" for x in v]
            return short
    return [f"{x:g}" for x in v]


def repeats_per_value(results: pd.DataFrame, key: str) -> int:
    """How many cells share one value of a one-axis sweep's axis: its seeds (1 when the
    axis is the seed itself)."""
    if results.empty or key not in results:
        return 1
    return int(results[key].map(lambda x: label(parse(x))).value_counts().max())


def metric_panels(results: pd.DataFrame, chosen=None) -> list[tuple[str, str, bool]]:
    """The panels (metric, title, higher is better) that the results have numbers for: those
    of ``chosen`` (``sweep.metrics``, metric keys) when given, else those of PANELS."""
    titles = {metric: title for metric, title, _ in PANELS}
    candidates = PANELS if not chosen else [
        (m, titles.get(m, f"final {METRICS[m].label}"), METRICS[m].higher_is_better) for m in chosen]
    out = []
    for metric, title, higher in candidates:
        if metric in results and pd.to_numeric(results[metric], errors="coerce").notna().any():
            out.append((metric, title, higher))
    return out


def curve_losses(chosen=None) -> list[str] | None:
    """The held-out losses a sweep's learning curves draw beside the training loss: those
    of ``chosen`` (``sweep.metrics``) in validation, test order; None when it names none
    (the curves then choose: the validation loss, else the test loss)."""
    picked = [m for m in ("val_loss", "test_loss") if m in (chosen or ())]
    return picked or None
