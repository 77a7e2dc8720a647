"""One experiment, recorded: config -> data -> network -> train -> the run folder's files.

:func:`prepare` checks everything that can be wrong with the input before a run folder
exists, so bad input leaves nothing behind. :func:`record_run` trains into the folder and
writes every file but the pictures and the page (those are :mod:`nnrun.app`'s): a run that
diverges, is interrupted or fails still gets its history, model and metrics, with
``status`` saying what happened. :func:`summarize` says it on stderr. This module imports
nothing above the run folder's owner, :mod:`nnrun.store`.
"""

from __future__ import annotations

import math
import shutil
import sys
import traceback
from dataclasses import dataclass
from types import SimpleNamespace
from pathlib import Path

import numpy as np
import pandas as pd

from nnrun import __version__
from nnrun.config import Config, dump_yaml
from nnrun.data import load_data, streams
from nnrun.diagnostics import diagnose
from nnrun.engines import make_engine
from nnrun.errors import NnrunError, RunFailed, disk_fault, is_disk_fault  # noqa: F401  (RunFailed: raised here)
from nnrun.maths.metrics import METRICS, PER_SET, page_order
from nnrun.maths.network import parameter_count
from nnrun.store.files import atomic_npz, atomic_write, write_json
from nnrun.store.history import HistoryWriter
from nnrun.store.model_json import write_model_json
from nnrun.store.names import CONFIG, FIRST_STEP, HISTORY, METRICS_JSON, MODEL, MODEL_JSON, SNAPSHOTS
from nnrun.store.snapshots import save_snapshots
from nnrun.training import (
    HISTORY_COLUMNS, TrainResult, batch_size, build_network, load_engine, planned_iterations,
    resolve_log_every, train,
)

MAX_PARAMETERS = 50_000_000
EXPLAINED_PARAMETERS = 60  # a run page explains its first step up to this size
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


def final_metrics(cfg, result, data) -> dict:
    net = result.network
    classify = data.task == "classification"
    finite = bool(np.isfinite(net.theta).all())
    # the engine's own evaluation, as its records were made (numba's: no BLAS, the same bits everywhere)
    loss_of = make_engine(result.engine, net, result.method, data, dropout=False).evaluate
    tr, tra = loss_of(data.X_train, data.Y_train) if finite else (math.nan, math.nan)
    te, tea = loss_of(data.X_test, data.Y_test) if finite else (math.nan, math.nan)
    vl, va = loss_of(data.X_val, data.Y_val) if finite else (math.nan, math.nan)
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
    }
    run = SimpleNamespace(net=net, data=data, cfg=cfg, so_far=metrics)
    for m in METRICS.values():  # R², the penalty, the objective: the metrics table's own computations
        if m.final is not None and data.task in m.tasks:
            metrics[m.key] = m.final(run) if finite else None
    metrics.update({
        "train_seconds": result.train_seconds,
        "seconds_per_iteration": result.train_seconds / max(result.iterations, 1),
        "engine": result.engine,
        "log_every": result.log_every,
        "seed": cfg.seed,
        "nnrun_version": __version__,
    })
    if result.diverged_at is not None:
        metrics["diverged_at"] = result.diverged_at
    early = result.early_stopping()
    if early is not None:
        metrics["early_stopping"] = early
    if result.signal is not None:
        metrics["signal"] = int(result.signal)
    return metrics


def prepare(cfg: Config, data=None, announce=None, load_kernel: bool | str = True, one_class_ok: bool = False):
    """Everything checkable before a run folder exists: data (unless given), sizes, initial
    network; and the compiled kernel, loaded (or compiled, which ``announce`` is told of).
    ``load_kernel="if-missing"``: only compile it, when numba's cache does not hold it.
    ``one_class_ok``: as :func:`~nnrun.data.load_data`'s (``nnrun explain``: one sample)."""
    data = load_data(cfg, one_class_ok=one_class_ok) if data is None else data
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


@dataclass
class Recorded:
    """A run recorded in its folder: the training's result, the thinned history (every bin's
    best and worst record, what the pictures are drawn from) and the metrics as written."""

    run_dir: Path
    result: TrainResult
    history: pd.DataFrame
    metrics: dict

    @property
    def snapshots(self):
        """(iterations, thetas) of ``train.snapshots``, or None."""
        if not self.result.snapshots:
            return None
        return (np.array([i for i, _ in self.result.snapshots]), np.vstack([t for _, t in self.result.snapshots]))


def record_run(cfg, data, network, run_dir: Path, quiet=False, command: str | None = None,
               watch=None, should_stop=None, history_file: HistoryWriter | None = None,
               explain: bool = True) -> Recorded:
    """Train into an existing empty run folder and write every file but the pictures and the
    page: config.yaml, history.csv (streamed), metrics.json, model.npz, snapshots.npz,
    model.json. ``command``: the command line, for the page. ``watch(done, planned, trace)``,
    if given, is called after every chunk (as the progress bar is): ``trace()`` returns the
    records so far, thinned (:meth:`HistoryWriter.thinned`, columns ``HISTORY_COLUMNS``);
    a live curve draws from it (:mod:`nnrun.live`). ``should_stop``: as :func:`train`'s (a
    search's pruner). ``history_file``: where the records go instead of history.csv (a sweep
    cell's :class:`~nnrun.store.history.HistoryKept`); ``explain=False``: no first_step.json (a
    sweep cell's is made with its page). A crash mid-run still leaves
    metrics.json saying 'failed' (and raises RunFailed). A full disk keeps what fits, marks
    the run 'failed' and raises MachineFault (see :func:`_keep_what_fits`)."""
    try:
        atomic_write(run_dir / CONFIG, dump_yaml(resolved_config(cfg, len(data.X_train))))
        if history_file is None:
            history_file = HistoryWriter(run_dir / HISTORY, HISTORY_COLUMNS)
    except OSError as e:
        if not is_disk_fault(e):
            raise
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing was trained: no folder is left
        raise disk_fault(e, "nothing was trained and no run folder is left; free some space, or give "
                            "--runs-dir a folder on another disk") from None
    result = _train_streaming(cfg, data, network, run_dir, history_file, quiet, watch, should_stop)
    try:
        history_file.close()
    except OSError as e:
        if not is_disk_fault(e):
            raise
        _keep_what_fits(cfg, data, result, run_dir, command, e, history_file)
    # the history stays on disk; a thinned copy (every bin's best and worst) serves here
    history = pd.DataFrame(history_file.thinned(), columns=HISTORY_COLUMNS)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverged net is non-finite
        try:
            metrics = _record_outcome(cfg, data, result, history, run_dir, history_file.best, command, explain)
        except OSError as e:
            if not is_disk_fault(e):
                raise
            _keep_what_fits(cfg, data, result, run_dir, command, e)
    return Recorded(run_dir, result, history, metrics)


def _train_streaming(cfg, data, network, run_dir, history_file, quiet, watch=None, should_stop=None) -> TrainResult:
    """:func:`train`, its records streamed to ``history_file`` (closed by the caller), with a
    progress bar (unless ``quiet``) and ``watch`` (see :func:`record_run`) told of each chunk;
    its ``close()``, if it has one, is called when training ends, before anything is drawn.
    ``should_stop``: as train's (a search's pruner)."""
    planned = planned_iterations(cfg, len(data.X_train))
    bar, update = progress_bar(planned, quiet, cfg.name)
    if watch is not None:
        bar_update = update

        def update(done, loss):
            if bar_update is not None:
                bar_update(done, loss)
            watch(done, planned, history_file.thinned)
    try:
        return train(cfg, data, network, progress=update, on_rows=history_file, should_stop=should_stop)
    except Exception as exc:  # a bug or resource failure mid-run: keep the evidence
        try:
            history_file.close()
        except OSError:
            pass  # the crash is the news
        write_json(run_dir / METRICS_JSON, {
            "status": "failed", "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(), "seed": cfg.seed, "nnrun_version": __version__,
        })
        raise RunFailed(run_dir, exc, run_dir / METRICS_JSON) from exc
    finally:
        if bar:
            bar.close()
        if watch is not None and hasattr(watch, "close"):  # a hook that works in the background stops here
            watch.close()


def _keep_what_fits(cfg, data, result, run_dir, command, error: OSError, history_file=None):
    """The disk refused a file: keep the small files that say what happened, and never a
    folder that looks complete. metrics.json (the final metrics, computed in memory, with
    status 'failed' and what was lost) goes first, then model.npz and model.json; if they
    do not fit either, history.csv and snapshots.npz are deleted to make room. Raises
    :class:`MachineFault`: one line naming the file, what was kept and what to do."""
    lost_file = Path(error.filename).name if error.filename else HISTORY
    if lost_file.startswith("."):  # a hidden temporary name: the file it was to become
        lost_file = next((n for n in (HISTORY, METRICS_JSON, MODEL, SNAPSHOTS, MODEL_JSON) if n in lost_file),
                         lost_file)
    for partial in run_dir.glob(".*"):
        partial.unlink(missing_ok=True)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        metrics = final_metrics(cfg, result, data)
    metrics.update(status="failed", trained=metrics["status"], command=command,
                   error=f"{lost_file}: {error.strerror or error}")
    writes = {METRICS_JSON: lambda: write_json(run_dir / METRICS_JSON, metrics),
              MODEL: lambda: atomic_npz(run_dir / MODEL, result.network.to_npz),
              MODEL_JSON: lambda: write_model_json(run_dir, data, cfg)}
    kept = _write_what_fits(writes)
    if METRICS_JSON not in kept or MODEL not in kept:  # make room: the large files go
        freed = [n for n in (HISTORY, SNAPSHOTS) if (run_dir / n).exists()]
        for name in freed:
            (run_dir / name).unlink()
        metrics["lost"] = freed
        kept = _write_what_fits(writes)
    if METRICS_JSON not in kept:  # not even metrics.json: leave no folder that looks like a run
        (run_dir / CONFIG).unlink(missing_ok=True)
    what = f"after {history_file.rows_written:,} of {_planned_records(result):,} records " if history_file else ""
    advice = "; free some space and train again"
    if history_file is not None:
        size = history_file.bytes_per_row() * _planned_records(result)
        advice += (f" (this run records about {size / 1e6:.3g} MB of history; a larger train.log_every "
                   f"records less)")
    kept_text = (f"kept {', '.join(kept[:-1])}{' and ' if len(kept) > 1 else ''}{kept[-1]}, and marked the run failed"
                 if kept else "nothing could be kept")
    raise disk_fault(error, f"{kept_text}{advice}", f"{run_dir / lost_file} {what}".strip()) from None


def _write_what_fits(writes: dict) -> list[str]:
    """Call each writer in order; the names of those that worked (a full disk skips the rest)."""
    kept = []
    for name, write in writes.items():
        try:
            write()
        except OSError as e:
            if not is_disk_fault(e):
                raise
            continue
        kept.append(name)
    return kept


def _planned_records(result) -> int:
    return result.planned_iterations // max(result.log_every, 1) + 1


def write_first_step(cfg, data, run_dir: Path) -> None:
    """first_step.json, the page's "first step, explained", for networks of up to
    :data:`EXPLAINED_PARAMETERS` parameters (the same for a run and ``nnrun explain``)."""
    if parameter_count(cfg.model.architecture) <= EXPLAINED_PARAMETERS:
        from nnrun.explain import explain_steps, to_json

        atomic_write(Path(run_dir) / FIRST_STEP, to_json(explain_steps(cfg, data, 1)))


def write_missing_first_step(run_dir: Path) -> None:
    """A sweep cell's first_step.json, made on demand with its page (``nnrun plot CELL``):
    the cell's config and data, loaded again."""
    from nnrun.store.runs import load_model

    if (Path(run_dir) / FIRST_STEP).exists():
        return
    cfg, _ = load_model(run_dir)
    if parameter_count(cfg.model.architecture) <= EXPLAINED_PARAMETERS:
        write_first_step(cfg, load_data(cfg), run_dir)


def _record_outcome(cfg, data, result, history, run_dir, best, command, explain: bool = True) -> dict:
    """metrics.json (final metrics, best records, diagnostics), model.npz, snapshots.npz and
    model.json; returns the metrics."""
    metrics = final_metrics(cfg, result, data)
    if best:
        metrics["best_during_training"] = {c: {"value": v, "iteration": i} for c, (v, i) in best.items()}
    metrics["diagnostics"] = diagnose(cfg, history.to_numpy(dtype=float), result.network, data,
                                      result.status, result.diverged_at)
    if metrics["status"] == "completed" and "blew_up_at" in metrics["diagnostics"]:
        # finite but far worse than where it started: diverged, for the sweep's marks too
        metrics.update(status="diverged", diverged_at=metrics["diagnostics"]["blew_up_at"])
    atomic_npz(run_dir / MODEL, result.network.to_npz)
    if result.snapshots:
        save_snapshots(run_dir / SNAPSHOTS, *zip(*result.snapshots))
    write_model_json(run_dir, data, cfg)  # what `nnrun predict` needs besides the weights
    if explain:
        write_first_step(cfg, data, run_dir)
    metrics["command"] = command  # for report.html; None outside the nnrun command
    write_json(run_dir / METRICS_JSON, metrics)
    return metrics


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
    for key in page_order(PER_SET):
        value = metrics.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            parts.append(f"{key} {value:.4g}")
    log(", ".join(parts))
    for hint in metrics.get("diagnostics", {}).get("hints", []):
        log(f"hint: {hint}")
