"""nnrun explain: the numbers it shows are the numbers nnrun train computes, bit for bit;
PyTorch's autograd, computed independently, agrees; --check grades; --input decides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import CONFIGS, cli, read_metrics, small_config


def _explained(config, *args) -> dict:
    result = cli("explain", config, *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _trained(config, runs, *overrides) -> dict:
    result = cli("train", config, *overrides, "--runs-dir", runs, "-q")
    assert result.exit_code == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    return dict(np.load(run_dir / "model.npz"))


#: the cases the issue names: (name, config changes, steps)
CASES = {
    "per-sample sgd": ({"train": {"batch_size": 1, "loss": "quadratic"},
                        "model": {"output": "sigmoid", "activation": "sigmoid"}}, 3),
    "minibatch softmax cross-entropy, L2": ({"train": {"lambda": 0.01}}, 3),
    "dropout": ({"model": {"architecture": "2-6-5-2", "dropout": 0.3}}, 3),
    "momentum": ({"train": {"optimizer": "momentum", "momentum": 0.8}}, 4),
    "adam": ({"train": {"optimizer": "adam", "eta": 0.01}}, 4),
    # 45 training rows in batches of 4: 12 steps an epoch, so step 13 has the halved eta
    "step schedule, in epochs": ({"train": {"iterations": None, "epochs": 3, "schedule": {"type": "step", "step_size": 1,
                                                                                          "gamma": 0.5}}}, 14),
}


@pytest.mark.parametrize("case", list(CASES))
def test_explained_steps_are_the_first_steps_of_nnrun_train_bit_for_bit(case, write_config, tmp_path):
    changes, steps = CASES[case]
    config = write_config(small_config(**changes))
    explained = _explained(config, "--steps", steps)
    assert [s["iteration"] for s in explained["steps"]] == list(range(1, steps + 1))
    short = ["train.epochs=null", f"train.iterations={steps}"]
    numpy_run = _trained(config, tmp_path / "numpy", *short, "train.engine=numpy")
    compiled_run = _trained(config, tmp_path / "numba", *short)
    last = explained["steps"][-1]["layers"]
    for layer in last:
        l = layer["layer"]
        for mine, theirs in ((layer["W_after"], f"W{l}"), (layer["b_after"], f"b{l}")):
            assert np.array_equal(np.array(mine), numpy_run[theirs]), (case, theirs)  # the same bits
            np.testing.assert_allclose(np.array(mine), compiled_run[theirs], rtol=0, atol=1e-10)
    if "schedule" in changes.get("train", {}):
        etas = [s["eta"] for s in explained["steps"]]
        assert etas[11] == 0.1 and etas[12] == 0.05  # the schedule's step is shown where it happens


def test_each_step_starts_from_the_weights_the_last_one_left(write_config):
    explained = _explained(write_config(small_config()), "--steps", 3)
    for before, after in zip(explained["steps"], explained["steps"][1:]):
        for a, b in zip(before["layers"], after["layers"]):
            assert a["W_after"] == b["W"] and a["b_after"] == b["b"]


def _autograd_step(step: dict, net: dict, torch):
    """The step's forward and backward by PyTorch autograd, from its inputs alone."""
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    a = t(step["a0"])
    Ws = [t(layer["W"]).requires_grad_() for layer in step["layers"]]
    bs = [t(layer["b"]).requires_grad_() for layer in step["layers"]]
    zs, outs = [], []
    for k, (layer, W, b) in enumerate(zip(step["layers"], Ws, bs)):
        z = a @ W.T + b
        z.retain_grad()
        zs.append(z)
        f = layer["activation"]
        a = torch.softmax(z, dim=1) if f == "softmax" else acts[f](z)
        if "mask" in layer:
            a = a * t(layer["mask"])
        outs.append(a)
    y = t([s["y"] for s in step["samples"]])
    per_sample = -(y * torch.log_softmax(zs[-1], dim=1)).sum(dim=1)
    loss = per_sample.mean() + 0.5 * net["lambda"] * sum((W * W).sum() for W in Ws)
    loss.backward()
    return zs, outs, per_sample.mean(), Ws, bs


@pytest.mark.torch
def test_the_explained_step_agrees_with_pytorch_autograd(write_config):
    torch = pytest.importorskip("torch")
    config = write_config(small_config(model={"architecture": "2-6-5-2", "dropout": 0.3},
                                       train={"lambda": 0.01, "optimizer": "adam", "eta": 0.01}))
    explained = _explained(config, "--steps", 1)
    step, net = explained["steps"][0], explained["network"]
    zs, outs, loss, Ws, bs = _autograd_step(step, net, torch)
    m = len(step["samples"])
    assert step["loss"] == pytest.approx(loss.item(), rel=1e-12)
    for layer, z, a, W, b in zip(step["layers"], zs, outs, Ws, bs):
        np.testing.assert_allclose(layer["z"], z.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer["a"], a.detach().numpy(), rtol=1e-10, atol=1e-12)
        # the loss is a mean over the batch: dLoss/dz = delta / m
        np.testing.assert_allclose(layer["delta"], (z.grad * m).numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(layer["grad_W"], W.grad.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(layer["grad_b"], b.grad.numpy(), rtol=1e-8, atol=1e-12)
    # the update: torch.optim.Adam's first step from the same gradients
    params = Ws + bs
    optimizer = torch.optim.Adam(params, lr=step["eta"], betas=(0.9, 0.999), eps=1e-8, foreach=False)
    optimizer.step()
    for layer, W, b in zip(step["layers"], Ws, bs):
        np.testing.assert_allclose(layer["W_after"], W.detach().numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(layer["b_after"], b.detach().numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(layer["m_W"], optimizer.state[W]["exp_avg"].numpy(), rtol=1e-8, atol=1e-15)
        np.testing.assert_allclose(layer["v_W"], optimizer.state[W]["exp_avg_sq"].numpy(), rtol=1e-8, atol=1e-18)


def test_text_and_markdown_show_every_part_of_a_step():
    text = cli("explain", CONFIGS / "higham_2232.yaml", "--steps", 2)
    assert text.exit_code == 0, text.stderr
    for part in ("Step 1 (iteration 1)", "Step 2 (iteration 2)", "Forward", "z1 = ", "a3 = ", "Loss",
                 "1/2 ||a_L - y||^2", "Backward", "delta3 = sigmoid'(z3) o (a3 - y)",
                 "delta1 = sigmoid'(z1) o (W2^T delta2)", "dC/dW3 = ", "Update (sgd)", "W3 after = "):
        assert part in text.stdout, part
    numbers = _explained(CONFIGS / "higham_2232.yaml", "--steps", 1)["steps"][0]
    assert f"{numbers['loss']:.9g}" in text.stdout  # 9 significant digits
    markdown = cli("explain", CONFIGS / "higham_2232.yaml", "--format", "markdown")
    assert "### Step 1 (iteration 1)" in markdown.stdout
    assert "$$ z_l = W_l\\, a_{l-1} + b_l" in markdown.stdout and "\\begin{bmatrix}" in markdown.stdout


def test_a_large_network_is_shown_by_its_first_rows_and_says_what_was_left_out(write_config):
    config = write_config(small_config(model={"architecture": "2-20-2"}, train={"batch_size": 10}))
    short = cli("explain", config).stdout
    assert "(20 x 2; the first 3 x 2 shown)" in short and "(20 entries; the first 8 shown)" in short  # W1: rows cut, its 2 columns whole
    assert "(10 x 20; the first 3 x 8 shown)" in short  # a1: 10 samples of 20 units
    assert "Left out:" in short and "--full shows everything" in short
    assert "... and 7 more" in short  # 10 samples, 3 shown
    full = cli("explain", config, "--full").stdout
    assert "Left out" not in full and "shown)" not in full


def _answers(explained: dict) -> dict:
    step = explained["steps"][0]
    return {"steps": [{"iteration": 1, "loss": step["loss"],
                       "layers": [{"layer": layer["layer"], "z": layer["z"], "delta": layer["delta"],
                                   "grad_W": layer["grad_W"], "W_after": layer["W_after"]}
                                  for layer in step["layers"]]}]}


def test_check_names_exactly_the_two_mistakes_and_passes_the_right_answers(tmp_path):
    config = CONFIGS / "higham_2232.yaml"
    answers = _answers(_explained(config))
    right = tmp_path / "right.yaml"
    right.write_text(yaml.safe_dump({"steps": [{**answers["steps"][0], "loss": round(answers["steps"][0]["loss"], 6)}]}))
    ok = cli("explain", config, "--check", right)
    assert ok.exit_code == 0, ok.stdout
    assert ok.stdout.strip().splitlines()[-1].startswith("47 of 47 numbers match (rtol 0.0001")
    wrong_answers = json.loads(json.dumps(answers))
    layers = wrong_answers["steps"][0]["layers"]
    layers[1]["delta"][0][2] *= -1  # a sign slip
    layers[2]["grad_W"][1][0] *= 1.01  # a rounding slip, 1%
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(wrong_answers))
    bad = cli("explain", config, "--check", wrong)
    assert bad.exit_code == 1
    lines = bad.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("45 of 47 numbers match")
    assert lines[0].startswith("step 1, layer 2, delta[0][2]: expected 0.0163493436, given -0.0163493436")
    assert lines[1].startswith("step 1, layer 3, grad_W[1][0]: expected ") and "relative error 0.01" in lines[1]


@pytest.mark.parametrize("answers, says", [
    ({"steps": [{"layers": [{"layer": 1, "zz": [[1, 2]]}]}]}, "step 1, layer 1: unknown field 'zz'"),
    ({"steps": [{"layers": [{"layer": 1, "z": [1, 2, 3]}]}]}, "step 1, layer 1, z has shape (3), expected (1, 2)"),
    ({"steps": [{"layers": [{"layer": 1, "z": [1, 2]}]}]}, "z has shape (2), expected (1, 2); write it as [[...]], a row "
                                                            "per sample, even for one sample"),
    ({"steps": [{"lose": 0.3}]}, "step 1: unknown field 'lose'"),
    ({"nope": 1}, "must hold a mapping with a 'steps' list"),
])
def test_check_refuses_an_unknown_field_or_a_wrong_shape_in_one_line(tmp_path, answers, says):
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    result = cli("explain", CONFIGS / "higham_2232.yaml", "--check", path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr


@pytest.mark.parametrize("args, says", [
    (["--steps", "0"], "--steps: 0; give the number of updates to show, 1 or more"),
    (["model.weights={W1: [[1, 2, 3]]}"], "model.weights"),
])
def test_bad_input_is_one_line(args, says):
    result = cli("explain", CONFIGS / "higham_2232.yaml", *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr


def test_a_trained_run_explains_one_input_with_its_class_names(tmp_path):
    result = cli("train", CONFIGS / "iris.yaml", "--runs-dir", tmp_path, "-q")
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    explained = cli("explain", run_dir, "--input", "5.1,3.5,1.4,0.2")
    assert explained.exit_code == 0, explained.stderr
    assert "After the transforms fitted in training (standardize)" in explained.stdout
    decision = explained.stdout.strip().splitlines()[-1]
    assert decision.startswith("Decision: class setosa: output unit 1 of 3 is the largest")
    wrong = cli("explain", run_dir, "--input", "5.1,3.5")
    assert wrong.exit_code == 2
    assert wrong.stderr == ("nnrun: error: --input: 2 values (5.1,3.5); the run takes 4 (sepal_length, sepal_width, "
                            "petal_length, petal_width)\n")
    spaced = cli("explain", run_dir, "--input", "5.1", "3.5", "1.4", "0.2")
    assert spaced.exit_code == 2
    assert spaced.stderr == ("nnrun: error: --input: 5.1 3.5 1.4 0.2: give the values as one word, comma-separated: "
                             "--input 5.1,3.5,1.4,0.2\n")
    assert read_metrics(run_dir)["status"] == "completed"


def test_mazurs_worked_example_digit_for_digit():
    """Matt Mazur's printed numbers (configs/mazur_step.yaml cites them), to the digits he prints."""
    step = _explained(CONFIGS / "mazur_step.yaml")["steps"][0]
    hidden, out = step["layers"]
    printed = [(hidden["z"][0][0], 0.3775), (hidden["a"][0][0], 0.593269992), (hidden["a"][0][1], 0.596884378),
               (out["a"][0][0], 0.75136507), (out["a"][0][1], 0.772928465), (step["loss"], 0.298371109),
               (out["delta"][0][0], 0.138498562), (out["grad_W"][0][0], 0.082167041),
               (out["W_after"][0][0], 0.35891648), (out["W_after"][0][1], 0.408666186),
               (out["W_after"][1][0], 0.511301270), (out["W_after"][1][1], 0.561370121),
               (hidden["W_after"][0][0], 0.149780716), (hidden["W_after"][0][1], 0.19956143),
               (hidden["W_after"][1][0], 0.24975114), (hidden["W_after"][1][1], 0.29950229)]
    for ours, his in printed:
        digits = len(repr(his).split(".")[1])
        assert round(ours, digits) == his, (ours, his)


def test_one_row_of_one_class_is_explained_though_train_refuses_it(write_config):
    cfg = {"name": "one", "seed": 0,
           "data": {"source": "inline", "columns": ["x1", "x2", "y"], "rows": [[0.3, 0.7, "B"]], "label": "y",
                    "class_names": ["A", "B"]},
           "model": {"architecture": "2-2-2", "activation": "sigmoid", "output": "softmax",
                     "weights": {"W1": [[0.1, 0.2], [0.3, 0.4]], "b1": [0.0, 0.0],
                                 "W2": [[0.5, 0.6], [0.7, 0.8]], "b2": [0.0, 0.0]}},
           "train": {"loss": "cross_entropy", "eta": 0.5, "iterations": 1, "batch_size": 1}}
    config = write_config(cfg)
    step = _explained(config)["steps"][0]
    assert step["samples"] == [{"index": 0, "x": [0.3, 0.7], "y": [0.0, 1.0]}]  # class B is the second unit
    # softmax with cross-entropy: delta_L = a_L - y
    out = step["layers"][-1]
    assert np.allclose(out["delta"][0], np.array(out["a"][0]) - [0.0, 1.0], rtol=0, atol=1e-15)
    refused = cli("train", config, "-q")
    assert refused.exit_code == 2 and "nnrun explain" in refused.stderr
