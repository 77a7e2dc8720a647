"""report.html of a sweep folder: the grid, the best cell, the heatmaps, a sortable table of
every cell with a link to the cell's own report (or, until ``nnrun plot CELL`` writes it, its
folder).

The page is the Jinja2 template ``templates/sweep.html`` (autoescaping on); this module
computes the plain data it shows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nnrun.report.page import Link, fmt, picture, pictures_in, render
from nnrun.maths.metrics import RECORDED, page_order
from nnrun.report.run import architecture_line, data_line, training_line
from nnrun.store.files import read_saved_yaml
from nnrun.store.names import REPORT, RESULTS, SWEEP, stamp_of
from nnrun.store.results import best_row, chosen_by, held_out_note, status_counts

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
        values = values if isinstance(values, list) else [values]  # a search's range: its text
        *path, last = key.split(".")
        node = shown
        for part in path:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):
            text = ", ".join("-".join(map(str, v)) if isinstance(v, list) else fmt(v) for v in values)
            node[last] = f"swept: {text}"
    return shown


def sweep_page(sweep_dir: Path) -> str:
    """The HTML of a sweep folder's report (template ``sweep.html``)."""
    sweep_dir = Path(sweep_dir)
    spec = read_saved_yaml(sweep_dir / SWEEP)
    axes = spec.get("axes") or {}
    base = mark_swept(spec.get("base") or {}, axes)
    try:
        results = pd.read_csv(sweep_dir / RESULTS)
    except (OSError, pd.errors.EmptyDataError):
        results = pd.DataFrame(columns=["status", "folder"])
    done = (status_counts(results["status"]) if len(results) else "") or "no cell finished"
    command = spec.get("command")  # the command that made the sweep (older sweeps: none)
    row, metric = _best(results)
    columns = ["trial"] * ("trial" in results.columns) + [c for c in axes if c in results.columns] + ["seed", "status"]
    columns += [m for m in SHOWN_METRICS if m in results.columns and results[m].notna().any()]
    rows, classes = [], []
    for _, r in results.iterrows():
        rows.append([_value(r[c]) for c in columns] + [_cell_link(sweep_dir, r.get("folder"))])
        classes.append("best" if row is not None and r.get("folder") == row["folder"] else "")
    return render(
        "sweep.html", name=spec.get("name", sweep_dir.name), version=spec.get("nnrun_version", "?"),
        folder=sweep_dir.name, when=stamp_of(sweep_dir), command=command or "",
        grid=_grid_line(axes, spec.get("search"), spec.get("base") or {}), space=_space_label(spec.get("search")),
        cells=_cells_line(spec, len(results), done),
        architecture=architecture_line(base["model"]) if "model" in base else "",
        training=training_line(base["train"]) if "train" in base else "",
        data=data_line(base["data"]) if "data" in base else "",
        best=_best_cell(row, metric, axes), pictures=[picture(p, wide=True) for p in pictures_in(sweep_dir)],
        columns=columns + ["cell"], rows=rows, row_classes=classes, base_config=_yaml(base), script=True)


def _space_label(search: dict | None) -> str:
    """What the axes are: a grid's (pruned or not), or the space a random or TPE search draws from."""
    return "search space" if search and search.get("method") in ("random", "tpe") else "grid"


def _cells_line(spec: dict, written: int, done: str) -> str:
    """How many cells ran, and how they ended: a search's trials, or the grid's cells and seeds."""
    search = spec.get("search")
    if search and search.get("method") in ("random", "tpe"):
        return f"{search['trials']} trials: {done}"
    return f"{spec.get('cells', written)} ({spec.get('seeds', 1)} seed(s) each): {done}"


def _grid_line(axes: dict, search: dict | None, base: dict) -> str:
    """The axes (a search's ranges as written), and how a search walked them."""
    line = "; ".join(f"{k}: {', '.join(fmt(v) for v in values) if isinstance(values, list) else values}"
                     for k, values in axes.items())
    if search:
        line += (f" — searched by Optuna: sweep.method {search['method']}, {search['trials']} trials, sampler seed "
                 f"{search['sampler_seed']}, sweep.prune {search['prune']}; the study minimises the final "
                 f"{'validation' if (base.get('data') or {}).get('validation_fraction') else 'training'} loss")
    return line


def _cell_link(sweep_dir: Path, folder) -> Link:
    """A cell's page, or its folder while it has none: a sweep writes only its best cell's
    page, and ``nnrun plot CELL`` any other's (with its pictures) on demand."""
    if (sweep_dir / str(folder) / REPORT).exists():
        return Link(f"{folder}/{REPORT}", "report")
    return Link(f"{folder}/", "folder")


def _best_cell(row, metric: str, axes: dict) -> dict | None:
    """What the Best cell section says of the best row (None: no cell completed)."""
    if row is None:
        return None
    value = (f"mean {metric} over {row['seeds']} seeds {fmt(float(row[metric]))}" if "seeds" in row
             else f"{metric} {fmt(float(row[metric]))}")
    return {"value": value + held_out_note(row, metric), "where": ", ".join(f"{k} = {fmt(row[k])}" for k in axes),
            "seed": row["seed"], "folder": row["folder"], "chosen_by": chosen_by(metric)}


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
