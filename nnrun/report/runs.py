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
from nnrun.report.run import read_json, read_yaml, stamp_of

METRIC_COLUMNS = ["train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy", "test_accuracy",
                  "train_r2", "test_r2"]
HIGHER_IS_BETTER = ("accuracy", "r2")
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
    if stamp_of(folder) and len(folder.name) > 16:
        return folder.name[16:].removesuffix("-sweep")
    return str(fallback or folder.name)


def _time(folder: Path) -> str:
    return stamp_of(folder) or time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(folder.stat().st_mtime))


def read_entry(folder: Path) -> dict | None:
    """One row's facts from a run or sweep folder (None if the folder is neither)."""
    if (folder / "sweep.yaml").exists():
        return _sweep_entry(folder)
    if (folder / "config.yaml").exists() and (folder / "metrics.json").exists():
        raw = read_yaml(folder / "config.yaml")
        metrics = read_json(folder / "metrics.json")
        return {"time": _time(folder), "name": _name(folder, raw.get("name")), "kind": "run",
                "status": metrics.get("status", "unknown"), "config": flatten(raw),
                "metrics": {m: metrics.get(m) for m in METRIC_COLUMNS}, "folder": folder}
    return None


def _sweep_entry(folder: Path) -> dict:
    from nnrun.sweep import best_row

    spec = read_yaml(folder / "sweep.yaml")
    config = flatten(spec.get("base") or {})
    for key, values in (spec.get("axes") or {}).items():
        shown = [fmt(v) for v in values]
        config[key] = f"{len(values)} values: {shown[0]} … {shown[-1]}" if len(shown) > 3 else \
            "{" + ", ".join(shown) + "}"
    metrics, status = {}, "no cells"
    try:
        results = pd.read_csv(folder / "results.csv")
    except (OSError, pd.errors.EmptyDataError):
        results = None
    if results is not None and len(results):
        counts = results["status"].value_counts().to_dict()
        status = ", ".join(f"{n} {s}" for s, n in counts.items())
        try:
            row, _ = best_row(results)
        except (KeyError, ValueError):
            row = None
        if row is not None:
            cell = read_json(folder / str(row["folder"]) / "metrics.json")
            metrics = {m: cell.get(m, row.get(m)) for m in METRIC_COLUMNS}
    return {"time": _time(folder), "name": _name(folder, spec.get("name")), "kind": "sweep (best cell)",
            "status": status, "config": config, "metrics": metrics, "folder": folder}


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
        # kind=sweep finds the sweeps, whose kind reads 'sweep (best cell)'
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
    if sort:
        if entries and sort not in known:
            raise NnrunError(f"--sort: no run has the key '{sort}'; keys: {', '.join(sorted(known))}")
        values = [_lookup(e, sort) for e in entries]
        key = pd.Series([_sort_key(v) for v in values], dtype=object)
        descending = sort.endswith(HIGHER_IS_BETTER) != reverse
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


def text_table(table: pd.DataFrame) -> str:
    """The table for a terminal: 4 significant digits, blanks for missing values."""
    if table.empty:
        return ""
    shown = table.copy().astype(object)
    for column in shown.columns:
        shown[column] = [_cell(v) for v in shown[column]]
    shown = shown.fillna("")
    return shown.to_string(index=False)


def _cell(value) -> str:
    """Whole numbers in full (60000, not 6e+04), other numbers to 4 significant digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return fmt(value)
