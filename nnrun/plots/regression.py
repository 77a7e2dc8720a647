"""Regression pictures (E5): the fitted curve or surface, and predicted against true, for
one target (a regression of several targets has neither: which would it show?).

R^2 = 1 - SS_res / SS_tot, SS_res = sum_i (y_i - yhat_i)^2, SS_tot = sum_i (y_i - mean y)^2,
per set (1 is a perfect fit, 0 is no better than predicting the mean).
"""

from __future__ import annotations

import numpy as np

from nnrun.plots.plane import grid
from nnrun.plots.style import STYLE, describe, legend_outside, save
from nnrun.plots.view import Picture


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    if len(y) < 2 or not np.isfinite(pred).all():
        return np.nan
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return np.nan if ss_tot == 0 else 1.0 - float(((y - pred) ** 2).sum()) / ss_tot


def _predictions(network, data):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return network.predict(data.X_train)[:, 0], (network.predict(data.X_test)[:, 0] if data.has_test
                                                     else np.empty(0))


def r2_line(network, data) -> str:
    p_train, p_test = _predictions(network, data)
    parts = [f"R² train {r2(data.labels_train, p_train):.3f}"]
    if data.has_test:
        parts.append(f"test {r2(data.labels_test, p_test):.3f}")
    return ", ".join(parts)


def plot_fit(network, data, cfg, path, name=None) -> None:
    """One input: data, test points and the fitted curve. Two: the predicted surface, data coloured by target."""
    import matplotlib.pyplot as plt

    title = f"{describe(cfg, name)}\n{r2_line(network, data)}"
    with plt.rc_context(STYLE), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if data.raw_train.shape[1] == 1:
            fig, ax = plt.subplots(figsize=(8.2, 4.6))
            X = np.vstack([data.raw_train, data.raw_test])
            lo, hi = float(X.min()), float(X.max())
            pad = 0.03 * (hi - lo if hi > lo else 1.0)
            xs = np.linspace(lo - pad, hi + pad, 600)[:, None]
            ys = network.predict(data.transform(xs))[:, 0]
            handles = [ax.scatter(data.raw_train[:, 0], data.labels_train, s=12, color="C0", alpha=0.6,
                                  edgecolors="none", label="training data")]
            if data.has_test:
                handles.append(ax.scatter(data.raw_test[:, 0], data.labels_test, s=30, marker="X", color="C1",
                                          edgecolors="k", linewidths=0.4, label="test data"))
            handles += ax.plot(xs[:, 0], np.where(np.isfinite(ys), ys, np.nan), color="k", lw=2,
                               label="network's fit")
            ax.set_xlim(xs[0, 0], xs[-1, 0])
            ax.set_xlabel(data.feature_names[0])
            ax.set_ylabel("target")
            legend_outside(ax, handles)
        else:
            fig, ax = plt.subplots(figsize=(7.2, 5.6))
            G0, G1, points = grid(data, 200)
            P = network.predict(data.transform(points))[:, 0].reshape(G0.shape)
            targets = np.concatenate([data.labels_train, data.labels_test])
            values = np.concatenate([targets, P[np.isfinite(P)].ravel()])
            vmin, vmax = float(values.min()), float(values.max())
            mesh = ax.imshow(np.where(np.isfinite(P), P, np.nan), cmap="viridis", vmin=vmin, vmax=vmax,
                             origin="lower", extent=(G0.min(), G0.max(), G1.min(), G1.max()), aspect="auto",
                             interpolation="nearest")
            for X, y, marker in ((data.raw_train, data.labels_train, "o"), (data.raw_test, data.labels_test, "X")):
                if len(X):
                    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="viridis", vmin=vmin, vmax=vmax, marker=marker,
                               s=16 if marker == "o" else 30, edgecolors="k", linewidths=0.35, zorder=3)
            fig.colorbar(mesh, ax=ax, label="prediction (map) and target (points)")
            ax.set_xlabel(data.feature_names[0])
            ax.set_ylabel(data.feature_names[1])
            ax.set_xlim(G0.min(), G0.max())
            ax.set_ylim(G1.min(), G1.max())
            title += "; points: data (train ○, test ×), a point unlike its background is badly fitted"
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        save(fig, path)


def _draw_fit(run, path):
    plot_fit(run.network, run.data, run.cfg, path, run.name)


def plot_residuals(network, data, cfg, path, name=None) -> None:
    """Predicted against true target, with the line y = x where a perfect fit lies."""
    import matplotlib.pyplot as plt

    p_train, p_test = _predictions(network, data)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.4, 5.4))
        handles = [ax.scatter(data.labels_train, np.where(np.isfinite(p_train), p_train, np.nan), s=12,
                              color="C0", alpha=0.6, edgecolors="none", label="training")]
        if data.has_test:
            handles.append(ax.scatter(data.labels_test, np.where(np.isfinite(p_test), p_test, np.nan), s=30,
                                      marker="X", color="C1", edgecolors="k", linewidths=0.4, label="test"))
        values = np.concatenate([data.labels_train, data.labels_test, p_train[np.isfinite(p_train)],
                                 p_test[np.isfinite(p_test)]])
        lo, hi = float(values.min()), float(values.max())
        pad = 0.04 * (hi - lo if hi > lo else 1.0)
        handles += ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", lw=1, ls="--",
                           label="perfect fit (y = x)")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.set_xlabel("true target")
        ax.set_ylabel("network's prediction")
        ax.set_title(f"{describe(cfg, name)}\n{r2_line(network, data)}", fontsize=9)
        legend_outside(ax, handles)
        fig.tight_layout()
        save(fig, path)


def _draw_residuals(run, path):
    plot_residuals(run.network, run.data, run.cfg, path, run.name)


# this family's pictures, name -> Picture(applies, draw), in the order they are drawn
PICTURES: dict[str, Picture] = {
    "fit": Picture(lambda run: run.one_target and not run.classify and run.data.raw_train.shape[1] in (1, 2),
                   _draw_fit),
    "residuals": Picture(lambda run: run.one_target and not run.classify, _draw_residuals),
}
