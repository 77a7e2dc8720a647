"""heatmaps.png: the final metrics of a sweep of two or more axes, one annotated heatmap
per metric (``sweep.metrics``; by default the accuracies and the final training loss).

The first axis runs down, the second across; each cell is written on its square (with
several seeds the mean ± their standard deviation); cells that diverged or failed are
grey and marked. More axes: the same heatmaps over the first two axes, each cell the best
over the others.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nnrun.plots.style import STYLE, label_log_axis, save_figure  # noqa: E402
from nnrun.plots.sweep_axes import axis_labels, label, metric_panels, parse  # noqa: E402


@dataclass
class _Grid:
    """The two axes a heatmap shows, and the results keyed by its cells."""
    rows_key: str
    cols_key: str
    row_values: list  # the cells' keys (label of each value)
    col_values: list
    row_ticks: list  # the axes' tick labels, one style each
    col_ticks: list
    frame: pd.DataFrame  # the results, with the cell's keys as _r and _c
    rest: list  # further axes (not the seed): a cell shows the best over them
    seeds: int  # cells averaged into one square
    marks: dict  # (row key, col key) -> "div", "pruned", "fail": what a square none of whose cells completed says

    @property
    def repeats(self) -> bool:
        return self.seeds > 1  # seeds: mean ± std


def _plan(results: pd.DataFrame, axes: dict) -> _Grid:
    """The squares of the heatmaps: the first two axes' values, each result keyed by its square."""
    rows_key, cols_key = list(axes)[:2]
    frame = results.copy()
    frame["_r"] = frame[rows_key].map(lambda v: label(parse(v)))
    frame["_c"] = frame[cols_key].map(lambda v: label(parse(v)))
    rest = [k for k in list(axes)[2:] if k != "seed"]  # a seed axis is averaged like sweep.seeds
    seeds = frame.groupby(["_r", "_c", *rest], dropna=False).size().max()  # cells averaged into one
    marks = {square: _mark(set(status)) for square, status in frame.groupby(["_r", "_c"])["status"]}
    return _Grid(rows_key, cols_key, [label(v) for v in axes[rows_key]], [label(v) for v in axes[cols_key]],
                 axis_labels(axes[rows_key]), axis_labels(axes[cols_key]), frame, rest, seeds, marks)


def _mark(statuses: set) -> str:
    """What a square none of whose cells completed says: any diverged, else any pruned, else failed."""
    return "div" if "diverged" in statuses else "pruned" if "pruned" in statuses else "fail" if statuses else ""


def heatmaps(results: pd.DataFrame, axes: dict, path: Path, name: str, metrics=None) -> None:
    """Annotated heatmaps over the first two axes (best over any others and seeds' mean):
    one panel per metric of ``metric_panels`` (``metrics``: sweep.metrics), yellow better,
    grey diverged or failed."""
    cells = _plan(results, axes)
    panels = metric_panels(cells.frame, metrics)
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, axs = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.45 * len(cells.row_values) + 2.6),
                                squeeze=False)
        for ax, panel in zip(axs[0], panels):
            _draw_panel(fig, ax, cells, *panel)
        # the seeds' note on a line of its own: one line of it all was wider than two panels
        note = f"\neach cell the mean over {cells.seeds} seeds, ± their standard deviation" if cells.repeats else ""
        title = (f"{name}: {cells.rows_key} × {cells.cols_key}; yellow = better, grey = diverged (div), pruned or failed"
                 f"{note}")
        # and each line wrapped to the figure's width (~12 characters an inch at 10 pt): one panel is narrow
        width = int(fig.get_figwidth() * 12)
        fig.suptitle("\n".join(textwrap.fill(line, width) for line in title.split("\n")), fontsize=10)
        fig.tight_layout()
        save_figure(fig, path)
        plt.close(fig)


def _draw_panel(fig, ax, cells: _Grid, metric: str, title: str, higher: bool) -> None:
    """One metric's heatmap: the squares, their numbers, the axes and a colour bar."""
    grid, spread, bad = _cell_values(cells, metric, higher)
    cmap, norm, log_scale = _colour_scale(grid, metric, higher)
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, aspect="auto", norm=norm)
    _annotate(ax, im, cmap, cells, grid, spread, bad, higher)
    ax.set_xticks(range(len(cells.col_values)), cells.col_ticks, rotation=45 if len(cells.col_ticks[0]) > 4 else 0,
                  ha="right" if len(cells.col_ticks[0]) > 4 else "center")
    ax.set_yticks(range(len(cells.row_values)), cells.row_ticks)
    ax.set_xlabel(cells.cols_key)
    ax.set_ylabel(cells.rows_key)
    best = "best over " + ", ".join(cells.rest) if cells.rest else ""
    ax.set_title(f"{title}{' (log colour scale)' if log_scale else ''}" + (f"\n{best}" if best else ""),
                 fontsize=10)
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if log_scale:  # enough labelled ticks to read a loss off the bar
        label_log_axis(bar.ax.yaxis, *norm_limits(im.norm))


def _cell_values(cells: _Grid, metric: str, higher: bool):
    """Per square: the metric (mean over seeds; the best over further axes), the seeds'
    standard deviation (NaN with one seed) and whether no cell of it completed.

    One groupby for all squares: the mean and standard deviation (ddof 1, as in
    summary.csv) of each cell over its seeds, then, with further axes, the cell of the
    best mean in each square (the first, in the axes' order, on a tie)."""
    shape = (len(cells.row_values), len(cells.col_values))
    grid, spread = np.full(shape, np.nan), np.full(shape, np.nan)
    frame = cells.frame
    finished = frame[frame["status"] == "completed"]
    finished = finished.assign(_v=pd.to_numeric(finished[metric], errors="coerce"))
    per_cell = finished.groupby(["_r", "_c", *cells.rest], dropna=False)["_v"].agg(["mean", "std"])
    if cells.rest:
        per_cell = per_cell.dropna(subset=["mean"])
        squares = per_cell["mean"].groupby(level=["_r", "_c"])
        per_cell = per_cell.loc[(squares.idxmax() if higher else squares.idxmin()).to_numpy()]
    row_of = {key: i for i, key in enumerate(cells.row_values)}
    col_of = {key: j for j, key in enumerate(cells.col_values)}
    # a square with results none of which completed (an empty square is neither a number nor bad)
    bad = _squares(cells.marks, row_of, col_of) & ~_squares(zip(finished["_r"], finished["_c"]), row_of, col_of)
    for key, mean, std in zip(per_cell.index, per_cell["mean"], per_cell["std"]):
        r, c = key[0], key[1]
        if r not in row_of or c not in col_of:
            continue
        i, j = row_of[r], col_of[c]
        grid[i, j] = mean if np.isfinite(mean) else np.nan
        spread[i, j] = std if cells.repeats and np.isfinite(std) else np.nan
    return grid, spread, bad


def _squares(keys, row_of: dict, col_of: dict) -> np.ndarray:
    """The squares of the (row key, col key) pairs ``keys``, as a mask."""
    mask = np.zeros((len(row_of), len(col_of)), dtype=bool)
    for r, c in keys:
        if r in row_of and c in col_of:
            mask[row_of[r], col_of[c]] = True
    return mask


def _colour_scale(grid: np.ndarray, metric: str, higher: bool):
    """Colour map (better = yellow, missing = grey) and its scale: accuracies 0 .. 1, losses
    on a log scale when they are positive."""
    finite = grid[np.isfinite(grid)]
    log_scale = metric.endswith("loss") and finite.size > 0 and finite.min() > 0
    # losses span decades: a log colour scale whose bar still reads in loss values
    if log_scale:
        lo, hi = float(finite.min()), float(finite.max())
        norm = LogNorm(lo, hi if hi > lo else 10.0 * lo)  # one value (or one cell) too
    else:
        norm = Normalize(0, 1) if higher else None
    cmap = plt.get_cmap("viridis" if higher else "viridis_r").with_extremes(bad="#d0d0d0")
    return cmap, norm, log_scale


def _annotate(ax, im, cmap, cells: _Grid, grid, spread, bad, higher: bool) -> None:
    """Each square's number (± the seeds' spread) in black or white against its colour;
    "div", "pruned" or "fail" on the squares whose cells all diverged, were pruned or failed."""
    small = 6.5 if len(cells.col_values) > 5 else 7.5
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if bad[i, j]:
                text = cells.marks.get((cells.row_values[i], cells.col_values[j]), "")
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5 if text == "pruned" else 8,
                        color="#a00000", weight="bold")
            elif np.isfinite(grid[i, j]):
                v = grid[i, j]
                txt = f"{v:.3f}" if higher else f"{v:.2g}"  # 0.996 must not read as 1.00
                if np.isfinite(spread[i, j]):
                    txt += "\n±" + _spread_text(spread[i, j], higher)
                shade = float(np.ma.filled(im.norm(np.array([v])), 0.0)[0])
                r, g, b, _ = cmap(shade)
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                ax.text(j, i, txt, ha="center", va="center", fontsize=small if cells.repeats else 8,
                        color="white" if dark else "black", linespacing=1.0)


def _spread_text(std: float, higher: bool) -> str:
    """A standard deviation in its mean's style: 3 decimals for accuracies (a std that
    rounds to 0.000 reads <0.001), 2 significant digits for losses."""
    if not higher:
        return f"{std:.2g}"
    return f"{std:.3f}" if std >= 0.0005 or std == 0 else "<0.001"


def norm_limits(norm) -> tuple[float, float]:
    """The colour scale's range, the span of the log colour bar's ticks."""
    return float(norm.vmin), float(norm.vmax)
