"""nnrun gradcheck: passes on every allowed combination and every shipped config,
and catches a broken derivative."""

import dataclasses

import pytest

from nnrun import activations
from conftest import CONFIGS, cli, small_config
from test_gradients import COMBINATIONS


@pytest.mark.parametrize("hidden,output,loss", COMBINATIONS)
def test_gradcheck_passes_on_every_combination(hidden, output, loss, write_config):
    two_classes = output in ("softmax", "sigmoid") or loss == "cross_entropy"
    cfg = small_config(
        model={"architecture": "2-4-3-2" if two_classes else "2-4-3-1", "activation": hidden, "output": output,
               "init": "normal", "init_scale": 0.8},
        train={"loss": loss, "lambda": 0.05},
    )
    if not two_classes:
        cfg["data"] = {"source": "moons", "n_samples": 40, "task": "regression"}
    result = cli("gradcheck", write_config(cfg), "--points", "2")
    assert result.exit_code == 0, result.output
    assert "agree with finite differences" in result.output


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_gradcheck_passes_on_every_shipped_config(config):
    result = cli("gradcheck", CONFIGS / config, "--points", "1")
    assert result.exit_code == 0, result.output


def test_gradcheck_catches_a_broken_derivative(monkeypatch, write_config):
    # sigmoid'(z) = a (1 - a); drop the factor (1 - a) and backprop is wrong
    broken = dataclasses.replace(activations.ACTIVATIONS["sigmoid"], df=lambda z, a: a)
    monkeypatch.setitem(activations.ACTIVATIONS, "sigmoid", broken)
    cfg = small_config(model={"activation": "sigmoid", "output": "softmax"})
    result = cli("gradcheck", write_config(cfg), "--points", "1")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "W1" in result.output.split("FAIL")[0]
