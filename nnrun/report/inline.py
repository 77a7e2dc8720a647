"""The inline views of a run and a sweep in a notebook: ``Run._repr_html_`` and
``Sweep._repr_html_`` (:mod:`nnrun.notebook`).

One HTML fragment (the Jinja2 template ``templates/inline.html``, autoescaping on): the
name, status and key facts in one line, the metrics table, the main pictures embedded as
``data:`` URIs and a relative link to the folder's full report.html. Every style is
inline and there is no script, so the view survives a saved notebook, its HTML export and
a notebook viewer that trusts nothing; it is read from the folder's files alone (the
pictures as drawn, never redrawn).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from nnrun.report.page import picture, render
from nnrun.report.run import METRIC_ROWS
from nnrun.store.files import read_saved_json
from nnrun.store.names import METRICS_JSON, REPORT, SEARCH_HISTORY, SEARCH_PARALLEL
from nnrun.store.results import FINISHED, status_counts

# a run's pictures in the view: the loss, then the most telling one of these that it has
RUN_MAIN = ("regions", "fit", "accuracy", "confusion", "data", "residuals")
STATUS_COLOURS = {"completed": "#1a7f37", "diverged": "#b00020", "failed": "#b00020", "interrupted": "#8a5a00"}


def _href(path: Path) -> str | None:
    """``path`` relative to the current folder (a notebook's), with forward slashes."""
    if not path.exists():
        return None
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.resolve().as_uri()


def _pictures(folder: Path, names) -> list[dict]:
    return [picture(folder / f"{name}.png") for name in names if (folder / f"{name}.png").exists()]


def run_html(run_dir: Path, name: str) -> str:
    """The inline view of a run folder."""
    run_dir = Path(run_dir)
    metrics = read_saved_json(run_dir / METRICS_JSON) or {}
    status = str(metrics.get("status", "unknown"))
    rows = [[label, metrics[key]] for key, _, label, _ in METRIC_ROWS
            if isinstance(metrics.get(key), (int, float)) and not isinstance(metrics.get(key), bool)
            and math.isfinite(metrics[key])]
    facts = []
    if metrics.get("iterations") is not None:
        facts.append(f"{metrics['iterations']:,} iterations")
    if isinstance(metrics.get("train_seconds"), (int, float)):
        facts.append(f"{metrics['train_seconds']:.3g} s")
    main = next((n for n in RUN_MAIN if (run_dir / f"{n}.png").exists()), None)
    notes = list(metrics.get("diagnostics", {}).get("hints", []))
    if metrics.get("error"):
        notes.insert(0, str(metrics["error"]))
    return render("inline.html", kind="run", name=name, status=status,
                  status_colour=STATUS_COLOURS.get(status, "#333"), facts=facts,
                  table_head=["metric", "final"] if rows else [], table_rows=rows, notes=notes,
                  pictures=_pictures(run_dir, ["loss", main] if main else ["loss"]), width="48%",
                  path=str(run_dir), report=_href(run_dir / REPORT), report_name=REPORT)


def sweep_html(sweep_dir: Path, name: str, results, best_folder: str | None, chosen_on: str | None) -> str:
    """The inline view of a sweep folder: the cells' results (at most 12 rows), the results
    picture (heatmaps or metrics) and the curves."""
    sweep_dir = Path(sweep_dir)
    shown = [c for c in results.columns
             if c not in ("folder", "train_seconds", "error") and results[c].notna().any()][:9]
    rows = [[_cell(v) for v in row] for row in results[shown].head(12).itertuples(index=False)]
    completed = int((results["status"] == "completed").sum()) if "status" in results else len(results)
    finished = int(results["status"].isin(FINISHED).sum()) if "status" in results else len(results)
    ended = status_counts(results["status"]) if "status" in results else ""
    facts = [f"{len(results)} cells, {ended or f'{completed} completed'}"]
    if best_folder:
        facts.append(f"best: {best_folder}" + (f" (on {chosen_on})" if chosen_on else ""))
    notes = [f"… and {len(results) - 12} more cells (Sweep.results)"] if len(results) > 12 else []
    status = "completed" if finished == len(results) and len(results) else "incomplete"
    return render("inline.html", kind="sweep", name=name, status=status,
                  status_colour=STATUS_COLOURS.get(status, "#8a5a00"), facts=facts, table_head=shown,
                  table_rows=rows, notes=notes,
                  pictures=_pictures(sweep_dir, ["heatmaps", "metrics", "curves"]) or [  # a random or TPE search's
                      picture(sweep_dir / n) for n in (SEARCH_HISTORY, SEARCH_PARALLEL) if (sweep_dir / n).exists()],
                  width="100%", path=str(sweep_dir), report=_href(sweep_dir / REPORT), report_name=REPORT)


def _cell(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value
