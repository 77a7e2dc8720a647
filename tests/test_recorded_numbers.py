"""Every shipped config, shortened, gives the numbers recorded in recorded_numbers.json.

A restructuring must not move one number: this holds short runs of every config in
configs/ to their recorded final records and weights, to 1e-9 relative (not as hashes:
another CPU may round a last bit differently, and CI must not fail for that; the same
bits across machines are tests/test_same_bits.py's business). A change that is meant to
move numbers records them again, and says so in its commit:

    NNRUN_RECORD=1 python -m pytest tests/test_recorded_numbers.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

import nnrun
from conftest import CONFIGS
from nnrun.training import HISTORY_COLUMNS

RECORDED = Path(__file__).with_name("recorded_numbers.json")
ITERATIONS, EPOCHS = 3000, 4
RECORD = os.environ.get("NNRUN_RECORD") == "1"


def shortened(config: Path) -> list[str]:
    """At most ITERATIONS iterations or EPOCHS epochs: past the first steps, quick for every config."""
    train = (yaml.safe_load(config.read_text()) or {}).get("train", {})
    if train.get("epochs") is not None:
        return [f"train.epochs={min(int(train['epochs']), EPOCHS)}"]
    return [f"train.iterations={min(int(train.get('iterations') or ITERATIONS), ITERATIONS)}"]


def numbers_of(config: Path) -> dict:
    """The final record and a summary of the final weights of the shortened run."""
    cfg = nnrun.load_config(config, shortened(config))
    result = nnrun.train(cfg, nnrun.load_data(cfg))
    theta = result.network.theta
    last = dict(zip(HISTORY_COLUMNS, result.history[-1].tolist()))
    last.pop("seconds")
    return {"overrides": shortened(config), "status": result.status, "engine": result.engine,
            "iterations": result.iterations, "last_record": {k: v for k, v in last.items() if v == v},
            "theta": {"size": len(theta), "sum": float(theta.sum()), "sum_of_squares": float(theta @ theta),
                      "first": theta[:4].tolist(), "last": theta[-4:].tolist()}}


CONFIG_NAMES = sorted(p.stem for p in CONFIGS.glob("*.yaml"))


@pytest.fixture(scope="module")
def recorded():
    if RECORD:
        numbers = {name: numbers_of(CONFIGS / f"{name}.yaml") for name in CONFIG_NAMES}
        RECORDED.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    return json.loads(RECORDED.read_text())


def test_every_shipped_config_has_recorded_numbers(recorded):
    assert sorted(recorded) == CONFIG_NAMES, "record the numbers of a new config: NNRUN_RECORD=1"


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_a_shipped_config_gives_its_recorded_numbers(name, recorded):
    want, got = recorded[name], numbers_of(CONFIGS / f"{name}.yaml")
    assert (got["overrides"], got["status"], got["engine"], got["iterations"]) == \
        (want["overrides"], want["status"], want["engine"], want["iterations"])
    assert got["last_record"].keys() == want["last_record"].keys()
    for key, value in want["last_record"].items():
        assert got["last_record"][key] == pytest.approx(value, rel=1e-9, abs=1e-300), f"{name}: {key}"
    theta_w, theta_g = want["theta"], got["theta"]
    assert theta_g["size"] == theta_w["size"]
    for key in ("sum", "sum_of_squares", "first", "last"):
        np.testing.assert_allclose(theta_g[key], theta_w[key], rtol=1e-9, atol=1e-12, err_msg=f"{name}: theta {key}")
