"""The compiled engine against the NumPy reference: same seed, same samples, same numbers."""

import itertools

import numpy as np
import pytest

import nnrun
from nnrun.activations import ACTIVATIONS
from nnrun.config import validate
from conftest import small_config


def run(cfg_dict, engine):
    cfg_dict = {**cfg_dict, "train": {**cfg_dict["train"], "engine": engine}}
    cfg = validate(cfg_dict)
    return nnrun.train(cfg, nnrun.load_data(cfg))


def assert_same(a, b):
    assert a.status == b.status and a.iterations == b.iterations
    np.testing.assert_allclose(a.history[:, :5], b.history[:, :5], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a.network.theta, b.network.theta, rtol=1e-10, atol=1e-14)


CASES = [
    # hidden activations x outputs x losses
    *[(hidden, "softmax", "cross_entropy") for hidden in ACTIVATIONS],
    *[("tanh", output, "quadratic") for output in [*ACTIVATIONS, "softmax"]],
    ("relu", "sigmoid", "cross_entropy"),
]


@pytest.mark.parametrize("hidden,output,loss", CASES)
def test_engines_agree_across_functions(hidden, output, loss):
    cfg = small_config(
        model={"architecture": "2-5-4-2", "activation": hidden, "output": output, "init": "xavier"},
        train={"loss": loss, "eta": 0.05, "iterations": 400, "batch_size": 1, "log_every": 7, "lambda": 0.0},
    )
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


@pytest.mark.parametrize("batch,sampling,lam", list(itertools.product([1, 5, "full"], ["random", "epoch"], [0.0, 0.01])))
def test_engines_agree_across_batches_and_penalty(batch, sampling, lam):
    cfg = small_config(train={"loss": "cross_entropy", "eta": 0.2, "iterations": 150, "batch_size": batch,
                              "sampling": sampling, "lambda": lam, "log_every": 1})
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


def test_engines_agree_on_one_sigmoid_unit_and_regression():
    binary = small_config(model={"architecture": "2-6-1", "activation": "elu", "output": "sigmoid"},
                          train={"loss": "cross_entropy"})
    assert_same(run(binary, "numpy"), run(binary, "numba"))
    regression = small_config(data={"task": "regression", "source": "csv", "path": str(
        __import__("conftest").REPO / "datasets" / "ps5_data.csv"), "label": "x_1", "features": ["x_2"],
        "test_fraction": 0.2, "transform": ["standardize"]},
        model={"architecture": "1-6-1", "activation": "tanh", "output": "identity"},
        train={"loss": "quadratic", "eta": 0.01})
    assert_same(run(regression, "numpy"), run(regression, "numba"))


@pytest.mark.parametrize("batch", [1, 2])
def test_engines_agree_on_divergence(batch):
    cfg = small_config(model={"architecture": "2-8-2", "activation": "relu", "output": "identity", "init": "he"},
                       train={"loss": "quadratic", "eta": 50.0, "iterations": 500, "batch_size": batch, "log_every": 50})
    a, b = run(cfg, "numpy"), run(cfg, "numba")
    assert a.status == b.status == "diverged"
    assert a.diverged_at == b.diverged_at
