"""A textbook's worked example in a config: its weights (model.weights), its rows (data.source
inline), several regression targets (data.label: [t1, t2]), class names in output-unit order
(data.class_names), one class for `nnrun explain` (load_data(one_class_ok=True)), and the
two shipped step configs (Mazur's numbers)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import nnrun
from nnrun.config import validate
from nnrun.experiment import prepare
from nnrun.training import build_network
from conftest import CONFIGS, assert_clean_error, cli, read_metrics, run_dir_from, small_config

MAZUR = CONFIGS / "mazur_step.yaml"


def inline(rows, columns=("x1", "x2", "y"), **keys) -> dict:
    return {"source": "inline", "columns": list(columns), "rows": [list(r) for r in rows], **keys}


# ----------------------------------------------------------------------------- model.weights
WEIGHTS_2_3_2 = {"W1": [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], "b1": [0.1, 0.2, 0.3],
                 "W2": [[0.2, -0.1, 0.4], [-0.3, 0.5, 0.1]], "b2": [-0.1, 0.1]}


def weights_config(**train):
    return small_config(model={"architecture": "2-3-2", "weights": WEIGHTS_2_3_2},
                        train={"batch_size": "full", "iterations": 20, **train})


def test_weights_are_the_initial_network_and_the_run_keeps_them(write_config, runs_dir):
    cfg = nnrun.load_config(write_config(weights_config()))
    _, network = prepare(cfg, load_kernel=False)
    for l in (1, 2):
        np.testing.assert_array_equal(network.W[l - 1], WEIGHTS_2_3_2[f"W{l}"])
        np.testing.assert_array_equal(network.b[l - 1], WEIGHTS_2_3_2[f"b{l}"])
    first = run_dir_from(cli("train", write_config(weights_config()), "--runs-dir", runs_dir, "-q"))
    saved = yaml.safe_load((first / "config.yaml").read_text())
    assert saved["model"]["weights"] == WEIGHTS_2_3_2
    again = run_dir_from(cli("train", first / "config.yaml", "--runs-dir", runs_dir, "-q"))
    # the init stream draws no weights: another seed changes nothing in full-batch descent on
    # data no seed draws (the higham points, no split)
    other = run_dir_from(cli("train", write_config(weights_config()), "seed=7", "data={source: higham}",
                             "--runs-dir", runs_dir, "-q"))
    same = run_dir_from(cli("train", write_config(weights_config()), "data={source: higham}",
                            "--runs-dir", runs_dir, "-q"))
    for a, b in ((first, again), (other, same)):
        with np.load(a / "model.npz") as fa, np.load(b / "model.npz") as fb:
            for name in ("W1", "b1", "W2", "b2"):
                np.testing.assert_array_equal(fa[name], fb[name])


@pytest.mark.parametrize("change,words", [
    ({"W2": [[0.2, -0.1], [-0.3, 0.5]]}, ["model.weights.W2", "shape (2, 2) given", "expected (2, 3)"]),
    ({"b1": [0.1, 0.2]}, ["model.weights.b1", "shape (2,) given", "expected (3,)"]),
    ({"b2": None}, ["model.weights.b2", "missing", "W1, b1, W2, b2"]),
    ({"W3": [[1.0]]}, ["model.weights.W3", "not a parameter of a 2-3-2 network"]),
    ({"W1": [[0.1, 0.2], [0.3], [0.5, 0.6]]}, ["model.weights.W1", "not a matrix", "expected shape (3, 2)"]),
    ({"b1": ["a", 0.2, 0.3]}, ["model.weights.b1", "not a list of numbers"]),
], ids=["W-shape", "b-shape", "missing", "extra", "ragged", "text"])
def test_bad_weights_are_one_line_naming_the_key_and_shapes(change, words, write_config, runs_dir):
    weights = {k: v for k, v in {**WEIGHTS_2_3_2, **change}.items() if v is not None}
    cfg = small_config(model={"architecture": "2-3-2", "weights": weights})
    assert_clean_error(cli("train", write_config(cfg), "--runs-dir", runs_dir), words, runs_dir)


def test_weights_and_init_from_together_are_refused(write_config, runs_dir, tmp_path):
    cfg = weights_config()
    cfg["model"]["init_from"] = str(tmp_path / "model.npz")
    assert_clean_error(cli("train", write_config(cfg), "--runs-dir", runs_dir),
                       ["model.weights", "model.init_from", "remove one"], runs_dir)


# ----------------------------------------------------------------------------- data.source inline
ROWS = [(0.1 * i, (i * 7) % 5 - 2.0, ["cat", "dog"][i % 2]) for i in range(12)]


def test_inline_rows_read_as_the_same_csv(tmp_path):
    (tmp_path / "d.csv").write_text("h,w,kind\n" + "".join(f"{a!r},{b!r},{k}\n" for a, b, k in ROWS))
    from_csv = nnrun.load_data(validate(small_config(data={"source": "csv", "path": str(tmp_path / "d.csv"),
                                                           "features": ["w", "h"]})))
    ours = nnrun.load_data(validate(small_config(data=inline(ROWS, ("h", "w", "kind"), features=["w", "h"]))))
    assert ours.feature_names == from_csv.feature_names == ["w", "h"]
    assert ours.class_names == ["cat", "dog"] and ours.label_name == "kind"
    np.testing.assert_array_equal(ours.X_train, from_csv.X_train)
    np.testing.assert_array_equal(ours.Y_train, from_csv.Y_train)


@pytest.mark.parametrize("data,words", [
    (inline([(1, 2, 0), (3, 4, 1), (5, 6), (7, 8, 1)]),
     ["data.rows[2]", "2 values", "data.columns names 3 (x1, x2, y)", "counted from 0"]),
    (inline([(1, 2, 0), (3, "tall", 1)]), ["data.rows[1]", "column 'x2'", "'tall'", "finite number"]),
    (inline([(1, 2, 0), (3, None, 1)]), ["data.rows[1]", "column 'x2'", "missing value"]),
    (inline([(1, 2, 0), (3, 4, 1)], label="z"), ["data.label", "'z'", "x1, x2, y"]),
    (inline([(1, 2, 0), (3, 4, 1)], features=["x1", "q"]), ["data.features", "'q'"]),
    (inline([(1, 2, 0), (3, 4, 1)], ("x1", "x1", "y")), ["data.columns", "'x1' is named twice"]),
], ids=["row-length", "text-cell", "empty-cell", "label", "features", "columns"])
def test_bad_inline_data_is_one_line(data, words, write_config, runs_dir):
    assert_clean_error(cli("train", write_config(small_config(data=data)), "--runs-dir", runs_dir), words, runs_dir)


# ----------------------------------------------------------------------------- several targets
def two_targets(n=40):
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(n, 2))
    T = np.column_stack([X[:, 0] * X[:, 1], np.sin(2 * X[:, 0]) + 0.5 * X[:, 1]])
    return np.column_stack([X, T])


def r2_mean(Y, P):
    return np.mean([1 - np.sum((Y[:, k] - P[:, k]) ** 2) / np.sum((Y[:, k] - Y[:, k].mean()) ** 2)
                    for k in range(Y.shape[1])])


def test_two_targets_train_and_predict_end_to_end(write_config, runs_dir, tmp_path):
    table = two_targets()
    cfg = small_config(data=inline(table.tolist(), ("x1", "x2", "t1", "t2"), label=["t1", "t2"], task="regression",
                                   test_fraction=0.25),
                       model={"architecture": "2-8-2", "activation": "tanh", "output": "identity"},
                       train={"loss": "quadratic", "eta": 0.05, "iterations": 2000, "batch_size": 4})
    result = cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr  # the one-target pictures skip, none fails
    run_dir = run_dir_from(result)
    metrics = read_metrics(run_dir)
    data = nnrun.load_data(nnrun.load_config(run_dir / "config.yaml"))
    net = nnrun.Network.from_npz(run_dir / "model.npz")
    assert data.Y_train.shape[1] == 2 and data.n_targets == 2
    assert metrics["train_r2"] == pytest.approx(r2_mean(data.Y_train, net.predict(data.X_train)), rel=1e-12)
    assert metrics["test_r2"] == pytest.approx(r2_mean(data.Y_test, net.predict(data.X_test)), rel=1e-12)
    assert metrics["train_r2"] > 0.5
    assert not any((run_dir / f"{name}.png").exists() for name in ("fit", "residuals", "data"))
    assert json.loads((run_dir / "model.json").read_text())["label"] == ["t1", "t2"]
    history = pd.read_csv(run_dir / "history.csv")
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]

    pd.DataFrame(table[:10], columns=["x1", "x2", "t1", "t2"]).to_csv(tmp_path / "new.csv", index=False)
    out = cli("predict", run_dir, tmp_path / "new.csv")
    assert out.exit_code == 0, out.stderr
    predicted = pd.read_csv(pd.io.common.StringIO(out.stdout))
    assert list(predicted.columns) == ["t1", "predicted_t1", "t2", "predicted_t2"]
    P = net.predict(table[:10, :2])
    np.testing.assert_allclose(predicted[["predicted_t1", "predicted_t2"]].to_numpy(), P, rtol=1e-5)
    assert f"R² {r2_mean(table[:10, 2:], P):.4g}" in out.stderr and "columns 't1', 't2'" in out.stderr


def test_two_targets_need_two_output_units_and_a_regression(write_config, runs_dir):
    data = inline(two_targets(8).tolist(), ("x1", "x2", "t1", "t2"), label=["t1", "t2"], task="regression")
    cfg = small_config(data=data, model={"architecture": "2-4-1", "output": "identity"}, train={"loss": "quadratic"})
    assert_clean_error(cli("train", write_config(cfg), "--runs-dir", runs_dir),
                       ["model.architecture", "2 targets t1, t2", "make the last size 2, not 1"], runs_dir)
    cfg = small_config(data={**data, "task": "classification"})
    assert_clean_error(cli("train", write_config(cfg), "--runs-dir", runs_dir),
                       ["data.label", "names 2 columns", "a classifier has one label column"], runs_dir)


# ----------------------------------------------------------------------------- data.class_names
def test_class_names_set_the_output_units(write_config, runs_dir):
    rows = [(0.1 * i, 0.2 * i, ["cat", "dog"][i % 2]) for i in range(8)]
    default = nnrun.load_data(validate(small_config(data=inline(rows))))
    same = nnrun.load_data(validate(small_config(data=inline(rows, class_names=["cat", "dog"]))))
    turned = nnrun.load_data(validate(small_config(data=inline(rows, class_names=["dog", "cat"]))))
    np.testing.assert_array_equal(same.Y_train, default.Y_train)
    np.testing.assert_array_equal(turned.Y_train, default.Y_train[:, ::-1])
    assert turned.class_names == ["dog", "cat"]
    numbers = nnrun.load_data(validate(small_config(data={"source": "xor", "n_samples": 40, "class_names": [1, 0]})))
    assert numbers.class_names == ["1", "0"]
    for bad, words in ((["cat", "emu"], ["label 'dog' is not in data.class_names [cat, emu]"]),
                       (["cat"], ["data.class_names", "names 1 class"]),
                       (["cat", "cat"], ["data.class_names", "'cat' is named twice"])):
        cfg = small_config(data=inline(rows, class_names=bad))
        assert_clean_error(cli("train", write_config(cfg), "--runs-dir", runs_dir), words, runs_dir)
    cfg = small_config(data={"source": "sine", "task": "regression", "class_names": ["a", "b"]},
                       model={"architecture": "1-4-1", "output": "identity"})
    assert_clean_error(cli("train", write_config(cfg), "--runs-dir", runs_dir),
                       ["data.class_names", "data.task regression"], runs_dir)


# ----------------------------------------------------------------------------- one class
def one_row(**data):
    return small_config(data=inline([(0.05, 0.10, "dog")], test_fraction=0, **data),
                        train={"batch_size": 1, "iterations": 1, "log_every": 1})


def test_train_refuses_one_class_and_names_nnrun_explain(write_config, runs_dir):
    assert_clean_error(cli("train", write_config(one_row(class_names=["cat", "dog"])), "--runs-dir", runs_dir),
                       ["only one class (dog)", "needs at least 2 to train", "`nnrun explain CONFIG`"], runs_dir)


def test_one_class_is_accepted_for_explain_with_its_unit_named(write_config):
    cfg = nnrun.load_config(write_config(one_row(class_names=["cat", "dog"])))
    data, network = prepare(cfg, one_class_ok=True)  # every size check, the kernel too
    np.testing.assert_array_equal(data.Y_train, [[0.0, 1.0]])
    assert data.class_names == ["cat", "dog"] and len(data.X_train) == 1 and not data.has_test
    with pytest.raises(nnrun.NnrunError, match=r"data.class_names: required when the labels hold one class \(dog\)"):
        nnrun.load_data(nnrun.load_config(write_config(one_row())), one_class_ok=True)


# ----------------------------------------------------------------------------- the shipped step configs
def test_mazur_step_gives_mazurs_numbers(runs_dir):
    result = cli("train", MAZUR, "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.stderr
    run_dir = run_dir_from(result)
    history = pd.read_csv(run_dir / "history.csv")
    assert history["iteration"].tolist() == [0, 1]
    assert round(history["train_loss"].iloc[0], 9) == 0.298371109  # E_total before the step

    def printed(value, text):  # equal to the digits Mazur prints
        assert round(value, len(text.split(".")[1])) == float(text), (value, text)

    with np.load(run_dir / "model.npz") as f:
        W1, W2 = f["W1"], f["W2"]
    for value, text in zip([*W1.ravel(), *W2.ravel()],
                           ["0.149780716", "0.19956143", "0.24975114", "0.29950229",
                            "0.35891648", "0.408666186", "0.511301270", "0.561370121"]):
        printed(value, text)
    # his forward pass, from the weights the run started with
    cfg = nnrun.load_config(run_dir / "config.yaml")
    net = build_network(cfg, None)
    _, A = net.forward(np.array([[0.05], [0.10]]))
    for value, text in zip([*A[1][:, 0], *A[2][:, 0]], ["0.593269992", "0.596884378", "0.75136507", "0.772928465"]):
        printed(value, text)


def test_higham_step_trains(runs_dir):
    result = cli("train", CONFIGS / "higham_2232_step.yaml", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.stderr
    run_dir = run_dir_from(result)
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "completed" and metrics["iterations"] == 2000
    history = pd.read_csv(run_dir / "history.csv")
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    data = nnrun.load_data(nnrun.load_config(run_dir / "config.yaml"))
    from nnrun.data import HIGHAM_X1, HIGHAM_X2

    np.testing.assert_array_equal(data.raw_train, np.column_stack([HIGHAM_X1, HIGHAM_X2]))
    assert data.class_names == ["A", "B"] and data.labels_train.tolist() == [0] * 5 + [1] * 5
