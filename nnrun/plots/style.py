"""What every picture shares: style, titles, log-axis labels, legends outside the data, saving.

Kept free of any other nnrun plotting module, so each family of pictures imports it and
nothing imports back.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from contextvars import ContextVar

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from nnrun.store.files import atomic_savefig, atomic_write  # noqa: E402

DPI = 150  # raster output: sharp in a report (was 110)
CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
# axes.titley fixed: matplotlib otherwise measures every tick label at each draw to lift the
# title over x tick labels on top, which no nnrun picture has
STYLE = {"figure.dpi": DPI, "savefig.dpi": DPI, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10,
         "axes.titley": 1.0}
# iterations in plain digits with thousands separators (1,000,000), never an offset "1e6"
ITERATION_FORMAT = FuncFormatter(lambda value, _pos=None: f"{value:,.0f}")


def iteration_axis(axis) -> None:
    """An axis of iterations: whole-number ticks only (a run of 2 iterations read "0 0 0 1 1 1"),
    placed as matplotlib's default places them on longer runs, in ITERATION_FORMAT."""
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))
    axis.set_major_formatter(ITERATION_FORMAT)

def describe(cfg, name: str | None = None) -> str:
    """One line saying what ran: name, architecture, activations, dropout, loss, optimizer,
    eta and its schedule, lambda, batch."""
    m, t = cfg.model, cfg.train
    act = m.activation if isinstance(m.activation, str) else "/".join(m.activation)
    drop = ""
    if any(p > 0 for p in m.dropout_rates):
        drop = f", dropout {m.dropout:g}" if not isinstance(m.dropout, list) else f", dropout {m.dropout}"
    optimizer = "" if t.optimizer == "sgd" else f", {t.optimizer}"
    schedule = "" if t.schedule.type == "constant" else f" ({t.schedule.type})"
    lam = f", λ={t.lambda_:g}" if t.lambda_ else ""
    batch = "" if t.batch_size == 1 else f", batch {t.batch_size}"
    return (f"{name or cfg.name}: {'-'.join(map(str, m.architecture))} {act}→{m.output}{drop}, "
            f"{t.loss.replace('_', '-')}{optimizer}, η={t.eta:g}{schedule}{lam}{batch}")


def thin_xy(x: np.ndarray, y: np.ndarray, points: int = 4000, how=None):
    """At most about ``points`` points of a long series (x, y), for a picture that could
    not show more; a series of ``points`` or fewer comes back as it is. Two ways:

    - ``how=None``: pick points, ``points`` indices spread evenly from the first to the
      last (every value drawn is one recorded);
    - ``how`` a NumPy reduction (``np.nanmax``, ``np.nanmean``): cut the series into bins
      of ceil(len / points) consecutive points and draw each bin's ``how`` at its first x,
      so a spike (nanmax) or the level (nanmean) between the kept points is not lost; an
      all-NaN bin stays NaN, and a last partial bin is kept point by point.
    """
    if len(x) <= points:
        return x, y
    if how is None:
        keep = np.unique(np.linspace(0, len(x) - 1, points).astype(int))
        return x[keep], y[keep]
    bins = int(np.ceil(len(x) / points))
    n = (len(x) // bins) * bins
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bin stays NaN
        yb = how(y[:n].reshape(-1, bins), axis=1)
    return np.concatenate([x[:n:bins], x[n:]]), np.concatenate([yb, y[n:]])


def plain(value, _pos=None) -> str:
    """A number in plain digits (0.01, 0.25, 1, 1e-05): one style, no mathtext to parse."""
    return f"{value:g}"


def label_log_axis(axis, lo: float, hi: float) -> None:
    """Enough labelled ticks on a log axis spanning [lo, hi] to read a value off it.

    Within ~1.3 decades the ticks are 'nice' linear steps (0.2, 0.25, 0.3, ...: a 0.25
    plateau gets its own tick); up to 3 decades 1, 2 and 5 x 10^k; beyond that the
    decades, at most ~8 of them labelled.
    """
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        return
    decades = np.log10(hi / lo)
    if decades <= 1.3:
        # steps of 1, 2.5 or 5 x 10^k (not 2): round values such as 0.25 stay ticks
        ticks = MaxNLocator(nbins=8, steps=[1, 2.5, 5, 10]).tick_values(lo, hi)
        ticks = ticks[(ticks >= lo) & (ticks <= hi) & (ticks > 0)]
        if len(ticks) and ticks[0] / lo > 2:
            # linear steps leave the bottom of a log axis bare (0.05 .. 0.9 labelled only 0.25, 0.5,
            # 0.75): finer nice values below the first tick, each at least 1.5 times below the last
            finer = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, ticks[0])
            kept = [float(ticks[0])]
            for value in finer[::-1]:
                if lo <= value <= kept[-1] / 1.5:
                    kept.append(float(value))
            ticks = np.concatenate([np.array(kept[:0:-1]), ticks])
        if len(ticks) < 2:
            ticks = np.array([lo, hi])
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(LogLocator(subs="all"))
        axis.set_minor_formatter(NullFormatter())
    elif decades <= 3:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(LogLocator(subs="all"))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(LogLocator(numticks=9))
        axis.set_minor_locator(LogLocator(subs="all", numticks=9))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(plain))


def legend_outside(ax, handles, **kwargs):
    """A legend beside the axes (never over the data): to the right, top-aligned."""
    return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize=8, framealpha=0.9, **kwargs)


def save_options(path) -> dict:
    """savefig options for formats other than PNG (PNGs go through :mod:`nnrun.plots.png`)."""
    return {"dpi": DPI}


# while capture_figures() runs: the figures the pictures would have saved, kept instead
_CAPTURED: ContextVar[list | None] = ContextVar("nnrun_captured_figures", default=None)


@contextmanager
def capture_figures():
    """Inside ``with capture_figures() as figures:`` a picture function saves nothing: each
    figure it would have saved is appended to ``figures`` (and let go by pyplot, so a
    notebook does not show it twice). How ``Run.figure(name)`` returns a picture's Figure
    with the very code that draws its file."""
    figures: list = []
    token = _CAPTURED.set(figures)
    try:
        yield figures
    finally:
        _CAPTURED.reset(token)


def capturing() -> bool:
    return _CAPTURED.get() is not None


def save_figure(fig, path) -> None:
    """Write atomically at the style's resolution (vector formats ignore it).

    PNG: Agg's pixels written by :func:`nnrun.plots.png.figure_png` (unfiltered rows,
    zlib level 1: the same image in half Pillow's time); other formats: savefig.
    Inside :func:`capture_figures`: nothing is written, the figure is kept.
    """
    captured = _CAPTURED.get()
    if captured is not None:
        captured.append(fig)
        return
    _drop_finished_layout(fig)
    if str(path).endswith(".png"):
        from nnrun.plots.png import figure_png

        png = figure_png(fig, DPI)
        if png is not None:
            atomic_write(path, png)
            return
    atomic_savefig(fig, path, **save_options(path))


def _drop_finished_layout(fig) -> None:
    """Forget a layout already done. ``fig.tight_layout()`` leaves a placeholder layout engine
    behind, and savefig then draws the whole figure twice, the first time unseen, only to
    lay it out again (a third of the heatmaps' time); without it, savefig draws once, the
    same pixels. An engine that still lays out (constrained, tight) is kept."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        import matplotlib

        if not (matplotlib.rcParams["figure.autolayout"] or matplotlib.rcParams["figure.constrained_layout.use"]):
            fig.set_layout_engine(None)  # None, with neither rc setting on: no engine at all


def save(fig, path) -> None:
    """:func:`save_figure`, then close the figure."""
    import matplotlib.pyplot as plt

    save_figure(fig, path)
    plt.close(fig)


def legend_below(ax, handles, **kwargs):
    """A legend under the axes in one row (where a colour bar holds the space to the right)."""
    return ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=min(len(handles), 6),
                     fontsize=8, frameon=False, **kwargs)
