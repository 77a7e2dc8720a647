"""E5 side by side: nnrun's whole digits sweep against scikit-learn's MLPClassifier.

The experiment (``configs/digits_sweep.yaml``): the 8x8 digits, 64-50-10 with a sigmoid
hidden layer and a softmax output, cross-entropy, minibatch SGD with batch 100 (each
epoch a shuffled pass, the last batch of an epoch holding the remainder), 100 epochs,
an L2 penalty lambda on the weights, inputs minmax-scaled on the training part, an
80/20 split; the grid eta in logspace(-5, 1, 7) x lambda in logspace(-5, 1, 7), 49 cells.

1. **nnrun**: ``nnrun sweep configs/digits_sweep.yaml --runs-dir <tmp> --quiet`` as a
   subprocess, as a user runs it (default ``--jobs``: all cores), timing the wall-clock
   of the whole command (start-up, workers, every cell's run folder and plots, the
   heatmaps). Before it, an untimed one-epoch ``nnrun train`` fills a fresh numba cache
   (``NUMBA_CACHE_DIR`` in the temporary directory), so the sweep is timed as a user's
   second run is, and the repository's own cache is neither used nor touched.
2. **scikit-learn**: the same grid with ``MLPClassifier`` on the *same* split and scaling,
   taken from nnrun's public API (``nnrun.load_config`` + ``nnrun.load_data``), fitted in
   a ``ProcessPoolExecutor`` with as many worker processes (spawned, one BLAS/OpenMP
   thread each, as nnrun's workers), timing the wall-clock of the whole grid including
   the pool's start-up. Plain SGD (no momentum), constant learning rate eta, batch 100,
   shuffled epochs, exactly 100 epochs (``tol=0`` and ``n_iter_no_change=max_iter + 1``
   so it never stops early), no early stopping, ``random_state=0``.

The penalty. scikit-learn (``_backprop`` / ``_compute_loss_grad`` in
``sklearn/neural_network/_multilayer_perceptron.py``) computes on a batch of m samples

    grad W = (X_b^T delta + alpha * W) / m          loss = mean CE + (alpha / 2) ||W||^2 / m

so its penalty gradient per step is (alpha / m) W; nnrun's is lambda W (objective
mean loss + (lambda/2) sum ||W||^2). Hence **alpha = lambda * batch_size = 100 lambda**,
exact for the full batches of 100. The remainder batch of each epoch (1438 training
samples = 14 x 100 + 38) gets (100/38) lambda W in scikit-learn, 2.6 times nnrun's, i.e.
about 11% more weight decay per epoch in total; no single alpha can match both.

Not the same: the initialisation. nnrun draws weights from N(0, 1) and sets biases to
0.01; scikit-learn draws weights *and* biases from Glorot's uniform
U(-b, b), b = sqrt(2 / (fan_in + fan_out)) for the logistic activation (0.13 and 0.18
here). The sample order differs too (each tool shuffles with its own generator), and
nnrun records the loss and accuracy over the whole training and test sets once per
epoch, which scikit-learn does not. A cell whose weights become non-finite (NaN or
overflow) is *diverged* in both tools; the best cell is the best *completed* one, as
nnrun's own sweep report picks it (the first in grid order on ties).

Prints the timing table, the ratio nnrun_time / sklearn_time, the two targets
(nnrun's sweep at most a quarter of scikit-learn's time; nnrun's best test accuracy at
least scikit-learn's) as MET / NOT MET, and the two test-accuracy tables (eta rows,
lambda columns). Each phase also reports the CPU seconds *other* processes used
meanwhile (from /proc/stat; a warning when the machine was busy), since another job on
the machine inflates the wall times. Nothing is written into the repository.

``--four-way`` (issue 26) compares four ways of choosing E5's cell on
``configs/digits_search.yaml`` (the same grid with a 60/20/20 train/validation/test split),
each choosing on the validation set: (1) nnrun's full grid, ``nnrun sweep
configs/digits_search.yaml``; (2) nnrun's halving search, ``nnrun sweep
configs/digits_halving.yaml`` (Optuna's successive halving on the validation loss, rungs at
3, 9, 27, 81 epochs); (3) the scikit-learn grid above, choosing on validation accuracy; (4)
scikit-learn's ``HalvingGridSearchCV`` with epochs as the resource (``resource="max_iter"``,
``max_resources=100``, ``factor=3``, ``min_resources="exhaust"``: the same rungs), one
PredefinedSplit whose test fold is the validation rows, ``scoring="accuracy"``. It prints a
Markdown table (wall time, what was trained, the chosen cell, the rule that chose it, its
validation and test accuracy, others' CPU) and issue 26's acceptance-1 targets: nnrun
halving's choice within 0.005 test accuracy of the full grid's (|difference|); nnrun
halving at most a quarter of scikit-learn's full-grid time; nnrun halving faster than
HalvingGridSearchCV. The default (no flag) is the original two-way comparison above.

    python benchmarks/bench_digits_sklearn.py            # the 49 cells, 1-2 minutes on 2 cores
    python benchmarks/bench_digits_sklearn.py --quick    # a 3x3 sub-grid, a smoke run
    python benchmarks/bench_digits_sklearn.py --four-way # issue 26's four-way table, about a minute
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

import nnrun
from nnrun.sweeps.grid import expand_values

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "digits_sweep.yaml"
SEARCH_CONFIG = REPO / "configs" / "digits_search.yaml"  # --four-way: the same grid, 60/20/20 split
HALVING_CONFIG = REPO / "configs" / "digits_halving.yaml"  # --four-way: the same, sweep.prune: halving
AXES = ("train.eta", "train.lambda")
# --quick: a 3x3 sub-grid of the 7x7 one (around the good region), as nnrun overrides.
QUICK_GRID = {"train.eta": "logspace(-2, 0, 3)", "train.lambda": "logspace(-5, -1, 3)"}

TARGET_TIME_RATIO = 0.25  # nnrun's sweep time / scikit-learn's grid time, at most
TARGET_TEST_GAP = 0.005  # --four-way: nnrun halving's choice within this test accuracy of the full grid's
BUSY_CPU_FRACTION = 0.05  # others' CPU above this share of a phase's core-seconds: a warning
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ------------------------------------------------------------------------ helpers
def load_avg() -> str:
    """The 1, 5 and 15 minute load averages, as text."""
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


class OtherCpu:
    """CPU seconds that *other* processes used while a phase ran (Linux; else NaN).

    The machine-wide busy time from /proc/stat (user, nice, system, irq, softirq; not
    steal) minus this process, its waited-for children (the pool's workers once the pool
    is shut down) and the process group it watches: ``nnrun sweep`` runs in a session of
    its own, and its workers are forked by a fork server (not by the command itself, so
    they are not its waited-for children); their CPU is sampled from /proc while they
    run. Above a few seconds, someone else was competing for the cores and the phase's
    wall time is inflated.
    """

    def __init__(self):
        self.group = None  # a process group id to count as ours
        self._tree: dict[int, float] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def watch(self, pgid: int) -> None:
        self.group = pgid

    def __enter__(self):
        self.start = self._snapshot()
        self._sampler.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._sampler.join()
        end = self._snapshot()
        self.seconds = (end[0] - self.start[0]) - (end[1] - self.start[1]) - sum(self._tree.values())
        return False

    def _sample(self) -> None:
        """Every 0.1 s: the CPU time of each live process of the watched group (last seen)."""
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.wait(0.1):
            if self.group is None:
                continue
            for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # after the name: state ppid pgrp ... utime(12) stime(13) (0-based from state)
                # the group's leader is counted as a waited-for child already
                if int(fields[2]) == self.group and int(entry) not in (self.group, os.getpid()):
                    self._tree[int(entry)] = (int(fields[11]) + int(fields[12])) / tick

    @staticmethod
    def _snapshot() -> tuple[float, float]:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
            busy = (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return math.nan, 0.0
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            r = resource.getrusage(who)
            ours += r.ru_utime + r.ru_stime
        return busy, ours


def grid_specs(cfg, quick: bool) -> dict[str, str]:
    """The grid axes as nnrun specs ('logspace(a, b, n)' or lists), from the config or --quick."""
    if quick:
        return dict(QUICK_GRID)
    grid = cfg.sweep.grid if cfg.sweep else {}
    missing = [k for k in AXES if k not in grid]
    if missing or len(grid) != 2:
        raise SystemExit(f"{CONFIG}: expected a sweep grid over exactly {', '.join(AXES)}")
    return {k: grid[k] for k in AXES}


def check_experiment(cfg) -> None:
    """Refuse a config this benchmark's scikit-learn twin does not reproduce."""
    m, t = cfg.model, cfg.train
    expected = {
        "model.activation": (m.activation, "sigmoid"),
        "model.output": (m.output, "softmax"),
        "train.loss": (t.loss, "cross_entropy"),
        "train.sampling": (t.sampling, "epoch"),
    }
    wrong = [f"{k}={got} (expected {want})" for k, (got, want) in expected.items() if got != want]
    if wrong or t.epochs is None or not isinstance(t.batch_size, int):
        raise SystemExit(f"{CONFIG}: the scikit-learn twin needs " + "; ".join(
            wrong or ["train.epochs and an integer train.batch_size"]))


def fmt_value(v: float) -> str:
    return f"{v:g}"


# -------------------------------------------------------------------------- nnrun
def nnrun_command() -> list[str]:
    """The installed ``nnrun`` script next to this Python, else ``python -m nnrun``."""
    script = Path(sys.executable).parent / "nnrun"
    if script.exists():
        return [str(script)]
    found = shutil.which("nnrun")
    return [found] if found else [sys.executable, "-m", "nnrun"]


def run_nnrun(overrides: list[str], jobs: int | None, tmp: Path, config: Path = CONFIG) -> dict:
    """Time ``nnrun sweep`` as a subprocess; returns its wall time and results.csv.

    An untimed one-epoch ``nnrun train`` first fills the numba cache in ``tmp`` (used by
    the sweep too through NUMBA_CACHE_DIR), so no compilation is timed.
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba-cache"))
    cmd = nnrun_command()
    warm = [*cmd, "train", str(config), "train.epochs=1", "--runs-dir", str(tmp / "warm-up"), "--quiet"]
    start = time.perf_counter()
    subprocess.run(warm, cwd=REPO, env=env, check=True, capture_output=True, text=True)
    warm_seconds = time.perf_counter() - start

    sweep = [*cmd, "sweep", str(config), *overrides, "--runs-dir", str(tmp / "runs"), "--quiet"]
    if jobs:
        sweep += ["--jobs", str(jobs)]
    load_before = load_avg()
    with OtherCpu() as others:
        start = time.perf_counter()
        # a session of its own: the sweep's fork server and workers share its process group;
        # output to files, not pipes: the command has ended when its process has, as a shell's
        # prompt comes back (pipes also waited for the idle fork server to end, ~0.3 s)
        with open(tmp / "sweep.out", "w+") as out, open(tmp / "sweep.err", "w+") as err:
            proc = subprocess.Popen(sweep, cwd=REPO, env=env, stdout=out, stderr=err, start_new_session=True)
            others.watch(proc.pid)
            proc.wait()
            seconds = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"nnrun sweep failed (exit {proc.returncode}):\n{stderr}")
    folder = Path(stdout.strip().splitlines()[-1])
    results = pd.read_csv(folder / "results.csv")
    return {"seconds": seconds, "warm_seconds": warm_seconds, "results": results, "command": sweep,
            "log": stderr.strip(), "load_before": load_before,
            "other_cpu": others.seconds}


def nnrun_tables(results: pd.DataFrame, etas, lams) -> tuple[np.ndarray, np.ndarray]:
    """(test accuracy, status) as eta x lambda arrays from nnrun's results.csv."""
    acc = np.full((len(etas), len(lams)), np.nan)
    status = np.full((len(etas), len(lams)), "missing", dtype=object)
    for _, row in results.iterrows():
        i = _index(etas, row["train.eta"])
        j = _index(lams, row["train.lambda"])
        status[i, j] = row["status"]
        acc[i, j] = pd.to_numeric(row["test_accuracy"], errors="coerce")
    return acc, status


def _index(values, v) -> int:
    hits = np.flatnonzero(np.isclose(values, float(v), rtol=1e-9, atol=0))
    if len(hits) != 1:
        raise SystemExit(f"results.csv: grid value {v} is not one of {values}")
    return int(hits[0])


# ------------------------------------------------------------------ scikit-learn
_DATA: dict = {}


def _init_worker(X_train, y_train, X_test, y_test, X_val=None, y_val=None) -> None:
    """Worker start-up: keep the data (sent once per worker, not once per cell)."""
    _DATA.update(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test, X_val=X_val, y_val=y_val)


def fit_cell(i: int, j: int, eta: float, lam: float, hidden: tuple, batch: int, epochs: int) -> dict:
    """Fit one MLPClassifier cell; alpha = lam * batch (see the module docstring).

    Returns the cell's indices, status ('completed', 'diverged' or 'failed'), the train,
    test and (with a validation set) validation accuracy and the fit's own seconds.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=hidden, activation="logistic", solver="sgd", alpha=lam * batch,
        batch_size=batch, learning_rate="constant", learning_rate_init=eta, momentum=0.0,
        nesterovs_momentum=False, max_iter=epochs, shuffle=True, tol=0.0,
        n_iter_no_change=epochs + 1, early_stopping=False, random_state=0,
    )
    out = {"i": i, "j": j, "status": "completed", "train_accuracy": np.nan, "test_accuracy": np.nan,
           "val_accuracy": np.nan, "error": ""}
    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow on the way to divergence
        try:
            clf.fit(_DATA["X_train"], _DATA["y_train"])
        except ValueError as e:  # "Solver produced non-finite parameter weights"
            out.update(status="diverged" if "non-finite" in str(e) else "failed", error=str(e))
        except (FloatingPointError, OverflowError) as e:
            out.update(status="diverged", error=f"{type(e).__name__}: {e}")
        out["fit_seconds"] = time.perf_counter() - start
        if out["status"] == "completed":
            finite = all(np.isfinite(w).all() for w in clf.coefs_ + clf.intercepts_)
            if not finite or not math.isfinite(clf.loss_):
                out.update(status="diverged", error="non-finite weights or loss")
            else:
                out["n_iter"] = clf.n_iter_
                out["train_accuracy"] = float(clf.score(_DATA["X_train"], _DATA["y_train"]))
                out["test_accuracy"] = float(clf.score(_DATA["X_test"], _DATA["y_test"]))
                if _DATA.get("X_val") is not None and len(_DATA["X_val"]):
                    out["val_accuracy"] = float(clf.score(_DATA["X_val"], _DATA["y_val"]))
    return out


def run_sklearn(data, cfg, etas, lams, workers: int) -> dict:
    """Fit the grid in ``workers`` spawned processes; time the whole grid (pool included)."""
    for var in THREAD_VARS:  # inherited by the spawned workers, as nnrun's LocalPool does
        os.environ.setdefault(var, "1")
    hidden = tuple(cfg.model.architecture[1:-1])
    batch, epochs = int(cfg.train.batch_size), int(cfg.train.epochs)
    acc = np.full((len(etas), len(lams)), np.nan)
    val = np.full((len(etas), len(lams)), np.nan)
    status = np.full((len(etas), len(lams)), "missing", dtype=object)
    fits, iters, errors = [], [], []
    load_before = load_avg()
    with OtherCpu() as others:
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=_init_worker,
                                 initargs=(data.X_train, data.labels_train, data.X_test, data.labels_test,
                                           data.X_val, data.labels_val)) as pool:
            futures = [pool.submit(fit_cell, i, j, eta, lam, hidden, batch, epochs)
                       for i, eta in enumerate(etas) for j, lam in enumerate(lams)]
            for future in as_completed(futures):
                r = future.result()
                status[r["i"], r["j"]] = r["status"]
                acc[r["i"], r["j"]] = r["test_accuracy"]
                val[r["i"], r["j"]] = r["val_accuracy"]
                fits.append(r["fit_seconds"])
                if "n_iter" in r:
                    iters.append(r["n_iter"])
                if r["status"] == "failed":
                    errors.append(r["error"])
        seconds = time.perf_counter() - start  # the pool is shut down: its workers are reaped
    return {"seconds": seconds, "acc": acc, "val": val, "status": status, "fit_seconds": float(np.sum(fits)),
            "n_iter": sorted(set(iters)), "errors": errors, "load_before": load_before,
            "other_cpu": others.seconds}


def make_mlp(eta: float, lam: float, hidden: tuple, batch: int, epochs: int):
    """The scikit-learn twin of one nnrun cell (as :func:`fit_cell` builds it)."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=hidden, activation="logistic", solver="sgd", alpha=lam * batch,
        batch_size=batch, learning_rate="constant", learning_rate_init=eta, momentum=0.0,
        nesterovs_momentum=False, max_iter=epochs, shuffle=True, tol=0.0,
        n_iter_no_change=epochs + 1, early_stopping=False, random_state=0,
    )


def run_sklearn_halving(data, cfg, etas, lams, workers: int) -> dict:
    """scikit-learn's HalvingGridSearchCV over the same grid, epochs as the resource.

    ``resource="max_iter"``, ``max_resources`` = the config's epochs, ``factor=3``,
    ``min_resources="exhaust"`` (the default: for 49 candidates 100 // 3**3 = 3, so the
    rungs are 3, 9, 27 and 81 epochs with 49, 17, 6 and 2 candidates, as nnrun's halving
    rungs), one validation split (a PredefinedSplit of train + validation whose single test
    fold is the validation rows), ``scoring="accuracy"``, ``refit=False`` (a refit would
    train on train + validation); ``n_jobs`` = the workers (joblib's loky pool, started
    inside the timed call). Each rung fits its candidates from scratch (no warm start).
    Diverged fits raise inside scikit-learn and score NaN (``error_score``), ranked last.

    The chosen cell's test accuracy comes from an untimed refit of its parameters (its
    resource included) on the training rows: the same rows in the same order and the same
    ``random_state`` as the search's fit, so the same model (its validation accuracy is
    checked against ``best_score_``).
    """
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    # the workers' ConvergenceWarning (every fit stops at max_iter by design) and FitFailedWarning
    os.environ["PYTHONWARNINGS"] = "ignore"
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, PredefinedSplit

    hidden = tuple(cfg.model.architecture[1:-1])
    batch, epochs = int(cfg.train.batch_size), int(cfg.train.epochs)
    X = np.vstack([data.X_train, data.X_val])
    y = np.concatenate([data.labels_train, data.labels_val])
    test_fold = np.concatenate([np.full(len(data.X_train), -1), np.zeros(len(data.X_val), dtype=int)])
    grid = {"learning_rate_init": [float(e) for e in etas], "alpha": [float(l) * batch for l in lams]}
    search = HalvingGridSearchCV(
        make_mlp(0.1, 0.0, hidden, batch, epochs), grid, factor=3, resource="max_iter",
        max_resources=epochs, min_resources="exhaust", aggressive_elimination=False,
        cv=PredefinedSplit(test_fold), scoring="accuracy", refit=False, error_score=np.nan,
        n_jobs=workers, random_state=0,
    )
    load_before = load_avg()
    with OtherCpu() as others, warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        others.watch(os.getpgid(0))  # loky's workers are in our process group
        start = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - start
    best = search.best_params_
    eta, lam = best["learning_rate_init"], best["alpha"] / batch
    clf = make_mlp(eta, lam, hidden, batch, int(best["max_iter"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.X_train, data.labels_train)
    val = float(clf.score(data.X_val, data.labels_val))
    res = search.cv_results_
    diverged = int(np.isnan(np.asarray(res["mean_test_score"], dtype=float)).sum())
    return {"seconds": seconds, "eta": eta, "lam": lam, "epochs": int(best["max_iter"]),
            "val": float(search.best_score_), "val_refit": val,
            "test": float(clf.score(data.X_test, data.labels_test)),
            "fits": int(sum(search.n_candidates_) * search.n_splits_),
            "epochs_trained": int(sum(c * r for c, r in zip(search.n_candidates_, search.n_resources_))),
            "n_candidates": list(search.n_candidates_), "n_resources": list(search.n_resources_),
            "failed_fits": diverged, "load_before": load_before, "other_cpu": others.seconds}


# ----------------------------------------------------------------------- report
def best_cell(acc: np.ndarray, status: np.ndarray):
    """(accuracy, i, j) of the best completed cell, first in grid order on ties; or None."""
    best = None
    for i in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            if status[i, j] == "completed" and np.isfinite(acc[i, j]) and (best is None or acc[i, j] > best[0]):
                best = (float(acc[i, j]), i, j)
    return best


def accuracy_table(title: str, acc, status, etas, lams) -> str:
    """An eta x lambda table of test accuracies; 'div' marks a diverged cell."""
    width = 8
    corner = "eta \\ lambda"
    lines = [title, f"{corner:>12} " + " ".join(f"{fmt_value(v):>{width}}" for v in lams)]
    for i, eta in enumerate(etas):
        cells = []
        for j in range(len(lams)):
            s = status[i, j]
            if s == "completed":
                cells.append(f"{acc[i, j]:>{width}.4f}")
            else:
                cells.append(f"{'div' if s == 'diverged' else s[:width]:>{width}}")
        lines.append(f"{fmt_value(eta):>12} " + " ".join(cells))
    return "\n".join(lines)


def counts(status) -> str:
    """'46 completed, 3 diverged': how many cells ended in each status, most first."""
    names, numbers = np.unique(status.astype(str), return_counts=True)
    return ", ".join(f"{n} {name}" for name, n in sorted(zip(names, numbers), key=lambda t: -t[1]))


# --------------------------------------------------------------------- four-way
def nnrun_choice(results: pd.DataFrame, axes) -> dict:
    """The cell nnrun's own rule chooses (``nnrun.store.results.best_row``: validation
    accuracy, ties to the lower validation loss, among the completed cells)."""
    from nnrun.store.results import best_row

    row, metric = best_row(results, {k: None for k in axes})
    status = results["status"].astype(str).value_counts()
    out = {"statuses": ", ".join(f"{n} {name}" for name, n in status.items()), "cells": len(results),
           "completed": int(status.get("completed", 0))}
    if row is None:
        return {**out, "eta": math.nan, "lam": math.nan, "val": math.nan, "test": math.nan, "by": "-"}
    return {**out, "eta": float(row["train.eta"]), "lam": float(row["train.lambda"]),
            "val": float(row["val_accuracy"]), "test": float(row["test_accuracy"]), "by": metric}


def four_way(args, workers: int) -> int:
    """nnrun full grid, nnrun halving, scikit-learn full grid, scikit-learn HalvingGridSearchCV."""
    cfg = nnrun.load_config(str(SEARCH_CONFIG))
    check_experiment(cfg)
    specs = grid_specs(cfg, args.quick)
    etas = np.array(expand_values("train.eta", specs["train.eta"]), dtype=float)
    lams = np.array(expand_values("train.lambda", specs["train.lambda"]), dtype=float)
    data = nnrun.load_data(cfg)
    if not data.has_val:
        raise SystemExit(f"{SEARCH_CONFIG}: expected a validation set (data.validation_fraction)")
    batch = int(cfg.train.batch_size)
    n_cells = len(etas) * len(lams)
    epochs = int(cfg.train.epochs)
    import sklearn

    print(f"E5 four ways: nnrun {nnrun.__version__}, scikit-learn {sklearn.__version__} "
          f"(Python {platform.python_version()}, {os.cpu_count()} cores, {workers} worker processes each)")
    print(f"grid: {len(etas)} x {len(lams)} = {n_cells} cells; eta {specs['train.eta']}, "
          f"lambda {specs['train.lambda']}{'  (--quick sub-grid)' if args.quick else ''}")
    print(f"data: {len(data.X_train)} train / {len(data.X_val)} validation / {len(data.X_test)} test "
          f"from nnrun.load_data({SEARCH_CONFIG.name}) (minmax on the training part); "
          f"{'-'.join(map(str, cfg.model.architecture))}, batch {batch}, {epochs} epochs; "
          f"scikit-learn alpha = {batch} * lambda (see the module docstring)")
    print(f"load average before: {load_avg()}")
    print(flush=True)

    overrides = [f"{k}={v}" for k, v in specs.items()] if args.quick else []
    with tempfile.TemporaryDirectory(prefix="bench-digits-") as tmp:
        print("1/4 nnrun sweep digits_search.yaml ...", file=sys.stderr, flush=True)
        nn_grid = run_nnrun(overrides, args.jobs,
                            Path(tmp) / "grid", SEARCH_CONFIG)
        print("2/4 nnrun sweep digits_halving.yaml ...", file=sys.stderr, flush=True)
        nn_half = run_nnrun(overrides, args.jobs, Path(tmp) / "halving", HALVING_CONFIG)
    print("3/4 scikit-learn grid ...", file=sys.stderr, flush=True)
    sk_grid = run_sklearn(data, cfg, etas, lams, workers)
    print("4/4 scikit-learn HalvingGridSearchCV ...", file=sys.stderr, flush=True)
    sk_half = run_sklearn_halving(data, cfg, etas, lams, workers)

    g, h = nnrun_choice(nn_grid["results"], AXES), nnrun_choice(nn_half["results"], AXES)
    # scikit-learn's full grid: highest validation accuracy, first in grid order on ties (GridSearchCV's rank)
    sk_best = best_cell(sk_grid["val"], sk_grid["status"])
    sg = ({"eta": etas[sk_best[1]], "lam": lams[sk_best[2]], "val": sk_best[0],
           "test": float(sk_grid["acc"][sk_best[1], sk_best[2]])} if sk_best else
          {"eta": math.nan, "lam": math.nan, "val": math.nan, "test": math.nan})
    steps = math.ceil(len(data.X_train) / batch)  # nnrun's iterations per epoch
    half_epochs = pd.to_numeric(nn_half["results"]["iterations"], errors="coerce").sum() / steps

    rows = [
        ("nnrun full grid (digits_search.yaml)", nn_grid["seconds"], f"{g['cells']} cells", n_cells * epochs,
         g["eta"], g["lam"], "validation accuracy (ties: lower val loss)", g["val"], g["test"],
         nn_grid["other_cpu"]),
        ("nnrun halving (digits_halving.yaml)", nn_half["seconds"], f"{h['cells']} cells, {h['completed']} to the end",
         int(round(half_epochs)), h["eta"], h["lam"],
         "validation accuracy of the unpruned (pruned on val loss)", h["val"], h["test"], nn_half["other_cpu"]),
        ("scikit-learn grid (MLPClassifier x 49)" if not args.quick else "scikit-learn grid (MLPClassifier)",
         sk_grid["seconds"], f"{n_cells} fits", n_cells * epochs, sg["eta"], sg["lam"],
         "validation accuracy (first on ties)", sg["val"], sg["test"], sk_grid["other_cpu"]),
        ("scikit-learn HalvingGridSearchCV", sk_half["seconds"], f"{sk_half['fits']} fits",
         sk_half["epochs_trained"], sk_half["eta"], sk_half["lam"],
         f"validation accuracy at {sk_half['epochs']} epochs", sk_half["val"], sk_half["test"],
         sk_half["other_cpu"]),
    ]
    print("| method | wall s | trained | epochs trained | chosen eta | chosen lambda | chosen by "
          "| val acc | test acc | others cpu s |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for name, sec, trained, ep, eta, lam, by, val, test, other in rows:
        print(f"| {name} | {sec:.2f} | {trained} | {ep} | {fmt_value(eta)} | {fmt_value(lam)} | {by} "
              f"| {val:.4f} | {test:.4f} | {other:.1f} |")
    print()
    print(f"wall s: the whole `nnrun sweep <config> --runs-dir <tmp> --quiet` command (after an untimed "
          f"one-epoch warm-up filling a fresh numba cache); scikit-learn's grid: the {workers}-process pool "
          f"with its start-up; HalvingGridSearchCV: its fit() with n_jobs={workers} (loky's start-up included). "
          f"Phases ran one after another on the same machine; others cpu s: CPU seconds other processes used "
          f"during the phase (the wall time is inflated by up to others / {os.cpu_count()} s).")
    print(f"nnrun grid statuses: {g['statuses']}; nnrun halving statuses: {h['statuses']}; "
          f"scikit-learn grid: {counts(sk_grid['status'])}")
    print(f"HalvingGridSearchCV: candidates per rung {sk_half['n_candidates']} at {sk_half['n_resources']} "
          f"epochs (factor 3, min_resources='exhaust', max_resources={epochs}, PredefinedSplit, 1 split), "
          f"{sk_half['fits']} fits, {sk_half['failed_fits']} scored NaN (diverged); "
          f"best_score_ {sk_half['val']:.4f}, the untimed refit on the training rows scores "
          f"{sk_half['val_refit']:.4f} on validation (the same model when equal)")
    print(f"nnrun full grid's command: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(nn_grid['command']))}")
    print(f"nnrun halving's command: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(nn_half['command']))}")
    print(f"nnrun halving's own report: {nn_half['log'].splitlines()[-1] if nn_half['log'] else '(none)'}")
    print(f"nnrun grid's own report: {nn_grid['log'].splitlines()[-1] if nn_grid['log'] else '(none)'}")
    busy = [f"{n} {r['other_cpu']:.1f} s" for n, r in (("nnrun grid", nn_grid), ("nnrun halving", nn_half),
                                                         ("scikit-learn grid", sk_grid),
                                                         ("HalvingGridSearchCV", sk_half))
            if r["other_cpu"] > BUSY_CPU_FRACTION * r["seconds"] * (os.cpu_count() or 1)]
    if busy:
        print(f"WARNING: the machine was busy: other processes used {', '.join(busy)} of CPU; "
              f"those wall times are inflated.")
    print()
    gap = h["test"] - g["test"]
    t1 = math.isfinite(gap) and abs(gap) <= TARGET_TEST_GAP
    print(f"target: nnrun halving's chosen cell within {TARGET_TEST_GAP} test accuracy of nnrun full grid's "
          f"choice: {'MET' if t1 else 'NOT MET'} ({h['test']:.4f} vs {g['test']:.4f}, difference {gap:+.4f})")
    ratio = nn_half["seconds"] / sk_grid["seconds"]
    t2 = ratio <= TARGET_TIME_RATIO
    print(f"target: nnrun halving at most a quarter of scikit-learn's full-grid time: "
          f"{'MET' if t2 else 'NOT MET'} ({nn_half['seconds']:.2f} / {sk_grid['seconds']:.2f} = {ratio:.3f})")
    t3 = nn_half["seconds"] < sk_half["seconds"]
    print(f"target: nnrun halving faster than HalvingGridSearchCV: {'MET' if t3 else 'NOT MET'} "
          f"({nn_half['seconds']:.2f} s vs {sk_half['seconds']:.2f} s)")
    print()
    print(f"load average after: {load_avg()}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 3x3 sub-grid instead of 7x7 (a smoke run)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes for both tools (default: all cores, nnrun's default)")
    parser.add_argument("--four-way", action="store_true",
                        help="issue 26's four-way table on digits_search.yaml (60/20/20): nnrun full grid, "
                             "nnrun halving (digits_halving.yaml), scikit-learn grid, HalvingGridSearchCV")
    args = parser.parse_args(argv)
    workers = args.jobs or os.cpu_count() or 1
    if args.four_way:
        return four_way(args, workers)

    cfg = nnrun.load_config(str(CONFIG))
    check_experiment(cfg)
    specs = grid_specs(cfg, args.quick)
    etas = np.array(expand_values("train.eta", specs["train.eta"]), dtype=float)
    lams = np.array(expand_values("train.lambda", specs["train.lambda"]), dtype=float)
    data = nnrun.load_data(cfg)  # the split and minmax scaling every nnrun cell uses
    batch = int(cfg.train.batch_size)
    n_train = len(data.X_train)
    remainder = n_train % batch
    n_cells = len(etas) * len(lams)

    import sklearn

    print(f"E5 digits grid, nnrun {nnrun.__version__} vs scikit-learn {sklearn.__version__} "
          f"(Python {platform.python_version()}, {os.cpu_count()} cores, {workers} worker processes each)")
    print(f"grid: {len(etas)} x {len(lams)} = {n_cells} cells; eta {specs['train.eta']}, "
          f"lambda {specs['train.lambda']}{'  (--quick sub-grid)' if args.quick else ''}")
    print(f"data: {n_train} training / {len(data.X_test)} test samples from nnrun.load_data "
          f"(minmax on the training part); {'-'.join(map(str, cfg.model.architecture))}, "
          f"batch {batch}, {cfg.train.epochs} epochs")
    print(f"penalty: scikit-learn's step gradient is (X^T delta + alpha W) / m for a batch of m, "
          f"so alpha = lambda * batch_size = {batch} * lambda gives nnrun's lambda W on full batches;")
    if remainder:
        print(f"         the last batch of each epoch ({n_train} = {n_train // batch} x {batch} + {remainder}) "
              f"gets {batch / remainder:.2f} lambda W in scikit-learn.")
    print("init: nnrun N(0, 1) weights, biases 0.01; scikit-learn Glorot uniform weights and biases "
          "(+-sqrt(2/(fan_in+fan_out)) for logistic). Sample order differs (separate generators).")
    print(f"load average before: {load_avg()}")
    print(flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-digits-") as tmp:
        print("running nnrun sweep ...", file=sys.stderr, flush=True)
        overrides = [f"{k}={v}" for k, v in specs.items()] if args.quick else []
        nn = run_nnrun(overrides, args.jobs, Path(tmp))
    nn_acc, nn_status = nnrun_tables(nn["results"], etas, lams)
    print("running scikit-learn grid ...", file=sys.stderr, flush=True)
    sk = run_sklearn(data, cfg, etas, lams, workers)

    nn_best = best_cell(nn_acc, nn_status)
    sk_best = best_cell(sk["acc"], sk["status"])
    nn_train = float(pd.to_numeric(nn["results"]["train_seconds"], errors="coerce").sum())

    print("1. Wall-clock of the whole grid and the best cell")
    header = (f"{'tool':<14} {'wall s':>8} {'cells':>6} {'diverged':>9} {'best test acc':>14} "
              f"{'best eta':>9} {'best lambda':>12} {'sum cell s':>11} {'others cpu s':>13}  load avg before")
    print(header)
    print("-" * len(header))
    for name, run, acc, status, best, busy in (
        ("nnrun sweep", nn, nn_acc, nn_status, nn_best, nn_train),
        ("scikit-learn", sk, sk["acc"], sk["status"], sk_best, sk["fit_seconds"]),
    ):
        diverged = int((status == "diverged").sum())
        if best:
            b = f"{best[0]:>14.4f} {fmt_value(etas[best[1]]):>9} {fmt_value(lams[best[2]]):>12}"
        else:
            b = f"{'-':>14} {'-':>9} {'-':>12}"
        print(f"{name:<14} {run['seconds']:>8.2f} {n_cells:>6} {diverged:>9} {b} {busy:>11.2f} "
              f"{run['other_cpu']:>13.1f}  {run['load_before']}")
    ratio = nn["seconds"] / sk["seconds"]
    print()
    print(f"sum cell s: nnrun's train_seconds (the SGD loop with its per-epoch evaluation) summed over the "
          f"cells; scikit-learn's fit() time summed over the cells. others cpu s: CPU seconds used by other "
          f"processes on the machine during the phase (0 on an idle machine; the wall times are inflated "
          f"by up to others_cpu / {os.cpu_count()} s).")
    print(f"nnrun's wall time is the whole `nnrun sweep configs/digits_sweep.yaml ...` command "
          f"(after an untimed {nn['warm_seconds']:.1f} s warm-up `nnrun train` filling the numba cache); "
          f"scikit-learn's includes starting its {workers} worker processes.")
    busy_phases = [f"{name} {run['other_cpu']:.1f} s" for name, run in (("nnrun", nn), ("scikit-learn", sk))
                   if run["other_cpu"] > BUSY_CPU_FRACTION * run["seconds"] * (os.cpu_count() or 1)]
    if busy_phases:
        print(f"WARNING: the machine was busy: other processes used {', '.join(busy_phases)} of CPU during "
              f"the phase(s); those wall times are inflated, rerun on an idle machine.")
    print(f"nnrun statuses: {counts(nn_status)}; scikit-learn statuses: {counts(sk['status'])}; "
          f"scikit-learn epochs run: {sk['n_iter']}")
    if sk["errors"]:
        print(f"scikit-learn failures: {sk['errors'][:3]}")
    print(f"nnrun's own report: {nn['log'].splitlines()[-1] if nn['log'] else '(none)'}")
    print()
    print(f"ratio nnrun_time / sklearn_time = {nn['seconds']:.2f} / {sk['seconds']:.2f} = {ratio:.3f}")
    t1 = ratio <= TARGET_TIME_RATIO
    print(f"target: nnrun's whole sweep takes at most a quarter of scikit-learn's time "
          f"(ratio <= {TARGET_TIME_RATIO}): {'MET' if t1 else 'NOT MET'} (ratio {ratio:.3f})")
    if nn_best and sk_best:
        t2 = nn_best[0] >= sk_best[0]
        detail = f"{nn_best[0]:.4f} vs {sk_best[0]:.4f}"
    else:
        t2, detail = False, "no completed cell in one of the tools"
    print(f"target: nnrun's best test accuracy >= scikit-learn's best: {'MET' if t2 else 'NOT MET'} ({detail})")
    print()
    print("2. Test accuracy per cell (rows eta, columns lambda; 'div' = diverged)")
    print(accuracy_table("nnrun (N(0,1) init):", nn_acc, nn_status, etas, lams))
    print()
    print(accuracy_table(f"scikit-learn MLPClassifier (alpha = {batch} * lambda, Glorot init):",
                         sk["acc"], sk["status"], etas, lams))
    print()
    print(f"load average after: {load_avg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
