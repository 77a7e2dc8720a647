"""Pictures over the input plane (2-D inputs): the data, decision regions, hidden units.

Every map is drawn in the ORIGINAL coordinates: grid points go through the run's fitted
transforms, then the network, so a map lines up with the data as the user gave it.
"""

from __future__ import annotations

import numpy as np

from nnrun.plots.style import CLASS_COLOURS, STYLE, describe, legend_below, legend_outside, save
from nnrun.plots.view import Picture, accuracy_line


def grid(data, resolution: int):
    """A resolution x resolution grid over the data's range (8% margin), in original coordinates."""
    X = np.vstack([data.raw_train, data.raw_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    return G0, G1, np.column_stack([G0.ravel(), G1.ravel()])


def class_handles(data):
    import matplotlib.pyplot as plt

    handles = [plt.Line2D([], [], marker="o", ls="", color=CLASS_COLOURS[k % len(CLASS_COLOURS)],
                          markeredgecolor="k", label=f"class {name}")
               for k, name in enumerate(data.class_names)]
    return handles + split_handles(data)


def split_handles(data):
    """The train and test shapes (when there are test points), in a neutral grey, filled as
    the points are (an open circle read as "hollow")."""
    import matplotlib.pyplot as plt

    if not len(data.raw_test):
        return []
    return [plt.Line2D([], [], marker="o", ls="", color="0.6", markeredgecolor="k", label="train"),
            plt.Line2D([], [], marker="X", ls="", color="0.6", markeredgecolor="k", label="test")]


def scatter(ax, data, X_train=None, X_test=None, legend=legend_outside, size: float = 28):
    """Training points as filled circles, test points as crosses, one colour per class
    (regression: coloured by target). The legend goes beside the axes, never over points."""
    classify = data.task == "classification"
    X_train = data.raw_train if X_train is None else X_train
    X_test = data.raw_test if X_test is None else X_test
    mappable = None
    for X, labels, marker in ((X_train, data.labels_train, "o"), (X_test, data.labels_test, "X")):
        if len(X) == 0:
            continue
        if classify:
            colours = [CLASS_COLOURS[int(k) % len(CLASS_COLOURS)] for k in labels]
            ax.scatter(X[:, 0], X[:, 1], c=colours, marker=marker, s=size if marker == "o" else size * 1.4,
                       edgecolors="k", linewidths=0.5, zorder=3)
        else:
            mappable = ax.scatter(X[:, 0], X[:, 1], c=labels, marker=marker, cmap="viridis", s=size,
                                  edgecolors="k", linewidths=0.5, zorder=3)
    if classify and legend:
        legend(ax, class_handles(data))
    return mappable


def _transformed_labels(cfg) -> tuple[str, str]:
    """Axis names of the network's inputs after a coordinate-changing transform (polar)."""
    steps = list(cfg.data.transform)
    after = steps[steps.index("polar") + 1:]
    suffix = f" (then {', '.join(after)})" if after else ""
    return f"r = distance from the centre{suffix}", f"θ = angle, radians{suffix}"


def changes_coordinates(cfg) -> bool:
    return "polar" in cfg.data.transform


def plot_data(data, cfg, path, name=None) -> None:
    """The data in its original coordinates; with a polar transform, also as the network sees it."""
    import matplotlib.pyplot as plt

    both = changes_coordinates(cfg)
    split = f"{len(data.raw_train)} train" + (f", {len(data.raw_test)} test" if len(data.raw_test) else "")
    with plt.rc_context(STYLE):
        fig, axs = plt.subplots(1, 2 if both else 1, figsize=(11.5 if both else 6.8, 5), squeeze=False)
        ax = axs[0, 0]
        mappable = scatter(ax, data, legend=None if both else legend_outside)
        ax.set_xlabel(data.feature_names[0])
        ax.set_ylabel(data.feature_names[1])
        ax.set_title(f"{name or cfg.name}: data ({cfg.data.source}, {split})", fontsize=9)
        below = mappable is not None and not both and split_handles(data)
        if mappable is not None:
            fig.colorbar(mappable, ax=ax, label="target")
        if below:  # regression: the colour bar holds the right; the shapes' legend under the x label
            ax.legend(handles=split_handles(data), loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
                      fontsize=8, frameon=False)
        if both:
            right = axs[0, 1]
            scatter(right, data, data.X_train, data.X_test)
            xlabel, ylabel = _transformed_labels(cfg)
            right.set_xlabel(xlabel)
            right.set_ylabel(ylabel)
            right.set_title("as the network sees it: " + " → ".join(cfg.data.transform), fontsize=9)
        if both:
            fig.tight_layout()
        else:  # fixed margins: tight_layout measures every label (slow), and the room is known
            fig.subplots_adjust(left=0.12, right=0.98 if mappable is not None else 0.78, bottom=0.17 if below else 0.11,
                                top=0.93)
        save(fig, path)


def _draw_data(run, path):
    plot_data(run.data, run.cfg, path, run.name)


def output_map(network, data, resolution: int):
    """(G0, G1, outputs on the grid): the network's a_L over the input plane."""
    G0, G1, points = grid(data, resolution)
    return G0, G1, network.predict(data.transform(points))


def _image_options(G0, G1) -> dict:
    """imshow over a regular grid (much faster than pcolormesh), in data coordinates."""
    return {"origin": "lower", "extent": (G0.min(), G0.max(), G1.min(), G1.max()), "aspect": "auto",
            "interpolation": "nearest"}


#: the least span (max - min over the map) of one output unit's a_L for its 0.5 contour to be
#: drawn. A fresh network's sigmoid output is about 0.5 everywhere (0.499-0.501 for
#: moons_deep_relu at iteration 0): its 0.5 contour is real but follows ripples of a few
#: thousandths in a map that looks flat, stray lines that the network has not learned. On
#: the shared 0-1 colour scale 0.05 is about the least difference the eye can see.
MIN_BOUNDARY_SPAN = 0.05


def boundary_note(P) -> str:
    """'' when the 0.5 contour of one output unit's map ``P`` is a decision boundary worth
    drawing; else the words that say why the map has none, with the output's range:
    'no decision boundary yet: output 0.499–0.501' (too flat to hold one), or 'no decision
    boundary: output 0.612–0.904, above 0.5 everywhere'."""
    P = np.asarray(P, dtype=float)
    finite = P[np.isfinite(P)]
    if not finite.size:
        return "no decision boundary: the output is not a number anywhere"
    lo, hi = float(finite.min()), float(finite.max())
    span = f"output {lo:.3f}–{hi:.3f}" if f"{lo:.3f}" != f"{hi:.3f}" else f"output {lo:.3f} everywhere"
    if hi - lo < MIN_BOUNDARY_SPAN:
        return f"no decision boundary yet: {span}"
    if not lo < 0.5 < hi:
        return f"no decision boundary: {span}, {'above' if lo >= 0.5 else 'below'} 0.5 everywhere"
    return ""


def note_on_map(ax, text: str = ""):
    """A line of text at the top of a map, on a pale box over the data (the boundary note)."""
    return ax.text(0.5, 0.97, text, transform=ax.transAxes, ha="center", va="top", fontsize=9, zorder=6,
                   bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "0.5", "alpha": 0.85})


def draw_map(ax, fig, G0, G1, out, cfg, data, colorbar: bool = True, boundary: bool = True, limits=None):
    """Shade a map of outputs: classes by colour (several units), or a_L with the 0.5 contour (one)
    where it is a boundary (:func:`boundary_note`; else the note says why there is none).
    ``limits``: the (vmin, vmax) of one unit's colour scale, shared by an animation's frames;
    by default 0-1 for a sigmoid, else this map's range."""
    from matplotlib.colors import ListedColormap

    out = np.where(np.isfinite(out), out, np.nan)
    if out.shape[1] > 1:
        k = out.shape[1]
        cmap = ListedColormap([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(k)])
        winner = np.where(np.isnan(out).any(axis=1), np.nan, np.nan_to_num(out).argmax(axis=1))
        return ax.imshow(winner.reshape(G0.shape), cmap=cmap, vmin=-0.5, vmax=k - 0.5, alpha=0.35,
                         **_image_options(G0, G1))
    P = out[:, 0].reshape(G0.shape)
    classify = data.task == "classification"
    bounded = cfg.model.output == "sigmoid"
    vmin, vmax = limits if limits is not None else (0.0, 1.0) if bounded else \
        (np.nanmin(P), np.nanmax(P)) if np.isfinite(P).any() else (0, 1)
    if not vmax > vmin:
        vmax = vmin + 1.0
    mesh = ax.imshow(P, cmap="RdBu_r" if classify else "viridis", vmin=vmin, vmax=vmax, alpha=0.75,
                     **_image_options(G0, G1))
    if colorbar:
        label = ("predicted probability of class " + data.class_names[-1] if (classify and bounded)
                 else "network output")
        fig.colorbar(mesh, ax=ax, label=label)
    if boundary and classify:
        note = boundary_note(P)
        if note:
            note_on_map(ax, note)
        else:
            ax.contour(G0, G1, P, levels=[0.5], colors="k", linewidths=1.0)
    return mesh


def plot_regions(network, data, cfg, path, accuracy: str = "", name=None) -> None:
    """Decision regions over the data's range, in the ORIGINAL coordinates.

    Several outputs: each point shaded by its largest output (class). One output: a map of
    a_L (the probability for a sigmoid unit) with a colour bar and the 0.5 contour.
    """
    import matplotlib.pyplot as plt

    resolution = 200  # imshow shows 200 x 200 cells as a smooth map at this size
    G0, G1, out = output_map(network, data, resolution)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.0, 5.9))
        draw_map(ax, fig, G0, G1, out, cfg, data)
        legend = legend_below
        if out.shape[1] > 1:  # the shading is the class: the legend says so (one unit has its colour bar)
            from matplotlib.patches import Patch

            shade = Patch(facecolor="0.8", edgecolor="0.6", label="shade: class predicted there")
            legend = lambda ax, handles: legend_below(ax, [*handles, shade])  # noqa: E731
        scatter(ax, data, legend=legend)
        ax.set_xlim(G0.min(), G0.max())
        ax.set_ylim(G1.min(), G1.max())
        ax.set_xlabel(data.feature_names[0])
        ax.set_ylabel(data.feature_names[1])
        ax.set_title(describe(cfg, name) + (f"\n{accuracy}" if accuracy else ""), fontsize=9)
        fig.subplots_adjust(left=0.12, right=0.97, bottom=0.17, top=0.9)  # room for the legend below
        save(fig, path)


def _draw_regions(run, path):
    plot_regions(run.network, run.data, run.cfg, path, accuracy_line(run.metrics), run.name)


MAX_UNITS_SHOWN = 10


def plot_neurons(network, data, cfg, path, name=None) -> None:
    """Each unit's activation a_l over the input plane (TensorFlow Playground's maps).

    One row per layer (hidden layers, then the output layer), in the original coordinates.
    Layers wider than 10 units show the 10 whose activation varies most over the plane.
    """
    import matplotlib.pyplot as plt
    from matplotlib.transforms import ScaledTranslation

    n = 48
    G0, G1, points = grid(data, n)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _, A = network.forward(data.transform(points).T)
    layers = A[1:]
    columns = min(MAX_UNITS_SHOWN, max(a.shape[0] for a in layers))
    gap = 6  # pixels of blank between two units' maps
    # each layer is ONE image, the units' maps side by side: a few axes instead of dozens
    with plt.rc_context(STYLE | {"axes.grid": False}):
        width, height = max(6.5, 1.05 * columns + 1.6), 1.3 * len(layers) + 0.8
        fig, axs = plt.subplots(len(layers), 1, figsize=(width, height), squeeze=False)
        below = ScaledTranslation(0, -2 / 72, fig.dpi_scale_trans)  # 2 points down
        for l, a in enumerate(layers):
            ax = axs[l, 0]
            under = ax.get_xaxis_transform() + below  # x in data, y in axes (0: the bottom edge)
            a = np.where(np.isfinite(a), a, np.nan)
            spread = np.nan_to_num(np.nanmax(a, axis=1) - np.nanmin(a, axis=1), nan=-1.0)
            units = np.sort(np.argsort(-spread, kind="stable")[:columns])
            finite = a[units][np.isfinite(a[units])]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            if network.activations[l] in ("sigmoid", "softmax"):
                lo, hi = 0.0, 1.0
            elif network.activations[l] == "tanh":
                lo, hi = -1.0, 1.0
            if not hi > lo:
                hi = lo + 1.0
            mosaic = np.full((n, columns * (n + gap) - gap), np.nan)
            for j, unit in enumerate(units):
                mosaic[:, j * (n + gap):j * (n + gap) + n] = a[unit].reshape(n, n)
            image = ax.imshow(mosaic, origin="lower", cmap="RdBu_r" if lo < 0 else "viridis", vmin=lo, vmax=hi,
                              interpolation="nearest", aspect="auto")
            # unit names as plain texts where tick labels would be (2 pt under the maps): a tick
            # also builds and measures marks and labels that are never seen
            ax.set_xticks([])
            ax.set_yticks([])
            for j, unit in enumerate(units):
                ax.text(j * (n + gap) + n / 2, 0, f"unit {unit + 1}", transform=under, ha="center", va="top",
                        fontsize=7)
            for side in ax.spines.values():
                side.set_visible(False)
            kind = "output" if l == network.n_layers - 1 else f"hidden {l + 1}"
            shown = "" if len(units) == a.shape[0] else f"\n{len(units)} of {a.shape[0]},\nmost varied"
            ax.set_ylabel(f"layer {l + 1}\n({kind}, {network.activations[l]}){shown}", fontsize=7)
            cbar = fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01)
            cbar.ax.tick_params(labelsize=6)
            cbar.set_label(f"{network.activations[l]}(z)", fontsize=6)  # what the colour measures
        fig.suptitle(f"{name or cfg.name}: activation of each unit over the input plane\n"
                     f"({data.feature_names[0]} across, {data.feature_names[1]} up, over the data's range)", fontsize=9)
        fig.subplots_adjust(left=1.0 / width, right=1 - 0.6 / width, bottom=0.3 / height, top=1 - 0.75 / height,
                            hspace=0.4)
        save(fig, path)


def _draw_neurons(run, path):
    plot_neurons(run.network, run.data, run.cfg, path, run.name)


# this family's pictures, name -> Picture(applies, draw, cost), in the order they are drawn
PICTURES: dict[str, Picture] = {
    "data": Picture(lambda run: run.inputs(2) and run.one_target, _draw_data, cost=0.20),
    "regions": Picture(lambda run: run.inputs(2) and run.classify, _draw_regions, cost=0.28),
    "neurons": Picture(lambda run: run.inputs(2), _draw_neurons, cost=0.40),
}
