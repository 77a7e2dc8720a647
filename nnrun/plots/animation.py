"""animation.gif (E4): the network at each snapshot of ``snapshots.npz``, frame by frame.

Left: the decision regions (2-D inputs) or the fitted curve (one input, regression) with
the parameters of that snapshot; right: the whole loss curve with a marker at the frame's
iteration. One figure is drawn once; each frame redraws only what changes on top of it
(blitting), so 60 frames take a few seconds. Frames are written as a GIF with Pillow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnrun.plots.curves import loggable
from nnrun.plots.plane import boundary_note, class_handles, draw_map, grid, note_on_map, scatter
from nnrun.plots.style import STYLE, describe, iteration_axis, label_log_axis
from nnrun.plots.view import Picture

FPS = 6
GIF_DPI = 100  # a GIF frame is a full image: a modest size keeps the file small
# 960 x 430 pixels: fewer inches at 100 dpi than 11.5 x 4.8 at 80, so that the words are
# 25% larger on the same pixels (7-pt legends were ~8 pixels tall, too small in a report)
FIGSIZE = (9.6, 4.3)


def animates(cfg, data) -> bool:
    """Whether there is a picture to animate: a map of two inputs, or a fitted curve of one
    (for a classification or a regression of one target)."""
    return data is not None and data.n_targets == 1 and (
        data.n_features == 2 or (data.n_features == 1 and data.task == "regression"))


def _animates(run) -> bool:
    return run.snapshots is not None and len(run.snapshots[0]) > 1 and animates(run.cfg, run.data)


def plot_animation(network, data, cfg, history, snapshots, path, name=None) -> None:
    """The GIF of training: for each snapshot (iteration, parameters), the network's map
    or fit with those parameters on the left, the marker on the loss curve at that
    iteration on the right. The still parts are drawn once; each frame redraws only the
    moving ones (blitting)."""
    import matplotlib.pyplot as plt

    iterations, thetas = snapshots
    net = type(network)(network.sizes, network.activations, thetas[0].copy())
    with plt.rc_context(STYLE), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE, gridspec_kw={"width_ratios": [1.15, 1]})
        marker = _draw_loss_panel(right, history, iterations, cfg)
        scene = _Regions(left, fig, net, cfg, data, thetas) if data.n_features == 2 else _Fit(left, data)
        fig.suptitle(describe(cfg, name), fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        frames = _render_frames(fig, left, right, net, scene, marker, history, snapshots)
        plt.close(fig)
    _write_gif(frames, path)


def _draw_animation(run, path):
    plot_animation(run.network, run.data, run.cfg, run.history, run.snapshots, path, run.name)


def _draw_loss_panel(right, history, iterations, cfg):
    """The whole loss curves (drawn once, on a log axis) and the frame's marker, empty
    until a frame places it; returns the marker."""
    it_all = []
    for column, label, colour in (("train_loss", "training", "C0"), ("val_loss", "validation", "C2"),
                                  ("test_loss", "test", "C1")):
        xs, ys = loggable(history, column)
        if len(ys):
            right.plot(xs, ys, lw=0.9, color=colour, label=f"{label} loss")
            it_all.append(ys)
    marker, = right.plot([], [], "o", color="k", ms=7, zorder=5)
    if it_all:
        ys = np.concatenate(it_all)
        right.set_yscale("log")
        pad = (ys.max() / ys.min()) ** 0.04 if ys.max() > ys.min() else 1.5
        bottom, top = ys.min() / pad, min(ys.max() * pad, 1e300)
        right.set_ylim(bottom, top)
        label_log_axis(right.yaxis, bottom, top)
        # below the axes, as the map's: inside, a flat start of the curves ran under it
        right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=3, frameon=False)
    right.set_xlim(0, max(float(iterations[-1]), 1.0) * 1.01)
    iteration_axis(right.xaxis)
    right.set_xlabel("iteration")
    right.set_ylabel(f"{cfg.train.loss.replace('_', ' ')} loss")
    return marker


class _Regions:
    """Two inputs: the decision regions (or the class-1 probability) over a grid of the
    input plane, the data points on top and, for one output unit, the 0.5 boundary once
    there is one (before, a note with the output's range: see ``plane.boundary_note``).
    One colour scale for every frame: 0-1 for a sigmoid, else the range over all frames."""

    def __init__(self, left, fig, net, cfg, data, thetas):
        self.ax, self.task = left, data.task
        self.G0, self.G1, points = grid(data, 110)
        self.inputs = data.transform(points)
        first = net.predict(self.inputs)
        limits = _shared_limits(net, self.inputs, thetas) if first.shape[1] == 1 and cfg.model.output != "sigmoid" \
            else None
        self.mesh = draw_map(left, fig, self.G0, self.G1, first, cfg, data, boundary=False, limits=limits)
        self.note = note_on_map(left) if first.shape[1] == 1 and data.task == "classification" else None
        scatter(left, data, legend=False, size=18)
        if data.task == "classification":
            left.legend(handles=class_handles(data), fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13),
                        ncol=4, frameon=False)
        left.set_xlim(self.G0.min(), self.G0.max())
        left.set_ylim(self.G1.min(), self.G1.max())
        left.set_xlabel(data.feature_names[0])
        left.set_ylabel(data.feature_names[1])

    def moving(self) -> list:
        return [self.mesh] + list(self.ax.collections) + ([self.note] if self.note is not None else [])

    def draw(self, out) -> None:
        left, mesh, G0, G1 = self.ax, self.mesh, self.G0, self.G1
        out = np.where(np.isfinite(out), out, np.nan)
        if out.shape[1] > 1:
            winner = np.where(np.isnan(out).any(axis=1), np.nan, np.nan_to_num(out).argmax(axis=1))
            mesh.set_data(winner.reshape(G0.shape))
        else:
            P = out[:, 0].reshape(G0.shape)
            mesh.set_data(P)
        left.draw_artist(mesh)
        note = boundary_note(P) if self.note is not None else None
        if note == "":
            boundary = left.contour(G0, G1, P, levels=[0.5], colors="k", linewidths=1.0)
            left.draw_artist(boundary)
            boundary.remove()
        for points in left.collections:
            if points is not mesh:
                left.draw_artist(points)
        if note:  # over the points: the frame says why it has no boundary
            self.note.set_text(note)
            left.draw_artist(self.note)


def _shared_limits(net, inputs, thetas) -> tuple[float, float]:
    """The colour scale of one unbounded output unit over every frame: its finite range over
    all the snapshots (the first frame's own range, nearly flat, saturated every later one)."""
    theta = net.theta.copy()
    lo, hi = np.inf, -np.inf
    for t in thetas:
        net.theta[:] = t
        out = net.predict(inputs)[:, 0]
        out = out[np.isfinite(out)]
        if out.size:
            lo, hi = min(lo, float(out.min())), max(hi, float(out.max()))
    net.theta[:] = theta
    if not np.isfinite(lo):
        return 0.0, 1.0
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


class _Fit:
    """One input (regression): the training and test points and the network's fitted curve."""

    def __init__(self, left, data):
        self.ax = left
        X = np.vstack([data.raw_train, data.raw_test])
        self.xs_fit = np.linspace(X.min(), X.max(), 400)[:, None]
        self.inputs = data.transform(self.xs_fit)
        left.scatter(data.raw_train[:, 0], data.labels_train, s=10, color="C0", alpha=0.5, edgecolors="none",
                     label="train")
        if data.has_test:
            left.scatter(data.raw_test[:, 0], data.labels_test, s=24, marker="X", color="C1", edgecolors="k",
                         linewidths=0.4, label="test")
        self.curve, = left.plot([], [], color="k", lw=2, label="the network's fit")
        left.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=3, frameon=False)
        targets = np.concatenate([data.labels_train, data.labels_test])
        span = targets.max() - targets.min() or 1.0
        left.set_ylim(targets.min() - 0.25 * span, targets.max() + 0.25 * span)
        left.set_xlim(self.xs_fit[0, 0], self.xs_fit[-1, 0])
        left.set_xlabel(data.feature_names[0])
        left.set_ylabel("target")

    def moving(self) -> list:
        return [self.curve]

    def draw(self, out) -> None:
        self.curve.set_data(self.xs_fit[:, 0], np.where(np.isfinite(out[:, 0]), out[:, 0], np.nan))
        self.ax.draw_artist(self.curve)


def _render_frames(fig, left, right, net, scene, marker, history, snapshots) -> list:
    """One quantized image per snapshot. Axes, ticks, labels and the loss curves are drawn
    once; each frame restores that background and draws only what changes (the scene,
    the marker, the left title)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    iterations, thetas = snapshots
    for artist in scene.moving() + [marker, left.title]:
        artist.set_animated(True)
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(GIF_DPI)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    x_hist = history["iteration"].to_numpy(dtype=float)
    y_hist = history["train_loss"].to_numpy(dtype=float)
    frames = []
    for k, (iteration, theta) in enumerate(zip(iterations, thetas)):
        net.theta[:] = theta
        out = net.predict(scene.inputs)
        canvas.restore_region(background)
        scene.draw(out)
        before = np.flatnonzero(x_hist <= iteration)
        loss = y_hist[before[-1]] if len(before) else np.nan
        marker.set_data([iteration], [loss] if 0 < loss < 1e200 else [np.nan])
        right.draw_artist(marker)
        left.title.set_text(f"iteration {int(iteration):,} (frame {k + 1} of {len(iterations)})")
        left.draw_artist(left.title)
        rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]
        frames.append(Image.fromarray(rgb).quantize(colors=128, method=Image.Quantize.FASTOCTREE))
    return frames


def _write_gif(frames: list, path) -> None:
    """The frames as a looping GIF at FPS, the last held 2.5 s; written to a hidden file
    and renamed into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    durations = [1000 // FPS] * len(frames)
    durations[-1] = 2500  # hold the last frame before the loop restarts
    frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    os.replace(tmp, path)


# this family's pictures, name -> Picture(applies, draw, cost, suffix): a GIF whatever --format says
PICTURES: dict[str, Picture] = {
    "animation": Picture(_animates, _draw_animation, cost=4.0, suffix="gif"),
}
