"""Your own data: CSV dialects, text labels, class names, predictions, command-line paths (issue 12)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import nnrun
from nnrun.config import validate
from conftest import CONFIGS, REPO, cli, nnrun_process, read_metrics, run_dir_from, small_config

ROWS = [(0.5 * i, (i * 7) % 5 - 2.0, ["cat", "dog", "emu"][i % 3]) for i in range(30)]


def write_rows(path: Path, sep=",", bom=False, crlf=False, quote=False, labels=None):
    end = "\r\n" if crlf else "\n"
    q = (lambda s: f'"{s}"') if quote else str
    lines = [sep.join(q(c) for c in ("height", "weight", "kind"))]
    for (a, b, k), label in zip(ROWS, labels or [r[2] for r in ROWS]):
        lines.append(sep.join([q(f"{a:g}"), q(f"{b:g}"), q(label)]))
    path.write_text(("\ufeff" if bom else "") + end.join(lines) + end, encoding="utf-8", newline="")
    return path


def csv_data(path, architecture="2-4-3", **data):
    cfg = small_config(data={"source": "csv", "path": str(path), **data},
                       model={"architecture": architecture, "output": "softmax"})
    return nnrun.load_data(validate(cfg))


@pytest.mark.parametrize("dialect", [
    {"sep": ";"}, {"sep": "\t"}, {"sep": ";", "bom": True, "crlf": True}, {"sep": ",", "quote": True, "bom": True},
    {"sep": ";", "quote": True, "crlf": True},
], ids=["semicolon", "tab", "semicolon-bom-crlf", "quoted-bom", "quoted-semicolon-crlf"])
def test_every_dialect_reads_as_the_plain_csv(tmp_path, dialect):
    plain = csv_data(write_rows(tmp_path / "plain.csv"))
    other = csv_data(write_rows(tmp_path / "other.csv", **dialect))
    assert other.feature_names == ["height", "weight"]
    np.testing.assert_array_equal(other.raw_train, plain.raw_train)
    np.testing.assert_array_equal(other.labels_train, plain.labels_train)
    assert other.class_names == ["cat", "dog", "emu"]


def test_numbers_read_as_python_reads_them_and_bad_cells_are_named(tmp_path):
    # numeric columns go through pandas' C parser (fast), text columns through to_numeric:
    # both must give float()'s numbers, and a bad cell its row and text either way
    from nnrun.data import read_csv

    rng = np.random.default_rng(0)
    values = (rng.normal(size=2000) * 10.0 ** rng.integers(-300, 300, 2000)).tolist()
    cells = [repr(v) for v in values] + [f"{v:.6e}" for v in values] + ["7", " 3.25", "-0", "1e-320"]
    (tmp_path / "n.csv").write_text("x;y\n" + "".join(f"{c};1\n" for c in cells))
    X, y, _, _ = read_csv(str(tmp_path / "n.csv"), None, None)
    assert np.array_equal(X[:, 0], [float(c) for c in cells]) and (y == 1).all()
    for bad, what in [("inf", "value 'inf'"), ("", "missing value"), ("1,5", "value '1,5'")]:
        (tmp_path / "b.csv").write_text(f"x;y\n1.5;0\n{bad};1\n")
        with pytest.raises(nnrun.NnrunError, match=f"row 3, column 'x': {what}"):
            read_csv(str(tmp_path / "b.csv"), None, None)


def test_text_labels_become_named_classes_in_sorted_order(tmp_path):
    d = csv_data(write_rows(tmp_path / "d.csv"), test_fraction=0.2)
    assert d.class_names == ["cat", "dog", "emu"] and d.label_name == "kind"
    labels = np.concatenate([d.labels_train, d.labels_test])
    assert sorted(np.bincount(labels)) == [10, 10, 10]
    i = int(np.flatnonzero(d.raw_train[:, 0] == 0.5)[0])  # row 1 of ROWS is a dog
    assert d.class_names[d.labels_train[i]] == "dog"


def test_numeric_labels_keep_their_numbers_as_names(tmp_path):
    d = csv_data(write_rows(tmp_path / "d.csv", labels=[["2", "10", "7"][i % 3] for i in range(30)]))
    assert d.class_names == ["2", "7", "10"]  # by value, not as text


def clean_error(result, words, runs_dir=None):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    if runs_dir is not None:
        assert not runs_dir.exists() or not any(runs_dir.iterdir())


@pytest.mark.parametrize("labels,task,words", [
    ([f"{0.5 * (i % 3)}" for i in range(30)], "classification", ["label 0.5", "not a whole number",
                                                                  "data.task: regression"]),
    ([["cat", "dog", "emu"][i % 3] for i in range(30)], "regression", ["'cat'", "text", "regression"]),
    ([""] + ["cat"] * 15 + ["dog"] * 14, "classification", ["row 2", "column 'kind'", "missing label"]),
], ids=["fractional-classes", "text-regression", "missing-label"])
def test_bad_labels_are_one_clean_line(tmp_path, write_config, runs_dir, labels, task, words):
    write_rows(tmp_path / "d.csv", labels=labels)
    out = 1 if task == "regression" else 3
    cfg = small_config(data={"source": "csv", "path": "d.csv", "task": task},
                       model={"architecture": f"2-4-{out}", "output": "identity" if task == "regression" else "softmax"},
                       train={"loss": "quadratic"})
    clean_error(nnrun_process("train", write_config(cfg), "--runs-dir", runs_dir), words, runs_dir)


def test_command_line_paths_are_relative_to_the_current_directory(tmp_path, runs_dir):
    (tmp_path / "configs").mkdir()
    (tmp_path / "work").mkdir()
    write_rows(tmp_path / "work" / "mine.csv")
    write_rows(tmp_path / "configs" / "mine.csv", labels=["a", "b", "c"] * 10)  # the config's neighbour
    cfg = small_config(data={"source": "csv", "path": "mine.csv"}, model={"architecture": "2-4-3"},
                       train={"iterations": 20})
    path = tmp_path / "configs" / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # in the file: relative to the file
    first = nnrun_process("train", path, "--runs-dir", runs_dir, "-q", cwd=tmp_path / "work")
    assert first.returncode == 0, first.stderr
    first_dir = Path(first.stdout.strip().splitlines()[-1])
    first_dir = first_dir if first_dir.is_absolute() else tmp_path / "work" / first_dir
    assert json.loads((first_dir / "model.json").read_text())["class_names"] == ["a", "b", "c"]
    # on the command line: relative to where the user stands
    second = nnrun_process("train", path, "data.path=mine.csv", f"model.init_from={first_dir / 'model.npz'}",
                           "--runs-dir", runs_dir, "-q", cwd=tmp_path / "work")
    assert second.returncode == 0, second.stderr
    second_dir = Path(second.stdout.strip().splitlines()[-1])
    second_dir = second_dir if second_dir.is_absolute() else tmp_path / "work" / second_dir
    config = yaml.safe_load((second_dir / "config.yaml").read_text())
    assert config["data"]["path"] == str((tmp_path / "work" / "mine.csv").resolve())
    assert json.loads((second_dir / "model.json").read_text())["class_names"] == ["cat", "dog", "emu"]
    relative_model = Path("..") / first_dir.relative_to(tmp_path) / "model.npz"
    third = nnrun_process("train", path, f"model.init_from={relative_model}", "--runs-dir", runs_dir, "-q",
                          cwd=tmp_path / "work")
    assert third.returncode == 0, third.stderr


# ------------------------------------------------------------------------ predict
@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """The shipped iris config: semicolon-separated, byte-order mark, species as text."""
    runs = tmp_path_factory.mktemp("iris")
    result = cli("train", CONFIGS / "iris.yaml", "--runs-dir", runs, "-q")
    assert result.exit_code == 0, result.output
    return run_dir_from(result)


def test_iris_with_species_names_trains_and_predict_matches_the_test_accuracy(iris_run, tmp_path):
    metrics = read_metrics(iris_run)
    assert metrics["test_accuracy"] >= 0.9
    assert json.loads((iris_run / "model.json").read_text())["class_names"] == ["setosa", "versicolor", "virginica"]
    cfg = nnrun.load_config(CONFIGS / "iris.yaml")
    data = nnrun.load_data(cfg)
    rows = pd.DataFrame(data.raw_test, columns=data.feature_names)
    rows["species"] = [data.class_names[k] for k in data.labels_test]
    rows.to_csv(tmp_path / "test_rows.csv", index=False)
    result = cli("predict", iris_run, tmp_path / "test_rows.csv", "--out", tmp_path / "pred.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "pred.csv")
    assert list(table.columns) == ["species", "predicted", "p_setosa", "p_versicolor", "p_virginica"]
    np.testing.assert_allclose(table[["p_setosa", "p_versicolor", "p_virginica"]].sum(axis=1), 1, atol=1e-5)
    accuracy = (table["species"] == table["predicted"]).mean()
    assert accuracy == pytest.approx(metrics["test_accuracy"])
    assert f"accuracy {metrics['test_accuracy']:.4f} ({len(table)} of {len(table)}" in result.stderr \
        or f"accuracy {metrics['test_accuracy']:.4f}" in result.stderr


def test_predict_new_rows_without_labels_prints_class_names(iris_run, tmp_path):
    (tmp_path / "new.csv").write_text("petal_width\tpetal_length\tsepal_width\tsepal_length\n"  # any column order
                                      "0.2\t1.4\t3.5\t5.1\n1.3\t4.5\t2.8\t6.0\n2.3\t5.9\t3.0\t6.8\n")
    result = cli("predict", iris_run, tmp_path / "new.csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("predicted,p_setosa")
    assert [line.split(",")[0] for line in lines[1:]] == ["setosa", "versicolor", "virginica"]
    assert "3 rows predicted" in result.stderr


@pytest.mark.parametrize("text,words", [
    ("sepal_length;sepal_width;petal_length\n5.1;3.5;1.4\n", ["no column 'petal_width'", "trained on"]),
    ("sepal_length;sepal_width;petal_length;petal_width\n5.1;3.5;1.4;wide\n", ["row 2", "'petal_width'", "'wide'",
                                                                             "finite number"]),
    ("sepal_length;sepal_width;petal_length;petal_width;species\n5.1;3.5;1.4;0.2;rose\n",
     ["label 'rose'", "setosa, versicolor, virginica"]),
    ("", ["empty"]),
], ids=["missing-column", "text-value", "unknown-class", "empty"])
def test_predict_bad_input_is_exit_2_and_one_line(iris_run, tmp_path, text, words):
    (tmp_path / "new.csv").write_text(text)
    result = nnrun_process("predict", iris_run, tmp_path / "new.csv", "--out", tmp_path / "out.csv")
    clean_error(result, ["new.csv", *words])
    assert not (tmp_path / "out.csv").exists()


def test_predict_needs_a_run_and_a_file(iris_run, tmp_path):
    clean_error(nnrun_process("predict", tmp_path / "nothing", REPO / "datasets" / "iris.csv"), ["nothing"])
    clean_error(nnrun_process("predict", iris_run, tmp_path / "none.csv"), ["none.csv", "no such file"])


def test_predict_regression_writes_values(tmp_path, write_config, runs_dir):
    x = np.linspace(-1, 1, 40)
    pd.DataFrame({"x": x, "y": 2 * x + 1}).to_csv(tmp_path / "line.csv", index=False)
    cfg = small_config(data={"source": "csv", "path": "line.csv", "task": "regression"},
                       model={"architecture": "1-1", "output": "identity", "init": "xavier"},
                       train={"loss": "quadratic", "eta": 0.1, "iterations": 2000, "batch_size": 8})
    run_dir = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    result = cli("predict", run_dir, tmp_path / "line.csv")
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(table.columns) == ["y", "predicted"]
    np.testing.assert_allclose(table["predicted"], 2 * x + 1, atol=1e-3)
    assert "RMSE" in result.stderr and "R² 1" in result.stderr
