"""The live learning curve of ``nnrun.run(..., live=True)``: one notebook output, redrawn
while training runs.

:class:`LiveCurve` is a ``watch(done, planned, trace)`` hook of
:func:`nnrun.app.run_experiment`: training calls it after every chunk, as it calls the
progress bar, and it redraws the loss (and accuracy) curve from the thinned records so far
(``trace()``, :meth:`nnrun.store.history.HistoryWriter.thinned`) into one IPython display
handle (``display(..., display_id=True)``, then ``handle.update(...)``): no widgets, no
server, no JavaScript. The output is HTML holding a one-line status and a PNG as a
``data:`` URI, so a saved notebook and its HTML export show the last state: the finished
curve and how the run ended (:meth:`LiveCurve.finish`).

A drawing runs on a thread of its own, while the next chunks train (the compiled kernels
release the GIL), so the training waits for it only where the hook takes the records'
snapshot. It also keeps to a budget: all the drawing together may take at most ``budget``
(3 %) of the training's projected time (the time so far, scaled to the planned
iterations), so a run too short to afford a picture (E1's second: the first drawing, with
the figure to make, costs about 0.15 s) shows its progress as a status line only, until
:meth:`LiveCurve.finish` draws the curve; after a drawing that took ``t`` seconds the next
one waits ``max(min_interval, t / budget)`` (4 a second at most), and the first waits
``first_after`` seconds. :meth:`LiveCurve.close` (training has ended) waits
for a drawing under way, so that the run's pictures are never drawn beside it (matplotlib
is not thread-safe). When the last chunk is done only the status line changes ("drawing
the pictures"); :meth:`LiveCurve.finish` draws the whole curve.
"""

from __future__ import annotations

import base64
import contextvars
import html
import threading
import time

import numpy as np

from nnrun.engines.layout import HISTORY_COLUMNS
from nnrun.plots.curves import _envelope
from nnrun.plots.png import figure_png

LIVE_DPI = 72
POINTS = 600  # per line: a curve 330 pixels wide shows no more, and drawing fewer is faster
SERIES = (("train", "training", "C0"), ("val", "validation", "C2"), ("test", "test", "C1"))


class LiveCurve:
    """A ``watch`` hook drawing the loss (and, for a classification, accuracy) curve into
    a notebook output while training runs; see the module's docstring. ``draws`` and
    ``seconds`` count the drawings and the time they took."""

    def __init__(self, name: str, loss: str, min_interval: float = 0.25, budget: float = 0.03,
                 first_after: float = 0.5):
        self.name, self.loss = name, loss
        self.min_interval, self.budget, self.first_after = min_interval, budget, first_after
        self.last_png = None
        self.handle = None
        self.next_draw = 0.0
        self.started = time.perf_counter()
        self.trace = None
        self.planned = 0
        self.draws = 0  # how many times the output was drawn (the benchmark reports it)
        self.seconds = 0.0  # ... and the time it took
        self._figure = None
        self._drawing: threading.Thread | None = None
        self.cost = 0.15  # what the next drawing is expected to take (the first makes the figure)
        self.next_status = 0.0

    # the hook
    def __call__(self, done: int, planned: int, trace) -> None:
        self.trace, self.planned = trace, planned
        now = time.perf_counter()
        if done >= planned:  # the status line only, over the last curve: finish() draws the whole
            self.close()
            if self.handle is not None:
                self.show(f"{self.name}: trained {done:,} iterations in {now - self.started:.1f} s; "
                          "drawing the pictures …", redraw=False)
            return
        if now < max(self.next_draw, self.started + self.first_after) or self._busy():
            return
        status = (f"{self.name}: training, {done:,} of {planned:,} iterations ({done / max(planned, 1):.0%}), "
                  f"{now - self.started:.1f} s")
        projected = (now - self.started) * planned / max(done, 1)
        if self.seconds + self.cost > self.budget * projected:  # a picture would cost more than its share
            if now >= self.next_status:
                self.show(status, redraw=False)  # the words alone: a few microseconds
                self.next_status = now + 0.5
            return
        rows = trace()  # the snapshot, here: the records go on growing while the thread draws
        # the notebook's output goes where this cell's does: the thread runs in this context
        context = contextvars.copy_context()
        self._drawing = threading.Thread(target=context.run, args=(self._draw, status, rows), daemon=True,
                                         name="nnrun-live-curve")
        self._drawing.start()

    def _busy(self) -> bool:
        return self._drawing is not None and self._drawing.is_alive()

    def _draw(self, status: str, rows) -> None:
        start = time.perf_counter()
        self.show(status, rows=rows)
        spent = self.cost = time.perf_counter() - start
        self.next_draw = time.perf_counter() + max(self.min_interval, spent / self.budget)

    def close(self) -> None:
        """Training has ended: wait for a drawing under way."""
        if self._drawing is not None:
            self._drawing.join()
            self._drawing = None

    def finish(self, metrics: dict) -> None:
        """The last drawing: the whole curve and one line saying how the run ended."""
        self.close()
        if self.trace is None:
            return
        loop = metrics.get("train_seconds")
        parts = [f"{self.name}: {metrics.get('status', '?')}, {metrics.get('iterations', 0):,} iterations"
                 + (f" ({loop:.3g} s in the training loop, {time.perf_counter() - self.started:.1f} s in all)"
                    if isinstance(loop, (int, float)) else "")]
        for key, label in (("train_loss", "train loss"), ("test_loss", "test loss"),
                           ("train_accuracy", "train acc"), ("test_accuracy", "test acc")):
            value = metrics.get(key)
            if isinstance(value, (int, float)) and np.isfinite(value):
                parts.append(f"{label} {value:.4g}")
        self.show(", ".join(parts))

    # drawing
    def show(self, status: str, redraw: bool = True, rows=None) -> None:
        t0 = time.perf_counter()
        if redraw:
            self.last_png = self.png(self.trace() if rows is None else rows)
        content = self.html(status, self.last_png)
        import IPython.display

        if self.handle is None:
            self.handle = IPython.display.display(IPython.display.HTML(content), display_id=True)
        else:
            self.handle.update(IPython.display.HTML(content))
        self.draws += 1
        self.seconds += time.perf_counter() - t0

    @staticmethod
    def html(status: str, png: bytes | None) -> str:
        image = "" if png is None else (f'<img alt="learning curve" style="max-width:100%" '
                                        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')
        return (f'<div class="nnrun-live"><div style="font-family:monospace">{html.escape(status)}</div>'
                f"{image}</div>")

    def png(self, rows: np.ndarray) -> bytes | None:
        if rows.size == 0:
            return None
        accuracy = rows[:, HISTORY_COLUMNS.index("train_accuracy")]
        fig, lines = self._figure or self._make_figure(bool(np.isfinite(accuracy).any()))
        it = rows[:, HISTORY_COLUMNS.index("iteration")]
        for (column, line) in lines.items():
            y = rows[:, HISTORY_COLUMNS.index(column)] if column in HISTORY_COLUMNS else np.full(len(it), np.nan)
            if column.endswith("_loss"):
                y = np.where((y > 0) & (y < 1e295), y, np.nan)
            line.set_data(*_envelope(it, y, POINTS))  # finite values only; each bin's min and max
        shown = [line for column, line in lines.items() if column.endswith("_loss") and len(line.get_xdata())]
        if shown:
            fig.axes[0].legend(handles=shown, fontsize=8, loc="upper right")
        for ax in fig.axes:
            ax.relim()
            ax.autoscale_view()
            ax.set_xlim(0, max(float(self.planned), 1.0))
        return figure_png(fig, LIVE_DPI)

    def _make_figure(self, classify: bool):
        """The figure, made at the first drawing: a classification's records hold accuracies,
        which get a second panel."""
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

        panels = 2 if classify else 1
        fig = Figure(figsize=(4.6 * panels, 2.7), dpi=LIVE_DPI)
        # a fixed title height: matplotlib otherwise measures every tick label at each drawing
        with matplotlib.rc_context({"axes.titley": 1.0}):
            axes = fig.subplots(1, panels, squeeze=False)[0]
        for ax in axes:
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos=None: f"{value:,.0f}"))
            ax.yaxis.set_minor_locator(NullLocator())  # a log axis' minor ticks: time, not information
        lines = {}
        ax = axes[0]
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_title(f"{self.loss.replace('_', ' ')} loss", fontsize=10)
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
        for key, label, colour in SERIES:
            lines[f"{key}_loss"] = ax.plot([], [], lw=0.9, color=colour, label=label)[0]
        if classify:
            ax = axes[1]
            ax.set_title("accuracy", fontsize=10)
            ax.set_xlabel("iteration")
            ax.grid(True, alpha=0.3)
            for key, label, colour in SERIES:
                lines[f"{key}_accuracy"] = ax.plot([], [], lw=0.9, color=colour, label=label)[0]
        fig.subplots_adjust(left=0.1 if panels == 2 else 0.14, right=0.98, bottom=0.18, top=0.88, wspace=0.25)
        self._figure = (fig, lines)
        return self._figure
