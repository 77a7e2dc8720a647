"""One cell of a sweep, as a worker computes it and as the client writes it.

Workers only compute: :func:`compute_cells` trains a batch of cells, :func:`compute_cell`
one, in a private temporary folder, and returns every artifact as bytes (and, in a sweep,
the cell's history as gzip rows of its batch's table), so a Dask cluster needs no shared
file system. The client writes each cell folder atomically (:func:`write_cell`: a hidden
folder renamed into place), so a cell folder is either complete or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nnrun.config import validate
from nnrun.errors import NnrunError, is_disk_fault
from nnrun.store.files import read_saved_json
from nnrun.store.names import METRICS_JSON
from nnrun.store.results import FINISHED
from nnrun.sweeps.grid import Cell

if TYPE_CHECKING:
    pass


# -------------------------------------------------------------------- computing
GRID_PICTURES = ("nnrun.plots.sweep",)  # what the sweep's heatmaps and curves are drawn with


def warm_up(modules: tuple[str, ...]) -> None:
    """Import the drawing ``modules`` in a worker that has no cell left to train (the fork
    server leaves matplotlib out: cells draw nothing), so that the sweep's pictures, drawn
    when the last cell is in, start at once."""
    import importlib

    for module in modules:
        importlib.import_module(module)


def warming(modules: tuple[str, ...], fn, *args):
    """``fn(*args)`` (one of a sweep's last tasks), with the drawing ``modules`` imported
    beside it in a thread: the worker that trains the last cells is the one that would
    otherwise import matplotlib after them, on the pictures' own time (~0.35 s). The
    compiled kernels release the GIL, so the import runs on the core that the workers
    with nothing left to train leave idle."""
    import threading

    threading.Thread(target=warm_up, args=(modules,), name="nnrun-warm-up", daemon=True).start()
    return fn(*args)


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


def _scratch() -> str | None:
    """Where a cell whose history goes to the sweep's table (its files a few kB) has its
    private folder: /dev/shm (memory) where it can be written, as the files only pass
    through it on their way to the client (on this machine's disk, creating and removing
    them cost E1's small cells a tenth of their time); else the temporary folder. Not a
    cell writing a history.csv: /dev/shm may be small (64 MB in a container)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def compute_cell(raw: dict, sweep_name: str | None = None, folder: str | None = None,
                 table: str | None = None, should_stop=None) -> dict:
    """Train one cell in a private temporary folder; return its artifacts as bytes.

    Runs in a worker (a local process or a Dask worker): it writes nothing the
    client sees. Bad input or a crash becomes a 'failed' result, never an exception.
    A cell draws no pictures and writes no page (for E1's small cells the page cost half
    as much as the training); the sweep's own pictures and page show every cell, and
    ``nnrun plot CELL`` draws a cell's pictures and page on demand. ``sweep_name`` and
    ``folder`` (the cell's folder as the client names it) are kept for callers of old.

    With ``table`` (a file of the sweep's ``histories/``, named relative to the sweep
    folder), the cell writes no history.csv: it keeps every k-th record and the last
    (:class:`~nnrun.store.history.HistoryKept`, at most ``SWEEP_HISTORY_ROWS``), returns them
    as ``history`` (its gzip rows of that table) and its metrics.json names the table.
    ``should_stop``: a search's trial reporter (:class:`nnrun.sweeps.search.TrialReport`),
    which sees each record and may stop the cell (``pruned``); None for a grid.
    """
    import warnings

    from nnrun.experiment import prepare, record_run
    from nnrun.store.history import HistoryKept, learning_curve, sweep_every, table_rows
    from nnrun.training import HISTORY_COLUMNS, planned_iterations, resolve_log_every

    warnings.simplefilter("ignore")  # a worker's warnings would interleave; status says it all
    start = time.perf_counter()
    history = None
    try:
        cfg = validate(raw, "cell")
        # the kernel is loaded by train() itself; loading it in prepare too would build a second engine per cell
        data, network = prepare(cfg, cell_data(cfg), load_kernel=False)
        with tempfile.TemporaryDirectory(prefix="nnrun-cell-", dir=_scratch() if table else None) as tmp:
            run_dir = Path(tmp) / "run"
            run_dir.mkdir()
            kept = None
            if table is not None:
                n_train = len(data.X_train)
                records = planned_iterations(cfg, n_train) // resolve_log_every(cfg, n_train) + 2
                kept = HistoryKept(HISTORY_COLUMNS, sweep_every(records))
            # a cell of a sweep's table: first_step.json, for the page only, comes with its page
            recorded = record_run(cfg, data, network, run_dir, quiet=True, history_file=kept, explain=kept is None,
                                  should_stop=should_stop)
            curve = (learning_curve(kept.thinned(), columns=HISTORY_COLUMNS) if kept is not None
                     else learning_curve(recorded.history))
            # the client keeps every cell's curve until the end: not the columns never recorded (E1: 4 of 7)
            curve = curve.loc[:, curve.notna().any().to_numpy() | (curve.columns == "iteration")]
            files = {p.name: p.read_bytes() for p in run_dir.iterdir() if not p.name.startswith(".")}
        metrics = json.loads(files[METRICS_JSON])
        if kept is not None:
            rows = kept.table()
            history = table_rows(Path(folder or "cell").name, rows)
            metrics["history"] = {"file": table, "rows": len(rows), "records": kept.rows, "every": kept.every}
            files[METRICS_JSON] = json.dumps(metrics, indent=2).encode()
    except NnrunError as e:
        metrics, files, curve = {"status": "failed", "error": str(e)}, {}, None
    except OSError as e:
        if not is_disk_fault(e):
            metrics, files, curve = {"status": "failed", "error": f"{type(e).__name__}: {e}"}, {}, None
        else:  # the worker's disk, not the cell: the client stops the sweep, and the cell is run again on resume
            return {"fault": [e.errno, e.strerror, str(e.filename)], "seconds": time.perf_counter() - start}
    except Exception as e:  # noqa: BLE001 - one bad cell must not stop the sweep
        metrics, files, curve = {"status": "failed", "error": f"{type(e).__name__}: {e}"}, {}, None
    if METRICS_JSON not in files:
        files[METRICS_JSON] = json.dumps(metrics, indent=2).encode()
    return {"metrics": metrics, "files": files, "curve": curve, "history": history,
            "seconds": time.perf_counter() - start}


def compute_cells(tasks: list, sweep_name: str | None = None, table: str | None = None) -> list[dict]:
    """A batch of cells, ``tasks`` a list of (raw config, folder), one after the other in
    one worker: one round trip and one pickle for many small cells, their histories rows of
    one ``table`` (see :func:`compute_cell`). A disk fault ends the batch (its result comes
    last; the cells after it are run again on resume)."""
    results = []
    for raw, folder in tasks:
        results.append(compute_cell(raw, sweep_name, folder, table))
        if results[-1].get("fault"):
            break
    return results


def write_cell(sweep_dir: Path, cell: Cell, result: dict) -> Path:
    """Write a cell's files into a hidden folder, then rename it into place."""
    if result.get("fault"):  # the worker's disk refused the cell's files
        raise OSError(*result["fault"])
    final = sweep_dir / cell.folder_name
    tmp = sweep_dir / f".{cell.folder_name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for name, content in result["files"].items():
            (tmp / name).write_bytes(content)
    except BaseException as e:  # a full disk: no half cell, and its room back
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not e.filename:
            raise OSError(e.errno, e.strerror, str(final)) from e
        raise
    if final.exists():  # an unfinished cell from an interrupted sweep (resume)
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def cell_done(sweep_dir: Path, cell: Cell) -> bool:
    """Whether the cell's folder holds a finished run (a missing or broken metrics.json: no)."""
    return read_saved_json(sweep_dir / cell.folder_name / METRICS_JSON).get("status") in FINISHED
