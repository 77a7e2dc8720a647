"""Pictures of a sweep: annotated heatmaps (two axes), curves (one axis).

One axis also gets ``curves.png``: every cell's learning curves in one figure (loss on
the left, accuracy on the right), one colour per value of the axis, so that optimizers,
dropout rates or learning rates are compared along the whole run, not only at its end.

Two axes: one heatmap per metric (test accuracy, train accuracy, final training
loss), first axis down, second across, each cell annotated; cells that diverged or
failed are grey and marked. More axes: the same heatmaps over the first two axes,
each cell the best over the others. One axis: metric against value, on a log x axis
when the values are positive and span more than a decade.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.scale import LogTransform  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import Affine2D, BlendedGenericTransform, Bbox, IdentityTransform, TransformedBbox  # noqa: E402,E501
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nnrun.plots.style import ITERATION_FORMAT, STYLE, label_log_axis, save_figure  # noqa: E402
from nnrun.store.names import folder_name  # noqa: E402

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# the validation accuracy first where there is one: it chooses the best cell (sweep.best_row)
PANELS = [("val_accuracy", "validation accuracy: chooses the best cell", True), ("test_accuracy", "test accuracy", True),
          ("train_accuracy", "train accuracy", True), ("train_loss", "final training loss", False)]


def label(value) -> str:
    if isinstance(value, float):
        return f"{value:.0e}" if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e3) else f"{value:.3g}"
    return str(value)


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
    return int(results[key].map(lambda x: label(_parse(x))).value_counts().max())


def _numeric_log(values) -> bool:
    try:
        v = np.array(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(v > 0) and v.max() / v.min() > 10)


def _panels(results: pd.DataFrame):
    out = []
    for metric, title, higher in PANELS:
        if metric in results and pd.to_numeric(results[metric], errors="coerce").notna().any():
            out.append((metric, title, higher))
    return out


def heatmaps(results: pd.DataFrame, axes: dict, path: Path, name: str) -> None:
    """Annotated heatmaps over the first two axes (best over any others and seeds' mean)."""
    rows_key, cols_key = list(axes)[:2]
    row_values = [label(v) for v in axes[rows_key]]
    col_values = [label(v) for v in axes[cols_key]]
    row_ticks, col_ticks = axis_labels(axes[rows_key]), axis_labels(axes[cols_key])
    frame = results.copy()
    frame["_r"] = frame[rows_key].map(lambda v: label(_parse(v)))
    frame["_c"] = frame[cols_key].map(lambda v: label(_parse(v)))
    panels = _panels(frame)
    rest = [k for k in list(axes)[2:] if k != "seed"]  # a seed axis is averaged like sweep.seeds
    seeds = frame.groupby(["_r", "_c", *rest], dropna=False).size().max()  # cells averaged into one
    repeats = seeds > 1  # seeds: mean ± std
    small = 6.5 if len(col_values) > 5 else 7.5
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, axs = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.45 * len(row_values) + 2.6),
                                squeeze=False)
        for ax, (metric, title, higher) in zip(axs[0], panels):
            grid = np.full((len(row_values), len(col_values)), np.nan)
            spread = np.full_like(grid, np.nan)  # std over seeds of the cell shown
            bad = np.zeros_like(grid, dtype=bool)
            for (r, c), group in frame.groupby(["_r", "_c"]):
                if r not in row_values or c not in col_values:
                    continue
                i, j = row_values.index(r), col_values.index(c)
                finished = group[group["status"] == "completed"]
                values = pd.to_numeric(finished[metric], errors="coerce")
                if rest:  # the best of the further axes' cells, each the mean over its seeds
                    per_rest = finished.assign(_v=values).groupby(rest, dropna=False)["_v"].agg(["mean", "std"])
                    per_rest = per_rest.dropna(subset=["mean"])
                    if len(per_rest):
                        pick = per_rest["mean"].idxmax() if higher else per_rest["mean"].idxmin()
                        value, std = per_rest.loc[pick, "mean"], per_rest.loc[pick, "std"]
                    else:
                        value, std = np.nan, np.nan
                else:
                    value, std = values.mean(), values.std()  # std: ddof 1, as in summary.csv
                grid[i, j] = value if np.isfinite(value) else np.nan
                spread[i, j] = std if repeats and np.isfinite(std) else np.nan
                bad[i, j] = finished.empty
            finite = grid[np.isfinite(grid)]
            log_scale = metric.endswith("loss") and finite.size > 0 and finite.min() > 0
            # losses span decades: a log colour scale whose bar still reads in loss values
            if log_scale:
                lo, hi = float(finite.min()), float(finite.max())
                norm = LogNorm(lo, hi if hi > lo else 10.0 * lo)  # one value (or one cell) too
            else:
                norm = Normalize(0, 1) if higher else None
            cmap = plt.get_cmap("viridis" if higher else "viridis_r").with_extremes(bad="#d0d0d0")
            im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, aspect="auto", norm=norm)
            for i in range(grid.shape[0]):
                for j in range(grid.shape[1]):
                    if bad[i, j]:
                        status = frame[(frame["_r"] == row_values[i]) & (frame["_c"] == col_values[j])]["status"]
                        text = "div" if (status == "diverged").any() else ("fail" if len(status) else "")
                        ax.text(j, i, text, ha="center", va="center", fontsize=8, color="#a00000", weight="bold")
                    elif np.isfinite(grid[i, j]):
                        v = grid[i, j]
                        txt = f"{v:.3f}" if higher else f"{v:.2g}"  # 0.996 must not read as 1.00
                        if np.isfinite(spread[i, j]):
                            txt += "\n±" + _spread_text(spread[i, j], higher)
                        shade = float(np.ma.filled(im.norm(np.array([v])), 0.0)[0])
                        r, g, b, _ = cmap(shade)
                        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                        ax.text(j, i, txt, ha="center", va="center", fontsize=small if repeats else 8,
                                color="white" if dark else "black", linespacing=1.0)
            ax.set_xticks(range(len(col_values)), col_ticks, rotation=45 if len(col_ticks[0]) > 4 else 0,
                          ha="right" if len(col_ticks[0]) > 4 else "center")
            ax.set_yticks(range(len(row_values)), row_ticks)
            ax.set_xlabel(cols_key)
            ax.set_ylabel(rows_key)
            best = "best over " + ", ".join(rest) if rest else ""
            ax.set_title(f"{title}{' (log colour scale)' if log_scale else ''}" + (f"\n{best}" if best else ""),
                         fontsize=10)
            bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            if log_scale:  # enough labelled ticks to read a loss off the bar
                label_log_axis(bar.ax.yaxis, *norm_limits(im.norm))
        note = f"; each cell the mean over {seeds} seeds, ± their standard deviation" if repeats else ""
        fig.suptitle(f"{name}: {rows_key} × {cols_key}; yellow = better, grey = diverged (div) or failed"
                     f"{note}", fontsize=10)
        fig.tight_layout()
        save_figure(fig, path)
        plt.close(fig)


def _spread_text(std: float, higher: bool) -> str:
    """A standard deviation in its mean's style: 3 decimals for accuracies (a std that
    rounds to 0.000 reads <0.001), 2 significant digits for losses."""
    if not higher:
        return f"{std:.2g}"
    return f"{std:.3f}" if std >= 0.0005 or std == 0 else "<0.001"


def norm_limits(norm) -> tuple[float, float]:
    return float(norm.vmin), float(norm.vmax)


def _parse(value):
    try:
        return float(value) if not isinstance(value, (int, float)) else value
    except (TypeError, ValueError):
        return value


def curves(results: pd.DataFrame, axes: dict, path: Path, name: str) -> None:
    """Each metric against the single axis' value: the mean over seeds, joined by a line,
    and with several seeds every seed's own value as a small dot beside it. Dots, not ±1
    standard deviation bars: on the log loss axis a bar reached below zero and off the
    picture (seeds at 1.3e-5, 0.067 and 2.7e-5 have mean 0.022 ± 0.039)."""
    key = list(axes)[0]
    values = axes[key]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    xs = np.array(values, dtype=float) if numeric else np.arange(len(values))
    panels = _panels(results)
    repeats = repeats_per_value(results, key)
    shown = results[key].map(lambda x: label(_parse(x)))
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
            ax.plot(xs, means, marker="o", color="C0", zorder=3,
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
            if not numeric:
                ax.set_xticks(xs, [label(v) for v in values], rotation=30, ha="right")
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


def learning_curves(results: pd.DataFrame, axes: dict, histories: dict, path: Path, name: str) -> None:
    """Each cell's training loss (solid) and validation or test loss (dashed), and its
    accuracy, against iteration; one colour per value of the axis. Seeds share their
    value's colour, each its own thin line: a mean would smear seeds that escape a plateau
    at different iterations into one slow descent that no seed made."""
    key = list(axes)[0]
    repeats = repeats_per_value(results, key)
    width, alpha = (0.8, 0.7) if repeats > 1 else (1.3, 1.0)
    values = [label(v) for v in axes[key]]
    shown = dict(zip(values, axis_labels(axes[key])))  # the legend in one number style, as the axes
    colours = {v: plt.cm.tab10(i % 10) for i, v in enumerate(values)}
    frames = [(label(_parse(row[key])), histories[row["folder"]]) for _, row in results.iterrows()
              if row["folder"] in histories]
    held_out = next((c for c in ("val", "test") if any(f"{c}_loss" in h and h[f"{c}_loss"].notna().any()
                                                    for _, h in frames)), None)
    accuracy = next((c for c in ("val", "test", "train") if any(f"{c}_accuracy" in h and
                                                               h[f"{c}_accuracy"].notna().any()
                                                               for _, h in frames)), None)
    with plt.rc_context(STYLE):
        fig, axs = plt.subplots(1, 2 if accuracy else 1, figsize=(12 if accuracy else 6.5, 4.4), squeeze=False)
        loss_ax = axs[0][0]
        seen = set()
        for value, h in frames:
            first = value not in seen
            seen.add(value)
            it = h["iteration"].to_numpy(dtype=float)
            for column, style in (("train_loss", "-"), (f"{held_out}_loss", "--")):
                if column in h:
                    loss_ax.plot(it, _positive(h[column]), ls=style, lw=width, alpha=alpha, color=colours[value],
                                 label=shown.get(value, value) if first and style == "-" else None)
            if accuracy:
                axs[0][1].plot(it, h[f"{accuracy}_accuracy"].to_numpy(dtype=float), lw=width, alpha=alpha,
                               color=colours[value])
        loss_ax.set_yscale("log")
        loss_ax.set_xlabel("iteration")
        loss_ax.set_ylabel("loss (log scale)")
        what = f"training (solid) and {'validation' if held_out == 'val' else 'test'} (dashed)" if held_out \
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
            ax.xaxis.set_major_formatter(ITERATION_FORMAT)
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


MAX_PANELS = 15  # small multiples per side: beyond 15 x 15 a panel is too small to read


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


def cell_curves(results: pd.DataFrame, axes: dict, histories: dict, path: Path, name: str) -> None:
    """Small multiples laid out like heatmaps.png: a panel per (first axis, second axis)
    value, each that cell's training loss (solid) and validation or test loss (dashed)
    against iteration, every panel on the same scales (iteration 0 .. the longest run,
    one log loss range). Seeds and further axes are overlaid in the panel they share
    (thin lines, one colour per kind of loss); panels whose cells all diverged or failed
    are grey and marked.

    The panels are regions of ONE matplotlib Axes, not 49 Axes with sharex / sharey:
    creating and ticking 49 Axes cost ~2 s, this ~0.5 s. Each line keeps its history's
    own numbers (iteration, loss) as data; its transform is iteration -> [0, 1],
    log10(loss) -> [0, 1] of the shared range, then the panel's offset, and it is clipped
    to its panel. Only the outer panels carry ticks (loss on the right edge, iteration
    along the bottom); margins are fixed in inches (no tight_layout).
    """
    rows_key, cols_key = list(axes)[:2]
    row_values = [label(v) for v in axes[rows_key]]
    col_values = [label(v) for v in axes[cols_key]]
    row_ticks, col_ticks = axis_labels(axes[rows_key]), axis_labels(axes[cols_key])
    n_rows, n_cols = len(row_values), len(col_values)
    panel_of = {}  # (i, j) -> [(folder, status, history or None)]
    for _, row in results.iterrows():
        r, c = label(_parse(row[rows_key])), label(_parse(row[cols_key]))
        if r in row_values and c in col_values:
            folder = str(row.get("folder"))
            panel_of.setdefault((row_values.index(r), col_values.index(c)), []).append(
                (folder, row["status"], histories.get(folder)))
    frames = [h for cells in panel_of.values() for _, _, h in cells if h is not None and "iteration" in h]
    held_out = next((c for c in ("val", "test") if any(f"{c}_loss" in h and h[f"{c}_loss"].notna().any()
                                                    for h in frames)), None)
    columns = [("train_loss", "-", "#1f77b4")] + ([(f"{held_out}_loss", "--", "#d62728")] if held_out else [])
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
    y_ticks = _log_ticks(lo, hi)
    x_ticks = MaxNLocator(nbins=3, integer=True).tick_values(0, x_hi)
    x_ticks = x_ticks[(x_ticks >= 0) & (x_ticks < 0.9 * x_hi)]  # no label runs into the next panel's 0

    n_seeds = results["seed"].nunique() if "seed" in results and "seed" not in (rows_key, cols_key) else 1
    rest = [k for k in list(axes)[2:] if k != "seed"]
    shared = ([f"{n_seeds} seeds"] if n_seeds > 1 else []) + (["every " + ", ".join(rest)] if rest else [])
    big = max(n_rows, n_cols) > 8
    panel_w, panel_h, gap = (0.95, 0.72, 0.08) if big else (1.25, 0.95, 0.1)  # inches; gap: of a panel
    left, right, top, bottom = 1.15, 0.75, 0.95 + 0.15 * bool(shared), 0.6
    grid_w = panel_w * (n_cols + gap * (n_cols - 1))
    grid_h = panel_h * (n_rows + gap * (n_rows - 1))
    small = 6 if big else 7
    with plt.rc_context(STYLE | {"font.size": small}):
        fig = plt.figure(figsize=(max(left + right + grid_w, 6.0), max(top + bottom + grid_h, 3.4)))
        W, H = fig.get_figwidth(), fig.get_figheight()
        left += (W - (left + right + grid_w)) / 2  # a narrow grid sits in the middle of its figure
        ax = fig.add_axes((left / W, bottom / H, grid_w / W, grid_h / H))
        ax.set_axis_off()
        ax.autoscale(False)
        ax.set_xlim(0, n_cols + gap * (n_cols - 1))
        ax.set_ylim(0, n_rows + gap * (n_rows - 1))
        to_unit = BlendedGenericTransform(IdentityTransform(), LogTransform(10))
        grid, ticks = [], []  # reference lines inside the panels; tick marks outside the outer ones
        for i in range(n_rows):
            for j in range(n_cols):
                x0, y0 = j * (1 + gap), (n_rows - 1 - i) * (1 + gap)
                cells = panel_of.get((i, j), [])
                bad = [status for _, status, _ in cells if status != "completed"]
                face = "#e0e0e0" if cells and len(bad) == len(cells) else ("white" if cells else "#f4f4f4")
                ax.add_patch(Rectangle((x0, y0), 1, 1, facecolor=face, edgecolor="black", lw=0.6, zorder=0,
                                       gid=f"panel {i},{j}"))
                vs = [(np.log10(t) - log_lo) / log_span for t in y_ticks]
                us = [t / x_hi for t in x_ticks]
                grid += [[(x0, y0 + v), (x0 + 1, y0 + v)] for v in vs] + [[(x0 + u, y0), (x0 + u, y0 + 1)] for u in us if u > 0]
                if j == n_cols - 1:
                    ticks += [[(x0 + 1, y0 + v), (x0 + 1.04, y0 + v)] for v in vs]
                    for t, v in zip(y_ticks, vs):
                        ax.text(x0 + 1.06, y0 + v, f"{t:g}", ha="left", va="center", fontsize=small)
                if i == n_rows - 1:
                    ticks += [[(x0 + u, y0), (x0 + u, y0 - 0.04)] for u in us]
                    for t, u in zip(x_ticks, us):
                        ax.text(x0 + u, y0 - 0.06, _short_count(t), ha="center", va="top", fontsize=small)
                if i == 0:
                    ax.text(x0 + 0.5, y0 + 1.04, col_ticks[j], ha="center", va="bottom", fontsize=small + 1)
                if j == 0:
                    ax.text(x0 - 0.05, y0 + 0.5, row_ticks[i], ha="right", va="center", fontsize=small + 1)
                panel = (Affine2D().scale(1 / x_hi, 1 / log_span).translate(x0, y0 - log_lo / log_span)
                         + ax.transData)
                clip = TransformedBbox(Bbox.from_bounds(x0, y0, 1, 1), ax.transData)
                for folder, status, h in cells:
                    if h is None or "iteration" not in h:
                        continue
                    it = h["iteration"].to_numpy(dtype=float)
                    for column, style, colour in columns:
                        if column in h:
                            line = Line2D(it, _positive(h[column]), ls=style, lw=0.8 if overlaid else 1.1,
                                          color=colour, alpha=0.75 if overlaid else 1.0, gid=folder,
                                          label=column, transform=to_unit + panel, zorder=2)
                            ax.add_line(line)  # (sets the clip to the whole Axes: the panel's comes after)
                            line.set_clip_box(clip)  # diverged cells run off the top: the panel says so
                if bad:
                    word = "div" if "diverged" in bad else "fail"
                    if len(bad) < len(cells):  # some seeds (or cells of further axes) of this panel
                        word = f"{len(bad)}/{len(cells)} {word}"
                    ax.text(x0 + 0.5, y0 + 0.5, word, ha="center", va="center", fontsize=small + 1,
                            color="#a00000", weight="bold", zorder=5)
        ax.add_collection(LineCollection(grid, colors="#d0d0d0", linewidths=0.4, zorder=1))
        ax.add_collection(LineCollection(ticks, colors="black", linewidths=0.6, zorder=1, clip_on=False))
        x_mid = (left + grid_w / 2) / W
        y_mid = (bottom + grid_h / 2) / H
        fig.text(x_mid, 1 - (top - 0.22) / H, cols_key, ha="center", va="bottom", fontsize=8)
        fig.text((left - 0.75) / W, y_mid, rows_key, ha="right", va="center", rotation=90, fontsize=8)
        fig.text(x_mid, 0.1 / H, "iteration", ha="center", va="bottom", fontsize=8)
        fig.text((left + grid_w + 0.45) / W, y_mid, "loss (log scale)", ha="left", va="center", rotation=90,
                 fontsize=8)
        what = "training" + (f" and {'validation' if held_out == 'val' else 'test'}" if held_out else "")
        note = f"\neach panel overlays {' and '.join(shared)} (thin lines)" if shared else ""
        # two lines: one would be wider than a small grid's figure and be cut at both ends
        fig.suptitle(f"{name}: {what} loss of every cell\n{rows_key} (rows) × {cols_key} (columns); "
                     f"grey = diverged (div) or failed{note}", fontsize=8.5, y=1 - 0.08 / H, va="top")
        names = {"train_loss": "training loss", "val_loss": "validation loss", "test_loss": "test loss"}
        handles = [Line2D([], [], color=colour, ls=style, lw=1.3, label=names[column])
                   for column, style, colour in columns]
        # in the bottom-left corner: above the panels it met the axis name of narrow grids, and
        # right of "iteration" it ran over that label when the grid is one or two panels wide
        fig.legend(handles=handles, loc="lower left", ncol=len(handles), fontsize=small + 1, frameon=False,
                   borderaxespad=0, bbox_to_anchor=(0.1 / W, 0.08 / H))
        save_figure(fig, path)
        plt.close(fig)


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


SWEEP_PICTURES = ("results", "curves")


def draw_sweep(sweep_dir: Path, results: pd.DataFrame, axes: dict, fmt: str = "png",
               histories: dict | None = None, log=None, pictures=SWEEP_PICTURES) -> list[Path]:
    """The results picture, heatmaps.<fmt> for two or more axes, metrics.<fmt> for one,
    and curves.<fmt> (small multiples, see ``cell_curves``; not beyond MAX_PANELS a side),
    or those of them named in ``pictures`` (the sweep draws the two in two workers). The
    curves come from ``histories``, else the cells' history.csv in ``sweep_dir``; returns
    the files written; ``log`` gets one line when curves.png is left out (too many panels)."""
    sweep_dir = Path(sweep_dir)
    name = folder_name(sweep_dir, sweep_dir.name)
    if not axes or results.empty:
        return []
    written = []
    if "results" in pictures:
        path = sweep_dir / f"{'heatmaps' if len(axes) >= 2 else 'metrics'}.{fmt}"
        (heatmaps if len(axes) >= 2 else curves)(results, axes, path, name)
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
            cell_curves(results, axes, histories, path, name)
        else:
            learning_curves(results, axes, histories, path, name)
        written.append(path)
    return written
