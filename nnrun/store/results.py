"""A sweep's results (a cell is anything with ``values``, ``seed`` and ``folder_name``: a
:class:`nnrun.sweeps.grid.Cell`): results.csv (a row per cell, appended as cells finish), summary.csv
(mean and std over seeds), and the best cell, chosen on the validation set where there is one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnrun.maths.metrics import METRICS as METRIC_TABLE, RECORDED
from nnrun.store.files import atomic_write
from nnrun.store.names import METRICS_JSON, RESULTS, SUMMARY

if TYPE_CHECKING:
    import pandas as pd

RESULT_METRICS = RECORDED  # results.csv's metric columns: what training records, in its order
FINISHED = ("completed", "diverged", "pruned")  # pruned: a search's pruner stopped it (nnrun.sweeps.search)


# ------------------------------------------------------------------- results
def result_columns(axes: dict, trials: bool = False) -> list[str]:
    """The columns of results.csv (a seed axis is the seed column; ``trials``: a search's,
    whose first column is the trial number)."""
    return [*(["trial"] if trials else []), *axes, *([] if "seed" in axes else ["seed"]), "status", *RESULT_METRICS,
            "train_seconds", "iterations", "error", "folder"]


def result_row(cell, metrics: dict) -> dict:
    """A cell's row of results.csv."""
    row = {k: (short_value(v) if isinstance(v, list) else v) for k, v in cell.values.items()}
    row.update(seed=cell.seed, status=metrics.get("status"))
    if getattr(cell, "trial", None) is not None:
        row["trial"] = cell.trial
    row.update({m: metrics.get(m) for m in RESULT_METRICS})
    row.update(train_seconds=metrics.get("train_seconds"), iterations=metrics.get("iterations"),
               error=metrics.get("error"), folder=cell.folder_name)
    return row


def append_result(sweep_dir: Path, cell, metrics: dict, axes: dict) -> None:
    """Add a finished cell's row to results.csv at once (see :func:`append_results`)."""
    append_results(sweep_dir, [(cell, metrics)], axes)


def append_results(sweep_dir: Path, finished: list, axes: dict) -> None:
    """Add finished cells' rows, ``finished`` a list of (cell, metrics), to results.csv at
    once, so the table grows with the sweep (the end of the sweep rewrites it in cell order
    with pandas). The csv module, not a DataFrame a row: ~20 µs a row instead of ~1 ms, for
    sweeps of a thousand small cells; floats as pandas writes them (repr), NaN and None empty."""
    import csv
    import io

    path = sweep_dir / RESULTS
    columns = result_columns(axes, any(getattr(cell, "trial", None) is not None for cell, _ in finished))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for cell, metrics in finished:
        row = result_row(cell, metrics)
        writer.writerow(["" if v is None or (isinstance(v, float) and v != v) else v
                         for v in (row.get(c) for c in columns)])
    with open(path, "a", newline="") as f:
        if f.tell() == 0:
            header = io.StringIO()
            csv.writer(header, lineterminator="\n").writerow(columns)
            f.write(header.getvalue())
        f.write(text.getvalue())


def collect_results(sweep_dir: Path, cells: list, axes: dict) -> pd.DataFrame:
    """results.csv (a row per cell and seed) and summary.csv (mean and std over seeds)."""
    import pandas as pd

    rows = []
    for cell in cells:
        path = sweep_dir / cell.folder_name / METRICS_JSON
        if not path.exists():
            continue
        rows.append(result_row(cell, json.loads(path.read_text())))
    results = pd.DataFrame(rows, columns=result_columns(axes, any(getattr(c, "trial", None) is not None
                                                                  for c in cells)))
    atomic_write(sweep_dir / RESULTS, results.to_csv(index=False))
    if len(results) and axes:
        atomic_write(sweep_dir / SUMMARY, summary_table(results, axes).to_csv(index=False))
    return results


def summary_table(results: pd.DataFrame, axes: dict) -> pd.DataFrame:
    """summary.csv: a row per cell of the axes, each metric's mean and std over the seeds that
    completed (a diverged, pruned, failed or interrupted seed stopped short: its final
    numbers are not final), ``seeds`` (all of them), ``completed`` and ``status`` (how the
    seeds ended: "completed", or e.g. "2 completed, 1 diverged")."""
    import pandas as pd

    numeric = results.copy()
    for m in RESULT_METRICS:
        numeric[m] = pd.to_numeric(numeric[m], errors="coerce")
    keys = list(axes)
    every = numeric.groupby(keys, sort=False, dropna=False)
    done = numeric[numeric["status"] == "completed"].groupby(keys, sort=False, dropna=False)
    summary = done[RESULT_METRICS].agg(["mean", "std"]).reindex(every.size().index)
    summary.columns = [f"{m}_{stat}" for m, stat in summary.columns]
    summary["seeds"] = every.size()
    summary["completed"] = done.size().reindex(summary.index).fillna(0).astype(int)
    summary["status"] = every["status"].agg(_statuses)
    return summary.reset_index()


def status_counts(statuses: pd.Series) -> str:
    """How cells ended, the most common first: '46 pruned, 3 completed' ('' for none). The
    one wording of the summary line, the pages, ``nnrun runs`` and summary.csv."""
    return ", ".join(f"{n} {s}" for s, n in statuses.value_counts().items())


def _statuses(status: pd.Series) -> str:
    """How a cell's seeds ended: one word when they agree, else each status with its count."""
    return str(status.dropna().iloc[0]) if status.nunique() == 1 else status_counts(status)


# How the best cell is chosen, in order of preference: (metric, higher is better, tie-break
# by the lower of). A validation set chooses when there is one; the test set only when
# there is nothing else, and the summary says so (choosing on the test set flatters it).
SELECTION_RULES = [(metric, METRIC_TABLE[metric].higher_is_better, tiebreak) for metric, tiebreak in [
    ("val_accuracy", "val_loss"),  # classification with a validation set
    ("val_loss", "val_loss"),  # regression with a validation set
    ("test_accuracy", "test_loss"),  # no validation set: chosen on the test set
    ("test_loss", "test_loss"),
    ("train_accuracy", "train_loss"),  # neither: chosen on the training set
    ("train_loss", "train_loss"),
]]


def selection_rule(results: pd.DataFrame) -> tuple[str, bool, str] | None:
    """(metric, higher is better, tie-break) that chooses the best of ``results``' finished
    cells: the first rule of :data:`SELECTION_RULES` whose metric the cells recorded."""
    import pandas as pd

    ok = results[results["status"] == "completed"] if "status" in results else results
    for metric, largest, tiebreak in SELECTION_RULES:
        if metric in ok and pd.to_numeric(ok[metric], errors="coerce").notna().any():
            return metric, largest, tiebreak
    return None


def chosen_by(metric: str) -> str:
    """How a summary names the rule: 'val_accuracy (ties: lower val_loss)' and where it looked."""
    rule = next(r for r in SELECTION_RULES if r[0] == metric)
    ties = f" (ties: lower {rule[2]})" if rule[2] != metric else ""
    if metric.startswith("val_"):
        return f"{metric}{ties}"
    where = "test" if metric.startswith("test_") else "training"
    return (f"{metric}{ties}, chosen on the {where} set: there is no validation set "
            "(data.validation_fraction) to choose on")


def best_row(results: pd.DataFrame, axes: dict | None = None):
    """The best finished cell and the metric that chose it (see :data:`SELECTION_RULES`):
    highest validation accuracy (ties to the lower validation loss), or lowest validation
    loss for a regression; without a validation set the test set's, then the training set's.

    With several seeds per cell (``axes`` given, seed not among them), cells are ranked by
    their mean over the completed seeds; the row returned then holds that mean, its
    ``std`` and ``seeds``, and the folder of the cell's best seed.
    """
    import pandas as pd

    ok = results[results["status"] == "completed"].copy()
    for column in RESULT_METRICS:
        ok[column] = pd.to_numeric(ok[column], errors="coerce") if column in ok else np.nan
    rule = selection_rule(ok)
    if rule is None:
        return None, None
    metric, largest, tiebreak = rule
    keys = [k for k in (axes or {}) if k != "seed"]
    columns = list(dict.fromkeys([metric, tiebreak]))
    if keys and ok.duplicated(keys).any():  # repeated seeds: rank the cells by their means
        groups = ok.groupby(keys, sort=False, dropna=False)
        shown = [c for c in ("test_accuracy", "test_loss") if c not in columns]  # beside it, as means too
        means = groups[columns + shown].mean()
        means["std"] = groups[metric].std()
        means["seeds"] = groups.size()
        best_key = means.sort_values(columns, ascending=[not largest, True][:len(columns)]).index[0]
        best_key = best_key if isinstance(best_key, tuple) else (best_key,)
        members = ok[(ok[keys] == pd.Series(best_key, index=keys)).all(axis=1)]
        row = members.sort_values(metric, ascending=not largest).iloc[0].copy()
        stats = means.loc[best_key if len(keys) > 1 else best_key[0]]
        row[metric], row["std"], row["seeds"] = stats[metric], stats["std"], int(stats["seeds"])
        for column in shown:
            row[column] = stats[column]
        return row, metric
    ranked = ok.sort_values(columns, ascending=[not largest, True][:len(columns)], na_position="last")
    return ranked.iloc[0], metric


def held_out_note(row, metric: str) -> str:
    """'; its test_accuracy 0.9667' (the mean, with seeds) for a cell chosen on another set;
    '' when the test set chose it."""
    if metric.startswith("test_"):
        return ""
    for column in ("test_accuracy", "test_loss"):
        value = row.get(column)
        if value is not None and value == value:  # not NaN
            return f"; its {'mean ' if 'seeds' in row else ''}{column} {float(value):.4g}"
    return ""


def short_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)
