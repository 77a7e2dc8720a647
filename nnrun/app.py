"""A run from config to page: record it, draw its pictures, write its page, say how it went.

What ``nnrun train`` does, and what the Python API does, is one function here:
:func:`run_experiment` (prepare, record, finish). :func:`finish_run` is the finishing step
for a folder already recorded (``nnrun compare`` records nnrun's run, then finishes it,
then runs the twin). The layers below know nothing of pictures or pages: a sweep cell is
recorded without them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nnrun.config import Config
from nnrun.errors import disk_fault, is_disk_fault
from nnrun.experiment import Recorded, prepare, record_run, summarize
from nnrun.store.names import HISTORY, METRICS_JSON, MODEL, REPORT, make_run_dir


def run_experiment(cfg: Config, runs_dir: str | Path = "runs", name: str | None = None,
                   quiet: bool = False, plots: bool = True, log=None, draw_jobs: int = 1,
                   command: str | None = None, watch=None) -> Path:
    """Train ``cfg`` and write its run folder; returns the folder.

    ``plots``: True for every picture, False for none, or a tuple of picture names.
    ``log(message)`` receives the end-of-run summary lines (default: stderr).
    ``draw_jobs=2`` draws the pictures in two processes (see :func:`nnrun.plots.draw_run`).
    ``command``: the command line, shown on the page. ``watch(done, planned, trace)``: told
    of every chunk of training (see :func:`nnrun.experiment.record_run`; ``nnrun.run(...,
    live=True)`` draws the curve from it). Raises NnrunError (before creating anything) for
    bad input.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    data, network = prepare(cfg, announce=log)
    run_dir = make_run_dir(runs_dir, name or cfg.name)
    recorded = record_run(cfg, data, network, run_dir, quiet=quiet, command=command, watch=watch)
    finish_run(recorded, cfg, data, plots=plots, log=log, draw_jobs=draw_jobs, quiet=quiet)
    return run_dir


def finish_run(recorded: Recorded, cfg, data, plots=True, log=None, draw_jobs: int = 1, quiet: bool = True) -> None:
    """The pictures (``plots`` as in :func:`run_experiment`), report.html, and the summary
    lines of a recorded run. A picture or a page that fails costs one warning line.
    Unless ``quiet``, one line says the pictures are being drawn (they take seconds). Ctrl-C
    while they are drawn: the run's files are complete, so the summary is given, with how
    to draw the rest, and KeyboardInterrupt goes on (exit 130). A full disk: the same, as a
    MachineFault (exit 1)."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if plots:
        import numpy as np

        from nnrun.plots import draw_run
        from nnrun.report import write_run_report

        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverged net is non-finite
                draw_run(recorded.run_dir, cfg, recorded.history, recorded.result.network, data, recorded.metrics,
                         only=None if plots is True else plots, snapshots=recorded.snapshots, log=log,
                         jobs=draw_jobs, announce=None if quiet else log)
            write_run_report(recorded.run_dir, log=log)
        except KeyboardInterrupt:
            summarize(recorded.metrics, recorded.run_dir, log)
            log(f"nnrun: interrupted while drawing: the run is complete, but its pictures and report.html are not; "
                f"`nnrun plot {recorded.run_dir}` draws them")
            raise
        except OSError as e:
            if not is_disk_fault(e):
                raise
            for partial in recorded.run_dir.glob(".*"):  # a half-saved picture
                partial.unlink(missing_ok=True)
            summarize(recorded.metrics, recorded.run_dir, log)
            raise disk_fault(e, f"the run's records are complete ({METRICS_JSON}, {HISTORY}, {MODEL}), but not its "
                                f"pictures and {REPORT}; free some space, then `nnrun plot {recorded.run_dir}` "
                                "draws them") from None
    summarize(recorded.metrics, recorded.run_dir, log)
