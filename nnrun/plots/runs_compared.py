"""The runs-compared picture of ``nnrun report RUN RUN ...``: the runs' loss, accuracy
and learning-rate curves overlaid, each run one colour (the page embeds it as a PNG)."""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pandas as pd

from nnrun.plots.style import iteration_axis, label_log_axis, thin_xy  # noqa: I001 - selects the Agg backend
from nnrun.plots.curves import running_mean, smoothing_window  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
STYLES = {"train": "-", "val": ":", "test": "--"}
MAX_POINTS = 4000


def runs_curves_png(histories: list[pd.DataFrame], labels: list[str], loss_name: str) -> bytes | None:
    """The picture of ``nnrun report RUN RUN ...`` as PNG bytes (None when no history has a
    curve to draw): loss (log scale), accuracy when recorded and the learning rate when a
    schedule changes it, against iteration; each run one colour, training solid,
    validation dotted, test dashed."""
    has_acc = any(any(c.endswith("accuracy") and h[c].notna().any() for c in h.columns) for h in histories)
    # a learning-rate panel only where a schedule changes eta (a constant eta is in the config table)
    has_eta = any("eta" in h and h["eta"].dropna().nunique() > 1 for h in histories)
    kinds = ["loss"] + (["accuracy"] if has_acc else []) + (["eta"] if has_eta else [])
    fig = Figure(figsize=(5.5 * len(kinds), 4.4) if len(kinds) > 1 else (7.5, 4.6), dpi=110)
    panels = [(kind, fig.add_subplot(1, len(kinds), i + 1)) for i, kind in enumerate(kinds)]
    drawn, smoothed = False, set()
    for kind, ax in panels:
        for k, (history, label) in enumerate(zip(histories, labels)):
            for part, style in STYLES.items():
                column = "eta" if kind == "eta" else f"{part}_{kind}"
                if kind == "eta" and part != "train":
                    continue
                if column not in history or not history[column].notna().any():
                    continue
                x = history["iteration"].to_numpy(dtype=float)
                y = history[column].to_numpy(dtype=float)
                if kind == "loss":
                    y = np.where((y > 0) & np.isfinite(y), y, np.nan)
                thinned = thin_xy(x, y, MAX_POINTS)  # evenly spaced points, none averaged
                window = smoothing_window(thinned[1], len(y)) if kind == "accuracy" else 0
                if window:  # records that flip at every step (E1) overlaid are a block: their running mean
                    x, y = running_mean(x, y, window, MAX_POINTS)
                    smoothed.add(window)
                else:
                    x, y = thinned
                ax.plot(x, y, style, color=COLOURS[k % len(COLOURS)], lw=1.1)
                drawn = True
        ax.set_xlabel("iteration")
        iteration_axis(ax.xaxis)  # 60,000, as every run's own pictures
        ax.grid(True, alpha=0.3)
        if kind == "loss":
            if ax.lines:
                ax.set_yscale("log")
                label_log_axis(ax.yaxis, *ax.get_ylim())  # plain numbers (0.01), as loss.png, not 10⁻²
            ax.set_ylabel(f"{loss_name} loss (mean over samples)")
            ax.set_title("loss (log scale)", fontsize=10)
        elif kind == "accuracy":
            ax.set_ylabel("accuracy")
            # which runs were smoothed is not said per line: each run's own accuracy.png shows its records
            ax.set_title("accuracy" + ("\n(records that flip at every step: their running mean)" if smoothed else ""),
                         fontsize=10)
        else:
            ax.set_ylabel("learning rate η")
            ax.set_title("learning rate", fontsize=10)
    if not drawn:
        return None
    runs = [Line2D([], [], color=COLOURS[k % len(COLOURS)], lw=2, label=label) for k, label in enumerate(labels)]
    parts = [Line2D([], [], color="k", ls=style, lw=1.1, label=part) for part, style in STYLES.items()
             if any(any(c.startswith(part + "_") and h[c].notna().any() for c in h.columns) for h in histories)]
    title = f"{len(labels)} runs compared: " + ", ".join(labels)
    # wrapped to the figure's width (~12 characters an inch at 10 pt), as heatmaps.png: one
    # line of long run names ran off both sides of the picture
    fig.suptitle(textwrap.fill(title, int(fig.get_figwidth() * 12), break_on_hyphens=False), fontsize=10)
    # legends outside the axes, below: nothing covers the curves; as many entries a row as
    # fit the figure's width (~15 characters an inch at 9 pt, and the line's key)
    handles = runs + parts
    entry = max(len(h.get_label()) for h in handles) / 15 + 0.6
    ncol = max(1, min(len(handles), 6, int(fig.get_figwidth() / entry)))
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    rows = -(-len(handles) // ncol)
    fig.tight_layout(rect=(0, min(0.06 * rows + 0.02, 0.5), 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
