"""Redrawing plots from a run or sweep folder, without training."""

from __future__ import annotations

from pathlib import Path

from nnrun.errors import NnrunError


def redraw(folder: str | Path, fmt: str = "png") -> list[Path]:
    """Every plot of a run folder (config.yaml, history.csv, model.npz) or a sweep folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NnrunError(f"{folder}: no such run folder")
    if (folder / "sweep.yaml").exists():
        from nnrun.sweep import redraw_sweep

        return redraw_sweep(folder, fmt)
    from nnrun.data import load_data
    from nnrun.experiment import load_run
    from nnrun.plots import draw_run

    import numpy as np

    cfg, history, network, metrics = load_run(folder)
    data = load_data(cfg) if cfg.model.architecture[0] == 2 else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverged net is non-finite
        return draw_run(folder, cfg, history, network, data, metrics, fmt)
