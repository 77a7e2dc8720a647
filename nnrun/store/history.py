"""history.csv: streamed while training runs, thinned for pictures, read back as curves.

E1 records a million rows; they go to disk on a background thread (formatted by
:mod:`nnrun.store.csvformat`) while the next chunk trains, and only a thinned copy (each
bin's lowest and highest training loss) stays in memory for the pictures and diagnostics.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import numpy as np

from nnrun.maths.metrics import METRICS, RECORDED, page_order
from nnrun.store.names import HISTORY


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
        would otherwise read the whole history.csv again (0.35 s for E1's million rows)."""
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
        path = Path(sweep_dir) / str(folder) / HISTORY
        if path.exists():
            out[str(folder)] = learning_curve(pd.read_csv(path, usecols=lambda c: c in CURVE_COLUMNS))
    return out
