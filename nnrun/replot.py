"""Redrawing the pictures of a run or sweep folder, without training.

Import graph: replot -> sweep -> plots and replot -> plots; the run-folder redraw that
both need lives in :func:`nnrun.plots.redraw_run`, so sweep never imports replot.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nnrun.store.names import no_run_folder
from nnrun.store.names import SWEEP


def redraw(folder: str | Path, fmt: str = "png", jobs: int = 1) -> list[Path]:
    """Every picture of a run folder (config.yaml, history.csv, model.npz) or a sweep folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise no_run_folder(folder)
    from nnrun.report import write_run_report, write_sweep_report

    if (folder / SWEEP).exists():
        from nnrun.sweeps.runner import redraw_sweep

        written = redraw_sweep(folder, fmt)
        report = write_sweep_report(folder)  # the cells' pages too
        return written + ([report] if report else [])
    from nnrun.plots import redraw_run

    if (folder.parent / SWEEP).exists():  # a sweep cell: the page's first step, explained, is made with it
        from nnrun.experiment import write_missing_first_step

        try:
            write_missing_first_step(folder)
        except Exception as e:  # noqa: BLE001 - the pictures and the page go on without it
            print(f"nnrun: warning: {folder}: its first step was not explained ({type(e).__name__}: {e})",
                  file=sys.stderr)
    written = redraw_run(folder, fmt, jobs=jobs)
    report = write_run_report(folder)
    return written + ([report] if report else [])
