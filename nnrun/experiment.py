"""One experiment end to end: config -> data -> network -> train -> run folder -> plots.

:func:`run_experiment` is what ``nnrun train`` calls. Everything that can be wrong
with the input is checked before the run folder exists, so bad input leaves nothing
behind. Once training starts, the folder always ends up complete: a run that
diverges, is interrupted or fails still gets its history, model, metrics and plots
(as far as they can be drawn), with ``status`` saying what happened.
"""

from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from nnrun import __version__
from nnrun.config import Config, dump_yaml
from nnrun.data import load_data, streams
from nnrun.diagnostics import diagnose
from nnrun.errors import NnrunError, RunFailed  # noqa: F401  (RunFailed: raised here)
from nnrun.network import parameter_count
from nnrun.rundir import HistoryWriter, atomic_npz, atomic_write, make_run_dir, write_json
from nnrun.training import (
    HISTORY_COLUMNS, batch_size, build_network, evaluate, load_engine, planned_iterations, resolve_log_every, train,
)

MAX_PARAMETERS = 50_000_000
MAX_HISTORY_ROWS = 20_000_000


def check_size(cfg: Config, n_train: int) -> None:
    """Refuse, before any work, runs that cannot fit (parameters or history)."""
    n_params = parameter_count(cfg.model.architecture)
    if n_params > MAX_PARAMETERS:
        raise NnrunError(
            f"model.architecture: {'-'.join(map(str, cfg.model.architecture))} has {n_params:,} parameters "
            f"({n_params * 8 * 4 / 2**30:.1f} GiB for weights, gradients and buffers); the limit is {MAX_PARAMETERS:,}"
        )
    total = planned_iterations(cfg, n_train)
    rows = total // resolve_log_every(cfg, n_train)
    if rows > MAX_HISTORY_ROWS:
        raise NnrunError(
            f"train.log_every: recording {rows:,} history rows (about {rows * 60 / 2**30:.1f} GiB of "
            f"history.csv) is more than the limit of {MAX_HISTORY_ROWS:,}; raise train.log_every "
            f"to at least {math.ceil(total / MAX_HISTORY_ROWS)}"
        )


def resolved_config(cfg: Config, n_train: int) -> dict:
    """The config with every default spelled out (log_every resolved) and the nnrun version."""
    data = cfg.to_dict()
    data["train"]["log_every"] = resolve_log_every(cfg, n_train)
    data.pop("nnrun_version", None)
    data["nnrun_version"] = __version__  # last, so it reads as a footnote
    return data


def r2(network, X, y) -> float | None:
    """Coefficient of determination 1 - SS_res / SS_tot of the single output."""
    if len(X) < 2:
        return None
    pred = network.predict(X)[:, 0]
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return None if ss_tot == 0 else 1.0 - float(((y - pred) ** 2).sum()) / ss_tot


def final_metrics(cfg, result, data) -> dict:
    net, t = result.network, cfg.train
    classify = data.task == "classification"
    finite = bool(np.isfinite(net.theta).all())
    if result.engine == "numba" and result.method is not None:  # its compiled evaluation: no BLAS, the same bits everywhere
        from nnrun.engines.numba_engine import NumbaEngine

        engine = NumbaEngine(net, result.method, data)
        loss_of = engine.evaluate
    else:
        def loss_of(X, Y):
            return evaluate(net, X, Y, t.loss, classify)
    tr, tra = loss_of(data.X_train, data.Y_train) if finite else (math.nan, math.nan)
    te, tea = loss_of(data.X_test, data.Y_test) if finite else (math.nan, math.nan)
    vl, va = loss_of(data.X_val, data.Y_val) if finite else (math.nan, math.nan)
    penalty = net.penalty(t.lambda_)
    metrics = {
        "status": result.status,
        "iterations": result.iterations,
        "planned_iterations": result.planned_iterations,
        "train_loss": tr,
        "test_loss": te if data.has_test else None,
        "train_accuracy": tra if classify else None,
        "test_accuracy": tea if (classify and data.has_test) else None,
        "val_loss": vl if data.has_val else None,
        "val_accuracy": va if (classify and data.has_val) else None,
        "penalty": penalty,
        "objective": tr + penalty,
        "train_seconds": result.train_seconds,
        "seconds_per_iteration": result.train_seconds / max(result.iterations, 1),
        "engine": result.engine,
        "log_every": result.log_every,
        "seed": cfg.seed,
        "nnrun_version": __version__,
    }
    if not classify:
        metrics["train_r2"] = r2(net, data.X_train, data.Y_train[:, 0]) if finite else None
        metrics["test_r2"] = r2(net, data.X_test, data.Y_test[:, 0]) if finite else None
    if result.diverged_at is not None:
        metrics["diverged_at"] = result.diverged_at
    early = result.early_stopping()
    if early is not None:
        metrics["early_stopping"] = early
    if result.signal is not None:
        metrics["signal"] = int(result.signal)
    return metrics


def prepare(cfg: Config, data=None, announce=None, load_kernel: bool | str = True):
    """Everything checkable before a run folder exists: data (unless given), sizes, initial
    network; and the compiled kernel, loaded (or compiled, which ``announce`` is told of).
    ``load_kernel="if-missing"``: only compile it, when numba's cache does not hold it."""
    data = load_data(cfg) if data is None else data
    check_size(cfg, len(data.X_train))
    network = build_network(cfg, streams(cfg.seed)["init"])
    batch_size(cfg, len(data.X_train))
    if load_kernel:
        load_engine(cfg, data, network, announce, only_if_missing=load_kernel == "if-missing")
    return data, network


def progress_bar(total: int, quiet: bool, label: str):
    if quiet:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="it", unit_scale=True, disable=None, file=sys.stderr,
               dynamic_ncols=True, leave=False)

    def update(done, loss):
        bar.update(done - bar.n)
        if loss is not None:
            bar.set_postfix_str(f"loss {loss:.4g}", refresh=False)

    return bar, update


def run_experiment(cfg: Config, runs_dir: str | Path = "runs", name: str | None = None,
                   quiet: bool = False, plots: bool = True, log=None, draw_jobs: int = 1) -> Path:
    """Train ``cfg`` and write its run folder; returns the folder.

    ``log(message)`` receives the end-of-run summary lines (default: stderr).
    ``draw_jobs=2`` draws the pictures in two processes (see :func:`nnrun.plots.draw_run`).
    Raises NnrunError (before creating anything) for bad input.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    data, network = prepare(cfg, announce=log)
    run_dir = make_run_dir(runs_dir, name or cfg.name)
    return record_run(cfg, data, network, run_dir, quiet=quiet, plots=plots, log=log, draw_jobs=draw_jobs)


def record_run(cfg, data, network, run_dir: Path, quiet=False, plots=True, log=None, draw_jobs: int = 1,
               on_history=None) -> Path:
    """Train into an existing empty run folder and write every artifact. ``on_history``
    receives the thinned history (a DataFrame) that the pictures are drawn from."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    atomic_write(run_dir / "config.yaml", dump_yaml(resolved_config(cfg, len(data.X_train))))
    history_file = HistoryWriter(run_dir / "history.csv", HISTORY_COLUMNS)
    bar, update = progress_bar(planned_iterations(cfg, len(data.X_train)), quiet, cfg.name)
    try:
        result = train(cfg, data, network, progress=update, on_rows=history_file)
    except Exception as exc:  # a bug or resource failure mid-run: keep the evidence
        history_file.close()
        if bar:
            bar.close()
        write_json(run_dir / "metrics.json", {
            "status": "failed", "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(), "seed": cfg.seed, "nnrun_version": __version__,
        })
        raise RunFailed(run_dir, exc) from exc
    finally:
        history_file.close()
        if bar:
            bar.close()
    # the history stays on disk; a thinned copy (every bin's best and worst) serves here
    history = pd.DataFrame(history_file.thinned(), columns=HISTORY_COLUMNS)
    if on_history is not None:
        on_history(history)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverged net is non-finite
        return _finish(cfg, data, result, history, run_dir, plots, log, draw_jobs, history_file.best)


def _finish(cfg, data, result, history, run_dir, plots, log, draw_jobs=1, best=None):
    metrics = final_metrics(cfg, result, data)
    if best:
        metrics["best_during_training"] = {c: {"value": v, "iteration": i} for c, (v, i) in best.items()}
    metrics["diagnostics"] = diagnose(cfg, history.to_numpy(dtype=float), result.network, data,
                                      result.status, result.diverged_at)
    if metrics["status"] == "completed" and "blew_up_at" in metrics["diagnostics"]:
        # finite but far worse than where it started: diverged, for the sweep's marks too
        metrics.update(status="diverged", diverged_at=metrics["diagnostics"]["blew_up_at"])
    atomic_npz(run_dir / "model.npz", result.network.to_npz)
    if result.snapshots:
        from nnrun.snapshots import save_snapshots

        save_snapshots(run_dir / "snapshots.npz", *zip(*result.snapshots))
    from nnrun.predict import write_model_json

    write_model_json(run_dir, data, cfg)  # what `nnrun predict` needs besides the weights
    from nnrun.report import command_line

    metrics["command"] = command_line()  # for report.html; None outside the nnrun command
    write_json(run_dir / "metrics.json", metrics)
    if plots:  # True: every picture; or a tuple of picture names
        from nnrun.plots import draw_run
        from nnrun.report import write_run_report

        snapshots = None
        if result.snapshots:
            snapshots = (np.array([i for i, _ in result.snapshots]), np.vstack([t for _, t in result.snapshots]))
        draw_run(run_dir, cfg, history, result.network, data, metrics, only=None if plots is True else plots,
                 snapshots=snapshots, log=log, jobs=draw_jobs)
        write_run_report(run_dir, log=log)
    summarize(metrics, run_dir, log)
    return run_dir


def summarize(metrics: dict, run_dir: Path, log) -> None:
    """The end-of-run lines on stderr: status, metrics, and every diagnostic hint."""
    status = metrics["status"]
    if status == "diverged":
        d = metrics.get("diagnostics", {})
        if "blew_up_at" in d:  # finite: training ran on to the end, which the next line counts
            log(f"!!! DIVERGED: the loss blew up at iteration {metrics.get('diverged_at')} "
                f"({d['best_loss']:.3g} at best, {d['final_loss']:.3g} after the last iteration; it stayed "
                "finite, so training ran on) !!!")
        else:
            log(f"!!! DIVERGED at iteration {metrics.get('diverged_at')}: the loss or its gradient became "
                "non-finite !!!")
    elif status == "interrupted":
        log(f"interrupted after {metrics['iterations']} iterations; everything so far is saved")
    parts = [f"{status}: {metrics['iterations']} iterations in {metrics['train_seconds']:.3g} s"]
    early = metrics.get("early_stopping")
    if early and early["stopped_at"] is not None:
        log(f"early stopping at iteration {early['stopped_at']}: {early['monitor']} best at iteration "
            f"{early['best_iteration']} ({early['best_loss']:.4g})"
            + ("; the model holds the weights of that record" if early["restored_best"] else ""))
    for key in ("train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy", "test_accuracy",
                "train_r2", "test_r2"):
        value = metrics.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            parts.append(f"{key} {value:.4g}")
    log(", ".join(parts))
    for hint in metrics.get("diagnostics", {}).get("hints", []):
        log(f"hint: {hint}")


# ------------------------------------------------------------------ reading back
# load_run lives in rundir (plots reads run folders too, and experiment imports plots)
from nnrun.rundir import load_run  # noqa: E402,F401
