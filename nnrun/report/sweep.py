"""report.html of a sweep folder: the grid, the best cell, the heatmaps, a sortable table of
every cell with a link to the cell's own report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nnrun.report.page import document, esc, figure, fmt, grid_table, kv_table, pictures_in
from nnrun.report.run import architecture_line, data_line, training_line
from nnrun.maths.metrics import RECORDED, page_order
from nnrun.store.files import read_saved_yaml
from nnrun.store.names import RESULTS, SWEEP, stamp_of
from nnrun.store.results import best_row, chosen_by, held_out_note

SHOWN_METRICS = [*page_order(RECORDED), "train_seconds"]


def _best(results: pd.DataFrame):
    try:
        return best_row(results)
    except (KeyError, ValueError):
        return None, None


def mark_swept(base: dict, axes: dict) -> dict:
    """A copy of the base config whose swept keys read 'swept: v1, v2, ...': the base value
    of a swept key never ran, and the page must not show it as if it had."""
    import copy

    shown = copy.deepcopy(base)
    for key, values in axes.items():
        *path, last = key.split(".")
        node = shown
        for part in path:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):
            text = ", ".join("-".join(map(str, v)) if isinstance(v, list) else fmt(v) for v in values)
            node[last] = f"swept: {text}"
    return shown


def sweep_page(sweep_dir: Path) -> str:
    """The HTML of a sweep folder's report."""
    sweep_dir = Path(sweep_dir)
    spec = read_saved_yaml(sweep_dir / SWEEP)
    axes = spec.get("axes") or {}
    base = mark_swept(spec.get("base") or {}, axes)
    name = spec.get("name", sweep_dir.name)
    version = spec.get("nnrun_version", "?")
    try:
        results = pd.read_csv(sweep_dir / RESULTS)
    except (OSError, pd.errors.EmptyDataError):
        results = pd.DataFrame(columns=["status", "folder"])
    counts = results["status"].value_counts().to_dict() if len(results) else {}
    done = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no cell finished"
    when = stamp_of(sweep_dir)
    head = (f"<h1>{esc(name)} <span class='badge'>sweep</span></h1>"
            f"<p class='sub'><code>{esc(sweep_dir.name)}</code>{' · ' + esc(when) if when else ''}</p>")
    grid = "; ".join(f"{k}: {', '.join(fmt(v) for v in values)}" for k, values in axes.items())
    command = spec.get("command")  # the command that made the sweep (older sweeps: none)
    what = [("command", f"<code>{esc(command)}</code>" if command else ""),
            ("grid", esc(grid)),
            ("cells", esc(f"{spec.get('cells', len(results))} ({spec.get('seeds', 1)} seed(s) each): {done}")),
            ("architecture", esc(architecture_line(base["model"])) if "model" in base else ""),
            ("training", esc(training_line(base["train"])) if "train" in base else ""),
            ("data", esc(data_line(base["data"])) if "data" in base else ""),
            ("nnrun version", esc(version))]
    row, metric = _best(results)
    if row is not None:
        where = ", ".join(f"{k} = {fmt(row[k])}" for k in axes)
        link = f"{row['folder']}/report.html"
        value = (f"mean {metric} over {row['seeds']} seeds {fmt(float(row[metric]))}" if "seeds" in row
                 else f"{metric} {fmt(float(row[metric]))}")
        best = (f"<p><strong>Best cell</strong> ({esc(value + held_out_note(row, metric))}): "
                f"{esc(where)}, seed {esc(fmt(row['seed']))} · <a href='{esc(link)}'>its report</a></p>"
                f"<p class='sub'>Chosen by {esc(chosen_by(metric))}.</p>")
    else:
        best = "<p>No cell completed, so there is no best cell.</p>"
    columns = [c for c in axes if c in results.columns] + ["seed", "status"]
    columns += [m for m in SHOWN_METRICS if m in results.columns and results[m].notna().any()]
    rows, classes = [], []
    for _, r in results.iterrows():
        cells = [_value(r[c]) for c in columns]
        cells.append(f"<a href='{esc(r.get('folder'))}/report.html'>report</a>")
        rows.append(cells)
        classes.append("best" if row is not None and r.get("folder") == row["folder"] else "")
    table = grid_table(columns + ["cell"], rows, sortable=True, row_classes=classes, html_cells={"cell"},
                       table_id="results")
    pictures = pictures_in(sweep_dir)
    body = [head, "<h2>What ran</h2>", kv_table([(k, v) for k, v in what if v]),
            "<h2>Best cell</h2>", best,
            "<h2>Pictures</h2>",
            "<div class='pictures'>" + "".join(figure(p) for p in pictures) + "</div>" if pictures
            else "<p>No pictures in this folder.</p>",
            "<h2>Every cell</h2><p class='noprint'>Click a column heading to sort by it; again to reverse.</p>",
            table,
            "<h2>Base config</h2>", f"<pre>{esc(_yaml(base))}</pre>"]
    return document(f"{name}: nnrun sweep report", "\n".join(body), version, script=True)


def _value(value):
    """A results.csv cell as a Python number when it is one (sorts as a number), else as it is."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, str) and value.strip() and _numeric(value):
        return float(value)
    return value


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _yaml(data: dict) -> str:
    from nnrun.config import dump_yaml

    return dump_yaml(data) if data else ""
