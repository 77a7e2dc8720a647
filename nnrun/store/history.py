"""history.csv: streamed while training runs, thinned for pictures, read back as curves;
and a sweep's table of its cells' histories.

E1 records a million rows; they go to disk on a background thread (formatted by
:mod:`nnrun.store.csvformat`) while the next chunk trains, and only a thinned copy (each
bin's lowest and highest training loss) stays in memory for the pictures and diagnostics.

A sweep cell writes no history.csv: :class:`HistoryKept` keeps at most
:data:`SWEEP_HISTORY_ROWS` of its records (every k-th and the last, the rows unchanged), and
the client writes a batch of cells' rows as one gzip CSV under the sweep's ``histories/``,
with a ``folder`` column; the cell's metrics.json names its file. :func:`read_history` is
the one reader of a run's history, wherever it lives.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import numpy as np

from nnrun.maths.metrics import METRICS, RECORDED, page_order
from nnrun.store.names import HISTORIES, HISTORY, METRICS_JSON

# A sweep cell's history in the sweep's table: at most this many records (E1's 1,000 cells of
# 20,001 records each would be 20 million rows, 1.3 GB; `nnrun train CELL/config.yaml` gives
# every record again, bit-identically)
SWEEP_HISTORY_ROWS = 1000


def thin(block: np.ndarray, bins: int = 32) -> np.ndarray:
    """Keep, per bin of consecutive rows, the rows with the smallest and largest training
    loss (column 1), plus the last row; blocks of <= 2*bins rows are kept whole.

    Each bin's first smallest and first largest (as np.argmin and np.argmax, NaN counting
    as neither, an infinite loss never as the largest), found for all bins at once: a loop
    over the bins was a fifth of an E1 sweep cell's own time."""
    if len(block) <= 2 * bins:
        return block
    edges = np.linspace(0, len(block), bins + 1).astype(int)
    loss = np.where(np.isnan(block[:, 1]), np.inf, block[:, 1])
    high = np.where(np.isinf(loss), -np.inf, loss)
    starts = edges[:-1][edges[:-1] < edges[1:]]  # the non-empty bins
    lengths = np.diff(np.append(starts, len(block)))
    keep = [len(block) - 1]
    for values, best in ((loss, np.minimum), (high, np.maximum)):
        hits = np.flatnonzero(values == np.repeat(best.reduceat(values, starts), lengths))
        keep.append(hits[np.searchsorted(hits, starts)])  # each bin's first row at its extreme
    return block[np.unique(np.concatenate([np.atleast_1d(k) for k in keep]))]


def _thin_loop(block: np.ndarray, bins: int = 32) -> np.ndarray:
    """:func:`thin` as a loop over the bins: what the tests hold it equal to."""
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
        # numba: imported by what writes a history, not by every reader of one
        from nnrun.store.csvformat import format_rows

        self.format_rows = format_rows
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.partial")
        self.file = open(self.tmp, "wb", buffering=1 << 20)
        self.file.write((",".join(columns) + "\n").encode())
        self.columns = list(columns)
        self.rows = 0  # rows handed over
        self.rows_written = 0  # rows on disk (the writer thread's count) ...
        self.bytes_written = 0  # ... and their size
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
                    text = self.format_rows(block)
                    self.file.write(text)
                    self.rows_written += len(block)
                    self.bytes_written += len(text)
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
        would otherwise read the whole history.csv again (0.35 s for E1's million rows).
        All columns at once (a loop over them was a tenth of an E1 sweep cell's overhead)."""
        if not hasattr(self, "_metric_columns"):
            self._metric_columns = [(j, c, METRICS[c].higher_is_better) for j, c in enumerate(self.columns)
                                    if c in METRICS]
        if not self._metric_columns or not len(block):
            return
        js = [j for j, _, _ in self._metric_columns]
        higher = np.array([h for _, _, h in self._metric_columns])
        score = np.ascontiguousarray(block[:, js].T)  # a row per column: argmin along contiguous memory
        score[higher] *= -1
        # the first lowest (highest) finite value: infinite stand-ins never win over a finite one
        score[~np.isfinite(score)] = np.inf
        rows = np.argmin(score, axis=1)
        any_finite = score[np.arange(len(js)), rows] < np.inf
        for k, (j, column, high) in enumerate(self._metric_columns):
            if not any_finite[k]:
                continue
            value, i = float(block[rows[k], j]), int(rows[k])
            seen = self.best.get(column)
            if seen is None or (value > seen[0] if high else value < seen[0]):
                self.best[column] = (value, int(block[i, 0]))

    def _best_so_far_loop(self, block: np.ndarray) -> None:
        """:meth:`best_so_far` column by column: what the tests hold it equal to."""
        for j, column in enumerate(self.columns):
            if column not in METRICS:
                continue
            values = np.where(np.isfinite(block[:, j]), block[:, j], np.nan)
            if np.isnan(values).all():
                continue
            higher = METRICS[column].higher_is_better
            i = int(np.nanargmax(values) if higher else np.nanargmin(values))
            seen = self.best.get(column)
            if seen is None or (values[i] > seen[0] if higher else values[i] < seen[0]):
                self.best[column] = (float(values[i]), int(block[i, 0]))

    def thinned(self) -> np.ndarray:
        """The rows seen so far, thinned: at most ~64 per block, each bin's min and max of the
        training loss kept (so the first, best and last losses are all there)."""
        return np.vstack(self.trace) if self.trace else np.empty((0, 0))

    def close(self) -> None:
        """Finish writing and rename into place (a second call does nothing). A write that
        failed (a full disk) is raised here, and the partial file is deleted: half a history
        would pass for a whole one, and its room is what the run's small files need."""
        if self.file.closed:
            return
        self.queue.put(None)
        self.thread.join()
        try:
            self.file.close()  # flushes: a full disk may only show here
        except OSError as e:
            self.error = self.error or e
        if self.error is not None:
            self.tmp.unlink(missing_ok=True)
            raise self.error
        os.replace(self.tmp, self.path)

    def bytes_per_row(self) -> float:
        """The size of a formatted row, from the rows written so far (about 60 bytes)."""
        return self.bytes_written / self.rows_written if self.rows_written else 60.0


CURVE_COLUMNS = ("iteration", *page_order(RECORDED))  # a learning curve: every recorded metric


def learning_curve(history, bins: int = 100, columns=None):
    """The loss and accuracy columns of a history (a DataFrame, or an array whose ``columns``
    are given: 5x faster for a sweep's small cells), thinned to ~2 * bins rows by
    :func:`thin`: what a sweep's curves.png shows of a cell. A sweep keeps one per cell,
    not the whole history (1,000 cells of 20,000 records would be a gigabyte)."""
    import pandas as pd

    if columns is not None:  # an array of rows, these its columns (a HistoryWriter's thinned copy)
        picked = [(list(columns).index(c), c) for c in CURVE_COLUMNS if c in columns]
        return pd.DataFrame(thin(np.asarray(history, dtype=float)[:, [j for j, _ in picked]], bins),
                            columns=[c for _, c in picked])
    frame = history[[c for c in CURVE_COLUMNS if c in history]]
    return pd.DataFrame(thin(frame.to_numpy(dtype=float), bins), columns=frame.columns)


def read_histories(sweep_dir, folders) -> dict:
    """{folder: learning curve} of the given cells of a sweep that have a history
    (read by the sweep's client, which has the files, for the curves whoever draws them)."""
    import pandas as pd

    out, tables = {}, {}
    for folder in map(str, folders):
        path, row_key = history_source(Path(sweep_dir) / folder)
        if not path.exists():
            continue
        if row_key is None:
            out[folder] = learning_curve(pd.read_csv(path, usecols=lambda c: c in CURVE_COLUMNS))
            continue
        if path not in tables:  # a batch's table, read once for all its cells
            tables[path] = dict(tuple(pd.read_csv(path, usecols=lambda c: c == "folder" or c in CURVE_COLUMNS,
                                                  dtype={"folder": str}).groupby("folder", sort=False)))
        if row_key in tables[path]:
            out[folder] = learning_curve(tables[path][row_key].drop(columns="folder").reset_index(drop=True))
    return out


class HistoryKept(HistoryWriter):
    """A sweep cell's history, kept in memory instead of written: every ``every``-th record
    (the first included) and the last, as training emits them (numbers unchanged), besides
    the thinned copy and the best values every record updates (as :class:`HistoryWriter`)."""

    def __init__(self, columns: list[str], every: int = 1):
        self.columns = list(columns)
        self.every = max(1, int(every))
        self.rows = self.rows_written = self.bytes_written = 0
        self.trace, self.kept, self.best, self.error = [], [], {}, None
        self.last: np.ndarray | None = None

    def __call__(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float64)  # training hands over a fresh copy of its buffer
        if not len(block):
            return
        first, self.rows = self.rows, self.rows + len(block)
        self.rows_written = self.rows
        self.kept.append(block[(-first) % self.every::self.every].copy())  # records first, first + every, ...
        self.last = block[-1]
        self.trace.append(thin(block))
        self.best_so_far(block)

    def close(self) -> None:
        pass

    def table(self) -> np.ndarray:
        """The kept records: every ``every``-th and the last."""
        rows = [k for k in self.kept if len(k)]
        if self.last is not None and (self.rows - 1) % self.every:
            rows.append(self.last[None, :])
        return np.vstack(rows) if rows else np.empty((0, len(self.columns)))


def sweep_every(planned_records: int, most: int = SWEEP_HISTORY_ROWS) -> int:
    """Keep every k-th record so that at most ``most`` (and the last) are kept."""
    return max(1, -(-int(planned_records) // most))


def table_rows(folder: str, block: np.ndarray) -> bytes:
    """A cell's rows of a sweep's history table (no header), gzip-compressed: a batch's
    file is its cells' members one after the other (gzip reads them as one stream)."""
    import gzip

    from nnrun.store.csvformat import format_rows

    prefix = (folder.replace(",", "_") + ",").encode()
    text = format_rows(block) if len(block) else b""
    lines = text.split(b"\n")[:-1]
    return gzip.compress(b"".join(prefix + line + b"\n" for line in lines), compresslevel=1, mtime=0)


def table_header(columns) -> bytes:
    """The first member of a batch's history table: its header line."""
    import gzip

    return gzip.compress((",".join(["folder", *columns]) + "\n").encode(), compresslevel=1, mtime=0)


def history_source(run_dir) -> tuple[Path, str | None]:
    """Where a run's history is: (its history.csv, None), or for a sweep cell whose history
    is in the sweep's table, (that table's file, the cell's folder name)."""
    import json

    run_dir = Path(run_dir)
    own = run_dir / HISTORY
    if own.exists():
        return own, None
    try:
        pointer = json.loads((run_dir / METRICS_JSON).read_text()).get("history") or {}
    except (OSError, ValueError, AttributeError):
        pointer = {}
    name = pointer.get("file") if isinstance(pointer, dict) else None
    if isinstance(name, str) and Path(name).parts[:1] == (HISTORIES,) and ".." not in Path(name).parts:
        return run_dir.parent / name, run_dir.name
    return own, None


def has_history(run_dir) -> bool:
    return history_source(run_dir)[0].exists()


def read_history(run_dir, usecols=None):
    """A run's history as a DataFrame (the columns of history.csv), wherever it lives: its
    own history.csv, or its rows of its sweep's table (a sweep cell: at most
    :data:`SWEEP_HISTORY_ROWS` of its records). FileNotFoundError when there is none."""
    import pandas as pd

    path, folder = history_source(run_dir)
    if folder is None:
        return pd.read_csv(path, usecols=usecols)
    wanted = None if usecols is None else (lambda c: c == "folder" or usecols(c)) if callable(usecols) \
        else ["folder", *usecols]
    table = pd.read_csv(path, usecols=wanted, dtype={"folder": str})
    return table[table["folder"] == folder].drop(columns="folder").reset_index(drop=True)
