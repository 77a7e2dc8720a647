"""``nnrun report RUN RUN ...``: one page comparing runs.

The page shows only the config keys whose values differ between the runs (the rest
is the same for all and is counted, not listed), the final metrics side by side, and
the runs' loss and accuracy curves overlaid in one picture, each run one colour:
training solid, validation dotted, test dashed.

The page is the Jinja2 template ``templates/compare.html`` (autoescaping on); this module
computes the plain data it shows; the curves are drawn by
:func:`nnrun.plots.runs_compared.runs_curves_png`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nnrun.errors import NnrunError
from nnrun.store.names import no_run_folder
from nnrun.report.page import Link, data_uri, fmt, render
from nnrun.report.run import METRIC_ROWS
from nnrun.report.runs import IGNORED, flatten
from nnrun.store.files import atomic_write, read_saved_json, read_saved_yaml
from nnrun.store.history import has_history, history_source, read_history
from nnrun.store.names import CONFIG, HISTORY, METRICS_JSON, REPORT, SWEEP, folder_name, is_sweep, started


def check_run(folder: Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise no_run_folder(folder, "RUN: ")
    if (folder / SWEEP).exists():
        raise NnrunError(f"RUN: {folder} is a sweep folder; give its cell folders (or open its report.html)")
    for needed in (CONFIG, METRICS_JSON):
        if not (folder / needed).exists():
            raise NnrunError(f"RUN: {folder}: not a run folder (no {needed})")
    if not has_history(folder):  # history.csv, or a sweep cell's rows of its sweep's table
        raise NnrunError(f"RUN: {folder}: not a run folder (no {HISTORY})")
    return folder


SHORT = 28  # characters: a column head longer than this made the tables scroll sideways


def labels_for(configs: list[dict], differing: list[str], folders: list[Path]) -> list[str]:
    """A short, distinct column head per run: the differing values when one to three keys
    differ (``eta=0.1, lambda=0``), else the runs' names, else numbered names (``#1 digits``,
    ``#2 digits``). The runs table pairs each with its whole folder name."""
    names = [str(c.get("name") or folder_name(f, f.name)) for c, f in zip(configs, folders)]
    if differing and len(differing) <= 3:
        values = [", ".join(f"{k.split('.')[-1]}={fmt(c.get(k))}" for k in differing) for c in configs]
        if _short_and_distinct(values):
            return values
    if _short_and_distinct(names):
        return names
    # a sweep's cells share its name, and folder names run to 80 characters: number them
    return [f"#{k} {name[:SHORT - 4]}" for k, name in enumerate(names, start=1)]


def _short_and_distinct(labels: list[str]) -> bool:
    return len(set(labels)) == len(labels) and all(0 < len(label) <= SHORT for label in labels)


def shown_folder(folder: Path) -> str:
    """A run folder's name as the page shows it: a sweep cell with its sweep folder's name
    (``20261205-143001-digits-sweep/c035_eta=1_lambda=1e-05_seed=0``): every sweep has a c000."""
    folder = Path(os.path.abspath(folder))
    return f"{folder.parent.name}/{folder.name}" if is_sweep(folder.parent) else folder.name


def started_at(folder: Path) -> str:
    """The runs table's time: when the run started (``store.names.started``), else when
    its metrics.json was written, marked ``(finished)``."""
    when = started(folder)
    if when:
        return when
    written = (folder / METRICS_JSON).stat().st_mtime
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(written)) + " (finished)"


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
        runs.append([label, Link(href, shown_folder(folder)), started_at(folder), m.get("status", "unknown")])
    rows = []
    for key, _, label, _ in METRIC_ROWS + [("train_seconds", None, "training time (s)", False)]:
        values = [m.get(key) for m in metrics]
        if any(v is not None for v in values):
            rows.append([label, *[np.nan if v is None else v for v in values]])
    histories = []
    for folder in folders:
        try:
            histories.append(read_history(folder))
        except (OSError, ValueError, pd.errors.ParserError) as e:
            raise NnrunError(f"RUN: {history_source(folder)[0]}: not readable ({e})") from None
    losses = {r.get("train", {}).get("loss", "") for r in raws}
    from nnrun.plots.runs_compared import runs_curves_png  # matplotlib: imported when a page is made

    png = runs_curves_png(histories, labels, losses.pop().replace("_", " ") if len(losses) == 1 else "")
    caption = "each run one colour; training solid, validation dotted, test dashed"
    return render(
        "compare.html", labels=labels, folders=[str(f.resolve()) for f in folders], runs=runs, differing=[[k, *[c.get(k) for c in configs]] for k in differing],
        same=len(keys) - len(differing), metric_rows=rows,
        curves={"uri": data_uri(png, "image/png"), "caption": caption, "wide": True} if png else None,
        version=str(metrics[0].get("nnrun_version", "?")), script=False)


def write_compare_page(run_dirs, out) -> Path:
    out = Path(out)
    page = compare_page(run_dirs, out)
    if not out.parent.exists():
        raise NnrunError(f"--out: {out.parent}: no such folder")
    atomic_write(out, page)
    return out
