"""nnrun against its PyTorch twin (issue 4): same weights, same samples, same numbers.

The twin (nnrun/tools/twin.py) is an independent PyTorch implementation: autograd instead
of nnrun's backpropagation, torch's activations and losses, torch.optim.SGD. These
tests hold nnrun to it at a relative 1e-8 and check that the comparison does catch a
wrong implementation.
"""

import copy
import json
import sys

import numpy as np
import pandas as pd
import pytest


import nnrun  # noqa: E402
from nnrun.tools import compare as comparison, twin  # noqa: E402
from nnrun.config import validate  # noqa: E402
from nnrun.data import streams  # noqa: E402
from nnrun.errors import NnrunError  # noqa: E402
from nnrun.maths.sampling import Sampler  # noqa: E402
from conftest import CONFIGS, small_config  # noqa: E402


def higham(iterations):
    return nnrun.load_config(CONFIGS / "higham_2232.yaml", [f"train.iterations={iterations}"])


@pytest.fixture(scope="module")
def higham_compare(tmp_path_factory):
    """E1 (Higham's 2-2-3-2 sigmoid network, one random point per step), 2000 steps."""
    return comparison.compare(higham(2000), tmp_path_factory.mktemp("runs"), quiet=True, plots=False,
                        log=lambda msg: None)


def assert_agree(report):
    d = report["max_rel_diff"]
    assert report["agree"], report["problems"]
    assert report["problems"] == []
    assert report["rows"]["nnrun"] == report["rows"]["torch"]
    assert d["train_loss"] <= 1e-8
    assert d["test_loss"] is None or d["test_loss"] <= 1e-8
    assert all(v <= 1e-8 for v in d["weights"].values()), d["weights"]


@pytest.mark.torch
def test_higham_agrees_with_torch(higham_compare):
    run_dir, report = higham_compare
    assert_agree(report)
    assert report["iterations"] == 2000 and report["rows"]["nnrun"] == 2001  # log_every 1
    assert set(report["max_rel_diff"]["weights"]) == {"W1", "W2", "W3", "b1", "b2", "b3", "overall"}
    assert report["accuracy_rows_differing"] == {"train": 0, "test": 0}


@pytest.mark.torch
def test_compare_writes_its_artifacts(higham_compare):
    run_dir, report = higham_compare
    assert run_dir.name.endswith("-higham_2232-compare")
    for name in ("config.yaml", "history.csv", "model.npz", "metrics.json",  # as nnrun train
                 "history_torch.csv", "compare.png", "compare.json"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "compare.png").stat().st_size > 10_000
    ours, theirs = pd.read_csv(run_dir / "history.csv"), pd.read_csv(run_dir / "history_torch.csv")
    assert list(theirs.columns) == list(ours.columns)
    np.testing.assert_array_equal(theirs["iteration"], ours["iteration"])
    np.testing.assert_allclose(theirs["train_loss"], ours["train_loss"], rtol=1e-8)
    saved = json.loads((run_dir / "compare.json").read_text())
    assert saved["agree"] is True and saved["tolerance"] == 1e-8
    assert saved["torch_version"] == __import__("torch").__version__
    assert saved["max_rel_diff"]["weights"] == report["max_rel_diff"]["weights"]
    assert saved["max_rel_diff"]["test_loss"] is None  # Higham's points have no test set


@pytest.mark.torch
def test_softmax_cross_entropy_with_penalty_and_batches(tmp_path):
    cfg = validate(small_config(
        name="moons_softmax",
        data={"source": "moons", "n_samples": 80, "noise": 0.15, "test_fraction": 0.25},
        model={"architecture": "2-8-8-2", "activation": ["tanh", "relu"], "output": "softmax", "init": "xavier"},
        train={"loss": "cross_entropy", "eta": 0.1, "lambda": 0.01, "iterations": 400, "batch_size": 5,
               "sampling": "epoch", "log_every": 10},
    ))
    _, report = comparison.compare(cfg, tmp_path, quiet=True, plots=False, log=lambda msg: None)
    assert_agree(report)
    assert report["max_rel_diff"]["test_loss"] is not None
    assert report["rows"]["nnrun"] == 41


@pytest.mark.parametrize("train", [
    {"loss": "cross_entropy", "batch_size": "full", "eta": 0.5},
    {"loss": "quadratic", "batch_size": 3, "sampling": "random", "eta": 0.3, "lambda": 0.001},
])
@pytest.mark.torch
def test_one_sigmoid_unit_agrees(tmp_path, train):
    cfg = validate(small_config(
        name="binary",
        model={"architecture": "2-6-5-1", "activation": ["leaky_relu", "elu"], "output": "sigmoid",
               "init": "he"},
        train={"iterations": 300, "log_every": 7, **train},
    ))
    _, report = comparison.compare(cfg, tmp_path, quiet=True, plots=False, log=lambda msg: None)
    assert_agree(report)
    assert report["rows"]["nnrun"] == 1 + 300 // 7 + 1  # every 7th and the last


@pytest.mark.torch
def test_a_wrong_learning_rate_is_caught(tmp_path, monkeypatch):
    honest = twin.torch_twin

    def off_by_one_percent(cfg, data, network, **kw):
        cfg = copy.deepcopy(cfg)
        cfg.train.eta *= 1.01
        return honest(cfg, data, network, **kw)

    monkeypatch.setattr(comparison, "torch_twin", off_by_one_percent)
    run_dir, report = comparison.compare(higham(300), tmp_path, quiet=True, plots=False, log=lambda msg: None)
    assert report["agree"] is False
    assert report["max_rel_diff"]["weights"]["overall"] > 1e-4
    assert report["max_rel_diff"]["train_loss"] > 1e-5
    assert json.loads((run_dir / "compare.json").read_text())["agree"] is False


@pytest.mark.torch
def test_a_missing_output_sigmoid_is_caught(tmp_path, monkeypatch):
    """E3's PyTorch reference forgot the output sigmoid; the comparison must say so loudly."""
    honest = twin.layer_functions

    def no_output_activation(names):
        return honest(names)[:-1] + [lambda z: z]

    monkeypatch.setattr(twin, "layer_functions", no_output_activation)
    messages = []
    _, report = comparison.compare(higham(300), tmp_path, quiet=True, plots=False, log=messages.append)
    assert report["agree"] is False
    assert report["max_rel_diff"]["train_loss"] > 0.1
    assert report["max_rel_diff"]["weights"]["overall"] > 1e-3
    assert any("DIFFER" in m for m in messages)


@pytest.mark.parametrize("batch,sampling", [(1, "random"), (5, "random"), (5, "epoch"), (7, "epoch"),
                                            ("full", "random")])
def test_sampler_chunks_concatenate(batch, sampling):
    """The twin replays nnrun's chunk sizes; any other chunking would give the same samples too."""
    def draw(sizes):
        s = Sampler(43, batch, sampling, streams(5)["sampling"])
        parts = [s.chunk(k) for k in sizes]
        idx = np.concatenate([i for i, _, _ in parts])
        lengths = np.concatenate([np.diff(p) for _, p, _ in parts])
        return idx, lengths

    whole = draw([60])
    for sizes in ([1, 59], [7, 13, 40], [30, 30]):
        pieces = draw(sizes)
        np.testing.assert_array_equal(pieces[0], whole[0])
        np.testing.assert_array_equal(pieces[1], whole[1])


def test_without_torch_a_clear_error_and_no_folder(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(NnrunError, match=r"needs PyTorch: pip install -e '\.\[torch\]'"):
        comparison.compare(higham(10), tmp_path / "runs", quiet=True)
    assert not (tmp_path / "runs").exists()


@pytest.mark.torch
def test_an_interrupted_run_is_not_compared(tmp_path, monkeypatch):
    """Ctrl-C during nnrun's training: the run folder is kept, the twin is not run."""
    import os
    import signal

    import nnrun.experiment

    real_train = nnrun.experiment.train

    def ctrl_c_at_first_chunk(cfg, data, network=None, *, progress=None, **kw):
        return real_train(cfg, data, network, progress=lambda *a: os.kill(os.getpid(), signal.SIGINT), **kw)

    monkeypatch.setattr(nnrun.experiment, "train", ctrl_c_at_first_chunk)
    cfg = higham(200_000)  # several chunks: stopped after the first
    run_dir, report = comparison.compare(cfg, tmp_path, quiet=True, plots=False, log=lambda msg: None)
    assert report["status"] == "interrupted" and report["agree"] is None
    assert report["iterations"] < 200_000
    assert json.loads((run_dir / "compare.json").read_text())["agree"] is None
    assert not (run_dir / "history_torch.csv").exists()


@pytest.mark.torch
def test_ctrl_c_during_the_twin_leaves_status_interrupted_and_what_both_have(tmp_path, monkeypatch):
    """An interrupted compare used to leave metrics.json saying completed and no compare files."""
    import os
    import signal

    honest = twin.torch_twin
    seen = []

    def ctrl_c_after_a_while(cfg, data, network, progress=None, **kw):
        def progress_then_stop(done):
            seen.append(done)
            progress(done)
            if done >= 512:
                os.kill(os.getpid(), signal.SIGINT)

        return honest(cfg, data, network, progress=progress_then_stop, **kw)

    monkeypatch.setattr(comparison, "torch_twin", ctrl_c_after_a_while)
    run_dir, report = comparison.compare(higham(20_000), tmp_path, quiet=False, plots=False, log=lambda msg: None)
    assert seen and seen[0] == 256  # the progress bar is fed as the twin goes
    assert report["status"] == "interrupted" and report["agree"] is None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["interrupted_in"] == "torch twin"
    assert metrics["iterations"] == 20_000  # nnrun's own part had finished
    assert json.loads((run_dir / "compare.json").read_text())["status"] == "interrupted"
    partial = pd.read_csv(run_dir / "history_torch.csv")
    assert 512 <= partial["iteration"].iloc[-1] < 20_000


@pytest.mark.torch
def test_every_activation_has_a_torch_twin_and_a_new_one_without_it_is_named():
    """A new activation (one entry in ACTIVATIONS) without its PyTorch twin made
    `nnrun compare` die with a KeyError traceback (cold read of ARCHITECTURE.md)."""
    from nnrun.maths.activations import ACTIVATIONS

    assert set(ACTIVATIONS) | {"softmax"} <= set(twin.torch_activations())
    with pytest.raises(NnrunError, match=r"'swish' has no PyTorch twin yet.*maths/activations\.py a torch counterpart"):
        twin.layer_functions(["relu", "swish"])


@pytest.mark.torch
def test_ctrl_c_while_the_twin_reads_nnruns_history_still_leaves_compare_json(tmp_path, monkeypatch):
    """Cold read: Ctrl-C between nnrun's part and the twin's (reading a million-row
    history.csv takes seconds) left the folder saying completed, with no compare.json."""
    import os
    import signal

    honest = pd.read_csv

    def read_then_ctrl_c(*args, **kwargs):
        frame = honest(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return frame

    monkeypatch.setattr(comparison.pd, "read_csv", read_then_ctrl_c)
    run_dir, report = comparison.compare(higham(2_000), tmp_path, quiet=True, plots=False, log=lambda msg: None)
    assert report["status"] == "interrupted" and report["agree"] is None
    assert json.loads((run_dir / "compare.json").read_text())["status"] == "interrupted"
    assert json.loads((run_dir / "metrics.json").read_text())["interrupted_in"] == "torch twin"
