"""Pictures of a run: loss curve, data, decision regions.

Every plot is a function ``plot_<what>(..., path)`` drawn from what a run folder holds
(config, history, network, data), so ``nnrun plot`` can redraw any run without
training. Adding a plot is one function here and one line in :func:`draw_run`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from nnrun.rundir import atomic_savefig  # noqa: E402

CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10}


def describe(cfg) -> str:
    """One line saying what ran: name, architecture, activations, loss, eta, lambda, batch."""
    m, t = cfg.model, cfg.train
    act = m.activation if isinstance(m.activation, str) else "/".join(m.activation)
    lam = f", λ={t.lambda_:g}" if t.lambda_ else ""
    batch = "" if t.batch_size == 1 else f", batch {t.batch_size}"
    return (f"{cfg.name}: {'-'.join(map(str, m.architecture))} {act}→{m.output}, "
            f"{t.loss.replace('_', '-')}, η={t.eta:g}{lam}{batch}")


def _envelope(x: np.ndarray, y: np.ndarray, points: int = 4000):
    """Thin a long series to ~points while keeping each bin's min and max (the visible band)."""
    if len(x) <= points:
        return x, y
    bins = len(x) // (points // 2)
    n = (len(x) // bins) * bins
    xb, yb = x[:n].reshape(-1, bins), y[:n].reshape(-1, bins)
    lo, hi = np.nanargmin(np.where(np.isnan(yb), np.inf, yb), axis=1), np.nanargmax(np.where(np.isnan(yb), -np.inf, yb), axis=1)
    rows = np.arange(len(xb))
    first = np.minimum(lo, hi)
    second = np.maximum(lo, hi)
    xs = np.column_stack([xb[rows, first], xb[rows, second]]).ravel()
    ys = np.column_stack([yb[rows, first], yb[rows, second]]).ravel()
    return np.concatenate([xs, x[n:]]), np.concatenate([ys, y[n:]])


def _loss_tick(value, _pos=None) -> str:
    """A log-axis label in plain digits (0.01, 1, 1e-05): no mathtext to parse per label."""
    return f"{value:g}"


class _LossFigure:
    """The loss figure, built once per process and redrawn for every run.

    A sweep worker draws dozens of loss plots; building a figure and the ticks of its
    log axis cost more than drawing it. Everything a plot shows is set again on each
    use (data, scale, limits, labels, title, legend), so a redrawn figure is the same
    as a fresh one (tests/test_train_cli.py checks it pixel by pixel).
    """

    def __init__(self):
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter

        self.fig = Figure(figsize=(7, 4.2), dpi=STYLE["figure.dpi"])
        # fixed margins: tight_layout measures every log-axis tick label (slow)
        self.fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.91)
        self.ax = ax = self.fig.add_subplot()
        ax.grid(True, alpha=STYLE["grid.alpha"])
        self.lines = {column: ax.plot([], [], lw=0.8, color=colour, label=f"{label} loss")[0]
                      for column, label, colour in (("train_loss", "training", "C0"), ("test_loss", "test", "C1"))}
        self.log_formatter = FuncFormatter(_loss_tick)
        self.minor_formatter = FuncFormatter(self._minor_tick)

    def _minor_tick(self, value, _pos=None) -> str:
        """Minor ticks get labels when few decades show: 2, 3 and 5 x 10^k within 2 decades,
        all of them within 0.4 (as matplotlib's own log formatter decides)."""
        lo, hi = self.ax.get_ylim()
        if not (lo > 0 and hi / lo <= 100.0):
            return ""
        mantissa = round(value / 10.0 ** np.floor(np.log10(value) + 1e-9))
        return _loss_tick(value) if (hi / lo <= 10.0 ** 0.4 or mantissa in (2, 3, 5)) else ""

    def draw(self, history, cfg, path, status: str) -> None:
        ax = self.ax
        ax.set_yscale("linear")  # while the data change: a log axis rejects empty or zero ranges
        it = history["iteration"].to_numpy(dtype=float)
        shown = []
        for column, line in self.lines.items():
            y = history[column].to_numpy(dtype=float)
            if np.isfinite(y).any():
                xs, ys = _envelope(it, y)
                # a log axis cannot place 0, inf, or (in matplotlib's tick maths) 1e300
                line.set_data(xs, np.where((ys > 0) & (ys < 1e200), ys, np.nan))
                shown.append(line)
            else:
                line.set_data([], [])
        ax.relim(visible_only=True)
        ax.autoscale_view()
        if shown:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(self.log_formatter)
            ax.yaxis.set_minor_formatter(self.minor_formatter)
        ax.set_xlabel("iteration", fontsize=STYLE["font.size"])
        ax.set_ylabel(f"{cfg.train.loss.replace('_', ' ')} loss (mean over samples)", fontsize=STYLE["font.size"])
        title = describe(cfg)
        if status != "completed":
            title += f"  [{status.upper()}]"
        ax.set_title(title, fontsize=9)
        if ax.get_legend():  # with nothing to show, the last run's legend must not stay
            ax.get_legend().remove()
        if shown:
            ax.legend(handles=shown, fontsize=STYLE["font.size"])
        atomic_savefig(self.fig, path)


_LOSS_FIGURE: list[_LossFigure] = []


def plot_loss(history, cfg, path, status: str = "completed") -> None:
    """Training (and test) loss against iteration, log y axis."""
    if not _LOSS_FIGURE:
        _LOSS_FIGURE.append(_LossFigure())
    try:
        _LOSS_FIGURE[0].draw(history, cfg, path, status)
    except BaseException:
        _LOSS_FIGURE.clear()  # never reuse a figure left half-drawn
        raise


def _scatter(ax, data):
    """Training points as filled circles, test points as crosses, one colour per class."""
    classify = data.task == "classification"
    for X, labels, marker, label in ((data.raw_train, data.labels_train, "o", "train"),
                                     (data.raw_test, data.labels_test, "X", "test")):
        if len(X) == 0:
            continue
        if classify:
            colours = [CLASS_COLOURS[int(k) % len(CLASS_COLOURS)] for k in labels]
            ax.scatter(X[:, 0], X[:, 1], c=colours, marker=marker, s=28 if marker == "o" else 40,
                       edgecolors="k", linewidths=0.5, label=label, zorder=3)
        else:
            ax.scatter(X[:, 0], X[:, 1], c=labels, marker=marker, cmap="viridis", s=28,
                       edgecolors="k", linewidths=0.5, label=label, zorder=3)
    if classify:
        handles = [plt.Line2D([], [], marker="o", ls="", color=CLASS_COLOURS[k % len(CLASS_COLOURS)],
                              markeredgecolor="k", label=f"class {name}")
                   for k, name in enumerate(data.class_names)]
        if len(data.raw_test):
            handles += [plt.Line2D([], [], marker="o", ls="", color="w", markeredgecolor="k", label="train"),
                        plt.Line2D([], [], marker="X", ls="", color="w", markeredgecolor="k", label="test")]
        # a fixed place: loc="best" scans every cell of the region plot (seconds)
        ax.legend(handles=handles, fontsize=8, loc="upper right", framealpha=0.85)
    names = data.feature_names
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])


def plot_data(data, cfg, path) -> None:
    """The data in its original coordinates."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 5))
        _scatter(ax, data)
        ax.set_title(f"{cfg.name}: data ({cfg.data.source}, {len(data.raw_train)} train"
                     f"{f', {len(data.raw_test)} test' if len(data.raw_test) else ''})", fontsize=9)
        fig.tight_layout()
        atomic_savefig(fig, path)
        plt.close(fig)


def _grid(data, resolution):
    X = np.vstack([data.raw_train, data.raw_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    return G0, G1, np.column_stack([G0.ravel(), G1.ravel()])


def plot_regions(network, data, cfg, path, accuracy: str = "") -> None:
    """Decision regions over the data's range, in the ORIGINAL coordinates.

    Grid points go through the run's fitted transforms, then the network. Several
    outputs: each point shaded by its largest output (class). One output: a map of
    a_L (the probability for a sigmoid unit) with a colour bar and the 0.5 contour.
    """
    resolution = 400 if network.theta.size < 5000 else 250
    G0, G1, grid = _grid(data, resolution)
    out = network.predict(data.transform(grid))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.2, 5.2))
        if out.shape[1] > 1:
            k = out.shape[1]
            cmap = ListedColormap([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(k)])
            ax.pcolormesh(G0, G1, out.argmax(axis=1).reshape(G0.shape), cmap=cmap, vmin=-0.5,
                          vmax=k - 0.5, alpha=0.35, shading="auto", rasterized=True)
        else:
            P = out[:, 0].reshape(G0.shape)
            classify = data.task == "classification"
            bounded = cfg.model.output == "sigmoid"
            levels = np.linspace(0, 1, 21) if bounded else 20
            cs = ax.contourf(G0, G1, P, levels=levels, cmap="RdBu_r" if classify else "viridis", alpha=0.75)
            label = "predicted probability of class " + data.class_names[-1] if (classify and bounded) else "network output"
            fig.colorbar(cs, ax=ax, label=label)
            if classify and np.nanmin(P) < 0.5 < np.nanmax(P):
                ax.contour(G0, G1, P, levels=[0.5], colors="k", linewidths=1.0)
        _scatter(ax, data)
        ax.set_xlim(G0.min(), G0.max())
        ax.set_ylim(G1.min(), G1.max())
        ax.set_title(describe(cfg) + (f"\n{accuracy}" if accuracy else ""), fontsize=9)
        fig.tight_layout()
        atomic_savefig(fig, path)
        plt.close(fig)


def accuracy_line(metrics: dict) -> str:
    parts = []
    for key, label in (("train_accuracy", "train acc"), ("test_accuracy", "test acc")):
        if metrics.get(key) is not None:
            parts.append(f"{label} {metrics[key]:.3f}")
    if metrics.get("status") not in (None, "completed"):
        parts.append(metrics["status"].upper())
    return ", ".join(parts)


def draw_run(run_dir, cfg, history, network, data, metrics: dict, fmt: str = "png") -> list[Path]:
    """Draw every plot of a run folder; returns the files written."""
    run_dir = Path(run_dir)
    written = []
    path = run_dir / f"loss.{fmt}"
    plot_loss(history, cfg, path, metrics.get("status", "completed"))
    written.append(path)
    if data is not None and data.n_features == 2:
        for name, draw in (("data", lambda p: plot_data(data, cfg, p)),
                           ("regions", lambda p: plot_regions(network, data, cfg, p, accuracy_line(metrics)))):
            path = run_dir / f"{name}.{fmt}"
            draw(path)
            written.append(path)
    return written
