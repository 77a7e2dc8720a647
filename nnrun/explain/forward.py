"""``nnrun explain RUN --input 0.3,0.7``: one input through a trained network, every number.

The input goes through the transforms fitted in training (as ``nnrun predict`` does),
then z_l = W_l a_{l-1} + b_l, a_l = f_l(z_l) layer by layer, and the decision: the class
of the largest output (one sigmoid unit: class 1 when a_L >= 0.5), or the value for a
regression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnrun.errors import NnrunError


def parse_input(text: str, features: list[str]) -> np.ndarray:
    """'0.3,0.7' (a CSV row of the feature values) as a row of floats, one per feature."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = np.array([float(p) for p in parts])
    except ValueError:
        raise NnrunError(f"--input: {text!r} is not a comma-separated list of numbers; give one number per feature "
                         f"({', '.join(features)}), e.g. --input {','.join(['0.5'] * len(features))}") from None
    if len(values) != len(features):
        raise NnrunError(f"--input: {len(values)} value{'s' if len(values) != 1 else ''} ({text}); the run takes "
                         f"{len(features)} ({', '.join(features)})")
    if not np.isfinite(values).all():
        raise NnrunError(f"--input: {text!r} holds a value that is not finite; give finite numbers")
    return values


def explain_input(run_dir: str | Path, text: str) -> dict:
    """The forward pass of a trained run on one raw input, and its decision."""
    from nnrun.tools.predict import load_predictor

    predictor = load_predictor(run_dir)
    x = parse_input(text, predictor.features)
    a0 = predictor.transform(x[None, :])[0]
    net = predictor.network
    Z, A = net.forward(a0[:, None])
    layers = [{"layer": l + 1, "activation": net.activations[l], "W": net.W[l].tolist(), "b": net.b[l].tolist(),
               "z": Z[l][:, 0].tolist(), "a": A[l + 1][:, 0].tolist()} for l in range(net.n_layers)]
    out = A[-1][:, 0]
    result = {"run": str(run_dir), "features": predictor.features, "x": x.tolist(), "a0": a0.tolist(),
              "transforms": list(predictor.transform.names),
              "layers": layers, "output": out.tolist()}
    result.update(decide(out, predictor))
    return result


def decide(out: np.ndarray, predictor) -> dict:
    """{'decision': text, 'class': name or None, 'value': number or None}."""
    if predictor.task == "regression":
        value = ", ".join(f"{v:.9g}" for v in out)
        return {"decision": f"prediction: {value}", "class": None, "value": out.tolist()}
    names = predictor.class_names
    if len(out) == 1:  # one sigmoid unit: p(last class) = a_L
        k = int(out[0] >= 0.5)
        why = f"the one output, {out[0]:.9g}, is {'at least' if k else 'below'} 0.5"
    else:  # output units count from 1, as layers do; the class is the unit's name
        order = np.argsort(-out, kind="stable")
        k = int(order[0])
        why = (f"output unit {k + 1} of 2 is the larger, {out[k]:.9g} against {out[order[1]]:.9g}" if len(out) == 2
               else f"output unit {k + 1} of {len(out)} is the largest, {out[k]:.9g}; the next is unit "
                    f"{order[1] + 1} ({names[order[1]]}), {out[order[1]]:.9g}")
    return {"decision": f"class {names[k]}: {why}", "class": names[k], "value": None}
