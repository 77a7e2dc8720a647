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
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nnrun.plots.style import STYLE, folder_name, label_log_axis  # noqa: E402
from nnrun.rundir import atomic_savefig  # noqa: E402

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

PANELS = [("test_accuracy", "test accuracy", True), ("train_accuracy", "train accuracy", True),
          ("train_loss", "final training loss", False)]


def label(value) -> str:
    if isinstance(value, float):
        return f"{value:.0e}" if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e3) else f"{value:.3g}"
    return str(value)


def axis_labels(values) -> list[str]:
    """Tick labels for one axis, all in one style: powers of ten as 10⁻⁵ … 10¹ when every
    value is one, else one scientific style (1.0e-05) when the values span more than two
    decades, else plain digits."""
    try:
        v = np.array(values, dtype=float)
    except (TypeError, ValueError):
        return [str(x) for x in values]
    if np.all(v > 0):
        exponents = np.log10(v)
        if np.allclose(exponents, np.round(exponents), atol=1e-9):
            return ["10" + str(int(round(e))).translate(_SUPERSCRIPT) for e in exponents]
        if v.max() / v.min() > 100:
            return [f"{x:.1e}" for x in v]
    return [f"{x:g}" for x in v]


def seeds_note(results: pd.DataFrame) -> str:
    n = results["seed"].nunique() if "seed" in results else 1
    return f"; each cell the mean over {n} seeds" if n > 1 else ""


def _numeric_log(values) -> bool:
    try:
        v = np.array(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(v > 0) and v.max() / v.min() > 10)


def _panels(results: pd.DataFrame):
    out = []
    for metric, title, higher in PANELS:
        if pd.to_numeric(results[metric], errors="coerce").notna().any():
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
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, axs = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.45 * len(row_values) + 2.6),
                                squeeze=False)
        for ax, (metric, title, higher) in zip(axs[0], panels):
            grid = np.full((len(row_values), len(col_values)), np.nan)
            bad = np.zeros_like(grid, dtype=bool)
            for (r, c), group in frame.groupby(["_r", "_c"]):
                if r not in row_values or c not in col_values:
                    continue
                i, j = row_values.index(r), col_values.index(c)
                finished = group[group["status"] == "completed"]
                values = pd.to_numeric(finished[metric], errors="coerce")
                if len(axes) > 2:
                    per_rest = finished.assign(_v=values).groupby(list(axes)[2:], dropna=False)["_v"].mean()
                    value = per_rest.max() if higher else per_rest.min()
                else:
                    value = values.mean()
                grid[i, j] = value if np.isfinite(value) else np.nan
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
                        shade = float(np.ma.filled(im.norm(np.array([v])), 0.0)[0])
                        r, g, b, _ = cmap(shade)
                        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                        ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                                color="white" if dark else "black")
            ax.set_xticks(range(len(col_values)), col_ticks, rotation=45 if len(col_ticks[0]) > 4 else 0,
                          ha="right" if len(col_ticks[0]) > 4 else "center")
            ax.set_yticks(range(len(row_values)), row_ticks)
            ax.set_xlabel(cols_key)
            ax.set_ylabel(rows_key)
            best = "best over " + ", ".join(list(axes)[2:]) if len(axes) > 2 else ""
            ax.set_title(f"{title}{' (log colour scale)' if log_scale else ''}" + (f"\n{best}" if best else ""),
                         fontsize=10)
            bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            if log_scale:  # enough labelled ticks to read a loss off the bar
                label_log_axis(bar.ax.yaxis, *norm_limits(im.norm))
        fig.suptitle(f"{name}: {rows_key} × {cols_key}; yellow = better, grey = diverged (div) or failed"
                     f"{seeds_note(frame)}", fontsize=10)
        fig.tight_layout()
        atomic_savefig(fig, path)
        plt.close(fig)


def norm_limits(norm) -> tuple[float, float]:
    return float(norm.vmin), float(norm.vmax)


def _parse(value):
    try:
        return float(value) if not isinstance(value, (int, float)) else value
    except (TypeError, ValueError):
        return value


def curves(results: pd.DataFrame, axes: dict, path: Path, name: str) -> None:
    """Each metric against the single axis' value (mean over seeds, std as error bars)."""
    key = list(axes)[0]
    values = axes[key]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    xs = np.array(values, dtype=float) if numeric else np.arange(len(values))
    panels = _panels(results)
    with plt.rc_context(STYLE):
        fig, axs = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
        for ax, (metric, title, higher) in zip(axs[0], panels):
            means, stds, marks = [], [], []
            for v in values:
                group = results[results[key].map(lambda x: label(_parse(x))) == label(v)]
                ok = pd.to_numeric(group[group["status"] == "completed"][metric], errors="coerce")
                means.append(ok.mean() if len(ok) else np.nan)
                stds.append(ok.std() if len(ok) > 1 else 0.0)
                marks.append(len(ok) == 0 and len(group) > 0)
            ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3)
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
                ax.set_yscale("log")
            ax.set_xlabel(key)
            ax.set_title(title, fontsize=10)
        n_seeds = results["seed"].nunique() if "seed" in results else 1
        note = (f": points are means over {n_seeds} seeds, error bars ±1 standard deviation across seeds"
                if n_seeds > 1 else "")
        fig.suptitle(f"{name}: final metrics against {key}{note}", fontsize=10)
        fig.tight_layout()
        atomic_savefig(fig, path)
        plt.close(fig)


def learning_curves(results: pd.DataFrame, axes: dict, histories: dict, path: Path, name: str) -> None:
    """Each cell's training loss (solid) and validation or test loss (dashed), and its
    accuracy, against iteration; one colour per value of the axis (seeds share it)."""
    key = list(axes)[0]
    values = [label(v) for v in axes[key]]
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
                    y = h[column].to_numpy(dtype=float)
                    y = np.where((y > 0) & np.isfinite(y) & (y < 1e200), y, np.nan)
                    loss_ax.plot(it, y, ls=style, lw=1.3, color=colours[value],
                                 label=str(value) if first and style == "-" else None)
            if accuracy:
                axs[0][1].plot(it, h[f"{accuracy}_accuracy"].to_numpy(dtype=float), lw=1.3, color=colours[value])
        loss_ax.set_yscale("log")
        loss_ax.set_xlabel("iteration")
        loss_ax.set_ylabel("loss")
        what = f"training (solid) and {'validation' if held_out == 'val' else 'test'} (dashed)" if held_out \
            else "training"
        loss_ax.set_title(f"{what} loss", fontsize=10)
        finite = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in loss_ax.get_lines()] or [[]])
        finite = finite[np.isfinite(finite)]
        if len(finite):
            label_log_axis(loss_ax.yaxis, float(finite.min()), float(finite.max()))
        loss_ax.legend(title=key, fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       borderaxespad=0)
        if accuracy:
            ax = axs[0][1]
            ax.set_xlabel("iteration")
            ax.set_ylabel(f"{'validation' if accuracy == 'val' else accuracy} accuracy")
            ax.set_title(f"{'validation' if accuracy == 'val' else accuracy} accuracy", fontsize=10)
        fig.suptitle(f"{name}: learning curves by {key}{seeds_note(results)}", fontsize=10)
        fig.tight_layout()
        atomic_savefig(fig, path)
        plt.close(fig)


def draw_sweep(sweep_dir: Path, results: pd.DataFrame, axes: dict, fmt: str = "png",
               histories: dict | None = None) -> list[Path]:
    """heatmaps.<fmt> for two or more axes; metrics.<fmt> and curves.<fmt> for one (from
    ``histories``, else the cells' history.csv in ``sweep_dir``); returns the files."""
    sweep_dir = Path(sweep_dir)
    name = folder_name(sweep_dir, sweep_dir.name)
    if not axes or results.empty:
        return []
    if len(axes) >= 2:
        path = sweep_dir / f"heatmaps.{fmt}"
        heatmaps(results, axes, path, name)
        return [path]
    path = sweep_dir / f"metrics.{fmt}"
    curves(results, axes, path, name)
    written = [path]
    if histories is None:
        from nnrun.rundir import read_histories

        histories = read_histories(sweep_dir, results["folder"]) if "folder" in results else {}
    if histories:
        learning_curves(results, axes, histories, sweep_dir / f"curves.{fmt}", name)
        written.append(sweep_dir / f"curves.{fmt}")
    return written
