"""Pictures of a run and of a sweep: one registry, walked by training and by ``nnrun plot``.

:data:`PICTURES` maps a file name to ``(applies, draw)``: ``applies(run) -> bool`` says
whether the picture means something for this run, ``draw(run, path)`` draws it from a
:class:`RunView` (config, history, network, data, metrics, snapshots). Adding a picture
is one function in a module of this package and one entry here. A picture that fails
costs one warning line, never the run or the other pictures.

Modules, one per family: ``style`` (shared look, titles, log ticks, saving), ``png`` (PNG
files from Agg's pixels), ``curves`` (loss, accuracy), ``plane`` (data, regions, neurons over
2-D inputs), ``regression`` (fit, residuals), ``classes`` (confusion, learned features,
misclassified images), ``diagram`` (the network), ``animation`` (animation.gif), ``sweep``
(a sweep folder's pictures: ``heatmaps``, the one-axis metrics, ``sweep_curves``; values read
by ``sweep_axes``), ``compare`` (compare.png, nnrun vs the PyTorch twin), ``runs_compared``
(the picture of ``nnrun report RUN RUN``).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from nnrun.plots.curves import has_accuracy, plot_accuracy, plot_loss
from nnrun.plots.style import CLASS_COLOURS, DPI, STYLE, describe
from nnrun.store.names import SNAPSHOTS, folder_name

__all__ = ["PICTURES", "RunView", "draw_run", "redraw_run", "plot_loss", "describe", "STYLE",
           "CLASS_COLOURS", "DPI"]


@dataclass
class RunView:
    """Everything a picture of one run may draw from."""

    cfg: object
    history: object  # pandas DataFrame of history.csv (possibly thinned)
    network: object
    data: object | None  # Dataset, or None when the data cannot be loaded again
    metrics: dict
    run_dir: Path | None = None
    snapshots: tuple[np.ndarray, np.ndarray] | None = None  # (iterations, thetas)

    @property
    def name(self) -> str:
        """The run's name: the folder's (``--name``), else the config's."""
        return folder_name(self.run_dir, self.cfg.name)

    @property
    def status(self) -> str:
        return self.metrics.get("status", "completed")

    @property
    def classify(self) -> bool:
        return self.data is not None and self.data.task == "classification"

    def inputs(self, n: int) -> bool:
        return self.data is not None and self.data.raw_train.shape[1] == n


class Picture(NamedTuple):
    applies: Callable[[RunView], bool]
    draw: Callable[[RunView, Path], None]


def _accuracy_line(metrics: dict) -> str:
    parts = [f"{label} {metrics[key]:.3f}" for key, label in (("train_accuracy", "train acc"),
                                                              ("test_accuracy", "test acc"))
             if metrics.get(key) is not None]
    if metrics.get("status") not in (None, "completed"):
        parts.append(metrics["status"].upper())
    return ", ".join(parts)


def _image_input(run: RunView) -> bool:
    from nnrun.plots.classes import image_shape

    return run.data is not None and image_shape(run.cfg, run.data) is not None


def _draw_loss(run, path):
    plot_loss(run.history, run.cfg, path, run.status, run.name, run.metrics.get("diverged_at"))


def _draw_accuracy(run, path):
    plot_accuracy(run.history, run.cfg, path, run.status, run.name, run.data.n_classes if run.data else 0)


def _draw_data(run, path):
    from nnrun.plots.plane import plot_data

    plot_data(run.data, run.cfg, path, run.name)


def _draw_regions(run, path):
    from nnrun.plots.plane import plot_regions

    plot_regions(run.network, run.data, run.cfg, path, _accuracy_line(run.metrics), run.name)


def _draw_neurons(run, path):
    from nnrun.plots.plane import plot_neurons

    plot_neurons(run.network, run.data, run.cfg, path, run.name)


def _draw_network(run, path):
    from nnrun.plots.diagram import plot_network

    plot_network(run.network, run.cfg, path, run.data.feature_names if run.data else None, run.name)


def _draw_confusion(run, path):
    from nnrun.plots.classes import plot_confusion

    plot_confusion(run.network, run.data, run.cfg, path, run.name)


def _draw_features(run, path):
    from nnrun.plots.classes import plot_features

    plot_features(run.network, run.cfg, run.data, path, run.name)


def _draw_misclassified(run, path):
    from nnrun.plots.classes import plot_misclassified

    plot_misclassified(run.network, run.cfg, run.data, path, run.name)


def _draw_fit(run, path):
    from nnrun.plots.regression import plot_fit

    plot_fit(run.network, run.data, run.cfg, path, run.name)


def _draw_residuals(run, path):
    from nnrun.plots.regression import plot_residuals

    plot_residuals(run.network, run.data, run.cfg, path, run.name)


def _animates(run) -> bool:
    from nnrun.plots.animation import animates

    return run.snapshots is not None and len(run.snapshots[0]) > 1 and animates(run.cfg, run.data)


def _draw_animation(run, path):
    from nnrun.plots.animation import plot_animation

    plot_animation(run.network, run.data, run.cfg, run.history, run.snapshots, path, run.name)


# name -> (applies, draw); drawn in this order
PICTURES: dict[str, Picture] = {
    "loss": Picture(lambda run: True, _draw_loss),
    "accuracy": Picture(lambda run: run.classify and has_accuracy(run.history), _draw_accuracy),
    "data": Picture(lambda run: run.inputs(2), _draw_data),
    "regions": Picture(lambda run: run.inputs(2) and run.classify, _draw_regions),
    "neurons": Picture(lambda run: run.inputs(2), _draw_neurons),
    "network": Picture(lambda run: True, _draw_network),
    "confusion": Picture(lambda run: run.classify, _draw_confusion),
    "features": Picture(_image_input, _draw_features),
    "misclassified": Picture(lambda run: run.classify and _image_input(run), _draw_misclassified),
    "fit": Picture(lambda run: run.data is not None and not run.classify and run.data.raw_train.shape[1] in (1, 2),
                   _draw_fit),
    "residuals": Picture(lambda run: run.data is not None and not run.classify, _draw_residuals),
    "animation": Picture(_animates, _draw_animation),
}
FIXED_SUFFIX = {"animation": "gif"}  # an animation is a GIF whatever --format says


# rough drawing cost of each picture (relu_ellipse, seconds), to share them between processes
DRAW_COST = {"neurons": 0.40, "regions": 0.28, "network": 0.25, "data": 0.20, "animation": 4.0}


def draw_run(run_dir, cfg, history, network, data, metrics: dict, fmt: str = "png", only=None,
             snapshots=None, log=None, jobs: int = 1) -> list[Path]:
    """Draw every picture that applies to this run; returns the files written.

    ``only``: the picture names to consider (default: all). A picture that raises is
    reported by ``log`` (default: stderr) in one line and the others are still drawn.
    ``jobs=2``: a forked copy of this process draws about half of them (by
    :data:`DRAW_COST`) while this one draws the rest; the pictures are the same, the wall
    time about halves on two cores. Where ``os.fork`` is missing, one process draws all.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    run = RunView(cfg, history, network, data, metrics, Path(run_dir), snapshots)
    todo = []
    with _quiet_numpy():
        for name, picture in PICTURES.items():
            if only is not None and name not in only:
                continue
            path = run.run_dir / f"{name}.{FIXED_SUFFIX.get(name, fmt)}"
            try:
                if picture.applies(run):
                    todo.append((name, path))
            except Exception as e:  # noqa: BLE001 - a picture must never cost the run
                log(f"nnrun: warning: {path.name} was not drawn ({type(e).__name__}: {e})")
    if jobs > 1 and len(todo) > 1 and hasattr(os, "fork"):
        order = [path for _, path in todo]
        return sorted(_draw_forked(run, *_share(todo), log), key=order.index)
    return _draw(run, todo, log)


@contextmanager
def _quiet_numpy():
    # a diverged net is non-finite: NumPy's overflow and all-NaN warnings would only repeat that
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _draw(run, todo, log) -> list[Path]:
    written = []
    with _quiet_numpy():
        for name, path in todo:
            try:
                PICTURES[name].draw(run, path)
            except Exception as e:  # noqa: BLE001 - a picture must never cost the run
                import matplotlib.pyplot as plt

                plt.close("all")
                log(f"nnrun: warning: {path.name} was not drawn ({type(e).__name__}: {e})")
                continue
            written.append(path)
    return written


def _share(todo):
    """Two lists of about equal cost, the costliest pictures placed first (greedy)."""
    parts, costs = ([], []), [0.0, 0.0]
    for item in sorted(todo, key=lambda item: -DRAW_COST.get(item[0], 0.18)):
        side = 0 if costs[0] <= costs[1] else 1
        parts[side].append(item)
        costs[side] += DRAW_COST.get(item[0], 0.18)
    order = [name for name, _ in todo]  # each side in the registry's order
    return tuple(sorted(part, key=lambda item: order.index(item[0])) for part in parts)


def _draw_forked(run, mine, theirs, log) -> list[Path]:
    """Draw ``theirs`` in a forked child and ``mine`` here; the child reports through a pipe
    which files it wrote and its warning lines, and exits without any cleanup of ours."""
    import json

    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or buffered text would be written twice
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python >= 3.12 warns on fork with threads (BLAS's idle ones)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: draw, report, leave at once
        status = 1
        try:
            os.close(read_end)
            said = []
            drawn = _draw(run, theirs, said.append)
            with os.fdopen(write_end, "w") as out:
                json.dump({"drawn": [str(p) for p in drawn], "said": said}, out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as report:
        try:
            written = _draw(run, mine, log)
            text = report.read()
        except BaseException:  # Ctrl-C: the child's pictures are not waited for
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
    _, status = os.waitpid(pid, 0)
    try:
        child = json.loads(text)
    except ValueError:
        child = {"drawn": [], "said": []}
        log(f"nnrun: warning: {', '.join(p.name for _, p in theirs)} were not drawn (the drawing process "
            f"ended with status {status}); `nnrun plot {run.run_dir}` draws them")
    for line in child["said"]:
        log(line)
    return written + [Path(p) for p in child["drawn"]]


def redraw_run(folder, fmt: str = "png", only=None, log=None, jobs: int = 1) -> list[Path]:
    """Every picture of a run folder, from config.yaml, history.csv, model.npz (and
    snapshots.npz), without training. Data that cannot be loaded again (a moved CSV)
    leaves out the pictures that need it, with a warning."""
    from nnrun.data import load_data
    from nnrun.errors import NnrunError
    from nnrun.store.runs import load_run
    from nnrun.store.snapshots import load_snapshots

    log = log or (lambda msg: print(msg, file=sys.stderr))
    folder = Path(folder)
    cfg, history, network, metrics = load_run(folder)
    try:
        data = load_data(cfg)
    except NnrunError as e:
        log(f"nnrun: warning: the data cannot be loaded again ({e}); pictures that need it are left out")
        data = None
    snapshots = load_snapshots(folder / SNAPSHOTS) if (folder / SNAPSHOTS).exists() else None
    return draw_run(folder, cfg, history, network, data, metrics, fmt, only, snapshots, log, jobs)
