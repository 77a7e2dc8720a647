"""The first N updates of a run, every number kept: what ``nnrun explain`` shows.

The run is the one ``nnrun train`` does for the config: the same initial weights, the same
sample indices and dropout masks (one draw of the sampler for the N iterations, as
training's first chunk), the same optimizer, schedule and records. It runs on the NumPy
reference engine (:class:`nnrun.engines.reference.NumpyEngine`), whose iteration reads as
the equations, and the engine hands each :class:`~nnrun.engines.reference.Iteration` to
:func:`explain_steps` as it goes. So the weights after N explained steps are bit for bit
those of ``nnrun train CONFIG train.engine=numpy`` after N iterations, and within 1e-10 of
the compiled engines'.

Per step, per layer l = 1..L (samples as rows, weights in model.npz's shapes)::

    z_l = W_l a_{l-1} + b_l,   a_l = f_l(z_l)           (times the dropout mask m_l on hidden layers)
    delta_L = dC/dz_L (the loss's own formula),  delta_l = f_l'(z_l) o (W_{l+1}^T delta_{l+1}) [o m_l]
    dC/dW_l = (1/m) sum_i delta_l a_{l-1}^T + lambda W_l,   dC/db_l = (1/m) sum_i delta_l
    W_l, b_l <- the optimizer's update with eta of this step

The layout is JSON's (:data:`LAYOUT`): ``{"steps": [{"iteration", "samples", "loss",
"layers": [{"layer", "z", "a", "delta", "grad_W", "grad_b", "W_after", "b_after"}, ...]}]}``
plus what a reader needs to redo the step (W and b before it, a_0, eta, the optimizer's
state, the masks).
"""

from __future__ import annotations

import numpy as np

from nnrun.engines import layout as ix
from nnrun.engines import make_engine
from nnrun.engines.layout import HISTORY_COLUMNS
from nnrun.maths.losses import LOSSES
from nnrun.maths.network import evaluate
from nnrun.maths.optimizers import OPTIMIZERS
from nnrun.training import plan_training, record_start

#: the fields of a step and of a layer, with their shapes (m: samples in the step,
#: n_l: units of layer l); what ``--check`` accepts
STEP_FIELDS = {
    "iteration": "an integer, from 1",
    "samples": "a list of {index, x, y}",
    "eta": "a number",
    "loss": "a number: the mean loss of the step's samples",
    "objective": "a number: loss + lambda/2 sum ||W||^2",
    "train_loss": "a number: the loss over the whole training set before the step",
    "a0": "(m, n_0)",
    "optimizer": "a mapping",
    "layers": "a list, one entry per weight layer",
}
LAYER_FIELDS = {
    "layer": "an integer, from 1",
    "activation": "a name",
    "W": "(n_l, n_{l-1})", "b": "(n_l,)",
    "z": "(m, n_l)", "a": "(m, n_l)", "mask": "(m, n_l)", "delta": "(m, n_l)",
    "grad_W_data": "(n_l, n_{l-1})", "grad_W": "(n_l, n_{l-1})", "grad_b": "(n_l,)",
    "W_after": "(n_l, n_{l-1})", "b_after": "(n_l,)",
}


def explain_steps(cfg, data, steps: int = 1) -> dict:
    """The first ``steps`` updates of the run of ``cfg`` on ``data``, as nested lists and
    numbers (full precision): see the module's docstring for the layout."""
    cfg = cfg.model_copy(deep=True)
    cfg.train.engine = "numpy"  # the reference engine: its iteration is the equations
    plan = plan_training(cfg, data, None, None)
    net, method = plan.net, plan.method
    engine = make_engine("numpy", net, method, data, dropout=plan.dropout,
                         full_batch=cfg.train.batch_size == "full")
    records = []
    record_start(plan, engine, records.append)
    steps = min(steps, plan.total)
    idx, ptr, masks = plan.sampler.chunk(steps)  # one draw, as training's first chunk
    buffer = np.full((steps + 2, len(HISTORY_COLUMNS)), np.nan)
    seen = []
    engine.watch = seen.append
    out = []
    for k in range(steps):
        batch = idx[ptr[k]:ptr[k + 1]]
        before = [W.copy() for W in net.W], [b.copy() for b in net.b]
        train_loss = _train_loss(net, data, method)
        step_masks = masks[ptr[k]:ptr[k + 1]] if masks.size else masks
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            done, _, code = engine.run_chunk(batch, np.array([0, len(batch)]), step_masks, k, buffer)
        out.append(_step(k + 1, seen[-1], batch, data, net, method, cfg, before, train_loss,
                         net.layer_masks(step_masks)))
        if code == ix.DIVERGED:
            out[-1]["diverged"] = True
            break
        if code == ix.STOPPED:
            out[-1]["stopped_early"] = True
            break
    return {"steps": out, "network": _describe(cfg, net, plan),
            "planned_iterations": plan.total, "engine": "numpy"}


def _train_loss(net, data, method) -> float:
    return float(evaluate(net, data.X_train, data.Y_train, method.loss, method.classify)[0])


def _rows(columns: np.ndarray) -> list:
    """A (n, m) array of columns as m rows (samples as rows)."""
    return np.asarray(columns).T.tolist()


def _step(iteration, it, batch, data, net, method, cfg, before, train_loss, layer_masks) -> dict:
    """One step's numbers from the engine's :class:`Iteration`, samples as rows."""
    lam = float(method.hyper[ix.LAMBDA])
    W0, b0 = before
    output = net.activations[-1]
    per_sample = LOSSES[method.loss].value(it.Z[-1], it.A[-1], data.Y_train[batch].T, output)
    loss = float(per_sample.mean())
    step = {
        "iteration": iteration,
        "samples": [{"index": int(i), "x": data.raw_train[i].tolist(), "y": data.Y_train[i].tolist()}
                    for i in batch],
        "eta": float(it.eta),
        "loss": loss,
        "train_loss": train_loss,
        "a0": _rows(it.A[0]),
        "layers": [],
    }
    if lam > 0:
        step["objective"] = loss + 0.5 * lam * sum(float((W * W).sum()) for W in W0)
    step["optimizer"] = _optimizer_state(method, cfg, net)
    for l in range(net.n_layers):
        layer = {
            "layer": l + 1,
            "activation": net.activations[l],
            "W": W0[l].tolist(),
            "b": b0[l].tolist(),
            "z": _rows(it.Z[l]),
            "a": _rows(it.A[l + 1]),
        }
        if layer_masks is not None and l < net.n_layers - 1:
            layer["mask"] = _rows(layer_masks[l])
        layer["delta"] = _rows(it.deltas[l])
        if lam > 0:
            layer["grad_W_data"] = it.dW[l].tolist()
        layer["grad_W"] = (it.dW[l] + lam * W0[l]).tolist()
        layer["grad_b"] = it.db[l].tolist()
        layer.update(_layer_state(method, cfg, net, l))
        layer["W_after"] = net.W[l].tolist()
        layer["b_after"] = net.b[l].tolist()
        step["layers"].append(layer)
    if not it.finite:
        step["skipped"] = "the gradient is not finite: no update (the run diverged)"
    return step


def _optimizer_state(method, cfg, net) -> dict:
    """The optimizer's name, hyper-parameters and step count after the update."""
    st = method.state
    state = {"name": cfg.train.optimizer, **{k: float(v) for k, v in method.hp.items()}, "t": int(st[ix.STEPS])}
    if "beta1" in method.hp:
        state["beta1_t"], state["beta2_t"] = float(st[ix.BETA1_T]), float(st[ix.BETA2_T])
    return state


def _layer_state(method, cfg, net, l) -> dict:
    """The optimizer's state of layer l after the update ({'v_W': ..., 'v_b': ...})."""
    out = {}
    for name, moment in zip(OPTIMIZERS[cfg.train.optimizer].state, method.moments):
        w0, b0 = net.w_off[l], net.b_off[l]
        shape = net.W[l].shape
        out[f"{name}_W"] = moment[w0:w0 + shape[0] * shape[1]].reshape(shape).tolist()
        out[f"{name}_b"] = moment[b0:b0 + shape[0]].tolist()
    return out


def _describe(cfg, net, plan) -> dict:
    t = cfg.train
    return {
        "architecture": list(net.sizes),
        "activations": list(net.activations),
        "loss": t.loss,
        "optimizer": t.optimizer,
        "eta": t.eta,
        "lambda": float(plan.method.hyper[ix.LAMBDA]),
        "batch_size": t.batch_size,
        "dropout": list(cfg.model.dropout_rates) if plan.dropout else None,
        "schedule": t.schedule.model_dump(),
    }

