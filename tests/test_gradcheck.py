"""nnrun gradcheck: passes on every allowed combination and every shipped config,
and catches a broken derivative."""

import dataclasses

import pytest

from nnrun.maths import activations
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


def test_a_run_folder_is_a_config_and_another_folder_is_one_clear_line(write_config, runs_dir, tmp_path):
    """`nnrun gradcheck RUN` gave click's four-line 'is a directory' usage error (cold read);
    a run folder now stands for the config it saved."""
    from conftest import nnrun_process, run_dir_from

    path = write_config(small_config(train={"iterations": 50}))
    run_dir = run_dir_from(cli("train", path, "--runs-dir", runs_dir, "-q"))
    by_folder = cli("gradcheck", run_dir, "--points", "1")
    assert by_folder.exit_code == 0, by_folder.output
    assert by_folder.stdout == cli("gradcheck", run_dir / "config.yaml", "--points", "1").stdout
    plain = tmp_path / "empty"
    plain.mkdir()
    for command in (["gradcheck", plain], ["train", plain, "--runs-dir", runs_dir], ["sweep", runs_dir]):
        result = nnrun_process(*command)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert "not a config file" in lines[0] and "run folder that holds config.yaml" in lines[0]
