"""Classifier pictures: the confusion matrix, and for image inputs the learned features
(first-layer weights as images, E6) and the worst-classified test images.
"""

from __future__ import annotations

import math

import numpy as np

from nnrun.plots.style import STYLE, save
from nnrun.plots.view import Picture


def image_shape(cfg, data) -> tuple[int, int] | None:
    """(height, width) when the inputs are images (data.image_shape, digits 8x8), else None."""
    shape = getattr(cfg.data, "image_shape", None)
    if not shape or math.prod(shape) != data.raw_train.shape[1]:
        return None
    return int(shape[0]), int(shape[1])


def image_input(run) -> bool:
    """The run's inputs are images (a :class:`~nnrun.plots.view.RunView` with data)."""
    return run.data is not None and image_shape(run.cfg, run.data) is not None


def predicted_classes(network, X) -> tuple[np.ndarray, np.ndarray]:
    """(class index, probability-like output per class) for samples in rows."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = network.predict(X)
    if out.shape[1] == 1:
        out = np.column_stack([1.0 - out[:, 0], out[:, 0]])
    out = np.where(np.isfinite(out), out, np.nan)
    return np.nan_to_num(out, nan=-np.inf).argmax(axis=1), out


def confusion_set(data):
    """The test set, or the training set where there is none: (X, labels, which)."""
    if data.has_test:
        return data.X_test, data.labels_test.astype(int), "test"
    return data.X_train, data.labels_train.astype(int), "training"


def plot_confusion(network, data, cfg, path, name=None) -> None:
    """Rows: true class; columns: predicted. Each cell: the count and its share of the row."""
    import matplotlib.pyplot as plt

    X, labels, which = confusion_set(data)
    predicted, _ = predicted_classes(network, X)
    k = data.n_classes
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (labels, predicted), 1)
    rows = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(rows, 1)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    with plt.rc_context(STYLE | {"axes.grid": False}):
        size = max(4.8, 0.62 * k + 2.6)
        fig, ax = plt.subplots(figsize=(size + 1.2, size))
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                if counts[i, j] == 0 and i != j:  # said, but quietly: a blank cell read as missing
                    ax.text(j, i, "0", ha="center", va="center", fontsize=8 if k <= 10 else 6, color="0.65")
                    continue
                colour = "white" if share[i, j] > 0.6 else "black"
                ax.text(j, i, f"{counts[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                        fontsize=8 if k <= 10 else 6, color=colour)
        names = data.class_names
        ax.set_xticks(range(k), names)
        ax.set_yticks(range(k), names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class (row)")
        ax.set_title(f"{name or cfg.name}: confusion matrix, {which} set ({counts.sum()} samples)\n"
                     f"accuracy {accuracy:.3f}; cells: count and share of the row", fontsize=9)
        # 0.8 in on the right for the colour bar's tick labels and its label (0.95 cut the label
        # off); on the left the y label and the longest class name (~0.09 in a character at 10 pt:
        # iris' "versicolor" pushed "true class" off the picture with a fixed 0.1)
        left = (0.5 + 0.09 * max(len(str(n)) for n in names)) / (size + 1.2)
        fig.subplots_adjust(left=left, right=1 - 0.8 / (size + 1.2), bottom=0.1, top=0.9)
        save(fig, path)


def _draw_confusion(run, path):
    plot_confusion(run.network, run.data, run.cfg, path, run.name)


MAX_FEATURES = 100


def plot_features(network, cfg, data, path, name=None) -> None:
    """Row i of W_1 (the weights into hidden unit i) as an image: what the unit responds to.

    Each image has its own symmetric colour scale (red positive, blue negative): a pixel's
    colour says how much it pushes z_i up or down.
    """
    import matplotlib.pyplot as plt

    h, w = image_shape(cfg, data)
    W = network.W[0]
    units = np.arange(W.shape[0])
    if len(units) > MAX_FEATURES:  # the strongest units
        units = np.sort(np.argsort(-np.nan_to_num(np.linalg.norm(W, axis=1)))[:MAX_FEATURES])
    columns = min(10, len(units))
    rows = math.ceil(len(units) / columns)
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, axs = plt.subplots(rows, columns, figsize=(1.05 * columns + 0.4, 1.15 * rows + 0.9), squeeze=False)
        for ax in axs.ravel():
            ax.axis("off")
        for ax, unit in zip(axs.ravel(), units):
            image = np.where(np.isfinite(W[unit]), W[unit], np.nan).reshape(h, w)
            limit = np.nanmax(np.abs(image)) if np.isfinite(image).any() else 1.0
            ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_title(f"unit {unit + 1}", fontsize=7, pad=2)
        shown = "" if len(units) == W.shape[0] else f" ({len(units)} of {W.shape[0]}, largest weights)"
        fig.suptitle(f"{name or cfg.name}: first-layer weights as {h}x{w} images{shown}\n"
                     "red: the pixel raises the unit's input, blue: lowers it (scale per image)", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        save(fig, path)


def _draw_features(run, path):
    plot_features(run.network, run.cfg, run.data, path, run.name)


def plot_misclassified(network, cfg, data, path, name=None, count: int = 24) -> None:
    """The test images (training, without a test set) the network got most wrong: the lowest
    output for the true class first; each titled true -> predicted."""
    import matplotlib.pyplot as plt

    h, w = image_shape(cfg, data)
    X, labels, which = confusion_set(data)
    raw = data.raw_test if which == "test" else data.raw_train
    predicted, out = predicted_classes(network, X)
    true_score = np.nan_to_num(out[np.arange(len(labels)), labels], nan=-np.inf)
    wrong = predicted != labels
    order = np.lexsort((true_score, ~wrong))  # misclassified first, then by the true class's output
    chosen = order[:count]
    columns = min(8, len(chosen))
    rows = max(1, math.ceil(len(chosen) / columns))
    names = data.class_names
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, axs = plt.subplots(rows, columns, figsize=(1.3 * columns + 0.4, 1.5 * rows + 1.0), squeeze=False)
        for ax in axs.ravel():
            ax.axis("off")
        for ax, i in zip(axs.ravel(), chosen):
            ax.imshow(raw[i].reshape(h, w), cmap="gray_r", interpolation="nearest")
            colour = "#a00000" if wrong[i] else "#006000"
            ax.set_title(f"true {names[labels[i]]} → {names[predicted[i]]}", fontsize=8, color=colour, pad=2)
        n_wrong = int(wrong.sum())
        fig.suptitle(f"{name or cfg.name}: {n_wrong} of {len(labels)} {which} images misclassified; "
                     f"{'the worst ' + str(min(count, n_wrong)) if n_wrong else 'none, so'} shown"
                     f"{', then the least confident correct ones (green)' if n_wrong < len(chosen) else ''}",
                     fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.94))
        save(fig, path)


def _draw_misclassified(run, path):
    plot_misclassified(run.network, run.cfg, run.data, path, run.name)


# this family's pictures, name -> Picture(applies, draw), in the order they are drawn
PICTURES: dict[str, Picture] = {
    "confusion": Picture(lambda run: run.classify, _draw_confusion),
    "features": Picture(image_input, _draw_features),
    "misclassified": Picture(lambda run: run.classify and image_input(run), _draw_misclassified),
}
