"""Diagnostics: what went wrong in a run, in words.

:func:`diagnose` looks at the history and the trained network and returns a dict for
``metrics.json`` with a list of ``hints``, each a sentence a student can act on:

- divergence: a non-finite loss or gradient (learning rate too high for the activation,
  loss and scale of the data);
- a blow-up: the final loss more than GROWTH_FACTOR times the best seen and above where
  it started (``blew_up_at``); the run is then reported as diverged too, since a sigmoid
  or softmax network driven by a huge eta saturates instead of reaching infinity;
- loss growth: the final loss far above the best seen;
- dead ReLU units (output 0 on every training point) and saturated sigmoid/tanh units
  (|f'| tiny on every training point), per hidden layer, as fractions;
- a classifier that puts every point in one class.
"""

from __future__ import annotations

import numpy as np

from nnrun.maths.activations import ACTIVATIONS

GROWTH_FACTOR = 10.0
SATURATION = 1e-3  # |f'(z)| below this (relative to its maximum) counts as saturated


def unit_health(network, X_rows: np.ndarray) -> list[dict]:
    """Per hidden layer: fraction of dead (rectifying) and saturated (squashing) units."""
    Z, A = network.forward(X_rows.T)
    layers = []
    for l, name in enumerate(network.activations[:-1]):
        act = ACTIVATIONS.get(name)
        z, a = Z[l], A[l + 1]
        entry = {"layer": l + 1, "activation": name, "units": int(z.shape[0])}
        if act is not None and act.rectifying:
            entry["dead_fraction"] = float(np.mean(np.all(a <= 0.0, axis=1)))
        if act is not None and act.saturating:
            peak = float(act.df(np.zeros(1), act.f(np.zeros(1)))[0])
            slope = act.df(z, a) / peak
            entry["saturated_fraction"] = float(np.mean(np.all(slope < SATURATION, axis=1)))
        layers.append(entry)
    return layers


def blow_up_iteration(history: np.ndarray) -> int:
    """The first recorded iteration whose training loss exceeds GROWTH_FACTOR times the best before it."""
    losses = np.where(np.isfinite(history[:, 1]), history[:, 1], np.inf)
    best_before = np.minimum.accumulate(losses)
    above = np.flatnonzero(losses[1:] > GROWTH_FACTOR * best_before[:-1])
    return int(history[above[0] + 1, 0]) if len(above) else int(history[-1, 0])


def unit_hints(layers: list[dict], cfg) -> list[str]:
    """One hint for the layers where at least half the units are dead, one for those where
    at least half are saturated; each offers only the remedies the config does not use yet."""
    hints = []
    init, transform = cfg.model.init, cfg.data.transform
    for kind, key, what, remedies in (
        ("dead", "dead_fraction", "output 0 on every training point, so no gradient flows through them",
         ["leaky_relu/elu", "a smaller eta"] + ([] if init == "he" else ["init: he"])),
        ("saturated", "saturated_fraction", "on every training point: vanishing gradients",
         ([] if "standardize" in transform else ["data.transform: [standardize]"])
         + (["a smaller model.init_scale"] if init == "normal" else [])
         + ([] if init == "xavier" else ["init: xavier"]) + ["a smaller eta"]),
    ):
        hit = [e for e in layers if e.get(key, 0.0) >= 0.5]
        if not hit:
            continue
        where = "; ".join(f"{e[key]:.0%} of the {e['units']} {e['activation']} units of hidden layer {e['layer']}"
                          for e in hit)
        advice = " or ".join(filter(None, [", ".join(remedies[:-1]), remedies[-1]]))
        hints.append(f"{kind} units ({what}): {where}; try {advice}")
    return hints


def diagnose(cfg, history: np.ndarray, network, data, status: str, diverged_at: int | None) -> dict:
    """Findings and hints for metrics.json (``history`` columns as train.HISTORY_COLUMNS)."""
    hints = []
    t = cfg.train
    act = cfg.model.activation if isinstance(cfg.model.activation, str) else ",".join(cfg.model.activation)
    scale = float(np.abs(data.X_train).max()) if data.X_train.size else 0.0
    out = {"hints": hints}
    if status == "diverged":
        out["diverged_at"] = diverged_at
        hints.append(
            f"training diverged at iteration {diverged_at}: the loss or gradient became non-finite. "
            f"eta={t.eta:g} is too high for {act} units with the {t.loss} loss on inputs up to |x|={scale:.3g}; "
            f"try eta={t.eta / 10:g}" + ("" if "standardize" in cfg.data.transform or scale <= 10
                                         else " and data.transform: [standardize]")
        )
    losses = history[:, 1]
    finite = losses[np.isfinite(losses)]
    if finite.size >= 2:
        best, final, first = float(finite.min()), float(finite[-1]), float(finite[0])
        out.update(first_loss=first, best_loss=best, final_loss=final)
        if best > 0 and final > GROWTH_FACTOR * best and status != "diverged":
            if final > first:
                out["blew_up_at"] = blow_up_iteration(history)
            hints.append(
                f"the loss grew: final {final:.3g} is {final / best:.3g}x the best seen ({best:.3g}); "
                f"the learning rate eta={t.eta:g} is likely too high, or units died (see below)"
            )
        elif final >= first and status == "completed":
            hints.append(f"the loss did not fall (first {first:.3g}, final {final:.3g}): "
                         "check eta, the initialisation scale and the activation")
    if np.isfinite(network.theta).all() and len(data.X_train):
        layers = unit_health(network, data.X_train)
        out["layers"] = layers
        hints.extend(unit_hints(layers, cfg))
        if data.task == "classification":
            P = network.predict(data.X_train)
            out_act = ACTIVATIONS.get(cfg.model.output)
            if out_act is not None and out_act.rectifying:
                dead = np.flatnonzero(np.all(P <= 0.0, axis=0))
                if len(dead):
                    out["dead_output_units"] = dead.tolist()
                    hints.append(
                        f"output unit{'s' if len(dead) > 1 else ''} {', '.join(map(str, dead))} of the "
                        f"{cfg.model.output} output layer {'are' if len(dead) > 1 else 'is'} dead (0 on every "
                        "training point, so no gradient reaches it): a rectifier is a poor output; use "
                        "softmax or sigmoid with cross-entropy, or identity"
                    )
            predicted = (P[:, 0] >= 0.5).astype(int) if P.shape[1] == 1 else P.argmax(axis=1)
            classes = np.unique(predicted)
            out["predicted_classes"] = int(len(classes))
            if len(classes) == 1 and data.n_classes > 1:
                hints.append(
                    f"the classifier puts every training point in class {data.class_names[int(classes[0])]}: "
                    "it has learned nothing about the boundary"
                    + (" (with a relu output layer, outputs stuck at 0 tie and argmax picks the first class)"
                       if cfg.model.output == "relu" else "")
                )
    return out
