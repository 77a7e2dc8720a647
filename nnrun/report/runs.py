"""The table of runs: ``nnrun runs [DIR]``, one row per run or sweep folder under DIR.

Each row holds when it ran, its name, kind and status, the config values that differ
between the rows listed (the values every row shares say nothing), and the final
metrics (a sweep: its best cell's). Rows can be filtered by any config key or column
and sorted by any of them; ``--csv`` gives the same table for programs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from nnrun.errors import NnrunError
from nnrun.report.page import fmt
from nnrun.maths.metrics import PER_SET, higher_is_better, page_order
from nnrun.store.files import read_saved_json, read_saved_yaml
from nnrun.store.names import CONFIG, METRICS_JSON, RESULTS, SWEEP, folder_name, stamp_of
from nnrun.store.results import best_row, status_counts

METRIC_COLUMNS = page_order(PER_SET)  # losses, accuracies, R²; each train, validation, test
IGNORED = ("name", "nnrun_version", "sweep")


def flatten(config: dict, prefix: str = "") -> dict:
    """{'train.eta': 0.1, 'model.architecture': '2-2-3-2', ...}: dotted keys, readable values."""
    flat = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, dotted + "."))
        elif dotted == "model.architecture" and isinstance(value, list):
            flat[dotted] = "-".join(map(str, value))
        elif isinstance(value, list):
            flat[dotted] = "[" + ", ".join(map(str, value)) + "]"
        else:
            flat[dotted] = value
    return flat


def _name(folder: Path, fallback) -> str:
    """The name the folder was made with (--name or the config's), else the config's name."""
    return folder_name(folder, str(fallback or folder.name))


def _time(folder: Path) -> str:
    return stamp_of(folder) or time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(folder.stat().st_mtime))


def read_entry(folder: Path) -> dict | None:
    """One row's facts from a run or sweep folder (None if the folder is neither)."""
    if (folder / SWEEP).exists():
        return _sweep_entry(folder)
    if (folder / CONFIG).exists() and (folder / METRICS_JSON).exists():
        raw = read_saved_yaml(folder / CONFIG)
        metrics = read_saved_json(folder / METRICS_JSON)
        return {"time": _time(folder), "name": _name(folder, raw.get("name")), "kind": "run",
                "status": metrics.get("status", "unknown"), "config": flatten(raw),
                "metrics": {m: metrics.get(m) for m in METRIC_COLUMNS}, "folder": folder}
    return None


def _sweep_entry(folder: Path) -> dict:
    spec = read_saved_yaml(folder / SWEEP)
    config = flatten(spec.get("base") or {})
    for key, values in (spec.get("axes") or {}).items():
        if isinstance(values, str):  # a search's range, as written: loguniform(0.001, 1)
            config[key] = values
            continue
        shown = [fmt(v) for v in values]
        config[key] = f"{len(values)} values: {shown[0]} … {shown[-1]}" if len(shown) > 3 else \
            "{" + ", ".join(shown) + "}"
    metrics, status, kind = {}, "no cells", "sweep"
    try:
        results = pd.read_csv(folder / RESULTS)
    except (OSError, pd.errors.EmptyDataError):
        results = None
    if results is not None and len(results):
        status = status_counts(results["status"])
        try:
            row, chosen = best_row(results)
        except (KeyError, ValueError):
            row = None
        if row is not None:
            cell = read_saved_json(folder / str(row["folder"]) / METRICS_JSON)
            metrics = {m: cell.get(m, row.get(m)) for m in METRIC_COLUMNS}
            how = _search_words(spec.get("search"))
            kind = f"sweep ({how + '; ' if how else ''}by {chosen})"  # its best cell, chosen by that metric
    return {"time": _time(folder), "name": _name(folder, spec.get("name")), "kind": kind,
            "status": status, "config": config, "metrics": metrics, "folder": folder}


def _search_words(search: dict | None) -> str:
    """How a search ran, for its kind: 'tpe', 'random, median', 'grid, halving'; '' for a grid."""
    if not search:
        return ""
    return ", ".join(w for w in (search.get("method"), search.get("prune")) if w and w != "none")


def _matches(value, wanted: str) -> bool:
    if value is None:
        return wanted.lower() in ("", "none", "null")
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return str(value) == wanted or fmt(value) == wanted


def runs_table(folder: str | Path = "runs", sort: str | None = None, filters=(), reverse: bool = False) -> pd.DataFrame:
    """The table ``nnrun runs`` prints: time, name, kind, status, differing config values,
    final metrics, folder; filtered by KEY=VALUE (any config key or column) and sorted by KEY
    (accuracies and R² best first, everything else ascending; ``reverse`` flips)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NnrunError(f"DIR: {folder}: no such folder; expected a folder of run folders such as runs/")
    entries = [e for e in (read_entry(p) for p in sorted(folder.iterdir()) if p.is_dir()) if e]
    known = {"time", "name", "kind", "status", "folder", *METRIC_COLUMNS}
    known |= {k for e in entries for k in e["config"]}
    for text in filters:
        key, sep, wanted = text.partition("=")
        key = key.strip()
        if not sep:
            raise NnrunError(f"--filter: '{text}' is not KEY=VALUE, e.g. --filter model.activation=relu")
        if entries and key not in known:
            raise NnrunError(f"--filter: no run has the key '{key}'; keys: {', '.join(sorted(known))}")
        wanted = wanted.strip()
        # kind=sweep finds the sweeps, whose kind reads 'sweep (by val_accuracy)' or the like
        entries = [e for e in entries if _matches(_lookup(e, key), wanted)
                   or (key == "kind" and e["kind"].split(" ")[0] == wanted)]
    differing = _differing([e["config"] for e in entries])
    metric_columns = [m for m in METRIC_COLUMNS if any(e["metrics"].get(m) is not None for e in entries)]
    rows = []
    for e in entries:
        row = {"time": e["time"], "name": e["name"], "kind": e["kind"], "status": e["status"]}
        row.update({k: e["config"].get(k) for k in differing})
        row.update({m: e["metrics"].get(m) for m in metric_columns})
        row["folder"] = str(e["folder"])
        rows.append(row)
    columns = ["time", "name", "kind", "status", *differing, *metric_columns, "folder"]
    table = pd.DataFrame(rows, columns=columns)
    for key in differing:  # as given: a whole number missing in some runs stays 600, not 600.0
        table[key] = pd.Series([row[key] for row in rows], dtype=object)
    if sort:
        if entries and sort not in known:
            raise NnrunError(f"--sort: no run has the key '{sort}'; keys: {', '.join(sorted(known))}")
        values = [_lookup(e, sort) for e in entries]
        key = pd.Series([_sort_key(v) for v in values], dtype=object)
        descending = (sort in METRIC_COLUMNS and higher_is_better(sort)) != reverse
        order = sorted(range(len(entries)), key=lambda i: key[i], reverse=descending)
        # missing values last either way
        order = [i for i in order if values[i] is not None] + [i for i in order if values[i] is None]
        table = table.iloc[order].reset_index(drop=True)
    return table


def _lookup(entry: dict, key: str):
    if key in ("time", "name", "kind", "status"):
        return entry[key]
    if key == "folder":
        return str(entry["folder"])
    if key in METRIC_COLUMNS:
        return entry["metrics"].get(key)
    return entry["config"].get(key)


def _sort_key(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, "" if value is None else str(value))


def _differing(configs: list[dict]) -> list[str]:
    """Config keys whose values are not the same in every listed row (in config order)."""
    keys: list[str] = []
    for config in configs:
        keys += [k for k in config if k not in keys]
    out = []
    for key in keys:
        if key.split(".")[0] in IGNORED:
            continue
        values = {json.dumps(c.get(key), sort_keys=True, default=str) for c in configs}
        if len(values) > 1:
            out.append(key)
    return out


def text_table(table: pd.DataFrame, width: int | None = None, first=()) -> tuple[str, list[str]]:
    """The table for a terminal, and the config columns it leaves out. Numbers (4
    significant digits) are right-aligned, text left-aligned, missing values blank.

    ``width`` (a terminal's) fits the lines in that many characters. Always shown: the
    folder's name in DIR (it holds the time and the run's name), the kind when sweeps are
    listed, the status, the metrics most rows have and the keys in ``first`` (those sorted
    or filtered by); then as many other config columns as fit (train.*, model.*, seed, the
    rest: what differs between the runs; in each, those with more distinct values first), and last the metrics that most rows lack (a
    validation loss only a few runs have, R² beside classifiers). ``None`` keeps every column.
    """
    if table.empty:
        return "", []
    numeric = {c: all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in table[c] if v is not None)
               for c in table.columns}
    shown = {c: ["" if v is None or v != v else _cell(v) for v in table[c]] for c in table.columns}
    if width is not None:
        shown["folder"] = [Path(f).name for f in shown["folder"]]  # in DIR, as ls shows them
    need = {c: max(len(c), *(len(v) for v in shown[c])) for c in table.columns}
    if width is None:
        columns, left_out = list(table.columns), []
    else:
        fixed = ["folder", *(["kind"] if (table["kind"] != "run").any() else []), "status"]
        metrics = [c for c in METRIC_COLUMNS if c in table.columns]
        # a metric most rows lack yields its place to the config columns that differ
        sparse = [c for c in metrics if c not in first and 2 * sum(v != "" for v in shown[c]) < len(table)]
        dense = [c for c in metrics if c not in sparse]
        config = [c for c in table.columns if c not in (*fixed, *metrics, "time", "name", "kind")]
        rank = {"train": 0, "model": 1, "seed": 2}
        # in each group the columns that tell more runs apart first (eta's four values before
        # the loss's two: the runs that look the same otherwise are told apart); stable: config order next
        config.sort(key=lambda c: (c not in first, rank.get(c.split(".")[0], 3), -len(set(shown[c]))))
        used, kept = sum(need[c] + 1 for c in fixed + dense), []
        for column in config + sparse:
            if column in first or used + need[column] + 1 <= width:  # a key asked about always shows
                kept.append(column)
                used += need[column] + 1
        columns = fixed + [c for c in table.columns if c in kept and c in config] + [c for c in metrics if c in
                                                                                       dense or c in kept]
        left_out = [c for c in config + sparse if c not in kept]

    def line(cells):
        return " ".join(text.rjust(need[c]) if numeric[c] else text.ljust(need[c])
                        for c, text in zip(columns, cells)).rstrip()

    rows = zip(*(shown[c] for c in columns))
    return "\n".join([line(columns), *map(line, rows)]), left_out


def _cell(value) -> str:
    """Whole numbers in full (60000, not 6e+04), other numbers to 4 significant digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return fmt(value)
