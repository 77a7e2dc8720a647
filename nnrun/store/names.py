"""The run folder's file names and folder names: the one place that spells them.

A run folder is ``<runs_dir>/<YYYYMMDD-HHMMSS>-<name>[-k]``, a sweep folder
``<runs_dir>/<YYYYMMDD-HHMMSS>-<name>-sweep[-k]``, a sweep cell ``<sweep>/c<NNN>_<values>`` (a search's trial ``t<NNN>_<values>``).
A folder is created with ``os.mkdir``, which fails if the folder exists, so two processes
started in the same second get ``...-name`` and ``...-name-2``, never the same folder.
Names are reduced to ``[A-Za-z0-9._=-]``, so a name can never point outside ``runs_dir``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from nnrun.errors import MachineFault, NnrunError

# a run folder
CONFIG = "config.yaml"  # the resolved config, every default spelled out
HISTORY = "history.csv"  # a row per record (HISTORY_COLUMNS)
METRICS_JSON = "metrics.json"  # status, final metrics, diagnostics
MODEL = "model.npz"  # the weights, W_l and b_l
MODEL_JSON = "model.json"  # what predict needs besides the weights
SNAPSHOTS = "snapshots.npz"  # train.snapshots
FIRST_STEP = "first_step.json"  # nnrun explain's first update, for networks of up to 60 parameters
REPORT = "report.html"  # the page (a run's or a sweep's)
COMPARE = "compare.json"  # nnrun compare --with torch
COMPARE_PICTURE = "compare.png"  # its picture (the run's own pictures are named by nnrun.plots.PICTURES)
HISTORY_TORCH = "history_torch.csv"  # the PyTorch twin's history
EXPORT_ONNX = "model.onnx"  # nnrun export --to onnx: the transforms and the network as one ONNX graph
EXPORT_TORCH = "model_torch.py"  # nnrun export --to torch: a standalone PyTorch file ...
EXPORT_TORCH_WEIGHTS = ".npz"  # ... and its weights beside it, the same name with this suffix


def torch_weights_path(py_file: Path) -> Path:
    """Where the standalone PyTorch file ``model_torch.py`` finds its weights: ``model_torch.npz``."""
    return Path(py_file).with_suffix(EXPORT_TORCH_WEIGHTS)
# a sweep folder
SWEEP = "sweep.yaml"  # the axes, seeds and base config
RESULTS = "results.csv"  # a row per cell
SUMMARY = "summary.csv"  # a row per cell, mean and std over seeds
STUDY = "study.journal"  # a search's Optuna study (JournalStorage's file), unless --storage names another
OWNERS = ".owners"  # a search's heartbeat files, one per process working on it (hidden: no picture, no cell)
SEARCH_HISTORY = "search_history.png"  # each trial's value against its number, the best so far
SEARCH_PARALLEL = "search_parallel.png"  # parallel coordinates of the searched axes, coloured by the value
HISTORIES = "histories"  # the cells' histories: a table per batch of cells, <first cell>[-k].csv.gz



def history_table(sweep_dir: Path, first: str, taken=()) -> str:
    """A new batch's history table, relative to the sweep folder: ``histories/<first
    cell>.csv.gz``, or ``-2``, ``-3`` … when that name exists or is ``taken`` (a batch of a
    resumed sweep never overwrites rows an earlier one wrote)."""
    for k in range(1, 10_000):
        name = f"{HISTORIES}/{first}{'' if k == 1 else f'-{k}'}.csv.gz"
        if name not in taken and not (Path(sweep_dir) / name).exists():
            return name
    raise NnrunError(f"{sweep_dir / HISTORIES}: 10000 tables start with {first}")


_STAMPED = re.compile(r"^(?P<stamp>\d{8}-\d{6})-(?P<name>.+?)(?P<sweep>-sweep)?(?:-\d+)?$")


def is_sweep(folder: Path) -> bool:
    return (Path(folder) / SWEEP).exists()


def is_run(folder: Path) -> bool:
    return (Path(folder) / CONFIG).exists() and not is_sweep(folder)


def folder_name(folder, default: str) -> str:
    """The name a run or sweep folder was created with (``--name`` or the config's name):
    ``20261123-034720-moons-2`` -> ``moons``, ``...-digits-sweep`` -> ``digits``; a folder
    without a time stamp (a sweep cell) gives ``default``. ``.`` and ``..`` are the folders they
    stand for (``nnrun plot .`` inside a sweep folder titled its pictures with an empty name)."""
    match = _STAMPED.match(Path(os.path.abspath(folder)).name) if folder is not None else None
    return match.group("name") if match else default


def sanitize_name(name: str) -> str:
    """Keep letters, digits, '.', '_' and '-'; no leading dots; at most 60 characters."""
    clean = re.sub(r"[^A-Za-z0-9._=-]+", "_", str(name)).lstrip("._=-")[:80]
    return clean or "run"


def make_run_dir(runs_dir: str | Path, name: str, suffix: str = "") -> Path:
    """Create and return a new, empty, uniquely named run folder."""
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NnrunError(f"--runs-dir: {runs_dir} exists and is not a folder") from None
    except OSError as e:  # a fault, not bad input: exit 1
        raise MachineFault(f"--runs-dir: cannot create {runs_dir} ({e.strerror}); give --runs-dir a folder "
                           "you can write, on a disk with space") from None
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{sanitize_name(name)}{suffix}"
    for k in range(1, 10_000):
        path = runs_dir / (stem if k == 1 else f"{stem}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise MachineFault(f"--runs-dir: cannot create a folder in {runs_dir} ({e.strerror}); give --runs-dir "
                               "a folder you can write, on a disk with space") from None
    raise NnrunError(f"--runs-dir: {runs_dir} has 10000 runs named {stem}; choose another --name")


def stamp_of(folder: Path) -> str:
    """'2026-11-23 03:47:20' from a folder named <YYYYMMDD-HHMMSS>-<name>, else ''."""
    match = _STAMPED.match(Path(folder).name)
    if not match:
        return ""
    s = match.group("stamp")
    return f"{s[:4]}-{s[4:6]}-{s[6:8]} {s[9:11]}:{s[11:13]}:{s[13:15]}"


def no_run_folder(path, prefix: str = "") -> NnrunError:
    """The error for a RUN argument that is not a folder: a file inside a run folder
    (``RUN/model.npz``) is named as such, with the folder to give instead."""
    path = Path(path)
    in_a_run = any((path.parent / name).exists() for name in (METRICS_JSON, HISTORY, SWEEP))
    if path.is_file() and not in_a_run and path.suffix.lower() in (".yaml", ".yml"):
        return NnrunError(f"{prefix}{path}: is a config, not a run folder; give a run folder (one under runs/), "
                          f"or train it first: nnrun train {path}")
    if path.is_file() and not in_a_run:
        return NnrunError(f"{prefix}{path}: is a file, not a run folder; give a run folder (one under runs/)")
    if path.is_file():
        return NnrunError(f"{prefix}{path}: is a file, not a run folder; give the folder that holds it, {path.parent}")
    return NnrunError(f"{prefix}{path}: no such run folder")


def started(folder: Path) -> str:
    """When a run started, as folder names say: its own stamp (``stamp_of``), or for a sweep
    cell (``c<NNN>_...``, no stamp of its own) its sweep folder's, marked ``(its sweep)``; ''
    when neither is stamped."""
    folder = Path(os.path.abspath(folder))
    own = stamp_of(folder)
    if own or not is_sweep(folder.parent):
        return own
    sweep = stamp_of(folder.parent)
    return f"{sweep} (its sweep)" if sweep else ""
