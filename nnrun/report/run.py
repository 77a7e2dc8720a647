"""report.html of a run folder: what ran, status and hints, metrics, every picture, the config.

The page is the Jinja2 template ``templates/run.html`` (autoescaping on); this module
computes the plain data it shows.

Everything comes from the files of the folder (config.yaml, metrics.json, history.csv,
model.json and the pictures), so ``nnrun plot`` redraws the page of any run.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import pandas as pd

from nnrun.maths.metrics import METRICS, page_order
from nnrun.report.page import fmt, picture, pictures_in, render
from nnrun.store.files import read_saved_json, read_saved_yaml
from nnrun.store.history import history_source, read_history
from nnrun.store.names import CONFIG, FIRST_STEP, METRICS_JSON, MODEL_JSON, REPORT, stamp_of

# (metrics.json key, history column or None, label, higher is better), in a reader's order
METRIC_ROWS = [(m.key, m.key if m.recorded else None, m.label, m.higher_is_better)
               for m in (METRICS[key] for key in page_order(METRICS))]
HISTORY_METRICS = [column for _, column, _, _ in METRIC_ROWS if column]


def architecture_line(model: dict) -> str:
    arch = model.get("architecture")
    arch = "-".join(map(str, arch)) if isinstance(arch, list) else str(arch)
    act = model.get("activation")
    act = "/".join(act) if isinstance(act, list) else act
    dropout = model.get("dropout")
    rates = dropout if isinstance(dropout, list) else [dropout]
    dropout = f"; dropout p={fmt(dropout)}" if any(r for r in rates if r) else ""
    return f"{arch}, {act} hidden, {model.get('output')} output; init {model.get('init')}{dropout}"


def data_line(data: dict) -> str:
    skip = {"source", "transform", "task", "test_fraction", "validation_fraction"}
    parts = [f"{data.get('source')}"]
    parts += [f"{k}={fmt(v)}" for k, v in data.items() if k not in skip and v is not None]
    line = f"{parts[0]} ({', '.join(parts[1:])})" if len(parts) > 1 else parts[0]
    split = [f"{k.split('_')[0]} {fmt(data[k])}" for k in ("validation_fraction", "test_fraction") if data.get(k)]
    if split:
        line += "; held out: " + ", ".join(split)
    if data.get("transform"):
        line += "; transforms: " + " → ".join(data["transform"])
    return line + f"; {data.get('task', 'classification')}"


def training_line(train: dict) -> str:
    length = f"{train['epochs']} epochs" if train.get("epochs") else f"{train.get('iterations')} iterations"
    batch = train.get("batch_size")
    batch = "full batch" if batch == "full" else ("one sample per step" if batch == 1 else f"batch {batch}")
    lam = f", λ={fmt(train['lambda'])}" if train.get("lambda") else ""
    optimizer = f"{train['optimizer']}, " if train.get("optimizer") not in (None, "sgd") else ""
    schedule = train.get("schedule")
    if isinstance(schedule, dict):
        schedule = schedule.get("type")
    schedule = f", {schedule} schedule" if schedule not in (None, "constant") else ""
    early = train.get("early_stopping")
    early = f", early stopping (patience {early.get('patience')})" if isinstance(early, dict) else ""
    return (f"{str(train.get('loss', '')).replace('_', ' ')} loss, {optimizer}η={fmt(train.get('eta'))}{lam}"
            f"{schedule}, {batch} ({train.get('sampling')}), {length}{early}")


def best_of_history(run_dir: Path, metrics: dict | None = None) -> dict:
    """{column: (best value, iteration)} over the history (lowest loss, highest accuracy):
    from metrics.json's ``best_during_training``, else (older runs) from history.csv."""
    kept = (metrics or {}).get("best_during_training")
    if isinstance(kept, dict):
        return {c: (kept[c]["value"], kept[c]["iteration"]) for c in HISTORY_METRICS if c in kept}
    try:
        history = read_history(run_dir, usecols=lambda c: c == "iteration" or c in HISTORY_METRICS).astype(float)
        columns = [c for c in HISTORY_METRICS if c in history]
        if not columns:
            return {}
    except (OSError, ValueError, pd.errors.ParserError):
        return {}
    best = {}
    for column in columns:
        values = history[column]
        if values.notna().any():
            i = values.idxmax() if METRICS[column].higher_is_better else values.idxmin()
            best[column] = (float(values[i]), int(history["iteration"][i]))
    return best


def metric_rows(metrics: dict, best: dict) -> list[list]:
    """[label, final, best seen, at iteration] per metric that the run recorded."""
    rows = []
    for key, column, label, _ in METRIC_ROWS:
        value = metrics.get(key)
        if value is None and column not in best:
            continue
        b = best.get(column)
        # the test set's best record is a look, not a result: picking it would choose on the test set
        shown = f"{label} †" if b and key.startswith("test_") else label
        rows.append([shown, value if value is not None else math.nan,
                     b[0] if b else math.nan, b[1] if b else None])
    return rows


def run_facts(metrics: dict) -> list[tuple[str, str]]:
    """(label, text) rows under the metrics: iterations, training time, engine, recording."""
    per_iteration = metrics.get("seconds_per_iteration")
    return [("iterations", f"{fmt(metrics.get('iterations'))} of {fmt(metrics.get('planned_iterations'))} planned"
             if metrics.get("planned_iterations") else fmt(metrics.get("iterations"))),
            ("training time", f"{fmt(metrics.get('train_seconds'))} s in the training loop"
             + (f" ({per_iteration * 1e6:.3g} µs per iteration)" if per_iteration else "")),
            ("engine", fmt(metrics.get("engine"))),
            ("recorded", f"every {fmt(metrics.get('log_every'))} iterations" if metrics.get("log_every") else "")]


def early_stopping(metrics: dict) -> dict | None:
    """What early stopping did, as the Status section's sentence needs it (None: not used)."""
    early = metrics.get("early_stopping")
    if not early:
        return None
    return {"when": (f"stopped at iteration {fmt(early.get('stopped_at'))}" if early.get("stopped_at") is not None
                     else "did not trigger (the run went to its end)"),
            "monitor": str(early.get("monitor", "")).replace("_", " "),
            "best_iteration": early.get("best_iteration"), "best_loss": early.get("best_loss"),
            "kept": "; the model holds the weights of that record" if early.get("restored_best") else ""}


def first_step(run_dir: Path) -> str:
    """The first update explained (``nnrun explain``'s text), from first_step.json; '' without it."""
    explained = read_saved_json(run_dir / FIRST_STEP)
    if not explained.get("steps"):
        return ""
    from nnrun.explain.render import render

    try:
        return render(explained, title="")
    except (KeyError, TypeError, ValueError):  # a file from another version: the page goes on without it
        return ""


def files_of(run_dir: Path) -> list[dict]:
    """The folder's files (but report.html) with their sizes, for the Files section."""
    files = []
    for path in sorted(run_dir.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.name != REPORT:
            size = path.stat().st_size
            files.append({"name": path.name, "href": path.name, "note": "",
                          "size": f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.1f} KiB"})
    table, folder = history_source(run_dir)
    if folder is not None and table.exists():  # a sweep cell: its history is rows of its sweep's table
        size = table.stat().st_size
        name = f"../{table.relative_to(run_dir.parent).as_posix()}"
        files.append({"name": name, "href": name,
                      "size": f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.1f} KiB",
                      "note": f"its history: the rows whose folder is {folder}, beside its batch's"})
    return files


def _names(names: list[str], most: int = 12) -> str:
    """'a, b, c', or 'p0, p1, p2, …, p63 (64 columns)' for long lists."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:3])}, …, {names[-1]} ({len(names)} columns)"


def run_page(run_dir: Path, parent: str | None = None, shown_as: str | Path | None = None) -> str:
    """The HTML of a run folder's report (template ``run.html``). Its commands name the folder
    as ``shown_as`` (default ``run_dir``), the path the user reaches it by: a sweep cell is
    written in a worker's temporary folder, and a folder's name alone is only right inside its
    parent."""
    run_dir = Path(run_dir)
    shown_path = Path(shown_as) if shown_as is not None else run_dir
    raw = read_saved_yaml(run_dir / CONFIG)
    metrics = read_saved_json(run_dir / METRICS_JSON)
    model_json = read_saved_json(run_dir / MODEL_JSON)
    model, data, train = raw.get("model", {}), raw.get("data", {}), raw.get("train", {})
    best = best_of_history(run_dir, metrics)
    config = run_dir / CONFIG
    return render(
        "run.html", name=raw.get("name", run_dir.name), status=metrics.get("status", "unknown"),
        version=raw.get("nnrun_version") or metrics.get("nnrun_version") or "?",
        folder=shown_path.name, shown=str(shown_path), when=stamp_of(run_dir), parent=parent or "",
        command=metrics.get("command") or "",
        architecture=architecture_line(model) if model else "",
        training=training_line(train) if train else "", data=data_line(data) if data else "",
        features=_names(model_json.get("features", [])), classes=", ".join(model_json.get("class_names", [])),
        seed=raw.get("seed"),
        outcome={"diverged_at": metrics.get("diverged_at"), "iterations": metrics.get("iterations"),
                 "error": str(metrics.get("error", "")), "traceback": metrics.get("traceback") or ""},
        early=early_stopping(metrics), hints=(metrics.get("diagnostics") or {}).get("hints") or [],
        metric_rows=metric_rows(metrics, best),
        test_best_shown=any(key.startswith("test_") and column in best for key, column, _, _ in METRIC_ROWS),
        run_facts=run_facts(metrics),
        pictures=[picture(p) for p in pictures_in(run_dir)],
        config_text=config.read_text() if config.exists() else "",
        first_step=first_step(run_dir),
        explain_command=shlex.join(["nnrun", "explain", str(shown_path / CONFIG), "--format", "markdown"]),
        files=files_of(run_dir), script=False)
