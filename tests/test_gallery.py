"""The README's gallery says what the shipped configs give: docs/gallery/results.json (written
by docs/make_gallery.py with the gallery's pictures) holds each run's final metrics, and the
quick configs are run again here, whole, and held to them."""

from __future__ import annotations

import json

import pytest

import nnrun
from conftest import CONFIGS

RESULTS = CONFIGS.parent / "docs" / "gallery" / "results.json"
# the configs whose whole run takes a few seconds of training at most (the gallery's table)
QUICK = ["higham_2232", "higham_25552", "higham_relu", "relu_ellipse", "polar_ellipse", "iris",
         "sine_regression", "digits_early_stopping", "digits_best"]


@pytest.mark.parametrize("entry", QUICK)
def test_the_gallery_states_what_a_quick_config_gives(entry):
    recorded = json.loads(RESULTS.read_text())[entry]
    assert "metrics" in recorded, f"{entry}: run `python docs/make_gallery.py {entry}` to record its metrics"
    command = recorded["command"].split()  # nnrun train configs/NAME.yaml [overrides]
    cfg = nnrun.load_config(CONFIGS.parent / command[2], command[3:])
    result = nnrun.train(cfg, nnrun.load_data(cfg))
    from nnrun.experiment import final_metrics

    metrics = final_metrics(cfg, result, nnrun.load_data(cfg))
    for key, value in recorded["metrics"].items():
        assert metrics[key] == pytest.approx(value, rel=1e-9), f"{entry}: {key}"
