"""``nnrun compare CONFIG --with torch``: nnrun's run and its PyTorch twin
(:mod:`nnrun.tools.twin`), side by side.

The run folder holds everything ``nnrun train`` writes, plus the twin's history
(history_torch.csv), compare.png (:mod:`nnrun.plots.compare`) and compare.json: the largest
relative difference of every recorded loss and accuracy and of the final weights, and
``agree`` when all are within :data:`TOLERANCE` (1e-8).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nnrun.store.files import atomic_write, write_json
from nnrun.store.names import COMPARE, COMPARE_PICTURE, HISTORY, HISTORY_TORCH, METRICS_JSON, MODEL
from nnrun.maths.differences import max_pointwise_relative, relative_difference
from nnrun.plots.compare import plot_compare
from nnrun.tools.twin import import_torch, torch_twin
from nnrun.training import HISTORY_COLUMNS


#: Relative difference above which the two implementations are said to differ.
TOLERANCE = 1e-8


def _weight_arrays(theta: np.ndarray, sizes: list[int]) -> dict[str, np.ndarray]:
    """W1..WL, b1..bL as views of a flat theta in nnrun's layout."""
    arrays, at = {}, 0
    for l, (n_prev, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        arrays[f"W{l}"] = theta[at:at + n * n_prev].reshape(n, n_prev)
        at += n * n_prev
        arrays[f"b{l}"] = theta[at:at + n]
        at += n
    return arrays


def differences(nnrun_history: np.ndarray, torch_history: np.ndarray, nnrun_theta: np.ndarray,
                torch_theta: np.ndarray, sizes: list[int], tolerance: float = TOLERANCE) -> dict:
    """The comparison: max relative differences and whether everything is within tolerance.

    Losses: the largest |nnrun - torch| / |nnrun| over the recorded rows (the relative
    error of each point of the loss curve). Weights: max|a - b| / max|a| per array and
    for the whole theta. Accuracy: rows where the recorded accuracies differ by a
    classified point or more (reported, not judged: a point on the boundary may flip).
    """
    problems = []
    n = min(len(nnrun_history), len(torch_history))
    if len(nnrun_history) != len(torch_history):
        problems.append(f"nnrun recorded {len(nnrun_history)} rows, the torch twin {len(torch_history)}")
    a, b = nnrun_history[:n], torch_history[:n]
    if not np.array_equal(a[:, 0], b[:, 0]):
        problems.append("the recorded iterations differ")
    columns = (("train_loss", 1), ("test_loss", 2), ("val_loss", 5))
    losses = {name: max_pointwise_relative(a[:, col], b[:, col]) for name, col in columns if col < a.shape[1]}
    nnrun_arrays, torch_arrays = _weight_arrays(nnrun_theta, sizes), _weight_arrays(torch_theta, sizes)
    L = len(sizes) - 1
    names = [f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)]
    weights = {name: relative_difference(nnrun_arrays[name], torch_arrays[name]) for name in names}
    weights["overall"] = relative_difference(nnrun_theta, torch_theta)
    accuracy = {}
    for name, col in (("train", 3), ("test", 4)):
        # 1e-9 is far below one sample in 10^8 and far above the rounding of the means
        with np.errstate(invalid="ignore"):
            apart = ~(np.abs(a[:, col] - b[:, col]) <= 1e-9)
        both_nan = np.isnan(a[:, col]) & np.isnan(b[:, col])
        accuracy[name] = int((apart & ~both_nan).sum())

    def over(value):
        return value is not None and not (value <= tolerance)  # NaN and inf count as over

    for name, value in losses.items():
        if over(value):
            problems.append(f"{name} differs by a relative {value:.3g}")
    worst = max(names, key=lambda k: -np.inf if np.isnan(weights[k]) else weights[k])
    if any(over(weights[k]) for k in [*names, "overall"]):
        problems.append(f"final weights differ by a relative {weights['overall']:.3g} "
                        f"(largest in {worst}: {weights[worst]:.3g})")
    return {
        "tolerance": tolerance,
        "max_rel_diff": {**losses, "weights": weights},
        "accuracy_rows_differing": accuracy,
        "rows": {"nnrun": int(len(nnrun_history)), "torch": int(len(torch_history))},
        "problems": problems,
        "agree": not problems,
    }


# ------------------------------------------------------------------ the command
def compare(cfg, runs_dir, name: str | None = None, quiet: bool = False, plots: bool = True,
            log=None, command: str | None = None) -> tuple[Path, dict]:
    """Train ``cfg`` with nnrun and with its PyTorch twin; write and return the comparison.

    The run folder ``<runs_dir>/<time>-<name>-compare`` holds everything ``nnrun train``
    writes, plus ``history_torch.csv`` (the twin's history, same columns),
    ``compare.png`` and ``compare.json`` (the report: max relative differences of the
    recorded losses and final weights, the torch version, the tolerance and ``agree``).
    If nnrun's training is interrupted (Ctrl-C), the twin is not run and ``agree`` is None.
    ``plots=False`` skips nnrun's usual pictures (loss, data, regions), not compare.png.
    ``log(message)`` receives the summary lines (default: stderr).
    Raises NnrunError before creating anything when PyTorch is missing or input is bad.
    """
    torch = import_torch()
    from nnrun.app import finish_run
    from nnrun.experiment import prepare, record_run
    from nnrun.maths.network import Network
    from nnrun.store.names import make_run_dir

    log = log or (lambda msg: print(msg, file=sys.stderr))
    data, network = prepare(cfg, announce=log)
    initial = Network(network.sizes, network.activations, network.theta.copy())  # before nnrun trains it
    run_dir = make_run_dir(runs_dir, name or cfg.name, suffix="-compare")
    finish_run(record_run(cfg, data, network, run_dir, quiet=quiet, command=command), cfg, data, plots=plots, log=log)
    metrics = json.loads((run_dir / METRICS_JSON).read_text())
    if metrics.get("status") == "interrupted":  # Ctrl-C means stop: no twin run
        return run_dir, _interrupted(cfg, run_dir, metrics, torch, ["nnrun was interrupted; nothing compared"],
                                     "interrupted: the PyTorch twin was not run", log)
    nnrun_history, nnrun_theta, torch_history, torch_theta, signal = _both_histories(
        cfg, data, initial, run_dir, metrics, quiet)
    frame = pd.DataFrame(torch_history, columns=HISTORY_COLUMNS).astype({"iteration": np.int64})
    atomic_write(run_dir / HISTORY_TORCH, frame.to_csv(index=False, float_format="%.17g"))
    if signal is not None:  # Ctrl-C during the twin: keep what both have, say so
        done = int(torch_history[-1, 0]) if len(torch_history) else 0
        of = f"{done} of {metrics.get('iterations')} iterations"
        write_json(run_dir / METRICS_JSON, {**metrics, "status": "interrupted", "signal": int(signal),
                                            "interrupted_in": "torch twin"})
        return run_dir, _interrupted(cfg, run_dir, metrics, torch,
                                     [f"the PyTorch twin was interrupted after {of}; nothing compared"],
                                     f"interrupted: the PyTorch twin stopped after {of}", log, torch_iterations=done)
    report = _agreement(cfg, run_dir, metrics, torch, nnrun_history, torch_history, nnrun_theta, torch_theta,
                        network.sizes)
    write_json(run_dir / COMPARE, report)
    plot_compare(cfg, nnrun_history, torch_history, report, run_dir / COMPARE_PICTURE)
    _say(report, torch, log)
    return run_dir, report


def _both_histories(cfg, data, initial, run_dir, metrics, quiet):
    """nnrun's recorded history and final weights, read back from its folder, and the
    twin's, trained for as many iterations; and the signal that stopped the twin, if any.
    From here on Ctrl-C is a flag, not an exception: reading a million-row history takes
    seconds, and a stop there left the folder without compare.json (status 'completed')."""
    from nnrun.experiment import progress_bar
    from nnrun.maths.network import Network
    from nnrun.training import stop_on_signals

    with stop_on_signals() as flag, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        nnrun_history = pd.read_csv(run_dir / HISTORY).to_numpy(dtype=np.float64)
        nnrun_theta = Network.from_npz(run_dir / MODEL, key=str(run_dir)).theta
        bar, update = progress_bar(metrics["iterations"], quiet, "PyTorch twin")
        try:
            torch_history, torch_theta = torch_twin(cfg, data, initial, iterations=metrics["iterations"],
                                                    progress=update and (lambda done: update(done, None)),
                                                    should_stop=lambda: flag["signal"] is not None)
        finally:
            if bar:
                bar.close()
    return nnrun_history, nnrun_theta, torch_history, torch_theta, flag["signal"]


def _interrupted(cfg, run_dir, metrics, torch, problems, line, log, **extra) -> dict:
    """compare.json for a comparison that Ctrl-C stopped: nothing compared, ``agree`` None."""
    report = {"config": cfg.name, "run_dir": str(run_dir), "status": "interrupted",
              "iterations": metrics.get("iterations"), **extra, "torch_version": torch.__version__,
              "tolerance": TOLERANCE, "problems": problems, "agree": None}
    write_json(run_dir / COMPARE, report)
    log(line)
    return report


def _agreement(cfg, run_dir, metrics, torch, nnrun_history, torch_history, nnrun_theta, torch_theta, sizes) -> dict:
    """compare.json: what ran on each side, and the largest relative differences."""
    from nnrun import __version__

    return {
        "config": cfg.name,
        "run_dir": str(run_dir),
        "status": metrics.get("status"),
        "iterations": metrics.get("iterations"),
        "engine": metrics.get("engine"),
        "nnrun_version": __version__,
        "torch_version": torch.__version__,
        "twin": (f"PyTorch float64: torch.nn.Linear layers, torch activations and losses, autograd, "
                 f"torch.optim for optimizer {cfg.train.optimizer}, torch.optim.lr_scheduler for schedule "
                 f"{cfg.train.schedule.type}; L2 penalty as weight_decay on the weights' parameter group"),
        **differences(nnrun_history, torch_history, nnrun_theta, torch_theta, sizes),
    }


def _say(report: dict, torch, log) -> None:
    """The summary lines: the largest differences, and whether the two agree."""
    d = report["max_rel_diff"]
    log(f"torch twin ({torch.__version__}): max relative difference train loss "
        f"{_fmt(d['train_loss'])}, test loss {_fmt(d['test_loss'])}"
        + (f", validation loss {_fmt(d['val_loss'])}" if d.get("val_loss") is not None else "")
        + f", final weights {_fmt(d['weights']['overall'])}")
    if report["agree"]:
        log(f"nnrun and PyTorch agree to {TOLERANCE:g}")
    else:
        log(f"!!! nnrun and PyTorch DIFFER by more than {TOLERANCE:g}: " + "; ".join(report["problems"]))


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"
