"""Sweeps: a grid of experiments, run in parallel, summarised in tables and heatmaps.

``run_sweep(path, overrides, ...)`` expands the axes (the config's ``sweep.grid`` plus
command-line overrides whose value is a comma list, as Hydra's multirun) into cells,
one per combination of axis values and seed. Each cell is an ordinary experiment.

Workers only compute: :func:`compute_cell` trains a cell in a private temporary
folder and returns every artifact as bytes. The client writes each cell folder
(atomically: a hidden folder renamed into place), ``results.csv`` and the plots, so a
Dask cluster needs no shared filesystem, and a cell folder is either complete or
absent. ``--resume`` re-runs only the cells without a finished folder.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from nnrun.config import apply_overrides, config_file, dump_yaml, parse_override, read_yaml, set_dotted, validate
from nnrun.errors import NnrunError
from nnrun.rundir import atomic_write, make_run_dir, sanitize_name
from nnrun.workers import start_fork_server

if TYPE_CHECKING:
    import pandas as pd

METRICS = ["train_loss", "test_loss", "train_accuracy", "test_accuracy", "val_loss", "val_accuracy"]
FINISHED = ("completed", "diverged")


# ------------------------------------------------------------------------- axes
def split_top_level(text: str) -> list[str]:
    """'0.1,0.01' -> ['0.1', '0.01']; commas inside [], {} or () do not split."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def expand_values(key: str, spec, where: str | None = None) -> list:
    """A list, 'logspace(a, b, n)' (10^a .. 10^b) or 'linspace(a, b, n)' -> values.
    ``where`` names the spec in an error (default: the config's sweep.grid.KEY)."""
    where = where or f"sweep.grid.{key}"
    if isinstance(spec, list):
        if not spec:
            raise NnrunError(f"{where}: empty list; give at least one value")
        return spec
    if isinstance(spec, str):
        m = re.fullmatch(r"\s*(logspace|linspace)\s*\(\s*([^,]+),\s*([^,]+),\s*(\d+)\s*\)\s*", spec)
        if m:
            try:
                kind, a, b, n = m.group(1), float(m.group(2)), float(m.group(3)), int(m.group(4))
            except ValueError:
                m = None
        if m:
            if n < 1:
                raise NnrunError(f"{where}: {spec} has no values; n must be >= 1")
            values = np.logspace(a, b, n) if kind == "logspace" else np.linspace(a, b, n)
            return [float(f"{v:.12g}") for v in values]
    raise NnrunError(
        f"{where}: {spec!r} is not a list of values, 'logspace(a, b, n)' or 'linspace(a, b, n)'"
    )


def split_overrides(overrides) -> tuple[dict, list[str]]:
    """Command-line overrides -> (axes from comma lists or logspace/linspace, plain overrides)."""
    axes, plain = {}, []
    for text in overrides:
        key, _, value = text.partition("=")
        pieces = split_top_level(value)
        if len(pieces) > 1:
            axes[key.strip()] = [parse_override(f"{key}={p}")[1] for p in pieces]
        elif re.fullmatch(r"\s*(logspace|linspace)\(.*\)\s*", value):
            axes[key.strip()] = expand_values(key.strip(), value, f"command line {text!r}")
        else:
            plain.append(text)
    return axes, plain


def axes_from(raw: dict, cli_axes: dict) -> tuple[dict, dict, int]:
    """(axes {key: values}, base raw config without the sweep section, seeds)."""
    base = copy.deepcopy(raw)
    sweep = base.pop("sweep", None) or {}
    if not isinstance(sweep, dict):
        raise NnrunError("sweep: expected a mapping with grid and seeds")
    grid = sweep.get("grid") or {}
    if not isinstance(grid, dict):
        raise NnrunError("sweep.grid: expected a mapping of config keys to value lists")
    extra = set(sweep) - {"grid", "seeds"}
    if extra:
        raise NnrunError(f"unknown key 'sweep.{sorted(extra)[0]}' (accepted here: grid, seeds)")
    axes = {str(k): expand_values(str(k), v) for k, v in grid.items()}
    axes.update(cli_axes)
    return axes, base, sweep.get("seeds", 1)


@dataclass
class Cell:
    index: int
    values: dict  # axis key -> value
    seed: int
    config: dict  # the cell's raw config

    @property
    def folder_name(self) -> str:
        parts = [f"{k.split('.')[-1]}={_short(v)}" for k, v in self.values.items()]
        if self.values.get("seed") != self.seed:  # a seed axis already names the seed
            parts.append(f"seed={self.seed}")
        return sanitize_name(f"c{self.index:03d}_" + "_".join(parts))


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)


def make_cells(base: dict, axes: dict, seeds: int) -> list[Cell]:
    """The cartesian product of the axes, times the seeds.

    Repeat s (0 .. seeds-1) of a cell runs with seed + s, where seed is the cell's own
    value of the ``seed`` axis if there is one, else the base config's.
    """
    cells = []
    keys = list(axes)
    for combo in itertools.product(*(axes[k] for k in keys)):
        for s in range(seeds):
            cfg = copy.deepcopy(base)
            for key, value in zip(keys, combo):
                set_dotted(cfg, key, value)
            seed = cfg.get("seed", 0)
            if isinstance(seed, int) and not isinstance(seed, bool):  # else validation says what is wrong
                cfg["seed"] = seed + s
            cells.append(Cell(len(cells), dict(zip(keys, combo)), cfg.get("seed"), cfg))
    return cells


# -------------------------------------------------------------------- computing
_DATASETS: dict = {}  # a worker's data sets, by what they are made from (cells of a sweep share one)


def cell_data(cfg):
    """The cell's data set, loaded once per worker process for all cells that share it.

    A data set depends on the data section, the seed (generators, split) and the input
    and output sizes; a file also on its modification time and size. Training only
    reads it. (Not marked read-only: numba would compile its kernels again for
    read-only arrays.)
    """
    from nnrun.data import load_data

    key = [cfg.data.model_dump(mode="json"), cfg.seed, cfg.model.architecture[0], cfg.model.architecture[-1]]
    path = getattr(cfg.data, "path", None)
    if path is not None:
        try:
            stat = os.stat(path)
            key.append([stat.st_mtime_ns, stat.st_size])
        except OSError:
            return load_data(cfg)  # let load_data say what is wrong with the file
    key = json.dumps(key, sort_keys=True, default=str)
    if key not in _DATASETS:
        data = load_data(cfg)
        _DATASETS.clear()  # one at a time: a sweep over data keys must not pile them up
        _DATASETS[key] = data
    return _DATASETS[key]


def compute_cell(raw: dict, sweep_name: str | None = None, folder: str | None = None) -> dict:
    """Train one cell in a private temporary folder; return its artifacts as bytes.

    Runs in a worker (a local process or a Dask worker): it writes nothing the
    client sees. Bad input or a crash becomes a 'failed' result, never an exception.
    A cell draws no pictures (drawing them cost more than training a digits cell); the
    sweep's own pictures show every cell, and ``nnrun plot CELL`` draws a cell's on
    demand. Its report.html is written here, in parallel, with a link up to the sweep;
    ``folder`` is the cell's folder as the client names it, for the page's commands.
    """
    import warnings

    from nnrun.experiment import prepare, record_run
    from nnrun.report import REPORT
    from nnrun.rundir import learning_curve
    from nnrun.report.run import run_page

    warnings.simplefilter("ignore")  # a worker's warnings would interleave; status says it all
    start = time.perf_counter()
    try:
        cfg = validate(raw, "cell")
        # the kernel is loaded by train() itself; loading it in prepare too would build a second engine per cell
        data, network = prepare(cfg, cell_data(cfg), load_kernel=False)
        with tempfile.TemporaryDirectory(prefix="nnrun-cell-") as tmp:
            run_dir = Path(tmp) / "run"
            run_dir.mkdir()
            kept = []
            record_run(cfg, data, network, run_dir, quiet=True, log=lambda msg: None, plots=False,
                       on_history=kept.append)
            curve = learning_curve(kept[0])
            try:  # a page must never cost the cell
                (run_dir / REPORT).write_text(run_page(run_dir, parent=sweep_name, shown_as=folder))
            except Exception:  # noqa: BLE001
                pass
            files = {p.name: p.read_bytes() for p in run_dir.iterdir() if not p.name.startswith(".")}
        metrics = json.loads(files["metrics.json"])
    except NnrunError as e:
        metrics, files, curve = {"status": "failed", "error": str(e)}, {}, None
    except Exception as e:  # noqa: BLE001 - one bad cell must not stop the sweep
        metrics, files, curve = {"status": "failed", "error": f"{type(e).__name__}: {e}"}, {}, None
    if "metrics.json" not in files:
        files["metrics.json"] = json.dumps(metrics, indent=2).encode()
    return {"metrics": metrics, "files": files, "curve": curve, "seconds": time.perf_counter() - start}



def sweep_plots(results: pd.DataFrame, axes: dict, name: str, fmt: str = "png", histories=None,
                pictures=("results", "curves")) -> tuple:
    """The sweep's plots (heatmaps or metric curves, and curves; or those in ``pictures``)
    drawn by a worker: ({file name: bytes}, [lines for the client's log, such as why a
    picture was left out])."""
    from nnrun.plots.sweep import draw_sweep

    notes = []
    with tempfile.TemporaryDirectory(prefix="nnrun-sweep-plots-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        written = draw_sweep(folder, results, axes, fmt, histories or {}, log=notes.append, pictures=pictures)
        return {path.name: path.read_bytes() for path in written}, notes


def write_cell(sweep_dir: Path, cell: Cell, result: dict) -> Path:
    """Write a cell's files into a hidden folder, then rename it into place."""
    final = sweep_dir / cell.folder_name
    tmp = sweep_dir / f".{cell.folder_name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, content in result["files"].items():
        (tmp / name).write_bytes(content)
    if final.exists():  # an unfinished cell from an interrupted sweep (resume)
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def cell_done(sweep_dir: Path, cell: Cell) -> bool:
    path = sweep_dir / cell.folder_name / "metrics.json"
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("status") in FINISHED
    except (OSError, ValueError):
        return False


class LocalPool:
    """Worker processes on this machine."""

    def __init__(self, jobs: int):
        self.executor = ProcessPoolExecutor(max_workers=jobs, mp_context=start_fork_server(),
                                            initializer=_ignore_sigint)

    def submit(self, raw, sweep_name=None, folder=None):
        return self.executor.submit(compute_cell, raw, sweep_name, folder)

    def run(self, *calls):
        """Each (fn, *args) of ``calls`` in a worker, at the same time; their results."""
        return [f.result() for f in [self.executor.submit(*call) for call in calls]]

    def wait(self, futures):
        done, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
        return done

    def cancel(self):
        self.executor.shutdown(wait=False, cancel_futures=True)

    def close(self):
        self.executor.shutdown(wait=True)


def _ignore_sigint():
    """Workers leave Ctrl-C to the client, which stops the sweep cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DaskPool:
    """Cells sent to a running Dask distributed scheduler."""

    def __init__(self, address: str):
        try:
            from dask.distributed import Client
        except ImportError:
            raise NnrunError("--scheduler needs Dask: pip install 'nnrun[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise NnrunError(f"--scheduler: cannot connect to {address} ({e})") from None

    def submit(self, raw, sweep_name=None, folder=None):
        return self.client.submit(compute_cell, raw, sweep_name, folder, pure=False)

    def run(self, *calls):
        """Each (fn, *args) of ``calls`` on a Dask worker, at the same time; their results."""
        return [f.result() for f in [self.client.submit(*call, pure=False) for call in calls]]

    def wait(self, futures):
        from dask.distributed import wait as dask_wait

        try:
            done, _ = dask_wait(list(futures), timeout=0.2, return_when="FIRST_COMPLETED")
        except TimeoutError:  # dask raises where concurrent.futures returns nothing done
            return set()
        return done

    def cancel(self):
        self.client.close()

    def close(self):
        self.client.close()


# --------------------------------------------------------------------- the sweep
def prepare_sweep(config_path, overrides, log=None):
    """Read the config, build and validate every cell: errors exit 2 before any folder.
    The first cell's kernel is compiled here if numba's cache lacks it (once, ``log``
    told), not by every worker; a cached one the fork server of local workers loads
    (:mod:`nnrun.workers`), and Dask workers load it themselves."""
    base, axes, seeds, cells = sweep_cells(config_path, overrides)
    # catch data problems (missing file, wrong sizes) once, not in every cell
    from nnrun.experiment import prepare

    prepare(validate(cells[0].config), announce=log, load_kernel="if-missing")
    return base, axes, seeds, cells


def sweep_cells(config_path, overrides):
    """(base config, axes, seeds, cells) of a sweep config plus overrides, every cell
    validated (NnrunError naming the cell otherwise)."""
    config_path = config_file(config_path)
    cli_axes, plain = split_overrides(overrides)
    # plain overrides first, so sweep.seeds=2 or sweep.grid={...} on the command line count
    raw = apply_overrides(read_yaml(config_path), plain, config_path.resolve().parent)
    axes, base, seeds = axes_from(raw, cli_axes)
    for text in plain:  # a single value for a grid key fixes that axis (as Hydra's overrides do)
        key, value = parse_override(text)
        if key in axes and key not in cli_axes:
            axes[key] = [value]
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 1000:
        raise NnrunError(f"sweep.seeds: {seeds!r}; expected a whole number from 1 to 1000")
    cells = make_cells(base, axes, seeds)
    for cell in cells:
        try:
            validate(cell.config, str(config_path), overrides)
        except NnrunError as e:
            where = ", ".join(f"{k}={_short(v)}" for k, v in cell.values.items())
            raise NnrunError(f"{e} (in the sweep cell {where})" if where else str(e)) from None
    return base, axes, seeds, cells


def check_resume(sweep_dir: Path, spec: dict, config_path, overrides) -> None:
    """--resume finishes the sweep that sweep.yaml describes. A config or overrides that
    now say something else would be silently ignored (or, worse, believed): refuse them,
    naming the first key that differs."""
    base, axes, seeds, _ = sweep_cells(config_path, overrides)
    # both through YAML, so that 0.1 and 1e-1 or a tuple and a list compare equal
    given = yaml.safe_load(dump_yaml({"axes": axes, "seeds": seeds, "base": _resolved_base(base)}))
    saved = {"axes": spec["axes"], "seeds": spec["seeds"], "base": dict(spec["base"])}
    for side in (saved, given):
        side["base"].pop("name", None)  # --name may have renamed the sweep
    difference = _first_difference(saved, given)
    if difference:
        key, was, now = difference
        raise NnrunError(
            f"--resume {sweep_dir}: this sweep ran with {key}={_shown(was)}, but {config_path} and the overrides "
            f"now give {_shown(now)}; resume with the config and overrides it started with, or start a new sweep "
            f"without --resume")


def _shown(value) -> str:
    """A value of sweep.yaml as the user writes it on the command line (axes comma-separated)."""
    if isinstance(value, list):
        return ",".join(_short(v) for v in value)
    return "(not set)" if value is None else _short(value)


def _first_difference(saved, given, prefix=""):
    """(dotted key, saved value, given value) of the first difference, or None. The
    sections axes/seeds/base are named as the user writes them (``train.eta``,
    ``sweep.seeds``, the axis key for a grid)."""
    if isinstance(saved, dict) and isinstance(given, dict):
        for key in list(saved) + [k for k in given if k not in saved]:
            found = _first_difference(saved.get(key), given.get(key), f"{prefix}{key}.")
            if found:
                return found
        return None
    if saved != given:
        key = prefix.rstrip(".")
        for section, shown in (("base.", ""), ("axes.", "sweep axis "), ("seeds", "sweep.seeds")):
            if key.startswith(section):
                key = shown + key[len(section):]
        return key, saved, given
    return None


def run_sweep(config_path, overrides=(), runs_dir="runs", jobs: int | None = None,
              scheduler: str | None = None, resume: str | Path | None = None,
              name: str | None = None, quiet: bool = False, log=None) -> Path:
    """Run (or finish) a sweep; returns the sweep folder."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if scheduler is None:
        start_fork_server()  # if the CLI has not: it prepares the workers while the configs are checked
    if resume:
        sweep_dir = Path(resume)
        if not (sweep_dir / "sweep.yaml").exists():
            raise NnrunError(f"--resume: {sweep_dir} is not a sweep folder (no sweep.yaml)")
        spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
        if config_path is not None:
            check_resume(sweep_dir, spec, config_path, overrides)
        base, axes, seeds = spec["base"], spec["axes"], spec["seeds"]
        cells = make_cells(base, axes, seeds)
    else:
        base, axes, seeds, cells = prepare_sweep(config_path, overrides, log)
        sweep_dir = _make_sweep_dir(runs_dir, name or base.get("name", "sweep"), base, axes, seeds, cells)
    todo = [c for c in cells if not cell_done(sweep_dir, c)]
    if resume:
        log(f"resuming {sweep_dir}: {len(cells) - len(todo)} of {len(cells)} cells already done")
        waiting = {c.index for c in todo}
        collect_results(sweep_dir, [c for c in cells if c.index not in waiting], axes)  # the rows so far, once each
    pool = DaskPool(scheduler) if scheduler else LocalPool(jobs or os.cpu_count() or 1)
    drawn, plot_error, curves = None, None, {}
    try:
        interrupted = _run_cells(pool, todo, sweep_dir, quiet, axes, curves)
        results = collect_results(sweep_dir, cells, axes)
        if len(results) and not interrupted:
            try:  # in workers: two pictures at once, and this process never imports matplotlib
                from nnrun.rundir import read_histories

                # curves.png: the workers may not see this folder (Dask); the cells of an
                # earlier, resumed run are read from their history.csv
                histories = {**read_histories(sweep_dir, [f for f in results["folder"] if f not in curves]),
                             **curves}
                # the two pictures in two workers: the heatmaps alone take ~1.5 s for E5
                drawn = {}
                calls = [(sweep_plots, results, axes, sweep_dir.name, "png", None, ("results",)),
                         (sweep_plots, results, axes, sweep_dir.name, "png", histories, ("curves",))]
                for files, notes in pool.run(*calls):
                    drawn.update(files)
                    for note in notes:
                        log(f"nnrun: {note}")
            except Exception as e:  # noqa: BLE001 - a plot must never cost the results
                plot_error = e
    except BaseException:
        pool.cancel()
        raise
    if not interrupted:
        pool.close()
    if drawn is not None:
        for name, content in drawn.items():
            atomic_write(sweep_dir / name, content)
    elif len(results) and interrupted:  # the pool is gone: draw here
        from nnrun.plots.sweep import draw_sweep

        try:
            draw_sweep(sweep_dir, results, axes, log=lambda note: log(f"nnrun: {note}"))
        except Exception as e:  # noqa: BLE001
            plot_error = e
    if plot_error is not None:
        log(f"nnrun: warning: the sweep's plots were not drawn ({type(plot_error).__name__}: {plot_error}); "
            f"results.csv and every cell are complete. This is a bug in nnrun; `nnrun plot {sweep_dir}` retries")
    report(results, axes, sweep_dir, log)
    from nnrun.report import write_sweep_report

    write_sweep_report(sweep_dir, log)  # report.html: a failure costs one warning line
    if interrupted:
        log(f"sweep interrupted: {int((results['status'].isin(FINISHED)).sum())} of {len(cells)} cells done; "
            f"finish it with: nnrun sweep {config_path or ''} --resume {sweep_dir}")
        raise KeyboardInterrupt
    return sweep_dir


def _make_sweep_dir(runs_dir, label: str, base: dict, axes: dict, seeds: int, cells: list) -> Path:
    """The sweep folder with its sweep.yaml (what --resume reads)."""
    from nnrun import __version__

    sweep_dir = make_run_dir(runs_dir, label, suffix="-sweep")
    atomic_write(sweep_dir / "sweep.yaml", dump_yaml(
        {"name": label, "axes": axes, "seeds": seeds, "cells": len(cells), "base": _resolved_base(base),
         "nnrun_version": __version__}))
    return sweep_dir


def _resolved_base(base: dict) -> dict:
    """The base config with every default spelled out (the sweep section and the version,
    which sweep.yaml states once at its top level, dropped)."""
    cfg = validate(base).to_dict()
    cfg.pop("sweep", None)
    cfg.pop("nnrun_version", None)
    return cfg


def _run_cells(pool, todo: list[Cell], sweep_dir: Path, quiet: bool, axes: dict, curves: dict) -> bool:
    """Submit every cell, write each as it finishes and keep its thinned losses in ``curves``
    (by folder); True if Ctrl-C/SIGTERM stopped it."""
    from tqdm import tqdm

    stop = {"signal": None}

    def handler(signum, frame):
        stop["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    bar = tqdm(total=len(todo), desc="cells", unit="cell", disable=True if quiet else None, file=sys.stderr)
    try:
        pending = {pool.submit(cell.config, sweep_dir.name, str(sweep_dir / cell.folder_name)): cell
                   for cell in todo}
        while pending and stop["signal"] is None:
            for future in pool.wait(list(pending)):
                cell = pending.pop(future)
                result = future.result()
                write_cell(sweep_dir, cell, result)
                append_result(sweep_dir, cell, result["metrics"], axes)
                if result.get("curve") is not None:
                    curves[cell.folder_name] = result["curve"]
                bar.update(1)
        if stop["signal"] is not None:
            pool.cancel()
            return True
        return False
    finally:
        bar.close()
        for s, h in old.items():
            signal.signal(s, h)


# ------------------------------------------------------------------- results
def result_columns(axes: dict) -> list[str]:
    """The columns of results.csv (a seed axis is the seed column)."""
    return [*axes, *([] if "seed" in axes else ["seed"]), "status", *METRICS, "train_seconds", "iterations",
            "error", "folder"]


def result_row(cell: Cell, metrics: dict) -> dict:
    """A cell's row of results.csv."""
    row = {k: (_short(v) if isinstance(v, list) else v) for k, v in cell.values.items()}
    row.update(seed=cell.seed, status=metrics.get("status"))
    row.update({m: metrics.get(m) for m in METRICS})
    row.update(train_seconds=metrics.get("train_seconds"), iterations=metrics.get("iterations"),
               error=metrics.get("error"), folder=cell.folder_name)
    return row


def append_result(sweep_dir: Path, cell: Cell, metrics: dict, axes: dict) -> None:
    """Add a finished cell's row to results.csv at once, so the table grows with the sweep
    (the end of the sweep rewrites it in cell order)."""
    import pandas as pd  # here, not at the top: a config error must not wait for pandas

    path = sweep_dir / "results.csv"
    frame = pd.DataFrame([result_row(cell, metrics)], columns=result_columns(axes))
    with open(path, "a", newline="") as f:
        f.write(frame.to_csv(index=False, header=f.tell() == 0))


def collect_results(sweep_dir: Path, cells: list[Cell], axes: dict) -> pd.DataFrame:
    """results.csv (a row per cell and seed) and summary.csv (mean and std over seeds)."""
    import pandas as pd

    rows = []
    for cell in cells:
        path = sweep_dir / cell.folder_name / "metrics.json"
        if not path.exists():
            continue
        rows.append(result_row(cell, json.loads(path.read_text())))
    results = pd.DataFrame(rows, columns=result_columns(axes))
    atomic_write(sweep_dir / "results.csv", results.to_csv(index=False))
    if len(results) and axes:
        numeric = results.copy()
        for m in METRICS:
            numeric[m] = pd.to_numeric(numeric[m], errors="coerce")
        summary = numeric.groupby(list(axes), sort=False, dropna=False)[METRICS].agg(["mean", "std"])
        summary.columns = [f"{m}_{stat}" for m, stat in summary.columns]
        summary["seeds"] = numeric.groupby(list(axes), sort=False, dropna=False).size()
        atomic_write(sweep_dir / "summary.csv", summary.reset_index().to_csv(index=False))
    return results


# How the best cell is chosen, in order of preference: (metric, higher is better, tie-break
# by the lower of). A validation set chooses when there is one; the test set only when
# there is nothing else, and the summary says so (choosing on the test set flatters it).
SELECTION_RULES = [
    ("val_accuracy", True, "val_loss"),  # classification with a validation set
    ("val_loss", False, "val_loss"),  # regression with a validation set
    ("test_accuracy", True, "test_loss"),  # no validation set: chosen on the test set
    ("test_loss", False, "test_loss"),
    ("train_accuracy", True, "train_loss"),  # neither: chosen on the training set
    ("train_loss", False, "train_loss"),
]


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
    for column in METRICS:
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


def report(results: pd.DataFrame, axes: dict, sweep_dir: Path, log) -> None:
    counts = results["status"].value_counts().to_dict() if len(results) else {}
    log(f"{len(results)} cells: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
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


def redraw_sweep(sweep_dir: Path, fmt: str = "png") -> list[Path]:
    """Redraw a sweep's own pictures (heatmaps or metrics and curves). Cells draw theirs
    with ``nnrun plot CELL``: every picture of 49 cells would take longer than the sweep."""
    from nnrun.plots.sweep import draw_sweep

    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    cells = make_cells(spec["base"], spec["axes"], spec["seeds"])
    results = collect_results(sweep_dir, cells, spec["axes"])
    return draw_sweep(sweep_dir, results, spec["axes"], fmt,
                      log=lambda note: print(f"nnrun: {note}", file=sys.stderr))
