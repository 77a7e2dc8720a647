"""``nnrun report RUN RUN ...``: one page comparing runs.

The page shows only the config keys whose values differ between the runs (the rest
is the same for all and is counted, not listed), the final metrics side by side, and
the runs' loss and accuracy curves overlaid in one picture, each run one colour:
training solid, validation dotted, test dashed.

The page is the Jinja2 template ``templates/compare.html`` (autoescaping on); this module
computes the plain data it shows and draws the curves.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnrun.errors import NnrunError, no_run_folder
from nnrun.report.page import Link, data_uri, fmt, render
from nnrun.report.run import METRIC_ROWS
from nnrun.report.runs import IGNORED, flatten
from nnrun.store.files import atomic_write, read_saved_json, read_saved_yaml
from nnrun.store.names import CONFIG, HISTORY, METRICS_JSON, REPORT, SWEEP, stamp_of

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
STYLES = {"train": "-", "val": ":", "test": "--"}
MAX_POINTS = 4000


def check_run(folder: Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise no_run_folder(folder, "RUN: ")
    if (folder / SWEEP).exists():
        raise NnrunError(f"RUN: {folder} is a sweep folder; give its cell folders (or open its report.html)")
    for needed in (CONFIG, METRICS_JSON, HISTORY):
        if not (folder / needed).exists():
            raise NnrunError(f"RUN: {folder}: not a run folder (no {needed})")
    return folder


def labels_for(configs: list[dict], differing: list[str], folders: list[Path]) -> list[str]:
    """A short name per run: the differing values, else the run names, else the folder names."""
    if differing and len(differing) <= 3:
        labels = [", ".join(f"{k.split('.')[-1]}={fmt(c.get(k))}" for k in differing) for c in configs]
    else:
        labels = [str(c.get("name", f.name)) for c, f in zip(configs, folders)]
    if len(set(labels)) < len(labels):
        labels = [f.name for f in folders]
    return labels


def _thin(x: np.ndarray, y: np.ndarray):
    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).astype(int))
    return x[keep], y[keep]


def curves_png(histories: list[pd.DataFrame], labels: list[str], loss_name: str) -> bytes | None:
    """Loss (log scale) and, when recorded, accuracy against iteration, the runs overlaid."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from nnrun.plots.style import ITERATION_FORMAT, label_log_axis

    has_acc = any(any(c.endswith("accuracy") and h[c].notna().any() for c in h.columns) for h in histories)
    # a learning-rate panel only where a schedule changes eta (a constant eta is in the config table)
    has_eta = any("eta" in h and h["eta"].dropna().nunique() > 1 for h in histories)
    kinds = ["loss"] + (["accuracy"] if has_acc else []) + (["eta"] if has_eta else [])
    fig = Figure(figsize=(5.5 * len(kinds), 4.4) if len(kinds) > 1 else (7.5, 4.6), dpi=110)
    panels = [(kind, fig.add_subplot(1, len(kinds), i + 1)) for i, kind in enumerate(kinds)]
    drawn = False
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
                x, y = _thin(x, y)
                ax.plot(x, y, style, color=COLOURS[k % len(COLOURS)], lw=1.1)
                drawn = True
        ax.set_xlabel("iteration")
        ax.xaxis.set_major_formatter(ITERATION_FORMAT)  # 60,000, as every run's own pictures
        ax.grid(True, alpha=0.3)
        if kind == "loss":
            if ax.lines:
                ax.set_yscale("log")
                label_log_axis(ax.yaxis, *ax.get_ylim())  # plain numbers (0.01), as loss.png, not 10⁻²
            ax.set_ylabel(f"{loss_name} loss (mean over samples)")
            ax.set_title("loss (log scale)", fontsize=10)
        elif kind == "accuracy":
            ax.set_ylabel("accuracy")
            ax.set_title("accuracy", fontsize=10)
        else:
            ax.set_ylabel("learning rate η")
            ax.set_title("learning rate", fontsize=10)
    if not drawn:
        return None
    runs = [Line2D([], [], color=COLOURS[k % len(COLOURS)], lw=2, label=label) for k, label in enumerate(labels)]
    parts = [Line2D([], [], color="k", ls=style, lw=1.1, label=part) for part, style in STYLES.items()
             if any(any(c.startswith(part + "_") and h[c].notna().any() for c in h.columns) for h in histories)]
    fig.suptitle(f"{len(labels)} runs compared: " + ", ".join(labels), fontsize=10)
    # legends outside the axes, below: nothing covers the curves
    fig.legend(handles=runs + parts, loc="lower center", ncol=min(len(runs) + len(parts), 6), fontsize=9,
               frameon=False)
    rows = -(-(len(runs) + len(parts)) // 6)
    fig.tight_layout(rect=(0, 0.06 * rows + 0.02, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def compare_page(run_dirs, out: Path) -> str:
    """The HTML comparing the runs (template ``compare.html``); links to each run's own report
    relative to ``out``."""
    folders = [check_run(Path(f)) for f in run_dirs]
    if len(folders) < 2:
        raise NnrunError("RUN: give at least two run folders to compare")
    raws = [read_saved_yaml(f / CONFIG) for f in folders]
    configs = [flatten(r) for r in raws]
    metrics = [read_saved_json(f / METRICS_JSON) for f in folders]
    keys: list[str] = []
    for c in configs:
        keys += [k for k in c if k not in keys and k.split(".")[0] not in IGNORED]
    differing = [k for k in keys if len({json.dumps(c.get(k), default=str) for c in configs}) > 1]
    labels = labels_for(configs, differing, folders)
    out_dir = Path(out).resolve().parent
    runs = []
    for label, folder, m in zip(labels, folders, metrics):
        target = folder.resolve() / REPORT
        href = os.path.relpath(target, out_dir) if target.exists() else None
        runs.append([label, Link(href, folder.name), stamp_of(folder), m.get("status", "unknown")])
    rows = []
    for key, _, label, _ in METRIC_ROWS + [("train_seconds", None, "training time (s)", False)]:
        values = [m.get(key) for m in metrics]
        if any(v is not None for v in values):
            rows.append([label, *[np.nan if v is None else v for v in values]])
    histories = []
    for folder in folders:
        try:
            histories.append(pd.read_csv(folder / HISTORY))
        except (OSError, ValueError, pd.errors.ParserError) as e:
            raise NnrunError(f"RUN: {folder / 'history.csv'}: not readable ({e})") from None
    losses = {r.get("train", {}).get("loss", "") for r in raws}
    png = curves_png(histories, labels, losses.pop().replace("_", " ") if len(losses) == 1 else "")
    caption = "each run one colour; training solid, validation dotted, test dashed"
    return render(
        "compare.html", labels=labels, runs=runs, differing=[[k, *[c.get(k) for c in configs]] for k in differing],
        same=len(keys) - len(differing), metric_rows=rows,
        curves={"uri": data_uri(png, "image/png"), "caption": caption} if png else None,
        version=str(metrics[0].get("nnrun_version", "?")), script=False)


def write_compare_page(run_dirs, out) -> Path:
    out = Path(out)
    page = compare_page(run_dirs, out)
    if not out.parent.exists():
        raise NnrunError(f"--out: {out.parent}: no such folder")
    atomic_write(out, page)
    return out
