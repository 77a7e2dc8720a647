"""Shared helpers: small configs written to tmp_path, and running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nnrun.cli import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``torch`` run the PyTorch twin; without torch they are skipped, one by one,
    so that the README's test command still runs everything else."""
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="needs PyTorch (pip install -e '.[torch]'); CI runs these with torch")
    for item in items:
        if item.get_closest_marker("torch"):
            item.add_marker(skip)


def small_config(**sections) -> dict:
    """A quick classification experiment; keyword sections are merged in."""
    cfg = {
        "name": "tiny",
        "seed": 3,
        "data": {"source": "moons", "n_samples": 60, "noise": 0.1, "test_fraction": 0.25},
        "model": {"architecture": "2-4-2", "activation": "tanh", "output": "softmax", "init": "xavier"},
        "train": {"loss": "cross_entropy", "eta": 0.1, "iterations": 300, "batch_size": 4, "log_every": 10},
    }
    for key, value in sections.items():
        if key == "data" and isinstance(value, dict) and "source" in value:
            cfg[key] = value  # a new source: its own keys only
        elif isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


@pytest.fixture
def write_config(tmp_path):
    def write(cfg: dict | str, name: str = "exp.yaml") -> Path:
        path = tmp_path / name
        path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
        return path

    return write


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


def cli(*args):
    """Run ``nnrun ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def nnrun_process(*args, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m nnrun ARGS`` as a real process (exit codes, signals, tracebacks)."""
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
    return subprocess.run([sys.executable, "-m", "nnrun", *map(str, args)], capture_output=True,
                          text=True, env=env, **kwargs)


def assert_clean_error(result, words, runs_dir):
    """Exit 2, one line on stderr naming each of ``words``, and no run folder left. ``result``:
    :func:`cli`'s (exit_code) or :func:`nnrun_process`'s (returncode)."""
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnrun: error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not runs_dir.exists() or not any(runs_dir.iterdir()), "a bad run left a folder"


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def r2_of_saved_run(run_dir: Path) -> tuple[float, float]:
    """(train R², test R²) of a regression run, computed here from its config and weights:
    1 - sum (y - y_hat)^2 / sum (y - mean y)^2."""
    import numpy as np

    import nnrun

    data = nnrun.load_data(nnrun.load_config(Path(run_dir) / "config.yaml"))
    net = nnrun.Network.from_npz(Path(run_dir) / "model.npz")

    def r2(X, Y):
        y, y_hat = Y[:, 0], net.predict(X)[:, 0]
        return 1.0 - np.sum((y - y_hat) ** 2) / np.sum((y - np.mean(y)) ** 2)

    return r2(data.X_train, data.Y_train), r2(data.X_test, data.Y_test)


def run_dir_from(result) -> Path:
    """The run folder: the last line of stdout."""
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def _close_figures():
    """Tests that capture figures to inspect them keep them open; close them after each test,
    or later tests hit matplotlib's 'more than 20 figures' warning (an error here)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
