"""Run folders: unique names, atomic files, streamed history.

A run folder is ``<runs_dir>/<YYYYMMDD-HHMMSS>-<name>[-k]``. It is created with
``os.mkdir``, which fails if the folder exists, so two processes started in the same
second get ``...-name`` and ``...-name-2``, never the same folder. Names are reduced to
``[A-Za-z0-9._-]``, so a name can never point outside ``runs_dir``.

Every file is written to a temporary name in the same folder and renamed into place,
so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from nnrun.errors import NnrunError


_UMASK = os.umask(0)
os.umask(_UMASK)


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
    except OSError as e:
        raise NnrunError(f"--runs-dir: cannot create {runs_dir} ({e.strerror})") from None
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{sanitize_name(name)}{suffix}"
    for k in range(1, 10_000):
        path = runs_dir / (stem if k == 1 else f"{stem}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise NnrunError(f"--runs-dir: cannot create a folder in {runs_dir} ({e.strerror})") from None
    raise NnrunError(f"--runs-dir: {runs_dir} has 10000 runs named {stem}; choose another --name")


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    path = Path(path)
    mode = "w" if isinstance(data, str) else "wb"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_savefig(fig, path: str | Path, **kwargs) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, **kwargs)
    os.replace(tmp, path)


def atomic_npz(path: str | Path, save) -> None:
    """``save(file)`` writes an .npz to an open file; then it is renamed into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    with open(tmp, "wb") as f:
        save(f)
    os.replace(tmp, path)


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: str | Path, data: dict) -> None:
    """JSON with NaN/inf as null (strict JSON readers reject NaN)."""
    atomic_write(path, json.dumps(_json_safe(data), indent=2) + "\n")


def thin(block: np.ndarray, bins: int = 32) -> np.ndarray:
    """Keep, per bin of consecutive rows, the rows with the smallest and largest training
    loss (column 1), plus the last row; blocks of <= 2*bins rows are kept whole."""
    if len(block) <= 2 * bins:
        return block
    edges = np.linspace(0, len(block), bins + 1).astype(int)
    keep = {len(block) - 1}
    loss = np.where(np.isnan(block[:, 1]), np.inf, block[:, 1])
    for a, b in zip(edges[:-1], edges[1:]):
        keep.add(a + int(np.argmin(loss[a:b])))
        keep.add(a + int(np.argmax(np.where(np.isinf(loss[a:b]), -np.inf, loss[a:b]))))
    return block[sorted(keep)]


class HistoryWriter:
    """Streams history rows to ``history.csv`` as they come, so memory stays bounded.

    Rows are formatted and written by a background thread while the next chunk trains
    (both release the GIL), into a hidden file that :meth:`close` renames into place.
    """

    def __init__(self, path: str | Path, columns: list[str]):
        from nnrun.csvformat import format_rows  # numba: imported by what writes a history, not by every reader

        self.format_rows = format_rows
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.partial")
        self.file = open(self.tmp, "wb", buffering=1 << 20)
        self.file.write((",".join(columns) + "\n").encode())
        self.columns = list(columns)
        self.rows = 0
        self.trace: list[np.ndarray] = []  # a thinned copy of the rows, for plots and diagnostics
        self.best: dict[str, tuple[float, int]] = {}  # see best_so_far
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=64)
        self.thread = threading.Thread(target=self._drain, name="history-writer", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while (block := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.file.write(self.format_rows(block))
                except BaseException as e:  # reported by close()
                    self.error = e

    def __call__(self, block: np.ndarray) -> None:
        block = np.array(block, dtype=np.float64)
        self.queue.put(block)
        self.rows += len(block)
        self.trace.append(thin(block))
        self.best_so_far(block)

    def best_so_far(self, block: np.ndarray) -> None:
        """Update ``best``: {column: (value, iteration)}, the lowest finite value of every loss
        column and the highest of every accuracy column, at its first iteration (as pandas'
        idxmin and idxmax over history.csv). The thinned copy may miss them; the run's page
        would otherwise read the whole history.csv again (0.35 s for E1's million rows)."""
        for j, column in enumerate(self.columns):
            if not column.endswith(("_loss", "_accuracy")):
                continue
            values = np.where(np.isfinite(block[:, j]), block[:, j], np.nan)
            if np.isnan(values).all():
                continue
            higher = column.endswith("_accuracy")
            i = int(np.nanargmax(values) if higher else np.nanargmin(values))
            seen = self.best.get(column)
            if seen is None or (values[i] > seen[0] if higher else values[i] < seen[0]):
                self.best[column] = (float(values[i]), int(block[i, 0]))

    def thinned(self) -> np.ndarray:
        """The rows seen so far, thinned: at most ~64 per block, each bin's min and max of the
        training loss kept (so the first, best and last losses are all there)."""
        return np.vstack(self.trace) if self.trace else np.empty((0, 0))

    def close(self) -> None:
        """Finish writing and rename into place (a second call does nothing)."""
        if self.file.closed:
            return
        self.queue.put(None)
        self.thread.join()
        self.file.close()
        if self.error is not None:
            raise self.error
        os.replace(self.tmp, self.path)


def load_run(run_dir: str | Path):
    """(config, history DataFrame, network, metrics) of a run folder."""
    import pandas as pd
    import yaml

    from nnrun.config import validate
    from nnrun.network import Network

    run_dir = Path(run_dir)
    for needed in ("config.yaml", "history.csv", "model.npz"):
        if not (run_dir / needed).exists():
            raise NnrunError(f"{run_dir}: not a run folder (no {needed})")
    cfg = validate(yaml.safe_load((run_dir / "config.yaml").read_text()), str(run_dir / "config.yaml"))
    history = pd.read_csv(run_dir / "history.csv")
    network = Network.from_npz(run_dir / "model.npz", key=str(run_dir))
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return cfg, history, network, metrics


CURVE_COLUMNS = ("iteration", "train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy",
                 "test_accuracy")


def learning_curve(history, bins: int = 100):
    """The loss and accuracy columns of a history, thinned to ~2 * bins rows by
    :func:`thin`: what a sweep's curves.png shows of a cell. A sweep keeps one per cell,
    not the whole history (1,000 cells of 20,000 records would be a gigabyte)."""
    import pandas as pd

    frame = history[[c for c in CURVE_COLUMNS if c in history]]
    return pd.DataFrame(thin(frame.to_numpy(dtype=float), bins), columns=frame.columns)


def read_histories(sweep_dir, folders) -> dict:
    """{folder: learning curve} of the given cells of a sweep that have a history.csv
    (read by the sweep's client, which has the files, for the curves whoever draws them)."""
    import pandas as pd

    out = {}
    for folder in folders:
        path = Path(sweep_dir) / str(folder) / "history.csv"
        if path.exists():
            out[str(folder)] = learning_curve(pd.read_csv(path, usecols=lambda c: c in CURVE_COLUMNS))
    return out
