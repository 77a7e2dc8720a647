"""Curves against iteration: the loss (log y axis) and the accuracy.

Both draw the validation columns (``val_loss``, ``val_accuracy``) when history.csv has
them and skip them when it does not. Only finite records are drawn, up to the last one,
so a diverged run shows everything it recorded before it blew up.
"""

from __future__ import annotations

import numpy as np

from nnrun.plots.style import DPI, STYLE, capturing, describe, iteration_axis, label_log_axis, legend_outside, save, save_figure
from nnrun.plots.view import Picture

SERIES = (("train", "training", "C0"), ("val", "validation", "C2"), ("test", "test", "C1"))
# a log axis cannot place 0 or inf; with nnrun's own tick locator it places anything below
# ~1e300 (matplotlib's default locator overflowed far earlier, which cut diverged curves short)
LOG_CEILING = 1e295


def _envelope(x: np.ndarray, y: np.ndarray, points: int = 4000):
    """Thin a long series to ~points while keeping each bin's min and max (the visible band).

    NaN records are dropped first, so a bin never loses its finite values to them and the
    curve reaches the last finite record.
    """
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) <= points:
        return x, y
    bins = len(x) // (points // 2)
    n = (len(x) // bins) * bins
    xb, yb = x[:n].reshape(-1, bins), y[:n].reshape(-1, bins)
    lo, hi = yb.argmin(axis=1), yb.argmax(axis=1)
    rows = np.arange(len(xb))
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    xs = np.column_stack([xb[rows, first], xb[rows, second]]).ravel()
    ys = np.column_stack([yb[rows, first], yb[rows, second]]).ravel()
    return np.concatenate([xs, x[n:]]), np.concatenate([ys, y[n:]])


def loggable(history, column: str):
    """(iterations, values) of a column that a log axis can show: finite, > 0, < 1e295."""
    if column not in history:
        return np.empty(0), np.empty(0)
    it = history["iteration"].to_numpy(dtype=float)
    y = history[column].to_numpy(dtype=float)
    y = np.where((y > 0) & (y < LOG_CEILING), y, np.nan)
    return _envelope(it, y)


def _status_title(cfg, name, status: str) -> str:
    title = describe(cfg, name)
    return title + (f"  [{status.upper()}]" if status not in ("completed", None) else "")


class _LossFigure:
    """The loss figure, built once per process and redrawn for every run.

    A sweep worker draws dozens of loss plots; building a figure and the ticks of its
    log axis cost more than drawing it. Everything a plot shows is set again on each
    use (data, scale, limits, ticks, labels, title, legend), so a redrawn figure is the
    same as a fresh one (tests/test_train_cli.py checks it pixel by pixel).
    """

    def __init__(self):
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(7.6, 4.2), dpi=DPI)
        # fixed margins: tight_layout measures every log-axis tick label (slow)
        # left: room for tick labels of 7 characters (0.25925) beside the two-line y label
        self.fig.subplots_adjust(left=0.14, right=0.80, bottom=0.12, top=0.91)
        self.ax = ax = self.fig.add_subplot()
        ax.grid(True, alpha=STYLE["grid.alpha"])
        self.lines = {f"{key}_loss": ax.plot([], [], lw=0.9, color=colour, label=f"{label} loss")[0]
                      for key, label, colour in SERIES}
        self.diverged = ax.axvline(0, color="#a00000", ls=":", lw=1, label="diverged")
        # early stopping: the weights kept (the best iteration) and where training stopped
        self.best = ax.axvline(0, color="#2ca02c", ls=":", lw=1.2)
        self.stopped = ax.axvline(0, color="0.35", ls="--", lw=0.9)

    def draw(self, history, cfg, path, status: str, name: str | None = None, diverged_at=None,
             early_stopping: dict | None = None) -> None:
        ax = self.ax
        ax.set_yscale("linear")  # while the data change: a log axis rejects empty or zero ranges
        shown, lo, hi, last = [], np.inf, 0.0, 0.0
        for column, line in self.lines.items():
            xs, ys = loggable(history, column)
            line.set_data(xs, ys)
            line.set_marker("o" if len(ys) == 1 else "None")  # one finite record: a point, not an invisible line
            line.set_markersize(4)
            line.set_clip_on(len(ys) != 1)  # whole, over the spine, at iteration 0
            if len(ys):
                shown.append(line)
                lo, hi, last = min(lo, ys.min()), max(hi, ys.max()), max(last, xs.max())
        self.diverged.set_visible(diverged_at is not None)
        right = 1.0
        if diverged_at is not None:
            self.diverged.set_xdata([diverged_at, diverged_at])
            self.diverged.set_label(f"diverged at {diverged_at:,.0f}")
            shown.append(self.diverged)
            last = max(last, float(diverged_at))
            # off the right spine: a run that diverged at its last record drew the mark on the frame
            right = max(right, float(diverged_at) * 1.06 + 0.5)
        stops = early_stopping or {}
        for line, key, text in ((self.best, "best_iteration", "best"),
                                (self.stopped, "stopped_at", "stopped")):
            at = stops.get(key)
            line.set_visible(at is not None)
            if at is not None:
                line.set_xdata([at, at])
                line.set_label(f"{text}: {at:,.0f}" + ("\n(weights kept)" if line is self.best else ""))
                shown.append(line)
                last = max(last, float(at))
        ax.set_xlim(0, max(max(last, 1.0) * 1.01, right))
        if np.isfinite(lo):
            ax.set_yscale("log")
            pad = (hi / lo) ** 0.04 if hi > lo else 1.5
            bottom, top = lo / pad, min(hi * pad, 1e300)
            ax.set_ylim(bottom, top)
            label_log_axis(ax.yaxis, bottom, top)
        iteration_axis(ax.xaxis)
        ax.set_xlabel("iteration", fontsize=STYLE["font.size"])
        # two lines: on one, the label ran up past the axes into the title
        ax.set_ylabel(f"{cfg.train.loss.replace('_', ' ')} loss\n(mean over samples, log scale)",
                      fontsize=STYLE["font.size"])
        ax.set_title(_status_title(cfg, name, status), fontsize=9)
        if ax.get_legend():  # with nothing to show, the last run's legend must not stay
            ax.get_legend().remove()
        if shown:
            legend_outside(ax, shown)
        save_figure(self.fig, path)


_LOSS_FIGURE: list[_LossFigure] = []


def plot_loss(history, cfg, path, status: str = "completed", name: str | None = None, diverged_at=None,
              early_stopping: dict | None = None) -> None:
    """Training (validation, test) loss against iteration, log y axis; with ``early_stopping``
    (metrics.json's) the best iteration (the weights kept) and the stop marked."""
    if capturing():  # a Figure handed to the caller (Run.figure): its own, never the shared one
        with np.errstate(over="ignore", invalid="ignore"):
            _LossFigure().draw(history, cfg, path, status, name, diverged_at, early_stopping)
        return
    if not _LOSS_FIGURE:
        _LOSS_FIGURE.append(_LossFigure())
    try:  # matplotlib's tick maths overflows harmlessly near 1e300 (a diverged run)
        with np.errstate(over="ignore", invalid="ignore"):
            _LOSS_FIGURE[0].draw(history, cfg, path, status, name, diverged_at, early_stopping)
    except BaseException:
        _LOSS_FIGURE.clear()  # never reuse a figure left half-drawn
        raise


def _draw_loss(run, path):
    plot_loss(run.history, run.cfg, path, run.status, run.name, run.metrics.get("diverged_at"),
              run.metrics.get("early_stopping"))


def has_accuracy(history) -> bool:
    return any(np.isfinite(history[f"{key}_accuracy"].to_numpy(dtype=float)).any()
               for key, _, _ in SERIES if f"{key}_accuracy" in history)


def plot_accuracy(history, cfg, path, status: str = "completed", name: str | None = None,
                  n_classes: int = 0) -> None:
    """Training, validation and test accuracy against iteration (chance level dashed)."""
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 4.2))
        handles, lo = [], 1.0
        it = history["iteration"].to_numpy(dtype=float)
        # accuracies often coincide (both at 1.0): each later line narrower, drawn over a
        # wider one, so the one beneath still shows as a border
        widths = {"train": 2.6, "val": 1.7, "test": 1.0}
        for key, label, colour in SERIES:
            column = f"{key}_accuracy"
            if column not in history:
                continue
            values = history[column].to_numpy(dtype=float)
            xs, ys = _envelope(it, values)  # a million records: each bin's band
            if not len(ys):
                continue
            lo = min(lo, float(ys.min()))
            window = smoothing_window(ys, len(values))
            if window:  # records that flip at every step (10 points, one sample a step): pale, their mean bold
                ax.plot(xs, ys, lw=0.5, color=colour, alpha=0.3)
                handles += ax.plot(*running_mean(it, values, window), lw=widths[key], color=colour,
                                   label=f"{label} accuracy,\nmean of {window:,} records")
                handles += ax.plot([], [], lw=2.0, color=colour, alpha=0.3, label="each record")
            else:
                handles += ax.plot(xs, ys, lw=widths[key], color=colour, label=f"{label} accuracy")
        if n_classes >= 2:
            handles.append(ax.axhline(1.0 / n_classes, color="0.4", ls="--", lw=0.8,
                                      label=f"chance (1/{n_classes})"))
            lo = min(lo, 1.0 / n_classes)
        ax.set_ylim(max(0.0, lo - 0.05), 1.02)  # a line at 1.0 clear of the frame
        ax.set_xlim(left=0)
        iteration_axis(ax.xaxis)
        ax.set_xlabel("iteration")
        ax.set_ylabel("accuracy (share classified correctly)")
        ax.set_title(_status_title(cfg, name, status), fontsize=9)
        if handles:
            legend_outside(ax, handles)
        fig.subplots_adjust(left=0.11, right=0.76, bottom=0.12, top=0.91)
        save(fig, path)


def smoothing_window(thinned: np.ndarray, records: int) -> int:
    """The running mean's window (records) for an accuracy that jumps up and down, else 0.

    Jumpy: the drawn line travels more than 20 times its range (E1's accuracy over ten points
    flips between 0.5 and 0.8 at every step, and a bold line of it is a solid block; a curve
    that climbs travels about its range once)."""
    if not np.isfinite(thinned).any():
        return 0
    span = float(np.nanmax(thinned) - np.nanmin(thinned))
    travel = float(np.nansum(np.abs(np.diff(thinned))))
    if records < 200 or span <= 0 or travel <= 20 * span:
        return 0
    return max(5, records // 100)


def running_mean(it: np.ndarray, values: np.ndarray, window: int, points: int = 2000):
    """(iterations, the mean of the ``window`` records around each), finite records only, at
    most ``points`` of them (a mean is smooth: every k-th shows it)."""
    import pandas as pd

    keep = np.isfinite(values)
    x, mean = it[keep], pd.Series(values[keep]).rolling(window, center=True, min_periods=1).mean().to_numpy()
    step = max(1, len(x) // points)
    return np.append(x[::step], x[-1]), np.append(mean[::step], mean[-1])


def _draw_accuracy(run, path):
    plot_accuracy(run.history, run.cfg, path, run.status, run.name, run.data.n_classes if run.data else 0)


# this family's pictures, name -> Picture(applies, draw), in the order they are drawn
PICTURES: dict[str, Picture] = {
    "loss": Picture(lambda run: True, _draw_loss),
    "accuracy": Picture(lambda run: run.classify and has_accuracy(run.history), _draw_accuracy),
}
