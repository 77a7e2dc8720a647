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


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


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
