"""Runs and sweeps as Python objects, for notebooks: ``nnrun.run``, ``nnrun.sweep``,
``nnrun.load`` and the :class:`Run` and :class:`Sweep` they return.

A thin shell, as the CLI is: ``run`` is :func:`nnrun.app.run_experiment` (what
``nnrun train`` does), ``sweep`` is :func:`nnrun.sweeps.runner.run_sweep`, and the
objects read the folder's files (:mod:`nnrun.store`), draw through the pictures'
registry (:func:`nnrun.plots.picture_figure`, :func:`nnrun.plots.sweep.sweep_figure`),
predict with :class:`nnrun.tools.predict.Predictor` and show themselves in a notebook with
:mod:`nnrun.report.inline`. docs/python.md is the reference.

Overrides come in two spellings, which give the same config: ``"train.eta=0.1"`` strings
(read as YAML, as on the command line) and keywords with ``__`` for the dots,
``train__eta=0.1``. A keyword's value that is a string is read as the command line reads
it (``train__optimizer="adam"``, or a sweep axis ``train__eta="0.1,0.01"``); any other
Python value is written as YAML for you (``model__architecture=[2, 3, 2]``).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from functools import cached_property
from pathlib import Path

from nnrun.errors import NnrunError, WorkersStopped
from nnrun.store.names import (
    CONFIG, HISTORY, METRICS_JSON, RESULTS, SNAPSHOTS, SWEEP, folder_name, is_run, is_sweep, no_run_folder,
)

__all__ = ["Run", "Sweep", "run", "sweep", "load"]


# --- overrides ----------------------------------------------------------------------------

def _yaml_value(value) -> str:
    """A Python value as the YAML text of an override (floats keep a '.' before their
    exponent: PyYAML reads 1e-05 as a string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if e and "." not in mantissa:
            text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_value(v) if not isinstance(v, str) else json.dumps(v) for v in value) + "]"
    if isinstance(value, Path):
        return json.dumps(str(value))
    return json.dumps(value)  # int, bool, None, dict


def override_texts(overrides=(), keyed: dict | None = None) -> list[str]:
    """``"key.path=value"`` strings from both spellings: the strings as given, then each
    keyword ``a__b=value`` as ``a.b=<value as YAML>``."""
    texts = []
    for text in overrides:
        if not isinstance(text, str):
            raise NnrunError(f"override {text!r}: expected a 'key.path=value' string (or a keyword: key__path=value)")
        texts.append(text)
    sections = ("name", "seed", "data", "model", "train", "sweep")  # a config's top-level keys
    for key, value in (keyed or {}).items():
        if "__" not in key and key not in sections and key.split("_")[0] in sections:
            dotted = key.replace("_", "__", 1)
            raise NnrunError(f"keyword {key}={value!r}: a dotted key is written with two underscores for each dot, "
                             f"e.g. {dotted}={value!r} for {dotted.replace('__', '.')}")
        texts.append(f"{key.replace('__', '.')}={_yaml_value(value)}")
    return texts


def _call(function: str, config, overrides, keyed, **options) -> str:
    """The Python call, for the page's "command" line."""
    shown = "{...}" if isinstance(config, dict) else repr(str(config.path if isinstance(config, Run) else config))
    parts = [shown, *map(repr, overrides), *(f"{k}={v!r}" for k, v in keyed.items()),
             *(f"{k}={v!r}" for k, v in options.items() if v is not None)]
    return f"nnrun.{function}({', '.join(parts)})"


def _load_cfg(config, texts):
    from nnrun.config import apply_overrides, load_config, validate

    if isinstance(config, Run):
        config = config.path
    if isinstance(config, dict):  # relative paths in it: relative to the current folder
        return validate(apply_overrides(config, texts, Path.cwd()), "config", texts)
    return load_config(config, texts)


# --- the three functions -------------------------------------------------------------------

def _not_in_a_starting_worker() -> None:
    """A sweep's worker imports the user's script again as it starts (Python's
    multiprocessing does, to find the script's functions): a call of nnrun.run or
    nnrun.sweep at the script's top level would train again in every worker. There the
    worker ends at once, quietly; the sweep then says in one line to add the guard."""
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(1)


def _guard_hint(error) -> NnrunError:
    """A sweep whose workers stopped as they started, called from a script that has no
    ``__main__`` guard: the guard to add (else the workers' own line: killed, out of memory)."""
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    try:
        guarded = script is not None and "__main__" in Path(script).read_text(errors="replace")
    except OSError:
        guarded = True  # not readable: say what is known, not a guess
    if error.written or not script or guarded:
        return error
    return NnrunError(f"the sweep's workers stopped as they started: each imports {script} again, where "
                      "nnrun.sweep (or nnrun.run) is called at the top level; put those calls under "
                      'if __name__ == "__main__": (nothing was trained and no sweep folder is left)')


def run(config, *overrides, runs_dir="runs", name=None, live=False, **keyed) -> "Run":
    """Train as ``nnrun train`` does and return the :class:`Run`. ``config``: a YAML file,
    a run folder (its config.yaml) or a dict; overrides as strings and/or keywords (see
    the module). ``live=True``: the loss (and accuracy) curve is redrawn in the cell's
    output while training runs (:mod:`nnrun.live`). The summary lines are printed."""
    from nnrun.app import run_experiment

    _not_in_a_starting_worker()
    texts = override_texts(overrides, keyed)
    cfg = _load_cfg(config, texts)
    log = print  # a notebook shows stdout as plain text (stderr would be red)
    if cfg.sweep is not None:
        log(f"nnrun: note: the sweep section of {config if not isinstance(config, dict) else 'the config'} "
            "is ignored by nnrun.run; nnrun.sweep runs it")
    watch = None
    if live:
        from nnrun.live import LiveCurve

        watch = LiveCurve(name or cfg.name, cfg.train.loss)
    run_dir = run_experiment(cfg, runs_dir=runs_dir, name=name, quiet=True, log=log, watch=watch,
                             command=_call("run", config, overrides, keyed, runs_dir=runs_dir if runs_dir != "runs"
                                           else None, name=name, live=live or None))
    result = Run(run_dir)
    if watch is not None:
        watch.finish(result.metrics)
    return result


def sweep(config, *overrides, runs_dir="runs", name=None, jobs=None, **keyed) -> "Sweep":
    """Run a sweep as ``nnrun sweep`` does and return the :class:`Sweep`. ``config``: a
    YAML file, a run folder or a dict; axes as on the command line
    (``"train.eta=0.1,0.01"``, or ``train__eta="0.1,0.01"``) or in its ``sweep.grid``."""
    _not_in_a_starting_worker()
    try:
        return _sweep(config, overrides, runs_dir, name, jobs, keyed)
    except WorkersStopped as e:
        raise _guard_hint(e) from None


def _sweep(config, overrides, runs_dir, name, jobs, keyed) -> "Sweep":
    from nnrun.sweeps.runner import run_sweep

    texts = override_texts(overrides, keyed)
    command = _call("sweep", config, overrides, keyed, runs_dir=runs_dir if runs_dir != "runs" else None,
                    name=name, jobs=jobs)
    if isinstance(config, Run):
        config = config.path
    if isinstance(config, dict):  # a file for the sweep's reader; its paths resolved here first
        from nnrun.config import apply_overrides, dump_yaml

        with tempfile.TemporaryDirectory(prefix="nnrun-sweep-config-") as tmp:
            path = Path(tmp) / "config.yaml"
            path.write_text(dump_yaml(apply_overrides(config, [], Path.cwd())))
            return Sweep(run_sweep(path, texts, runs_dir=runs_dir, jobs=jobs, name=name or config.get("name"),
                                   quiet=True, log=print, command=command))
    return Sweep(run_sweep(config, texts, runs_dir=runs_dir, jobs=jobs, name=name, quiet=True, log=print,
                           command=command))


def load(path) -> "Run | Sweep":
    """The :class:`Run` or :class:`Sweep` of any folder nnrun wrote (a sweep's cells too)."""
    path = Path(path)
    if is_sweep(path):
        return Sweep(path)
    if is_run(path):
        return Run(path)
    raise no_run_folder(path)


# --- a run ----------------------------------------------------------------------------------

class Run:
    """A run folder, read as needed. Attributes:

    ``path``; ``name``; ``config`` (config.yaml: the resolved config, a dict); ``metrics``
    (metrics.json, a dict); ``status``; ``history`` (history.csv as a pandas DataFrame, read
    on first use); ``network`` (the weights: a list of ``(W, b)`` per layer, ``W`` of shape
    (units, inputs), so a_l = f(W a_{l-1} + b)). Methods: ``predict``, ``figure``,
    ``frames``, ``explain``.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / CONFIG).exists():
            raise no_run_folder(self.path)
        self._history = self._view = self._predictor = None

    @cached_property
    def config(self) -> dict:
        from nnrun.store.files import read_saved_yaml

        return read_saved_yaml(self.path / CONFIG)

    @property
    def name(self) -> str:
        return folder_name(self.path, str(self.config.get("name", self.path.name)))

    @cached_property
    def metrics(self) -> dict:
        from nnrun.store.files import read_saved_json

        return read_saved_json(self.path / METRICS_JSON)

    @property
    def status(self) -> str:
        return str(self.metrics.get("status", "unknown"))

    @property
    def history(self):
        if self._history is None:
            from nnrun.store.history import has_history, read_history

            if not has_history(self.path):  # its own history.csv, or its rows of its sweep's table
                raise NnrunError(f"{self.path}: no {HISTORY}")
            self._history = read_history(self.path)
        return self._history

    @property
    def network(self) -> list:
        network = self._load_predictor().network
        return [(W.copy(), b.copy()) for W, b in zip(network.W, network.b)]

    def _load_predictor(self):
        if self._predictor is None:
            from nnrun.tools.predict import load_predictor

            self._predictor = load_predictor(self.path)
        return self._predictor

    def predict(self, X):
        """Predictions for raw rows, as ``nnrun predict RUN CSV`` makes them (the fitted
        transforms applied, class names given): ``X`` a DataFrame with the run's feature
        columns (and the label column, if you want the score) or an array of rows in the
        order of those features. Returns the same table as ``nnrun predict``; its summary
        (rows, accuracy or R² and RMSE when labels were given) is ``table.attrs["summary"]``."""
        import numpy as np
        import pandas as pd

        from nnrun.tools.predict import predict_frame

        predictor = self._load_predictor()
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X, dtype=float)
            X = X.reshape(1, -1) if X.ndim == 1 else X
            if X.ndim != 2 or X.shape[1] != len(predictor.features):
                raise NnrunError(f"predict: rows of {len(predictor.features)} features "
                                 f"({', '.join(predictor.features)}) expected; got an array of shape {X.shape}")
            X = pd.DataFrame(X, columns=predictor.features)
        table, summary = predict_frame(predictor, X, "rows")
        table.attrs["summary"] = summary
        return table

    def view(self):
        """The :class:`nnrun.plots.RunView` the pictures are drawn from (the data loaded
        again; None for it when it cannot be)."""
        if self._view is None:
            from nnrun.data import load_data
            from nnrun.plots import RunView
            from nnrun.store.runs import load_run
            from nnrun.store.snapshots import load_snapshots

            cfg, history, network, metrics = load_run(self.path)
            self._history = history
            try:
                data = load_data(cfg)
            except NnrunError:
                data = None
            snapshots = load_snapshots(self.path / SNAPSHOTS) if (self.path / SNAPSHOTS).exists() else None
            self._view = RunView(cfg, history, network, data, metrics, self.path, snapshots)
        return self._view

    def figure(self, name: str):
        """The matplotlib Figure of the picture ``name`` (a key of ``nnrun.plots.PICTURES``:
        "loss", "accuracy", "regions", ...), drawn as its file is; yours to restyle."""
        from nnrun.plots import picture_figure

        return picture_figure(self.view(), name)

    def frames(self) -> list:
        """The frames of animation.gif, as PIL images (``train.snapshots`` runs)."""
        from PIL import Image, ImageSequence

        path = self.path / "animation.gif"
        if not path.exists():
            raise NnrunError(f"{self.path}: no animation.gif (a run with train.snapshots and 2-D inputs has one)")
        with Image.open(path) as gif:
            return [frame.convert("RGB") for frame in ImageSequence.Iterator(gif)]

    def explain(self, steps: int = 1, format: str = "text") -> str:  # noqa: A002 - the CLI's --format
        """The first ``steps`` updates of this run's config, worked through (``nnrun explain``):
        ``format`` "text" or "markdown"."""
        from nnrun.config import load_config
        from nnrun.explain import explain_config
        from nnrun.explain.render import render

        if format not in ("text", "markdown"):
            raise NnrunError(f"explain: format {format!r}; expected 'text' or 'markdown'")
        return render(explain_config(load_config(self.path), steps), markdown=format == "markdown")

    def __repr__(self) -> str:
        shown = [f"{key} {self.metrics[key]:.4g}" for key in ("train_loss", "test_loss", "test_accuracy", "val_accuracy")
                 if isinstance(self.metrics.get(key), (int, float))]
        iterations = self.metrics.get("iterations")
        facts = ", ".join([self.status] + ([f"{iterations:,} iterations"] if iterations is not None else []) + shown)
        return f"<nnrun.Run {self.name}: {facts}; {self.path}>"

    def _repr_html_(self) -> str:
        from nnrun.report.inline import run_html

        return run_html(self.path, self.name)


# --- a sweep --------------------------------------------------------------------------------

class Sweep:
    """A sweep folder. Attributes: ``path``, ``name``, ``axes`` (axis key -> values),
    ``results`` (results.csv, a DataFrame: a row per cell and seed), ``best`` (the best
    cell's :class:`Run`, chosen on validation when there is a validation set), ``cells``
    (every finished cell's :class:`Run`). Method: ``figure``."""

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / SWEEP).exists():
            raise NnrunError(f"{self.path}: not a sweep folder (no {SWEEP})")
        import yaml

        self.spec = yaml.safe_load((self.path / SWEEP).read_text())
        self.axes = dict(self.spec.get("axes") or {})
        self._results = None

    @property
    def name(self) -> str:
        return folder_name(self.path, self.path.name)

    @property
    def results(self):
        if self._results is None:
            import pandas as pd

            path = self.path / RESULTS
            self._results = pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()
        return self._results

    def _best(self):
        from nnrun.store.results import best_row

        if self.results.empty:
            return None, None
        return best_row(self.results, self.axes)

    @property
    def best(self) -> Run | None:
        row, _ = self._best()
        return None if row is None else Run(self.path / str(row["folder"]))

    @property
    def cells(self) -> list[Run]:
        if self.results.empty or "folder" not in self.results:
            return []
        return [Run(self.path / str(f)) for f in self.results["folder"] if (self.path / str(f) / CONFIG).exists()]

    def figure(self, name: str):
        """The matplotlib Figure of a sweep picture: "heatmaps" (two axes or more) or
        "metrics" (one axis), and "curves"; a random or TPE search's "search_history" and
        "search_parallel" (a pruned grid has all four)."""
        search = self.spec.get("search")
        if search:
            from nnrun.sweeps.search import SEARCH_FIGURES, search_figure

            if name in SEARCH_FIGURES:
                return search_figure(self.path, self.spec, name)
            if search.get("method") != "grid":  # no grid: its cells hold no heatmap or curves grid
                raise NnrunError(f"figure {name!r}: not a picture of this search; its pictures: "
                                 f"{', '.join(SEARCH_FIGURES)}")
        from nnrun.plots.sweep import sweep_figure

        return sweep_figure(self.path, self.results, self.axes, name, self.spec.get("metrics"))

    def __repr__(self) -> str:
        row, metric = self._best()
        best = f"; best {row['folder']} ({metric} {row[metric]:.4g})" if row is not None else ""
        # a grid axis is its list of values, a search's range its text (loguniform(0.01,1))
        axes = ", ".join(f"{k} × {len(v)}" if isinstance(v, list) else f"{k} {v}" for k, v in self.axes.items())
        search = self.spec.get("search")
        if search and search.get("method") != "grid":
            axes = f"{search['method']} search of {search['trials']} trials: {axes}"
        return f"<nnrun.Sweep {self.name}: {len(self.results)} cells ({axes}){best}; {self.path}>"

    def _repr_html_(self) -> str:
        from nnrun.report.inline import sweep_html

        row, metric = self._best()
        return sweep_html(self.path, self.name, self.results, None if row is None else str(row["folder"]), metric)

