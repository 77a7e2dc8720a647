"""Training methods (issue 10): optimizers, schedules, dropout, validation and early stopping.

Every method runs in the NumPy reference, the per-sample kernel and the rows kernel with
the same numbers (1e-10), and in the PyTorch twin (1e-8, tests/test_compare.py style).
"""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import nnrun
from nnrun.config import validate
from nnrun.engines import compiled, numba_engine
from nnrun.maths.optimizers import OPTIMIZERS
from nnrun.maths.schedules import SCHEDULES
from conftest import CONFIGS, cli, nnrun_process, read_metrics, run_dir_from, small_config

SCHEDULE_CASES = {
    "constant": "constant",
    "step": {"type": "step", "step_size": 2, "gamma": 0.5},
    "exponential": {"type": "exponential", "gamma": 0.9},
    "inverse_time": {"type": "inverse_time", "decay": 0.3},
    # a min_delta that the loss soon fails to beat, so that eta is divided several times
    "plateau": {"type": "plateau", "patience": 2, "factor": 2, "min_delta": 0.01},
}
# small enough that training is not chaotic (momentum at eta 0.1 per sample amplifies rounding
# to 1e-10 within a hundred steps, which would test the dynamics, not the engines)
ETA = {"sgd": 0.1, "momentum": 0.02, "nesterov": 0.02, "adam": 0.01, "rmsprop": 0.01}


def method_config(optimizer, schedule, batch, dropout, **train):
    return small_config(
        data={"source": "moons", "n_samples": 60, "noise": 0.1, "test_fraction": 0.2, "validation_fraction": 0.2},
        model={"architecture": "2-5-4-2", "activation": "tanh", "dropout": dropout},
        train={"loss": "cross_entropy", "eta": ETA[optimizer], "iterations": 120, "batch_size": batch,
               "log_every": 3, "lambda": 0.01, "optimizer": optimizer, "schedule": SCHEDULE_CASES[schedule], **train},
    )


def run(cfg_dict, engine, rows=False, monkeypatch=None):
    cfg = validate({**cfg_dict, "train": {**cfg_dict["train"], "engine": engine}})
    if rows:
        monkeypatch.setattr(numba_engine, "ROWS_MIN_PARAMS", 0)
    try:
        return nnrun.train(cfg, nnrun.load_data(cfg))
    finally:
        if rows:
            monkeypatch.undo()


def assert_same(a, b, where):
    assert (a.status, a.iterations, a.stopped_early) == (b.status, b.iterations, b.stopped_early), where
    np.testing.assert_allclose(a.history[:, :8], b.history[:, :8], rtol=1e-10, atol=1e-14, err_msg=where)
    np.testing.assert_allclose(a.network.theta, b.network.theta, rtol=1e-10, atol=1e-14, err_msg=where)


@pytest.mark.parametrize("optimizer,schedule", list(itertools.product(OPTIMIZERS, SCHEDULES)))
def test_engines_agree_for_every_method(optimizer, schedule, monkeypatch):
    """Acceptance 1: every optimizer x {batch 1, 5, full} x dropout {0, 0.3} x every schedule,
    NumPy reference against the per-sample kernel and the rows kernel (history and weights)."""
    assert numba_engine.use_rows(5, 47) is False  # the small net runs sample by sample unless forced
    reduced = []
    for batch, dropout in itertools.product([1, 5, "full"], [0.0, 0.3]):
        cfg = method_config(optimizer, schedule, batch, dropout)
        reference = run(cfg, "numpy")
        for rows in (False, True):
            where = f"{optimizer} {schedule} batch={batch} dropout={dropout} {'rows' if rows else 'per-sample'}"
            assert_same(reference, run(cfg, "numba", rows, monkeypatch), where)
        reduced.append(len(np.unique(reference.history[:, 7])) > 1)
        if schedule == "step":
            per_epoch = {1: 36, 5: 8, "full": 1}[batch]  # 36 training samples (60 - 12 test - 12 val)
            etas = reference.history[1:, 7]
            epochs = (reference.history[1:, 0].astype(int) - 1) // per_epoch
            np.testing.assert_array_equal(etas, ETA[optimizer] * 0.5 ** (epochs // 2))
    if schedule != "constant":
        assert sum(reduced) >= 3, "the schedule hardly ever changed eta: the test would not see a wrong one"


def test_engines_agree_with_early_stopping(monkeypatch):
    cfg = method_config("adam", "plateau", 5, 0.3, iterations=2000,
                        early_stopping={"patience": 4, "min_delta": 0.001})
    reference = run(cfg, "numpy")
    assert reference.stopped_early and reference.iterations < 2000
    for rows in (False, True):
        assert_same(reference, run(cfg, "numba", rows, monkeypatch), "early stopping")


def test_optimizer_codes_match_the_compiled_dispatch():
    names = {"sgd": compiled.SGD, "momentum": compiled.MOMENTUM, "nesterov": compiled.NESTEROV,
             "adam": compiled.ADAM, "rmsprop": compiled.RMSPROP}
    assert {name: o.code for name, o in OPTIMIZERS.items()} == names
    assert set(names.values()) == compiled.COMPILED_OPTIMIZERS


def test_optimizers_match_their_definitions_on_a_quadratic():
    """The reference updates against the textbook formulas (torch.optim's), written out here
    by hand, over three steps with different gradients: a first step alone cannot tell the
    order of momentum's update, nor beta1 from beta2 in Adam's bias corrections."""
    mu, b1, b2, eps, alpha, eta = 0.9, 0.8, 0.999, 1e-8, 0.99, 0.1
    hp = {"mu": mu, "beta1": b1, "beta2": b2, "epsilon": eps, "alpha": alpha}
    theta0 = np.array([1.0, -2.0])
    grads = [np.array([0.5, 0.25]), np.array([-0.3, 0.8]), np.array([0.1, -0.6])]

    def by_hand(name):
        theta, v, m, s = theta0.copy(), np.zeros(2), np.zeros(2), np.zeros(2)
        for t, g in enumerate(grads, start=1):
            if name == "sgd":
                theta = theta - eta * g
            elif name in ("momentum", "nesterov"):
                v = mu * v + g
                theta = theta - eta * (g + mu * v if name == "nesterov" else v)
            elif name == "adam":
                m = b1 * m + (1 - b1) * g
                s = b2 * s + (1 - b2) * g * g
                m_hat, s_hat = m / (1 - b1 ** t), s / (1 - b2 ** t)
                theta = theta - eta * m_hat / (np.sqrt(s_hat) + eps)
            elif name == "rmsprop":
                s = alpha * s + (1 - alpha) * g * g
                theta = theta - eta * g / (np.sqrt(s) + eps)
            else:
                raise AssertionError(f"optimizer {name!r}: write its textbook update in this test")
        return theta

    for name, optimizer in OPTIMIZERS.items():
        theta, state = theta0.copy(), np.zeros((2, 2))
        for t, g in enumerate(grads, start=1):
            optimizer.step(theta, g.copy(), state, eta, hp, (b1 ** t, b2 ** t))
        np.testing.assert_allclose(theta, by_hand(name), rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("config,overrides,loss", [
    ("higham_2232.yaml", ["train.iterations=2000"], 0.25019565931652943),  # per-sample kernel
    ("digits_sweep.yaml", ["train.epochs=3", "train.eta=1", "train.lambda=1e-4"], 0.5375022476976323),  # rows
])
def test_sgd_without_dropout_is_unchanged_by_the_new_methods(config, overrides, loss):
    """Adding optimizers, masks and a validation stream must not move a plain SGD run: these
    are the losses nnrun 0.1.0 (before issue 10) recorded for the same runs."""
    cfg = nnrun.load_config(CONFIGS / config, overrides)
    result = nnrun.train(cfg, nnrun.load_data(cfg))
    assert result.history[-1, 1] == pytest.approx(loss, rel=1e-12)


# ------------------------------------------------------------------ the PyTorch twin
@pytest.mark.torch
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_with_dropout_and_penalty_agrees_with_torch(optimizer, tmp_path):
    """Acceptance 2: each optimizer with dropout 0.3, lambda > 0 and batch 8."""
    from nnrun.tools import compare as comparison

    cfg = validate(small_config(
        data={"source": "gauss", "classes": 3, "n_samples": 90, "test_fraction": 0.2},
        model={"architecture": "2-6-5-3", "activation": "tanh", "dropout": 0.3},
        train={"loss": "cross_entropy", "eta": ETA[optimizer], "iterations": 300, "batch_size": 8,
               "lambda": 0.01, "optimizer": optimizer, "log_every": 5}))
    _, report = comparison.compare(cfg, tmp_path, quiet=True, plots=False, log=lambda msg: None)
    assert report["agree"], report["problems"]
    assert report["max_rel_diff"]["weights"]["overall"] <= 1e-8


@pytest.mark.torch
def test_plateau_and_early_stopping_on_a_validation_set_agree_with_torch(write_config, runs_dir):
    """Acceptance 2, through the command: a plateau schedule plus early stopping."""
    cfg = small_config(
        data={"source": "gauss", "classes": 3, "n_samples": 90, "test_fraction": 0.2, "validation_fraction": 0.2},
        model={"architecture": "2-6-5-3", "activation": "tanh", "dropout": 0.3},
        train={"loss": "cross_entropy", "eta": 0.01, "iterations": 2000, "batch_size": 8, "lambda": 0.01,
               "optimizer": "adam", "log_every": 10, "schedule": {"type": "plateau", "patience": 3, "factor": 2},
               "early_stopping": {"patience": 8}})
    result = cli("compare", write_config(cfg), "--with", "torch", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    run_dir = run_dir_from(result)
    report = json.loads((run_dir / "compare.json").read_text())
    assert report["agree"] and report["max_rel_diff"]["val_loss"] <= 1e-8
    metrics = read_metrics(run_dir)
    assert metrics["early_stopping"]["stopped_at"] == metrics["iterations"] < 2000
    torch_history = pd.read_csv(run_dir / "history_torch.csv")
    assert len(torch_history) == len(pd.read_csv(run_dir / "history.csv"))
    assert torch_history["eta"].nunique() > 1  # torch's ReduceLROnPlateau did divide eta


# ------------------------------------------------------------------ early stopping
def test_early_stopping_restores_the_best_record_and_stops_within_patience(write_config, runs_dir):
    """Acceptance 5: model.npz holds the weights of the best recorded iteration (the same
    run, trained to exactly that iteration without early stopping, ends with them), and
    training stopped at most `patience` records after it."""
    patience, log_every = 5, 4
    cfg = small_config(
        data={"source": "moons", "n_samples": 200, "noise": 0.3, "test_fraction": 0.2, "validation_fraction": 0.25},
        model={"architecture": "2-16-16-2", "activation": "relu", "init": "he"},
        train={"loss": "cross_entropy", "eta": 0.02, "iterations": 20000, "batch_size": 4, "log_every": log_every,
               "optimizer": "adam", "early_stopping": {"patience": patience}})
    result = cli("train", write_config(cfg), "--runs-dir", runs_dir / "stopped", "-q")
    assert result.exit_code == 0, result.output
    run_dir = run_dir_from(result)
    metrics = read_metrics(run_dir)
    early = metrics["early_stopping"]
    assert early["monitor"] == "val_loss" and early["restored_best"]
    assert early["stopped_at"] == metrics["iterations"] < 20000
    assert 0 < early["stopped_at"] - early["best_iteration"] <= patience * log_every
    history = pd.read_csv(run_dir / "history.csv")
    best = history.loc[history["val_loss"].idxmin()]
    assert int(best["iteration"]) == early["best_iteration"] and best["val_loss"] == early["best_loss"]
    assert metrics["val_loss"] == pytest.approx(early["best_loss"], rel=1e-12)

    cfg["train"].pop("early_stopping")
    cfg["train"]["iterations"] = early["best_iteration"]
    again = cli("train", write_config(cfg, "plain.yaml"), "--runs-dir", runs_dir / "plain", "-q")
    saved, plain = np.load(run_dir / "model.npz"), np.load(run_dir_from(again) / "model.npz")
    for key in saved.files:
        np.testing.assert_array_equal(saved[key], plain[key], err_msg=key)


def test_without_restore_best_the_last_weights_stay(write_config, runs_dir):
    cfg = small_config(train={"iterations": 3000, "log_every": 5, "optimizer": "adam", "eta": 0.05,
                              "early_stopping": {"patience": 3, "restore_best": False, "min_delta": 0.01}})
    run_dir = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    metrics = read_metrics(run_dir)
    history = pd.read_csv(run_dir / "history.csv")
    assert metrics["early_stopping"]["monitor"] == "train_loss"  # no validation set
    assert metrics["train_loss"] == pytest.approx(history["train_loss"].iloc[-1], rel=1e-12)


# ------------------------------------------------------------------ bad input
BAD = [
    (["train.optimizer=momentum", "train.momentum=1.0"], "train.momentum: 1.0 is out of range"),
    (["train.optimizer=nesterov", "train.momentum=-0.1"], "train.momentum: -0.1 is out of range"),
    (["train.optimizer=adam", "train.betas=[0.9, 1.0]"], "train.betas: [0.9, 1.0] is out of range"),
    (["train.optimizer=adam", "train.betas=[0.9]"], "train.betas: [0.9] is out of range"),
    (["train.optimizer=rmsprop", "train.epsilon=0"], "train.epsilon: 0"),
    (["model.dropout=1.0"], "model.dropout: 1.0 is not a drop probability"),
    (["model.dropout=-0.2"], "model.dropout: -0.2 is not a drop probability"),
    (["model.architecture=2-2", "model.dropout=0.3"], "which has no hidden layer"),
    (["model.dropout=[0.1, 0.2]"], "2 values given for 1 hidden layers"),
    (["train.early_stopping={patience: 0}"], "train.early_stopping.patience"),
    (["data.validation_fraction=0.8"], "data.validation_fraction: 0.8 with data.test_fraction 0.25"),
    (["train.schedule=step", "train.schedule.step_size=2", "train.schedule.patience=3"],
     "patience belongs to the plateau schedule, not step"),
    (["train.schedule=exponential"], "train.schedule.gamma: required key is missing"),
    (["train.schedule=cosine"], "unknown schedule 'cosine'"),
    (["train.momentum=0.5"], "train.momentum: 0.5 is a setting of optimizer momentum and nesterov, "
                             "not of train.optimizer=sgd"),
    (["train.optimizer=adam", "train.alpha=0.9"], "train.alpha: 0.9 is a setting of optimizer rmsprop"),
    (["train.optimizer=lbfgs"], "unknown optimizer 'lbfgs'; accepted: sgd, momentum, nesterov, adam, rmsprop"),
]


@pytest.mark.parametrize("overrides,message", BAD)
def test_bad_method_settings_exit_2_with_one_line_and_no_folder(write_config, runs_dir, overrides, message):
    result = cli("train", write_config(small_config()), *overrides, "--runs-dir", runs_dir)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not runs_dir.exists()


# ------------------------------------------------------------------ shipped configs
DROPOUT_CONFIGS = sorted(p.name for p in CONFIGS.glob("*.yaml") if "dropout" in p.read_text())


def test_some_shipped_configs_use_dropout():
    assert {"digits_dropout.yaml", "digits_early_stopping.yaml"} <= set(DROPOUT_CONFIGS)


@pytest.mark.parametrize("config", DROPOUT_CONFIGS)
def test_gradcheck_passes_with_dropout_masks_fixed_on_shipped_configs(config):
    """Acceptance 3: every shipped config that uses dropout, its masks held fixed."""
    done = nnrun_process("gradcheck", CONFIGS / config, "--points", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agree with finite differences" in done.stdout and "masks of one training step" in done.stdout
