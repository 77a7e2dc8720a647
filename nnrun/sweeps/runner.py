"""Sweeps: a grid of experiments, run in parallel, summarised in tables and heatmaps.

``run_sweep(path, overrides, ...)`` expands the axes (the config's ``sweep.grid`` plus
command-line overrides whose value is a comma list, as Hydra's multirun) into cells,
one per combination of axis values and seed. Each cell is an ordinary experiment.

Workers only compute: :func:`compute_cells` trains a batch of cells (:func:`batch_size`),
each in a private temporary folder, and returns every artifact as bytes and each cell's
history as rows of the batch's table. The client writes the table under ``histories/``,
then each cell folder (atomically: a hidden folder renamed into place), ``results.csv``
and the plots, so a Dask cluster needs no shared filesystem, and a cell folder is either
complete or absent. ``--resume`` re-runs only the cells without a finished folder.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import tempfile
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from nnrun.config import dump_yaml
from nnrun.errors import NnrunError, WorkersStopped, disk_fault, is_disk_fault
from nnrun.store.files import atomic_write
from nnrun.store.names import HISTORIES, METRICS_JSON, SWEEP, history_table, make_run_dir
from nnrun.store.results import (
    FINISHED, append_results, best_row, chosen_by, collect_results, held_out_note, status_counts,
)
from nnrun.sweeps.cell import GRID_PICTURES, cell_done, compute_cells, warm_up, warming, write_cell
from nnrun.sweeps.forkserver import start_fork_server
from nnrun.sweeps.grid import Cell, resolved_base, check_resume, make_cells, prepare_sweep, search_settings
from nnrun.sweeps.launchers import DaskPool, LocalPool

if TYPE_CHECKING:
    import pandas as pd


def sweep_plots(results: pd.DataFrame, axes: dict, name: str, fmt: str = "png", histories=None,
                pictures=("results", "curves"), metrics=None) -> tuple:
    """The sweep's plots (heatmaps or metric curves, and curves; or those in ``pictures``;
    ``metrics``: sweep.metrics) drawn by a worker: ({file name: bytes}, [lines for the
    client's log, such as why a picture was left out])."""
    from nnrun.plots.sweep import draw_sweep

    notes = []
    with tempfile.TemporaryDirectory(prefix="nnrun-sweep-plots-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        written = draw_sweep(folder, results, axes, fmt, histories or {}, log=notes.append, pictures=pictures,
                             metrics=metrics)
        return {path.name: path.read_bytes() for path in written}, notes


class GridSweeper:
    """Every cell of the grid, known before the sweep starts: the path ``nnrun sweep`` has
    always taken. The search sweeper (:class:`nnrun.sweeps.search.SearchSweeper`) offers the
    runner the same interface: ``run``, ``cells``, ``planned``, ``draws_grid_pictures``, ``pictures``."""

    def __init__(self, cells: list[Cell], todo: list[Cell]):
        self._cells, self.todo = cells, todo

    def run(self, pool, sweep_dir: Path, quiet: bool, axes: dict, curves: dict) -> bool:
        return _run_cells(pool, self.todo, sweep_dir, quiet, axes, curves)

    def cells(self) -> list[Cell]:
        return self._cells

    def planned(self) -> str:
        return f"{len(self._cells)} cells"

    def draws_grid_pictures(self) -> bool:
        return True

    def pictures(self, sweep_dir: Path, log) -> list[Path]:
        return []

    def picture_calls(self, sweep_dir: Path) -> list:
        return []


def run_sweep(config_path, overrides=(), runs_dir="runs", jobs: int | None = None,
              scheduler: str | None = None, resume: str | Path | None = None,
              name: str | None = None, quiet: bool = False, log=None, command: str | None = None,
              storage: str | None = None) -> Path:
    """Run (or finish) a sweep; returns the sweep folder. ``command``: the command line,
    kept in sweep.yaml for the page. ``storage``: a search's Optuna storage (--storage), which
    several processes may share."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if scheduler is None:
        start_fork_server()  # if the CLI has not: it prepares the workers while the configs are checked
    sweep_dir, axes, cells, metrics = _plan(config_path, overrides, runs_dir, resume, name, command, log, storage,
                                            scheduler)
    spec = yaml.safe_load((sweep_dir / SWEEP).read_text())
    if spec.get("search"):
        from nnrun.sweeps.search import SearchSweeper

        sweeper = SearchSweeper(sweep_dir, spec, jobs or os.cpu_count() or 1, scheduler)
        done, trials = len(sweeper.cells()), spec["search"]["trials"]
        if resume:
            log(f"resuming {sweep_dir}: {done} of {trials} trials already done")
        elif storage and done:  # another process's study, joined: as far as it has got
            log(f"joining the study in {storage} ({sweep_dir}): {done} of {trials} trials already done")
    else:
        todo = [c for c in cells if not cell_done(sweep_dir, c)]
        if resume:
            log(f"resuming {sweep_dir}: {len(cells) - len(todo)} of {len(cells)} cells already done")
            waiting = {c.index for c in todo}
            collect_results(sweep_dir, [c for c in cells if c.index not in waiting], axes)  # the rows so far, once each
        sweeper = GridSweeper(cells, todo)
    pool = DaskPool(scheduler) if scheduler else LocalPool(jobs or os.cpu_count() or 1)
    drawn, plot_error, curves = None, None, {}
    try:
        interrupted = sweeper.run(pool, sweep_dir, quiet, axes, curves)
        cells = sweeper.cells()
        results = collect_results(sweep_dir, cells, axes)
        # a search's own pictures are drawn by a local worker beside the grid's (a Dask worker may
        # not reach the study: those are drawn here, after)
        extra = sweeper.picture_calls(sweep_dir) if scheduler is None else []
        if len(results) and not interrupted and (sweeper.draws_grid_pictures() or extra):
            drawn, plot_error = _draw_in_workers(pool, results, axes, sweep_dir, curves, log, metrics,
                                                 grid=sweeper.draws_grid_pictures(), extra=extra)
    except BaseException as e:
        if isinstance(e, BrokenProcessPool):
            # the pool ends its other workers; waiting for its own thread leaves nothing for
            # Python 3.11's exit to wake through a closed pipe (an 'Exception ignored' traceback)
            pool.close()
            # a folder this command did not make (resumed, or shared through --storage) stays
            keep = bool(resume or storage)
            raise _workers_stopped(sweep_dir, config_path, overrides, keep) from None
        pool.cancel()
        if is_disk_fault(e):
            raise _sweep_disk_fault(e, sweep_dir, cells, config_path, overrides) from None
        raise
    if not interrupted:
        pool.close()
    try:
        if drawn is not None:
            for picture, content in drawn.items():
                atomic_write(sweep_dir / picture, content)
        elif len(results) and interrupted and sweeper.draws_grid_pictures():  # the pool is gone: draw here
            plot_error = _draw_here(sweep_dir, results, axes, log, metrics)
        if len(results) and not (extra and drawn is not None):
            sweeper.pictures(sweep_dir, log)
        _finish(sweep_dir, results, axes, sweeper.planned(), plot_error, interrupted, config_path, overrides, log)
    except OSError as e:
        if not is_disk_fault(e):
            raise
        raise _sweep_disk_fault(e, sweep_dir, cells, config_path, overrides) from None
    return sweep_dir


def _sweep_disk_fault(error: OSError, sweep_dir: Path, cells, config_path, overrides):
    """A full disk stops the sweep: the cells written so far stay (each complete, or absent),
    and the one line says how many and how to finish."""
    done = sum(cell_done(sweep_dir, c) for c in cells)
    for partial in sweep_dir.glob(".*"):
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
    return disk_fault(error, f"the sweep stopped with {done} of {len(cells)} cells saved, each complete; free some "
                             f"space, then finish it with: {_resume_command(config_path, overrides, sweep_dir)}")


def _workers_stopped(sweep_dir: Path, config_path, overrides, keep: bool = False) -> WorkersStopped:
    """A worker process ended without a word: the cells saved so far stay, with the command
    that finishes the sweep; with none saved, no sweep folder is left (unless ``keep``: a
    folder this command did not make)."""
    written = sum(1 for p in sweep_dir.iterdir() if p.is_dir() and (p / METRICS_JSON).exists())
    if written or keep:
        saved = f"{written} cell is" if written == 1 else f"{written} cells are"
        then = f"{saved} saved; finish it with: {_resume_command(config_path, overrides, sweep_dir)}"
    else:
        shutil.rmtree(sweep_dir, ignore_errors=True)
        then = "nothing was trained and no sweep folder is left"
    return WorkersStopped(f"a worker process of the sweep stopped (killed, out of memory, or it could not start); "
                          f"{then}", written)


def _plan(config_path, overrides, runs_dir, resume, name, command, log, storage=None, scheduler=None):
    """(sweep folder, axes, cells, sweep.metrics): a new sweep's, every cell validated before
    its folder exists; or, with ``resume``, the sweep.yaml of the folder being finished. A
    search's cells are its trials, which its sweeper asks for (here: the cells that validated
    its space)."""
    if not resume:
        base, axes, seeds, cells, metrics = prepare_sweep(config_path, overrides, log)
        search = search_settings(config_path, overrides, axes, seeds, cells)
        if storage and not search:
            raise NnrunError(f"--storage: {storage} with a grid; --storage shares a search's Optuna study: "
                             "set sweep.method=random or tpe, or sweep.prune")
        if search and search["prune"] != "none" and scheduler:
            raise NnrunError(f"sweep.prune: {search['prune']} with --scheduler; pruning needs the workers to report to "
                             "the study, which Dask workers cannot reach here: use sweep.prune=none with --scheduler, "
                             "or run the pruned search on local workers (several machines: --storage)")
        if search:
            from nnrun.sweeps.search import start_search

            label = name or base.get("name", "sweep")
            sweep_dir = start_search(
                label, base, axes, cells, metrics, search, runs_dir, command, storage,
                lambda settings: _make_sweep_dir(runs_dir, label, base, axes, seeds, [None] * settings["trials"],
                                                 command, metrics, settings),
                config_path, overrides)
            return sweep_dir, axes, cells, metrics
        if len(cells) == 1:
            log(f"nnrun: note: {config_path} and the overrides give no axis with two values or more, so this sweep "
                "is one cell; add axes to sweep.grid or on the command line, e.g. train.eta=0.1,0.01")
        label = name or base.get("name", "sweep")
        return _make_sweep_dir(runs_dir, label, base, axes, seeds, cells, command, metrics), axes, cells, metrics
    sweep_dir = Path(resume)
    if not (sweep_dir / SWEEP).exists():
        raise NnrunError(f"--resume: {sweep_dir} is not a sweep folder (no sweep.yaml)")
    spec = yaml.safe_load((sweep_dir / SWEEP).read_text())
    if storage and (spec.get("search") or {}).get("storage") != storage:
        raise NnrunError(f"--storage: {storage}, but the sweep {sweep_dir} keeps its study in "
                         f"{(spec.get('search') or {}).get('storage') or 'its own study.journal'}; resume without "
                         "--storage, or with the one it started with")
    metrics = spec.get("metrics")  # absent from a sweep.yaml written before the key existed
    if config_path is not None:
        # the pictures follow the config given now (metrics choose pictures, not cells);
        # sweep.yaml says so too, for nnrun plot SWEEP
        given = check_resume(sweep_dir, spec, config_path, overrides)
        if given != metrics:
            metrics = given
            spec.pop("metrics", None)
            atomic_write(sweep_dir / SWEEP, dump_yaml({**spec, **({"metrics": metrics} if metrics else {})}))
    if spec.get("search"):
        return sweep_dir, spec["axes"], [], metrics
    return sweep_dir, spec["axes"], make_cells(spec["base"], spec["axes"], spec["seeds"]), metrics


def _draw_in_workers(pool, results, axes, sweep_dir, curves, log, metrics=None, grid=True, extra=()):
    """The sweep's two pictures (``grid``) and the sweeper's own (``extra`` calls that return
    ({file: bytes}, [notes])), each in a worker at once (the heatmaps alone take ~1.5 s for
    E5, and this process never imports matplotlib): ({file: bytes}, None) or (None, error)."""
    from nnrun.store.history import read_histories

    try:
        calls = list(extra)
        if grid:
            # curves.png: the workers may not see this folder (Dask); the cells of an
            # earlier, resumed run are read from their history.csv
            histories = {**read_histories(sweep_dir, [f for f in results["folder"] if f not in curves]), **curves}
            calls = [(sweep_plots, results, axes, sweep_dir.name, "png", None, ("results",), metrics),
                     (sweep_plots, results, axes, sweep_dir.name, "png", histories, ("curves",), metrics), *calls]
        drawn = {}
        for files, notes in pool.run(*calls):
            drawn.update(files)
            for note in notes:
                log(f"nnrun: {note}")
        return drawn, None
    except Exception as e:  # noqa: BLE001 - a plot must never cost the results
        if is_disk_fault(e):
            raise
        return None, e


def _draw_here(sweep_dir, results, axes, log, metrics=None):
    """The pictures drawn in this process (after Ctrl-C the workers are gone); the error, if any."""
    from nnrun.plots.sweep import draw_sweep

    try:
        draw_sweep(sweep_dir, results, axes, log=lambda note: log(f"nnrun: {note}"), metrics=metrics)
    except Exception as e:  # noqa: BLE001
        if is_disk_fault(e):
            raise
        return e
    return None


def _finish(sweep_dir, results, axes, planned, plot_error, interrupted, config_path, overrides, log) -> None:
    """The summary lines, the page, and how to finish an interrupted sweep (``planned``: what
    the sweep runs in all, "49 cells" or "30 trials")."""
    if plot_error is not None:
        log(f"nnrun: warning: the sweep's plots were not drawn ({type(plot_error).__name__}: {plot_error}); "
            f"results.csv and every cell are complete. This is a bug in nnrun; `nnrun plot {sweep_dir}` retries")
    summarize_sweep(results, axes, sweep_dir, log)
    from nnrun.report import write_run_report, write_sweep_report
    from nnrun.store.names import REPORT

    row, _ = best_row(results, axes) if len(results) else (None, None)
    if row is not None and not (sweep_dir / row["folder"] / REPORT).exists():
        # the one cell page written eagerly (the sweep page links to it); the others on demand: nnrun plot CELL
        try:
            from nnrun.experiment import write_missing_first_step

            write_missing_first_step(sweep_dir / row["folder"])
        except Exception as e:  # noqa: BLE001 - the page goes on without it
            if is_disk_fault(e):
                raise
        write_run_report(sweep_dir / row["folder"], log)
    write_sweep_report(sweep_dir, log)  # report.html: a failure costs one warning line
    if interrupted:
        done = int(results["status"].isin(FINISHED).sum()) if len(results) else 0
        log(f"sweep interrupted: {done} of {planned} done; "
            f"finish it with: {_resume_command(config_path, overrides, sweep_dir)}")
        raise KeyboardInterrupt


def _resume_command(config_path, overrides, sweep_dir) -> str:
    """The command that finishes the sweep: --resume refuses a config or overrides that
    differ from the sweep's start, so it repeats both (shell-quoted)."""
    words = ["nnrun", "sweep"] + ([str(config_path)] if config_path is not None else [])
    return shlex.join(words + [str(o) for o in overrides] + ["--resume", str(sweep_dir)])


def _make_sweep_dir(runs_dir, label: str, base: dict, axes: dict, seeds: int, cells: list,
                    command: str | None, metrics: list | None = None, search: dict | None = None) -> Path:
    """The sweep folder with its sweep.yaml (what --resume reads; a search's settings too)."""
    from nnrun import __version__

    sweep_dir = make_run_dir(runs_dir, label, suffix="-sweep")
    spec = {"name": label, "axes": axes, "seeds": seeds, "cells": len(cells), "base": resolved_base(base),
            "nnrun_version": __version__}
    if metrics:
        spec["metrics"] = metrics  # sweep.metrics: what the pictures show (absent: the default choice)
    if command:
        spec["command"] = command  # for the page
    if search:
        spec["search"] = search  # method, trials, sampler_seed, prune, records, storage, study
    try:
        atomic_write(sweep_dir / SWEEP, dump_yaml(spec))
    except OSError as e:
        if not is_disk_fault(e):
            raise
        shutil.rmtree(sweep_dir, ignore_errors=True)
        raise disk_fault(e, "nothing was run and no sweep folder is left; free some space, or give --runs-dir "
                            "a folder on another disk") from None
    return sweep_dir


PICTURE_TASKS = 2  # heatmaps.png and curves.png, each drawn in a worker: at most two warm up for them
TASK_SECONDS = 0.5  # a batch's worker time to aim for: round trips and pickles shared, Ctrl-C still prompt
MAX_BATCH = 64


def batch_size(per_cell: float | None, left: int, slots: int) -> int:
    """How many cells the next task trains: one until a cell's time is known, then about
    :data:`TASK_SECONDS` of them (E1's 20 ms cells: 25; a digits cell of 0.6 s: 1), never
    more than an even share of what is left among twice the slots (so the last tasks end
    together), at most :data:`MAX_BATCH`."""
    if per_cell is None:
        return 1
    size = min(MAX_BATCH, max(1, int(TASK_SECONDS / max(per_cell, 1e-6))))
    return max(1, min(size, -(-left // (2 * slots))))


def _run_cells(pool, todo: list[Cell], sweep_dir: Path, quiet: bool, axes: dict, curves: dict) -> bool:
    """Run the cells in batches (:func:`batch_size`), twice as many tasks in flight as the
    pool has slots; write each cell of a finished batch and keep its thinned losses in
    ``curves`` (by folder); True if Ctrl-C/SIGTERM stopped it (the batches running then are
    dropped whole: each of their cells is absent, and run again on resume)."""
    from collections import deque

    from tqdm import tqdm

    from nnrun.engines.layout import HISTORY_COLUMNS
    from nnrun.store.history import table_header

    stop = {"signal": None}

    def handler(signum, frame):
        stop["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    bar = tqdm(total=len(todo), desc="cells", unit="cell", disable=True if quiet else None, file=sys.stderr)
    slots = getattr(pool, "slots", 1)
    queue, pending, timing = deque(todo), {}, [0.0, 0]  # worker seconds, cells
    tables, warmed, last = set(), 0, 0  # idle workers warmed up, last batches warming theirs
    try:
        while (queue or pending) and stop["signal"] is None:
            if not queue and len(pending) < slots and warmed < slots and len(todo) > 1:
                pool.submit(warm_up, GRID_PICTURES)  # an idle worker imports what the pictures need
                warmed += 1
            while queue and len(pending) < 2 * slots:
                per_cell = timing[0] / timing[1] if timing[1] else None
                batch = [queue.popleft() for _ in range(min(batch_size(per_cell, len(queue), slots), len(queue)))]
                tasks = [(cell.config, str(sweep_dir / cell.folder_name)) for cell in batch]
                table = history_table(sweep_dir, batch[0].folder_name, tables)
                tables.add(table)
                call = (compute_cells, tasks, sweep_dir.name, table)
                if len(queue) <= (slots - 1) * len(batch) and last < PICTURE_TASKS and len(todo) > 1:
                    call = (warming, GRID_PICTURES, *call)  # one of the last batches: its worker draws next
                    last += 1
                pending[pool.submit(*call)] = (batch, table)
            for future in pool.wait(list(pending)):
                batch, table = pending.pop(future)
                results = future.result()
                rows = [r["history"] for r in results if r.get("history")]
                if rows:  # before the cells that point to it: a written cell always finds its history
                    (sweep_dir / HISTORIES).mkdir(exist_ok=True)
                    atomic_write(sweep_dir / table, table_header(HISTORY_COLUMNS) + b"".join(rows))
                finished = []
                try:
                    for cell, result in zip(batch, results):
                        write_cell(sweep_dir, cell, result)  # a disk fault (the worker's or ours) stops here
                        finished.append((cell, result["metrics"]))
                        if result.get("curve") is not None:
                            curves[cell.folder_name] = result["curve"]
                        timing[0] += result.get("seconds", 0.0)
                        timing[1] += 1
                finally:
                    if finished:
                        append_results(sweep_dir, finished, axes)
                        bar.update(len(finished))
        if stop["signal"] is not None:
            pool.cancel()
            return True
        return False
    finally:
        bar.close()
        for s, h in old.items():
            signal.signal(s, h)


def summarize_sweep(results: pd.DataFrame, axes: dict, sweep_dir: Path, log) -> None:
    """The end-of-sweep lines: how many cells ended how, and the best cell, how it was chosen."""
    log(f"{len(results)} cells: " + (status_counts(results["status"]) if len(results) else ""))
    row, metric = best_row(results, axes)
    if row is None:
        return
    where = ", ".join(f"{k}={row[k]}" for k in axes if k != "seed")
    log(f"best cell chosen by {chosen_by(metric)}")
    test = held_out_note(row, metric)
    if "seeds" in row:
        log(f"best cell (mean {metric} over {row['seeds']} seeds {row[metric]:.4g} ± {row['std']:.2g}{test}): "
            f"{where}; its best seed: {sweep_dir / row['folder']}")
    else:
        where = ", ".join(x for x in (where, f"seed {row['seed']}") if x)
        log(f"best cell ({metric} {row[metric]:.4g}{test}): {where}: {sweep_dir / row['folder']}")


def redraw_sweep(sweep_dir: Path, fmt: str = "png") -> list[Path]:
    """Redraw a sweep's own pictures (heatmaps or metrics and curves; a search's two), the files
    written. Cells draw theirs with ``nnrun plot CELL``: every picture of 49 cells would take
    longer than the sweep."""
    from nnrun.plots.sweep import draw_sweep

    spec = yaml.safe_load((sweep_dir / SWEEP).read_text())
    log = lambda note: print(f"nnrun: {note}", file=sys.stderr)  # noqa: E731
    if spec.get("search"):
        from nnrun.sweeps.search import SearchSweeper

        sweeper = SearchSweeper(sweep_dir, spec, 1, None)
        results = collect_results(sweep_dir, sweeper.cells(), spec["axes"])
        written = (draw_sweep(sweep_dir, results, spec["axes"], fmt, log=log, metrics=spec.get("metrics"))
                   if sweeper.draws_grid_pictures() else [])
        return written + sweeper.pictures(sweep_dir, print)  # nnrun plot lists what it drew
    cells = make_cells(spec["base"], spec["axes"], spec["seeds"])
    results = collect_results(sweep_dir, cells, spec["axes"])
    return draw_sweep(sweep_dir, results, spec["axes"], fmt, log=log, metrics=spec.get("metrics"))
