"""Redrawing the pictures of a run or sweep folder, without training.

Import graph: replot -> sweep -> plots and replot -> plots; the run-folder redraw that
both need lives in :func:`nnrun.plots.redraw_run`, so sweep never imports replot.
"""

from __future__ import annotations

from pathlib import Path

from nnrun.errors import NnrunError


def redraw(folder: str | Path, fmt: str = "png") -> list[Path]:
    """Every picture of a run folder (config.yaml, history.csv, model.npz) or a sweep folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NnrunError(f"{folder}: no such run folder")
    if (folder / "sweep.yaml").exists():
        from nnrun.sweep import redraw_sweep

        return redraw_sweep(folder, fmt)
    from nnrun.plots import redraw_run

    return redraw_run(folder, fmt)
