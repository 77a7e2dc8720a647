"""Reports: one self-contained page per run and per sweep, a page comparing runs, the
table of runs.

- :func:`write_run_report` / :func:`write_sweep_report`: ``report.html`` in a run or
  sweep folder, written with the other artifacts and redrawn by ``nnrun plot``;
- :func:`compare_page` (``nnrun report RUN RUN ...``): the config keys that differ,
  the metrics side by side, the curves overlaid;
- :func:`runs_table` (``nnrun runs``): one row per run or sweep under a folder.

A page is built from the files of the folder only, so any finished folder can be
redrawn; writing one never costs a run (see :func:`safely`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nnrun.errors import is_disk_fault
from nnrun.store.names import REPORT, SWEEP


def safely(write, folder: Path, log=None) -> Path | None:
    """``write(folder)``; a failure becomes one warning line, never an error for the run.
    A full disk is not a failure of the page: it is raised, for the caller to stop on."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    try:
        return write(folder)
    except Exception as e:  # noqa: BLE001 - a report must never cost the run
        if is_disk_fault(e):
            raise
        log(f"nnrun: warning: {Path(folder) / REPORT} was not written ({type(e).__name__}: {e}); "
            f"the run is complete; `nnrun plot {folder}` retries")
        return None


def _write_run(run_dir: Path) -> Path:
    from nnrun.report.run import run_page
    from nnrun.store.files import atomic_write

    run_dir = Path(run_dir)
    parent = run_dir.parent
    sweep = parent.name if (parent / SWEEP).exists() else None
    path = run_dir / REPORT
    atomic_write(path, run_page(run_dir, parent=sweep))
    return path


def _write_sweep(sweep_dir: Path) -> Path:
    """The sweep's page (each cell's page is written with the cell, by its worker)."""
    from nnrun.report.sweep import sweep_page
    from nnrun.store.files import atomic_write

    path = Path(sweep_dir) / REPORT
    atomic_write(path, sweep_page(Path(sweep_dir)))
    return path


def write_run_report(run_dir, log=None) -> Path | None:
    """report.html of a run folder (None, with one warning line, if it could not be written)."""
    return safely(_write_run, Path(run_dir), log)


def write_sweep_report(sweep_dir, log=None) -> Path | None:
    """report.html of a sweep folder (None, with one warning line, if it could not be written)."""
    return safely(_write_sweep, Path(sweep_dir), log)


def __getattr__(name):  # the heavier pieces load when used
    if name == "compare_page":
        from nnrun.report.comparison import compare_page

        return compare_page
    if name == "runs_table":
        from nnrun.report.runs import runs_table

        return runs_table
    raise AttributeError(name)
