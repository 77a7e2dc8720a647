"""Redrawing plots from a run or sweep folder, without training."""

from __future__ import annotations

from pathlib import Path

from nnrun.errors import NnrunError


def redraw(folder: str | Path, fmt: str = "png") -> list[Path]:
    """Every plot of a run folder (config.yaml, history.csv, model.npz) or a sweep folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NnrunError(f"{folder}: no such run folder")
    from nnrun.report import write_run_report, write_sweep_report

    if (folder / "sweep.yaml").exists():
        from nnrun.sweep import redraw_sweep

        written = redraw_sweep(folder, fmt)
        report = write_sweep_report(folder)  # the cells' pages too
        return written + ([report] if report else [])
    from nnrun.data import load_data
    from nnrun.experiment import load_run
    from nnrun.plots import draw_run

    import numpy as np

    cfg, history, network, metrics = load_run(folder)
    data = load_data(cfg) if cfg.model.architecture[0] == 2 else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverged net is non-finite
        written = draw_run(folder, cfg, history, network, data, metrics, fmt)
    report = write_run_report(folder)
    return written + ([report] if report else [])
