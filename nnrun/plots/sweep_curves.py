"""curves.png: a sweep's learning curves, every cell's loss against iteration.

One axis: every cell's curves in one figure (loss on the left, accuracy on the right), one
colour per value of the axis, so that optimizers, dropout rates or learning rates are
compared along the whole run, not only at its end. Two or more axes: small multiples laid
out like heatmaps.png, a panel per cell of the first two axes, all on the same scales.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.scale import LogTransform  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import Affine2D, BlendedGenericTransform, Bbox, IdentityTransform, TransformedBbox  # noqa: E402,E501
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nnrun.plots.style import STYLE, iteration_axis, label_log_axis, save_figure  # noqa: E402
from nnrun.plots.sweep_axes import axis_labels, curve_losses, label, metric_panels, parse, repeats_per_value  # noqa: E402,E501

MAX_PANELS = 15  # small multiples per side: beyond 15 x 15 a panel is too small to read
LOSS_NAMES = {"train_loss": "training loss", "val_loss": "validation loss", "test_loss": "test loss"}
SET_NAMES = {"train": "training", "val": "validation", "test": "test"}
HELD_OUT_STYLES = ["--", ":"]  # the first held-out loss dashed, a second dotted
STYLE_NAMES = {"-": "solid", "--": "dashed", ":": "dotted"}


def _joined(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _held_out(frames, metrics) -> list[str]:
    """The held-out losses drawn beside the training loss: sweep.metrics' ('val', 'test'),
    else the first the histories have of validation and test."""
    chosen = curve_losses(metrics)
    if chosen:
        return [m.split("_")[0] for m in chosen]
    first = next((c for c in ("val", "test") if any(f"{c}_loss" in h and h[f"{c}_loss"].notna().any()
                                                    for h in frames)), None)
    return [first] if first else []


def learning_curves(results: pd.DataFrame, axes: dict, histories: dict, path: Path, name: str,
                    metrics=None) -> None:
    """Each cell's training loss (solid) and validation or test loss (dashed; ``metrics``,
    sweep.metrics, may name both: test dotted), and its accuracy (sweep.metrics' first
    accuracy when it names one), against iteration; one colour per value of the axis. Seeds share their
    value's colour, each its own thin line: a mean would smear seeds that escape a plateau
    at different iterations into one slow descent that no seed made."""
    key = list(axes)[0]
    repeats = repeats_per_value(results, key)
    width, alpha = (0.8, 0.7) if repeats > 1 else (1.3, 1.0)
    values = [label(v) for v in axes[key]]
    shown = dict(zip(values, axis_labels(axes[key])))  # the legend in one number style, as the axes
    colours = {v: plt.cm.tab10(i % 10) for i, v in enumerate(values)}
    frames = [(label(parse(row[key])), histories[row["folder"]]) for _, row in results.iterrows()
              if row["folder"] in histories]
    held_out = _held_out([h for _, h in frames], metrics)
    chosen = [m for m, _, _ in metric_panels(results, metrics) if m.endswith("_accuracy")] if metrics else []
    accuracy = chosen[0].split("_")[0] if chosen else \
        next((c for c in ("val", "test", "train") if any(f"{c}_accuracy" in h and h[f"{c}_accuracy"].notna().any()
                                                          for _, h in frames)), None)
    lines = [("train_loss", "-")] + [(f"{c}_loss", style) for c, style in zip(held_out, HELD_OUT_STYLES)]
    with plt.rc_context(STYLE):
        fig, axs = plt.subplots(1, 2 if accuracy else 1, figsize=(12 if accuracy else 6.5, 4.4), squeeze=False)
        loss_ax = axs[0][0]
        seen = set()
        for value, h in frames:
            first = value not in seen
            seen.add(value)
            it = h["iteration"].to_numpy(dtype=float)
            for column, style in lines:
                if column in h:
                    loss_ax.plot(it, _positive(h[column]), ls=style, lw=width, alpha=alpha, color=colours[value],
                                 label=shown.get(value, value) if first and style == "-" else None)
            if accuracy:
                axs[0][1].plot(it, h[f"{accuracy}_accuracy"].to_numpy(dtype=float), lw=width, alpha=alpha,
                               color=colours[value])
        loss_ax.set_yscale("log")
        loss_ax.set_xlabel("iteration")
        loss_ax.set_ylabel("loss (log scale)")
        what = _joined([f"{SET_NAMES[c.split('_')[0]]} ({STYLE_NAMES[s]})" for c, s in lines]) if held_out \
            else "training"
        loss_ax.set_title(f"{what} loss", fontsize=10)
        finite = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in loss_ax.get_lines()] or [[]])
        finite = finite[np.isfinite(finite)]
        if len(finite):
            label_log_axis(loss_ax.yaxis, float(finite.min()), float(finite.max()))
        for handle in loss_ax.legend(title=key, fontsize=8, title_fontsize=8, loc="upper left",
                                     bbox_to_anchor=(1.01, 1.0), borderaxespad=0).legend_handles:
            handle.set(linewidth=1.5, alpha=1.0)  # the legend's key readable, however thin the lines
        for ax in axs[0]:
            iteration_axis(ax.xaxis)
        if accuracy:
            ax = axs[0][1]
            ax.set_xlabel("iteration")
            ax.set_ylabel(f"{'validation' if accuracy == 'val' else accuracy} accuracy")
            ax.set_title(f"{'validation' if accuracy == 'val' else accuracy} accuracy", fontsize=10)
        note = f"; {repeats} seeds overlaid, a thin line each" if repeats > 1 else ""
        fig.suptitle(f"{name}: learning curves by {key}{note}", fontsize=10)
        fig.tight_layout()
        save_figure(fig, path)
        plt.close(fig)


def curves_skipped(axes: dict) -> str | None:
    """Why a grid gets no ``curves.png`` (None: it gets one): more than MAX_PANELS
    values on either of the first two axes leave panels too small to read a curve in."""
    sizes = [len(v) for v in list(axes.values())[:2]]
    if len(sizes) == 2 and max(sizes) > MAX_PANELS:
        return (f"curves.png not drawn: a {sizes[0]} x {sizes[1]} grid of panels has more than {MAX_PANELS} "
                f"on a side, too small to read; heatmaps.png and each cell's history.csv are there")
    return None


def _positive(values) -> np.ndarray:
    """Losses drawable on a log axis: non-positive, infinite and overflow values become gaps."""
    y = np.asarray(values, dtype=float)
    return np.where((y > 0) & np.isfinite(y) & (y < 1e200), y, np.nan)


@dataclass
class _Panels:
    """What the small multiples show: the cells of each panel and the shared scales."""
    rows_key: str
    cols_key: str
    row_ticks: list
    col_ticks: list
    cells: dict  # (i, j) -> [(folder, status, history or None)]
    held_out: list  # "val" and/or "test": the dashed (and dotted) losses
    columns: list  # (history column, line style, colour) per kind of loss
    overlaid: bool  # several cells share a panel: thinner, lighter lines
    x_hi: float  # iteration 0 .. x_hi across a panel
    log_lo: float  # log10 of the loss at a panel's bottom
    log_span: float  # decades from bottom to top
    x_ticks: np.ndarray
    y_ticks: np.ndarray
    shared: list  # what each panel overlays ("3 seeds", "every train.lambda")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_ticks), len(self.col_ticks)


@dataclass
class _Layout:
    """The figure's geometry in inches; a gap is a fraction of a panel."""
    panel_w: float
    panel_h: float
    gap: float
    left: float
    right: float
    top: float
    bottom: float
    grid_w: float
    grid_h: float
    small: float  # the font size of the panels' labels


def cell_curves(results: pd.DataFrame, axes: dict, histories: dict, path: Path, name: str, metrics=None) -> None:
    """Small multiples laid out like heatmaps.png: a panel per (first axis, second axis)
    value, each that cell's training loss (solid) and validation or test loss (dashed)
    against iteration, every panel on the same scales (iteration 0 .. the longest run,
    one log loss range). Seeds and further axes are overlaid in the panel they share
    (thin lines, one colour per kind of loss); panels whose cells all diverged or failed
    are grey and marked. ``metrics`` (sweep.metrics) may name the held-out losses: both
    validation (dashed) and test (dotted).

    The panels are regions of ONE matplotlib Axes, not 49 Axes with sharex / sharey:
    creating and ticking 49 Axes cost ~2 s, this ~0.5 s. Each line keeps its history's
    own numbers (iteration, loss) as data; its transform is iteration -> [0, 1],
    log10(loss) -> [0, 1] of the shared range, then the panel's offset, and it is clipped
    to its panel. Only the outer panels carry ticks (loss on the right edge, iteration
    along the bottom); margins are fixed in inches (no tight_layout).
    """
    panels = _plan_panels(results, axes, histories, metrics)
    layout = _plan_layout(*panels.shape, panels.shared)
    with plt.rc_context(STYLE | {"font.size": layout.small}):
        fig, ax = _grid_figure(panels, layout)
        grid, ticks = [], []  # reference lines inside the panels; tick marks outside the outer ones
        for i in range(panels.shape[0]):
            for j in range(panels.shape[1]):
                _draw_panel(ax, panels, layout, i, j, grid, ticks)
        ax.add_collection(LineCollection(grid, colors="#d0d0d0", linewidths=0.4, zorder=1))
        ax.add_collection(LineCollection(ticks, colors="black", linewidths=0.6, zorder=1, clip_on=False))
        _label_figure(fig, panels, layout, name)
        save_figure(fig, path)
        plt.close(fig)


def _plan_panels(results: pd.DataFrame, axes: dict, histories: dict, metrics=None) -> _Panels:
    """The cells of each panel, the kinds of loss drawn and the scales every panel shares:
    iteration 0 .. the longest run; the completed cells' loss range, padded."""
    rows_key, cols_key = list(axes)[:2]
    row_values = [label(v) for v in axes[rows_key]]
    col_values = [label(v) for v in axes[cols_key]]
    panel_of = {}  # (i, j) -> [(folder, status, history or None)]
    for _, row in results.iterrows():
        r, c = label(parse(row[rows_key])), label(parse(row[cols_key]))
        if r in row_values and c in col_values:
            folder = str(row.get("folder"))
            panel_of.setdefault((row_values.index(r), col_values.index(c)), []).append(
                (folder, row["status"], histories.get(folder)))
    frames = [h for cells in panel_of.values() for _, _, h in cells if h is not None and "iteration" in h]
    held_out = _held_out(frames, metrics)
    columns = [("train_loss", "-", "#1f77b4")] + [(f"{c}_loss", style, colour) for c, style, colour
                                                  in zip(held_out, HELD_OUT_STYLES, ("#d62728", "#2ca02c"))]
    overlaid = max((len(cells) for cells in panel_of.values()), default=1) > 1
    # the shared scales: iteration 0 .. the longest run; the completed cells' loss range
    x_hi = max((float(np.nanmax(h["iteration"])) for h in frames if len(h)), default=1.0) or 1.0
    finite = [y[np.isfinite(y)] for cells in panel_of.values() for _, status, h in cells
              if status == "completed" and h is not None for column, _, _ in columns if column in h
              for y in [_positive(h[column])]]
    finite = np.concatenate(finite) if finite else np.array([])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.1, 10.0)
    lo, hi = (lo, hi) if hi > lo else (lo / 2, hi * 2)
    pad = (hi / lo) ** 0.06
    log_lo, log_span = np.log10(lo / pad), np.log10(hi * pad) - np.log10(lo / pad)
    x_ticks = MaxNLocator(nbins=3, integer=True).tick_values(0, x_hi)
    x_ticks = x_ticks[(x_ticks >= 0) & (x_ticks < 0.9 * x_hi)]  # no label runs into the next panel's 0
    return _Panels(rows_key, cols_key, axis_labels(axes[rows_key]), axis_labels(axes[cols_key]), panel_of,
                   held_out, columns, overlaid, x_hi, log_lo, log_span, x_ticks, _log_ticks(lo, hi),
                   _overlays(results, axes))


def _overlays(results: pd.DataFrame, axes: dict) -> list[str]:
    """What every panel overlays besides its own cell: seeds and further axes."""
    rows_key, cols_key = list(axes)[:2]
    n_seeds = results["seed"].nunique() if "seed" in results and "seed" not in (rows_key, cols_key) else 1
    rest = [k for k in list(axes)[2:] if k != "seed"]
    return ([f"{n_seeds} seeds"] if n_seeds > 1 else []) + (["every " + ", ".join(rest)] if rest else [])


def _plan_layout(n_rows: int, n_cols: int, shared: list) -> _Layout:
    """Panels of a fixed size in inches (smaller beyond 8 a side), fixed margins."""
    big = max(n_rows, n_cols) > 8
    panel_w, panel_h, gap = (0.95, 0.72, 0.08) if big else (1.25, 0.95, 0.1)  # inches; gap: of a panel
    left, right, top, bottom = 1.15, 0.75, 0.95 + 0.15 * bool(shared), 0.6
    grid_w = panel_w * (n_cols + gap * (n_cols - 1))
    grid_h = panel_h * (n_rows + gap * (n_rows - 1))
    return _Layout(panel_w, panel_h, gap, left, right, top, bottom, grid_w, grid_h, 6 if big else 7)


def _grid_figure(panels: _Panels, layout: _Layout):
    """The figure and its one Axes holding every panel, in panel units (a panel is 1 x 1);
    a narrow grid sits in the middle of its figure (``layout.left`` grows to centre it)."""
    n_rows, n_cols = panels.shape
    gap = layout.gap
    fig = plt.figure(figsize=(max(layout.left + layout.right + layout.grid_w, 6.0),
                              max(layout.top + layout.bottom + layout.grid_h, 3.4)))
    W, H = fig.get_figwidth(), fig.get_figheight()
    layout.left += (W - (layout.left + layout.right + layout.grid_w)) / 2
    ax = fig.add_axes((layout.left / W, layout.bottom / H, layout.grid_w / W, layout.grid_h / H))
    ax.set_axis_off()
    ax.autoscale(False)
    ax.set_xlim(0, n_cols + gap * (n_cols - 1))
    ax.set_ylim(0, n_rows + gap * (n_rows - 1))
    return fig, ax


def _draw_panel(ax, panels: _Panels, layout: _Layout, i: int, j: int, grid: list, ticks: list) -> None:
    """Panel (i, j): its frame (grey when every cell diverged or failed), the outer ticks
    and labels, its cells' loss curves clipped to it, and "div" or "fail" on it. Appends
    its reference lines to ``grid`` and its tick marks to ``ticks``."""
    n_rows, n_cols = panels.shape
    gap, small = layout.gap, layout.small
    x0, y0 = j * (1 + gap), (n_rows - 1 - i) * (1 + gap)
    cells = panels.cells.get((i, j), [])
    bad = [status for _, status, _ in cells if status != "completed"]
    face = "#e0e0e0" if cells and len(bad) == len(cells) else ("white" if cells else "#f4f4f4")
    ax.add_patch(Rectangle((x0, y0), 1, 1, facecolor=face, edgecolor="black", lw=0.6, zorder=0,
                           gid=f"panel {i},{j}"))
    vs = [(np.log10(t) - panels.log_lo) / panels.log_span for t in panels.y_ticks]
    us = [t / panels.x_hi for t in panels.x_ticks]
    grid += [[(x0, y0 + v), (x0 + 1, y0 + v)] for v in vs] + [[(x0 + u, y0), (x0 + u, y0 + 1)] for u in us if u > 0]
    if j == n_cols - 1:
        ticks += [[(x0 + 1, y0 + v), (x0 + 1.04, y0 + v)] for v in vs]
        for t, v in zip(panels.y_ticks, vs):
            ax.text(x0 + 1.06, y0 + v, f"{t:g}", ha="left", va="center", fontsize=small)
    if i == n_rows - 1:
        ticks += [[(x0 + u, y0), (x0 + u, y0 - 0.04)] for u in us]
        for t, u in zip(panels.x_ticks, us):
            ax.text(x0 + u, y0 - 0.06, _short_count(t), ha="center", va="top", fontsize=small)
    if i == 0:
        ax.text(x0 + 0.5, y0 + 1.04, panels.col_ticks[j], ha="center", va="bottom", fontsize=small + 1)
    if j == 0:
        ax.text(x0 - 0.05, y0 + 0.5, panels.row_ticks[i], ha="right", va="center", fontsize=small + 1)
    _draw_cell_lines(ax, panels, cells, x0, y0)
    if bad:
        word = "div" if "diverged" in bad else ("pruned" if "pruned" in bad else "fail")
        if len(bad) < len(cells):  # some seeds (or cells of further axes) of this panel
            word = f"{len(bad)}/{len(cells)} {word}"
        # on a patch of the panel's own ground: a cell pruned late has a curve through the middle
        ax.text(x0 + 0.5, y0 + 0.5, word, ha="center", va="center", fontsize=small + 1,
                color="#a00000", weight="bold", zorder=5,
                bbox={"facecolor": face, "edgecolor": "none", "alpha": 0.85, "pad": 1.5})


def _draw_cell_lines(ax, panels: _Panels, cells: list, x0: float, y0: float) -> None:
    """The cells' losses in the panel at (x0, y0): data in (iteration, loss), mapped onto
    the panel by its transform and clipped to it."""
    to_unit = BlendedGenericTransform(IdentityTransform(), LogTransform(10))
    panel = (Affine2D().scale(1 / panels.x_hi, 1 / panels.log_span)
             .translate(x0, y0 - panels.log_lo / panels.log_span) + ax.transData)
    clip = TransformedBbox(Bbox.from_bounds(x0, y0, 1, 1), ax.transData)
    for folder, status, h in cells:
        if h is None or "iteration" not in h:
            continue
        it = h["iteration"].to_numpy(dtype=float)
        for column, style, colour in panels.columns:
            if column in h:
                line = Line2D(it, _positive(h[column]), ls=style, lw=0.8 if panels.overlaid else 1.1,
                              color=colour, alpha=0.75 if panels.overlaid else 1.0, gid=folder,
                              label=column, transform=to_unit + panel, zorder=2)
                ax.add_line(line)  # (sets the clip to the whole Axes: the panel's comes after)
                line.set_clip_box(clip)  # diverged cells run off the top: the panel says so


def _label_figure(fig, panels: _Panels, layout: _Layout, name: str) -> None:
    """The axes' names around the grid, the title and the legend of the kinds of loss."""
    W, H = fig.get_figwidth(), fig.get_figheight()
    left, bottom, top, grid_w, grid_h = layout.left, layout.bottom, layout.top, layout.grid_w, layout.grid_h
    x_mid = (left + grid_w / 2) / W
    y_mid = (bottom + grid_h / 2) / H
    fig.text(x_mid, 1 - (top - 0.22) / H, panels.cols_key, ha="center", va="bottom", fontsize=8)
    fig.text((left - 0.75) / W, y_mid, panels.rows_key, ha="right", va="center", rotation=90, fontsize=8)
    fig.text(x_mid, 0.1 / H, "iteration", ha="center", va="bottom", fontsize=8)
    fig.text((left + grid_w + 0.45) / W, y_mid, "loss (log scale)", ha="left", va="center", rotation=90,
             fontsize=8)
    what = _joined(["training"] + [SET_NAMES[c] for c in panels.held_out])
    note = f"\neach panel overlays {' and '.join(panels.shared)} (thin lines)" if panels.shared else ""
    # two lines: one would be wider than a small grid's figure and be cut at both ends
    fig.suptitle(f"{name}: {what} loss of every cell\n{panels.rows_key} (rows) × {panels.cols_key} (columns); "
                 f"grey = diverged (div), pruned or failed{note}", fontsize=8.5, y=1 - 0.08 / H, va="top")
    handles = [Line2D([], [], color=colour, ls=style, lw=1.3, label=LOSS_NAMES[column])
               for column, style, colour in panels.columns]
    # in the bottom-left corner: above the panels it met the axis name of narrow grids, and
    # right of "iteration" it ran over that label when the grid is one or two panels wide;
    # three kinds in one row reached it too: two a row
    fig.legend(handles=handles, loc="lower left", ncol=min(len(handles), 2), fontsize=layout.small + 1, frameon=False,
               borderaxespad=0, bbox_to_anchor=(0.1 / W, 0.08 / H))


def _log_ticks(lo: float, hi: float) -> np.ndarray:
    """Three to six round loss values in [lo, hi] for a small log panel: decades when the
    range spans more than four of them, else 1 and 3 x 10^k, else 1, 2 and 5 x 10^k, else
    linear steps."""
    decades = np.log10(hi / lo)
    for subs in ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0)):
        if decades > 4 or subs != (1.0,):
            ticks = np.array([m * 10.0 ** k for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
                              for m in subs])
            ticks = ticks[(ticks >= lo) & (ticks <= hi)]
            if len(ticks) >= 3 or (subs == (1.0,) and len(ticks) >= 2):
                return ticks[:: max(1, len(ticks) // 6 + (len(ticks) % 6 > 0))] if len(ticks) > 6 else ticks
    ticks = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    ticks = ticks[(ticks >= lo) & (ticks <= hi) & (ticks > 0)]
    return ticks if len(ticks) >= 2 else np.array([lo, hi])


def _short_count(value, _pos=None) -> str:
    """Iteration ticks that fit a small panel: 2500, 25k, 1.2M."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"
