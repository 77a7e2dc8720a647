"""compare.png: nnrun's recorded losses against the PyTorch twin's, and their relative
difference (``nnrun compare --with torch``)."""

from __future__ import annotations

import numpy as np

from nnrun.plots.style import STYLE, describe, thin_xy  # noqa: I001 - selects the Agg backend before pyplot
import matplotlib.pyplot as plt  # noqa: E402

from nnrun.maths.differences import pointwise_relative  # noqa: E402
from nnrun.store.files import atomic_savefig  # noqa: E402


def _plottable(y: np.ndarray) -> np.ndarray:
    """y where a log axis can show it (0 < y <= 1e200; a diverged run's 1e308 would push
    the axis limits to infinity), else NaN (a gap)."""
    with np.errstate(invalid="ignore"):
        return np.where((y > 0) & (y <= 1e200), y, np.nan)


def plot_compare(cfg, nnrun_history: np.ndarray, torch_history: np.ndarray, report: dict, path) -> None:
    """Two panels: both training-loss curves (log y), and their pointwise relative difference."""
    n = min(len(nnrun_history), len(torch_history))
    it = nnrun_history[:n, 0]
    with plt.rc_context(STYLE), np.errstate(all="ignore"):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
        for hist, label, style in ((nnrun_history, "nnrun", dict(color="C0", lw=2.2, alpha=0.6)),
                                   (torch_history, "PyTorch twin", dict(color="C3", lw=0.9, ls="--"))):
            xs, ys = thin_xy(hist[:, 0], _plottable(hist[:, 1]), how=np.nanmean)  # each bin's mean loss
            left.plot(xs, ys, label=label, **style)
        left.set_yscale("log")
        left.set_xlabel("iteration")
        left.set_ylabel(f"training {cfg.train.loss.replace('_', ' ')} loss")
        left.set_title("training loss: nnrun and PyTorch")
        left.legend()

        floor = 1e-18
        for col, label, colour in ((1, "training loss", "C0"), (2, "test loss", "C1")):
            rel = pointwise_relative(nnrun_history[:n, col], torch_history[:n, col])
            if np.isfinite(rel).any():
                xs, ys = thin_xy(it, _plottable(np.maximum(rel, floor)), how=np.nanmax)  # no peak hidden
                right.plot(xs, ys, ls="none", marker=".", ms=2.5, color=colour, label=label)
        right.axhline(report["tolerance"], color="k", ls=":", lw=1, label=f"tolerance {report['tolerance']:g}")
        right.set_yscale("log")
        right.set_xlabel("iteration")
        right.set_ylabel("|nnrun − torch| / |nnrun|")
        right.set_title(f"relative difference (exact agreement drawn at {floor:g})", fontsize=9)
        right.legend(markerscale=3)
        verdict = "agree to" if report["agree"] else "DIFFER by more than"
        weights = report["max_rel_diff"]["weights"]["overall"]
        fig.suptitle(f"nnrun vs PyTorch twin ({verdict} {report['tolerance']:g}; final weights "
                     f"rel. diff {weights:.2g})\n{describe(cfg)}", fontsize=10)
        fig.tight_layout()
        atomic_savefig(fig, path)
        plt.close(fig)
