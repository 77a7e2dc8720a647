"""Pictures of a run and of a sweep: one registry, walked by training and by ``nnrun plot``.

:data:`PICTURES` maps a file name to a :class:`Picture`: ``applies(run) -> bool`` says
whether the picture means something for this run, ``draw(run, path)`` draws it from a
:class:`~nnrun.plots.view.RunView` (config, history, network, data, metrics, snapshots).
Adding a picture to a family is one file: its function and its entry in that family
module's own ``PICTURES`` table, which is joined here in family order. A picture that
fails costs one warning line, never the run or the other pictures.

Modules: ``view`` (:class:`RunView` and :class:`Picture`, with which the families
declare their pictures), ``style`` (shared look, titles, log ticks, saving), ``png`` (PNG
files from Agg's pixels), then one per family: ``curves`` (loss, accuracy), ``plane``
(data, regions, neurons over 2-D inputs), ``regression`` (fit, residuals), ``classes`` (confusion, learned features,
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
from pathlib import Path

import numpy as np

from nnrun.errors import is_disk_fault
from nnrun.plots import animation, classes, curves, diagram, plane, regression
from nnrun.plots.curves import plot_loss
from nnrun.plots.style import CLASS_COLOURS, DPI, STYLE, describe
from nnrun.plots.view import Picture, RunView
from nnrun.store.names import SNAPSHOTS

__all__ = ["PICTURES", "Picture", "RunView", "draw_run", "redraw_run", "picture_figure", "plot_loss", "describe",
           "STYLE", "CLASS_COLOURS", "DPI"]


# name -> Picture(applies, draw, cost, suffix), each family's own table; drawn in this order
PICTURES: dict[str, Picture] = {**curves.PICTURES, **plane.PICTURES, **diagram.PICTURES, **classes.PICTURES,
                                **regression.PICTURES, **animation.PICTURES}


def draw_run(run_dir, cfg, history, network, data, metrics: dict, fmt: str = "png", only=None,
             snapshots=None, log=None, jobs: int = 1, announce=None) -> list[Path]:
    """Draw every picture that applies to this run; returns the files written.
    ``announce(line)``, if given, is told how many pictures are about to be drawn.

    ``only``: the picture names to consider (default: all). A picture that raises is
    reported by ``log`` (default: stderr) in one line and the others are still drawn.
    ``jobs=2``: a forked copy of this process draws about half of them (by each
    :class:`Picture`'s ``cost``) while this one draws the rest; the pictures are the same, the wall
    time about halves on two cores. Where ``os.fork`` is missing, one process draws all.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    run = RunView(cfg, history, network, data, metrics, Path(run_dir), snapshots)
    todo = []
    with _quiet_numpy():
        for name, picture in PICTURES.items():
            if only is not None and name not in only:
                continue
            path = run.run_dir / f"{name}.{picture.suffix or fmt}"
            try:
                if picture.applies(run):
                    todo.append((name, path))
            except Exception as e:  # noqa: BLE001 - a picture must never cost the run
                log(f"nnrun: warning: {path.name} was not drawn ({type(e).__name__}: {e})")
    if announce is not None and todo:
        announce(f"drawing {len(todo)} picture{'s' if len(todo) > 1 else ''} ...")
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
                if is_disk_fault(e):  # not the picture's fault, and the next would fail too
                    raise OSError(e.errno, e.strerror, e.filename or str(path)) from e
                log(f"nnrun: warning: {path.name} was not drawn ({type(e).__name__}: {e})")
                continue
            written.append(path)
    return written


def _cost(name: str) -> float:
    picture = PICTURES.get(name)
    return picture.cost if picture is not None else Picture._field_defaults["cost"]


def _share(todo):
    """Two lists of about equal cost, the costliest pictures placed first (greedy)."""
    parts, costs = ([], []), [0.0, 0.0]
    for item in sorted(todo, key=lambda item: -_cost(item[0])):
        side = 0 if costs[0] <= costs[1] else 1
        parts[side].append(item)
        costs[side] += _cost(item[0])
    order = [name for name, _ in todo]  # each side in the registry's order
    return tuple(sorted(part, key=lambda item: order.index(item[0])) for part in parts)


def _draw_forked(run, mine, theirs, log) -> list[Path]:
    """Draw ``theirs`` in a forked child and ``mine`` here; the child reports through a pipe
    which files it wrote and its warning lines, and exits without any cleanup of ours."""
    import json

    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or buffered text would be written twice
    read_end, write_end = os.pipe()
    # Ctrl-C during the fork would be swallowed by a fork handler ("Exception ignored in
    # _releaseLock") and the run would finish as if not interrupted: it waits until both
    # sides are where a KeyboardInterrupt is handled
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with warnings.catch_warnings():  # Python >= 3.12 warns on fork with threads (BLAS's idle ones)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    if pid == 0:  # the child: draw, report, leave at once
        status = 1
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read_end)
            said, fault = [], None
            try:
                drawn = _draw(run, theirs, said.append)
            except OSError as e:  # a full disk: the parent stops on it
                drawn, fault = [], [e.errno, e.strerror, str(e.filename)]
            with os.fdopen(write_end, "w") as out:
                json.dump({"drawn": [str(p) for p in drawn], "said": said, "fault": fault}, out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as report:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
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
    if child.get("fault"):
        raise OSError(*child["fault"])
    return written + [Path(p) for p in child["drawn"]]


def picture_figure(run: RunView, name: str):
    """The matplotlib Figure of the still picture ``name`` of ``run``, drawn by the same
    function that draws its file (nothing is written: see
    :func:`nnrun.plots.style.capture_figures`). NnrunError for an unknown name, the
    animation (a GIF, not one figure) and a picture that does not apply to this run."""
    from nnrun.errors import NnrunError
    from nnrun.plots.style import capture_figures

    picture = PICTURES.get(name)
    stills = [n for n, p in PICTURES.items() if p.suffix is None]
    if picture is None:
        raise NnrunError(f"figure {name!r}: no such picture; a run's pictures: {', '.join(stills)}")
    if picture.suffix is not None:
        raise NnrunError(f"figure {name!r}: the {name} is a {picture.suffix.upper()} of many frames, not one "
                         f"figure; use .frames() for its frames, or the file {name}.{picture.suffix} in the run "
                         "folder")
    with _quiet_numpy():
        if not picture.applies(run):
            applies = [n for n in stills if _applies(PICTURES[n], run)]
            raise NnrunError(f"figure {name!r}: does not apply to this run (or its data cannot be loaded again); "
                             f"its pictures: {', '.join(applies)}")
        with capture_figures() as figures:
            picture.draw(run, Path(f"{name}.png"))
    return figures[-1]


def _applies(picture: Picture, run: RunView) -> bool:
    try:
        return bool(picture.applies(run))
    except Exception:  # noqa: BLE001 - as draw_run: a picture that cannot tell does not apply
        return False


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
