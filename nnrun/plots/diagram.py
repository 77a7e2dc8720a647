"""The network as a diagram (E3): layers as columns of units, weights as links.

A link from unit j of layer l-1 to unit i of layer l is W_l[i, j]: red when positive,
blue when negative, its width proportional to |W_l[i, j]| / max |W|. A unit's fill is
its bias b_l[i] on the same red/blue scale. Past a readable size (more than 20 units in
a layer or 300 links) the diagram is a faithful summary: per layer the 20 units with the
largest total |weight| in and out, and among their links the 300 strongest; the title
says how many of each are shown.
"""

from __future__ import annotations

import textwrap

import numpy as np

from nnrun.plots.style import STYLE, save
from nnrun.plots.view import Picture

MAX_UNITS = 20
MAX_LINKS = 300


def _kept_units(network) -> list[np.ndarray]:
    """Indices of the units drawn in each layer (all, or the MAX_UNITS most connected)."""
    kept = []
    for l, n in enumerate(network.sizes):
        if n <= MAX_UNITS:
            kept.append(np.arange(n))
            continue
        strength = np.zeros(n)
        if l > 0:
            strength += np.nan_to_num(np.abs(network.W[l - 1])).sum(axis=1)
        if l < network.n_layers:
            strength += np.nan_to_num(np.abs(network.W[l])).sum(axis=0)
        kept.append(np.sort(np.argsort(-strength, kind="stable")[:MAX_UNITS]))
    return kept


def plot_network(network, cfg, path, input_names=None, name=None, class_names=None) -> None:
    """network.png: units as columns of circles (filled by their bias), the strongest
    links as lines (red w > 0, blue w < 0, width ∝ |w|), a colour bar for the bias; the
    inputs named, and the output units by their classes (one unit per class, at most 10)."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    kept = _kept_units(network)
    ys = [np.linspace(0.5, -0.5, len(k)) * (len(k) - 1) / max(len(k) - 1, 1) * min(1.0, len(k) / 6 + 0.2)
          for k in kept]
    links, weights = _links(network, kept, ys)
    total_links = sum(W.size for W in network.W)
    finite = np.isfinite(weights)
    order = np.argsort(-np.abs(np.where(finite, weights, 0.0)), kind="stable")[:MAX_LINKS]
    order = order[finite[order]][::-1]  # strongest drawn last, on top
    w_max = float(np.abs(weights[finite]).max()) if finite.any() else 1.0
    all_bias = np.concatenate([b[np.isfinite(b)] for b in network.b]) if network.b else np.zeros(1)
    b_max = float(np.abs(all_bias).max()) if all_bias.size else 1.0
    b_norm = Normalize(-b_max or -1.0, b_max or 1.0)
    cmap = plt.get_cmap("RdBu_r")
    with plt.rc_context(STYLE | {"axes.grid": False}):
        width = 1.9 * len(network.sizes) + 2.0
        fig, ax = plt.subplots(figsize=(width, 5.0))
        if len(order):
            segments = [links[k] for k in order]
            colours = ["#c0392b" if weights[k] > 0 else "#2e6fbd" for k in order]
            widths = 0.3 + 3.2 * np.abs(weights[order]) / (w_max or 1.0)
            ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, alpha=0.75, zorder=1))
        _draw_units(ax, network, kept, ys, lambda v: cmap(b_norm(v)), input_names, class_names)
        ax.set_xlim(-0.6, network.n_layers + 0.6)
        ax.set_ylim(-0.62, 0.95)
        ax.axis("off")
        sm = plt.cm.ScalarMappable(norm=b_norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, fraction=0.03, pad=0.01, label="bias b (unit fill)")
        shown = ("all links" if len(order) == total_links
                 else f"the {len(order)} strongest of {total_links} links")
        title = (f"{name or cfg.name}: {'-'.join(map(str, network.sizes))}; {shown}, red w > 0, blue w < 0, "
                 f"width ∝ |w| (max |w| = {w_max:.3g})")
        # wrapped to the figure's width (~13 characters an inch at 9 pt): one line ran off a 3-layer figure
        lines = textwrap.wrap(title, int(width * 13))
        ax.set_title("\n".join(lines), fontsize=9)
        # 0.75 in on the right for the colour bar's tick labels and its label (0.02 cut them off)
        fig.subplots_adjust(left=0.02, right=1 - 0.75 / width, bottom=0.02, top=0.93 - 0.035 * (len(lines) - 1))
        save(fig, path)


def _draw_network(run, path):
    plot_network(run.network, run.cfg, path, run.data.feature_names if run.data else None, run.name,
                 run.data.class_names if run.data else None)


def _links(network, kept, ys):
    """Every link between drawn units as a segment ((layer, y), (layer + 1, y')), and its
    weight W_l[i, j]."""
    links, weights = [], []
    for l in range(network.n_layers):
        W = network.W[l][np.ix_(kept[l + 1], kept[l])]
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                links.append(((l, ys[l][j]), (l + 1, ys[l + 1][i])))
                weights.append(W[i, j])
    return links, np.array(weights)


def _draw_units(ax, network, kept, ys, bias_colour, input_names, class_names=None) -> None:
    """The units of each layer as circles (inputs white, others their bias' colour, grey
    when not finite), the input names beside a small input layer, the class names beside
    the output units (one per class, at most 10), each layer's caption."""
    unit_size = 260 if max(len(k) for k in kept) <= 10 else 110
    for l, (units, y) in enumerate(zip(kept, ys)):
        if l == 0:
            face = ["white"] * len(units)
        else:
            b = network.b[l - 1][units]
            face = [bias_colour(v) if np.isfinite(v) else "#d0d0d0" for v in b]
        ax.scatter(np.full(len(units), l), y, s=unit_size, c=face, edgecolors="k", linewidths=0.8, zorder=3)
        if len(units) <= 20 and l == 0 and input_names:  # which inputs (of an image's 64, the 20 kept)
            for u, yy in zip(units, y):
                ax.text(l - 0.12, yy, input_names[u] if u < len(input_names) else "", ha="right",
                        va="center", fontsize=8 if len(units) <= 10 else 6.5)
        if l == network.n_layers and class_names and len(class_names) == len(units) == network.sizes[l] <= 10:
            for u, yy in zip(units, y):
                ax.text(l + 0.12, yy, str(class_names[u]), ha="left", va="center", fontsize=8)
        layer = "input" if l == 0 else ("output" if l == network.n_layers else f"hidden {l}")
        act = "" if l == 0 else f"\n{network.activations[l - 1]}"
        count = f"{network.sizes[l]}" if len(units) == network.sizes[l] else f"{len(units)} of {network.sizes[l]}"
        plural = "s" if network.sizes[l] != 1 else ""
        ax.text(l, 0.68, f"{layer}\n{count} unit{plural}{act}", ha="center", va="bottom", fontsize=8)


# this family's pictures, name -> Picture(applies, draw, cost)
PICTURES: dict[str, Picture] = {
    "network": Picture(lambda run: True, _draw_network, cost=0.25),
}
