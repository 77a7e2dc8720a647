"""The pictures of a sweep folder, and the one-axis results picture.

``draw_sweep`` draws them: the results picture, ``heatmaps.png`` for two or more axes
(:mod:`nnrun.plots.heatmaps`) or ``metrics.png`` for one (here: each metric against the
axis' value, on a log x axis when the values are positive and span more than a decade),
and ``curves.png``, the cells' learning curves (:mod:`nnrun.plots.sweep_curves`). How a
sweep's values read (``label``, ``axis_labels``, ``repeats_per_value``) is in
:mod:`nnrun.plots.sweep_axes`, importable from here too.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nnrun.plots.heatmaps import heatmaps  # noqa: E402
from nnrun.plots.style import STYLE, label_log_axis, save_figure  # noqa: E402
from nnrun.plots.sweep_axes import PANELS, axis_labels, label, metric_panels, parse, repeats_per_value  # noqa: E402,F401,E501
from nnrun.plots.sweep_curves import MAX_PANELS, cell_curves, curves_skipped, learning_curves  # noqa: E402,F401
from nnrun.store.names import folder_name  # noqa: E402


def _numeric_log(values) -> bool:
    """Whether the axis' values read better on a log x axis: positive, spanning more than a decade."""
    try:
        v = np.array(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(v > 0) and v.max() / v.min() > 10)


def curves(results: pd.DataFrame, axes: dict, path: Path, name: str, metrics=None) -> None:
    """metrics.png (one axis): each metric against the single axis' value: the mean over seeds, joined by a line
    when the values are numbers (markers only for names such as optimizers: they have no order between them),
    and with several seeds every seed's own value as a small dot beside it. Dots, not ±1
    standard deviation bars: on the log loss axis a bar reached below zero and off the
    picture (seeds at 1.3e-5, 0.067 and 2.7e-5 have mean 0.022 ± 0.039). ``metrics``:
    sweep.metrics, the panels (default: ``metric_panels``' choice)."""
    key = list(axes)[0]
    values = axes[key]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    xs = np.array(values, dtype=float) if numeric else np.arange(len(values))
    panels = metric_panels(results, metrics)
    repeats = repeats_per_value(results, key)
    shown = results[key].map(lambda x: label(parse(x)))
    with plt.rc_context(STYLE):
        fig, axs = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
        for ax, (metric, title, higher) in zip(axs[0], panels):
            means, marks, seed_x, seed_y = [], [], [], []
            for x, v in zip(xs, values):
                group = results[shown == label(v)]
                ok = pd.to_numeric(group[group["status"] == "completed"][metric], errors="coerce").dropna()
                means.append(ok.mean() if len(ok) else np.nan)
                marks.append(len(ok) == 0 and len(group) > 0)
                seed_x += [x] * len(ok)
                seed_y += list(ok)
            if repeats > 1:
                ax.scatter(seed_x, seed_y, s=14, color="C0", alpha=0.45, lw=0, zorder=2, label="each seed")
            ax.plot(xs, means, marker="o", ls="-" if numeric else "none", color="C0", zorder=3,
                    label=f"mean over {repeats} seeds" if repeats > 1 else None)
            if metric.endswith("loss"):
                ax.set_yscale("log")
            ax.margins(y=0.08)  # no marker on the frame
            for x, m in zip(xs, marks):
                if m:
                    ax.axvline(x, color="#a00000", ls=":", lw=1)
                    ax.text(x, ax.get_ylim()[1], "div/fail", color="#a00000", fontsize=7, ha="center", va="top")
            if numeric and _numeric_log(values):
                ax.set_xscale("log")
                if len(values) <= 10:  # the swept values themselves (0.01, 0.05, 0.2), not only the decades
                    ax.set_xticks(xs, axis_labels(values))
                    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            if higher and not metric.endswith("loss"):  # an accuracy: no axis above 1 (a flat 1.0 read 0.96-1.04)
                ax.set_ylim(top=min(ax.get_ylim()[1], 1.02))
            if not numeric:
                ax.set_xticks(xs, [label(v) for v in values], rotation=30, ha="right")
                ax.set_xlim(-0.5, len(values) - 0.5)  # no marker on the frame
            elif ax.get_xscale() == "linear":
                ax.set_xticks(xs, axis_labels(values))
            if metric.endswith("loss"):
                label_log_axis(ax.yaxis, *ax.get_ylim())  # plain numbers, even over a narrow range
            ax.set_xlabel(key)
            ax.set_title(title, fontsize=10)
        note = f": large points the mean over {repeats} seeds, small dots each seed" if repeats > 1 else ""
        fig.suptitle(f"{name}: final metrics against {key}{note}", fontsize=10)
        fig.tight_layout()
        save_figure(fig, path)
        plt.close(fig)


SWEEP_PICTURES = ("results", "curves")


def draw_sweep(sweep_dir: Path, results: pd.DataFrame, axes: dict, fmt: str = "png",
               histories: dict | None = None, log=None, pictures=SWEEP_PICTURES, metrics=None) -> list[Path]:
    """The results picture, heatmaps.<fmt> for two or more axes, metrics.<fmt> for one,
    and curves.<fmt> (small multiples, see ``cell_curves``; not beyond MAX_PANELS a side),
    or those of them named in ``pictures`` (the sweep draws the two in two workers). The
    curves come from ``histories``, else the cells' histories in ``sweep_dir`` (their rows of its histories/ tables, or a history.csv); returns
    the files written; ``log`` gets one line when curves.png is left out (too many panels).
    ``metrics`` (sweep.metrics) chooses the results picture's panels and the held-out losses
    the curves draw; None keeps the default choice."""
    sweep_dir = Path(sweep_dir)
    name = folder_name(sweep_dir, sweep_dir.absolute().name)
    if not axes or results.empty:
        return []
    written = []
    if "results" in pictures:
        path = sweep_dir / f"{'heatmaps' if len(axes) >= 2 else 'metrics'}.{fmt}"
        (heatmaps if len(axes) >= 2 else curves)(results, axes, path, name, metrics)
        written.append(path)
    if "curves" not in pictures:
        return written
    skipped = curves_skipped(axes)
    if skipped:
        if log:
            log(skipped)
        return written
    if histories is None:
        from nnrun.store.history import read_histories

        histories = read_histories(sweep_dir, results["folder"]) if "folder" in results else {}
    if histories:
        path = sweep_dir / f"curves.{fmt}"
        if len(axes) >= 2:
            cell_curves(results, axes, histories, path, name, metrics)
        else:
            learning_curves(results, axes, histories, path, name, metrics)
        written.append(path)
    return written


def sweep_figure(sweep_dir: Path, results: pd.DataFrame, axes: dict, name: str, metrics=None):
    """The matplotlib Figure of the sweep picture ``name`` (heatmaps for two axes or more,
    metrics for one, curves), drawn as :func:`draw_sweep` draws its file, nothing written."""
    from nnrun.errors import NnrunError
    from nnrun.plots.style import capture_figures

    own = ["heatmaps" if len(axes) >= 2 else "metrics", "curves"] if axes else []
    if name not in own:
        raise NnrunError(f"figure {name!r}: not a picture of this sweep; its pictures: {', '.join(own) or 'none'}")
    notes: list[str] = []
    with capture_figures() as figures:
        draw_sweep(Path(sweep_dir), results, axes, "png", log=notes.append,
                   pictures=("curves",) if name == "curves" else ("results",), metrics=metrics)
    if not figures:
        raise NnrunError(f"figure {name!r}: not drawn" + (f" ({notes[0]})" if notes else " (no finished cells)"))
    return figures[-1]
