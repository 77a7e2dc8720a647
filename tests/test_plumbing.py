"""The plumbing's promises, tested through the CLI and the public API.

The maths is held to independent oracles elsewhere (finite differences, the NumPy
reference, PyTorch). These tests hold what connects it: which rows train, validate and
test; what the transforms are fitted on; what model.npz holds after early stopping; what
a sweep cell trained with; what predict rebuilds; what a page shows; what R² is. Each
one failed to catch a small planted bug before it was written (issue 20).
"""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import yaml

import nnrun
from nnrun.config import validate
from nnrun.data import Pipeline
from conftest import CONFIGS, cli, r2_of_saved_run, read_metrics, run_dir_from, small_config


def id_table(tmp_path, n=50):
    """A CSV whose first feature is the row's id, so a split can be read back from the rows."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"id": np.arange(n, dtype=float), "x2": rng.normal(size=n) * 3 + 1,
                          "label": np.arange(n) % 2})
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    return path


def csv_config(path, transform, test=0.2, val=0.2):
    return small_config(
        data={"source": "csv", "path": str(path), "label": "label", "features": ["id", "x2"],
              "test_fraction": test, "validation_fraction": val, "transform": transform},
        model={"architecture": "2-3-2", "activation": "tanh"})


# ------------------------------------------------------------------ split and transforms
@pytest.mark.parametrize("test,val", [(0.2, 0.2), (0.3, 0.0), (0.0, 0.25)])
def test_train_validation_and_test_rows_are_disjoint_and_cover_the_data(tmp_path, test, val):
    data = nnrun.load_data(validate(csv_config(id_table(tmp_path), [], test, val)))
    ids = [set(part[:, 0].astype(int)) for part in (data.raw_train, data.raw_val, data.raw_test)]
    assert [len(s) for s in ids] == [50 - round(50 * test) - round(50 * val), round(50 * val), round(50 * test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert ids[0] | ids[1] | ids[2] == set(range(50))
    # the inputs and targets of each part are those rows' (no transform here)
    for X, raw, labels in ((data.X_train, data.raw_train, data.labels_train), (data.X_val, data.raw_val, data.labels_val),
                           (data.X_test, data.raw_test, data.labels_test)):
        np.testing.assert_array_equal(X, raw)
        np.testing.assert_array_equal(labels, raw[:, 0].astype(int) % 2)


@pytest.mark.parametrize("transform", [["standardize"], ["minmax"], ["center", "polar"], ["polar", "standardize"]])
def test_transforms_refitted_on_the_training_rows_alone_reproduce_every_part(tmp_path, transform):
    """The README's promise: transforms are fitted on the training rows only (never on the
    validation or test rows, which would leak them into training)."""
    data = nnrun.load_data(validate(csv_config(id_table(tmp_path), transform)))
    refit = Pipeline(transform).fit(data.raw_train)
    for X, raw in ((data.X_train, data.raw_train), (data.X_val, data.raw_val), (data.X_test, data.raw_test)):
        np.testing.assert_array_equal(X, refit(raw))
    # and a fit that saw other rows would differ (the check above can fail)
    leaky = Pipeline(transform).fit(np.vstack([data.raw_train, data.raw_val]))
    assert not np.array_equal(leaky(data.raw_test), data.X_test)


# ------------------------------------------------------------------ early stopping's restore
def test_early_stopping_that_never_fires_still_restores_the_best_record(write_config, runs_dir):
    """restore_best with a patience that never runs out: model.npz must hold the weights of
    best_iteration (the same run trained to exactly that iteration ends with them), not the
    last ones, and metrics.json must say that stopping did not fire and the best was restored."""
    cfg = small_config(
        data={"source": "moons", "n_samples": 120, "noise": 0.35, "test_fraction": 0.2, "validation_fraction": 0.25},
        model={"architecture": "2-16-2", "activation": "relu", "init": "he"},
        train={"loss": "cross_entropy", "eta": 0.05, "iterations": 1500, "batch_size": 2, "log_every": 10,
               "optimizer": "adam", "early_stopping": {"patience": 100000, "restore_best": True}})
    result = cli("train", write_config(cfg), "--runs-dir", runs_dir / "es", "-q")
    assert result.exit_code == 0, result.output
    run_dir = run_dir_from(result)
    metrics = read_metrics(run_dir)
    early = metrics["early_stopping"]
    assert metrics["iterations"] == 1500 and early["stopped_at"] is None and early["restored_best"] is True
    best = early["best_iteration"]
    assert 0 < best < 1500, "the best record is the last one: this run would not test the restore"
    history = pd.read_csv(run_dir / "history.csv")
    # history.csv keeps 16 significant digits: the best record as read back, to 1e-15
    assert history["val_loss"].min() == pytest.approx(early["best_loss"], rel=1e-15)
    assert early["best_loss"] < history["val_loss"].iloc[-1]
    assert metrics["val_loss"] == pytest.approx(early["best_loss"], rel=1e-12)

    cfg["train"].pop("early_stopping")
    cfg["train"]["iterations"] = best
    alone = run_dir_from(cli("train", write_config(cfg, "alone.yaml"), "--runs-dir", runs_dir / "alone", "-q"))
    saved, expected = np.load(run_dir / "model.npz"), np.load(alone / "model.npz")
    for key in expected.files:
        np.testing.assert_array_equal(saved[key], expected[key], err_msg=key)


def test_without_restore_best_metrics_json_says_the_last_weights_were_kept(write_config, runs_dir):
    cfg = small_config(
        data={"source": "moons", "n_samples": 120, "noise": 0.35, "test_fraction": 0.2, "validation_fraction": 0.25},
        train={"iterations": 200, "early_stopping": {"patience": 100000, "restore_best": False}})
    metrics = read_metrics(run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q")))
    assert metrics["early_stopping"]["restored_best"] is False and metrics["early_stopping"]["stopped_at"] is None


# ------------------------------------------------------------------ sweep seeds
def test_each_sweep_cell_trained_with_the_seed_its_row_names(write_config, runs_dir):
    """sweep.seeds: each cell's row, its config.yaml and what it trained must agree; the cell
    is bit-identical to `nnrun train BASE seed=S` with the seed its row names."""
    cfg = small_config(train={"iterations": 60, "log_every": 10})
    cfg["sweep"] = {"grid": {"train.eta": [0.1, 0.3]}, "seeds": 2}
    base = write_config(cfg)
    sweep_dir = run_dir_from(cli("sweep", base, "--jobs", "1", "--runs-dir", runs_dir / "sweep", "-q"))
    results = pd.read_csv(sweep_dir / "results.csv")
    assert sorted(results["seed"]) == [3, 3, 4, 4]
    weights = {}
    for _, row in results.iterrows():
        cell = sweep_dir / row["folder"]
        assert yaml.safe_load((cell / "config.yaml").read_text())["seed"] == row["seed"]
        alone = run_dir_from(cli("train", base, f"seed={row['seed']}", f"train.eta={row['train.eta']}",
                                 "--runs-dir", runs_dir / "alone", "-q"))
        trained, expected = np.load(cell / "model.npz"), np.load(alone / "model.npz")
        for key in expected.files:
            np.testing.assert_array_equal(trained[key], expected[key], err_msg=f"{row['folder']}: {key}")
        weights[(row["train.eta"], row["seed"])] = trained["theta"] if "theta" in trained else trained["W1"]
    for eta in (0.1, 0.3):
        assert not np.array_equal(weights[(eta, 3)], weights[(eta, 4)]), "two seeds trained the same network"


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize("transform", [["polar", "standardize"], ["center", "polar"]])
def test_predict_on_raw_rows_equals_the_network_on_the_transformed_inputs(tmp_path, runs_dir, transform):
    """Two transforms that do not commute: predict must rebuild them in training's order."""
    cfg = nnrun.load_config(CONFIGS / "polar_ellipse.yaml", ["train.iterations=3000", "data.n_samples=200",
                                                             f"data.transform=[{', '.join(transform)}]"])
    run_dir = nnrun.run_experiment(cfg, runs_dir=runs_dir, quiet=True, plots=False, log=lambda m: None)
    saved = nnrun.load_config(run_dir / "config.yaml")
    data = nnrun.load_data(saved)
    net = nnrun.Network.from_npz(run_dir / "model.npz")
    rows = tmp_path / "rows.csv"
    pd.DataFrame(data.raw_train, columns=data.feature_names).to_csv(rows, index=False)
    result = cli("predict", run_dir, rows, "--out", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out.csv")
    outputs = net.predict(data.X_train)  # a_L of the sigmoid output units
    expected = np.array(data.class_names)[outputs.argmax(axis=1)]
    assert list(table["predicted"].astype(str)) == list(expected)
    full, _ = nnrun_predict(run_dir, rows)  # the CSV keeps 6 digits; the API the doubles
    p_columns = [c for c in full.columns if c.startswith(("p_", "score_"))]
    np.testing.assert_allclose(full[p_columns].to_numpy(), outputs, rtol=1e-12, atol=0)
    # the other order gives other inputs and other predictions, so the checks above can fail
    reverse = Pipeline(transform[::-1]).fit(data.raw_train)(data.raw_train)
    assert (net.predict(reverse).argmax(axis=1) != outputs.argmax(axis=1)).mean() > 0.1


# ------------------------------------------------------------------ R²
def test_r2_in_metrics_and_predict_is_one_minus_the_residual_share(write_config, runs_dir, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.uniform(-3, 3, 80)
    table = tmp_path / "sine.csv"
    pd.DataFrame({"x": x, "y": np.sin(x) + rng.normal(0, 0.1, 80)}).to_csv(table, index=False)
    cfg = small_config(data={"source": "csv", "path": str(table), "label": "y", "task": "regression",
                             "test_fraction": 0.25},
                       model={"architecture": "1-8-1", "activation": "tanh", "output": "identity"},
                       train={"loss": "quadratic", "eta": 0.05, "iterations": 3000, "batch_size": 4})
    run_dir = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    metrics = read_metrics(run_dir)
    data = nnrun.load_data(nnrun.load_config(run_dir / "config.yaml"))
    train_r2, test_r2 = r2_of_saved_run(run_dir)
    assert 0.5 < test_r2 < 1, "a fit this poor or perfect would not tell R² from SS_res/SS_tot"
    assert metrics["train_r2"] == pytest.approx(train_r2, rel=1e-12)
    assert metrics["test_r2"] == pytest.approx(test_r2, rel=1e-12)
    rows = tmp_path / "test_rows.csv"
    pd.DataFrame({"x": data.raw_test[:, 0], "y": data.Y_test[:, 0]}).to_csv(rows, index=False)
    _, summary = nnrun_predict(run_dir, rows)
    assert summary["r2"] == pytest.approx(test_r2, rel=1e-12)
    result = cli("predict", run_dir, rows, "--out", tmp_path / "out.csv")
    assert f"R² {test_r2:.4g}" in result.output


def nnrun_predict(run_dir, rows):
    from nnrun.predict import predict

    return predict(run_dir, rows)


# ------------------------------------------------------------------ pages
MARKUP = ['n<zz>&"\'', 'a<zz>&"\'', 'b <zz/>', 'x<zz>1', 'x&"2\'', 'cls<zz>']


class PageText(HTMLParser):
    """What a browser would show as text, and which tags the page really has."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], set()
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def shown(self) -> str:
        return "".join(self.text)


def assert_shown_as_text(page_path, expected):
    page = PageText(page_path.read_text())
    assert "zz" not in page.tags, f"{page_path.name}: data became markup"
    for value in expected:
        assert value in page.shown, f"{page_path.name}: {value!r} is not shown as text"


def markup_table(tmp_path):
    rng = np.random.default_rng(1)
    n = 40
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame({"x<zz>1": x[:, 0], 'x&"2\'': x[:, 1],
                          "cls<zz>": np.where(x[:, 0] + x[:, 1] > 0, 'a<zz>&"\'', "b <zz/>")})
    path = tmp_path / "markup.csv"
    frame.to_csv(path, index=False)
    return small_config(name='n<zz>&"\'',
                        data={"source": "csv", "path": str(path), "label": "cls<zz>", "test_fraction": 0.25},
                        train={"iterations": 100, "log_every": 10})


def test_names_labels_and_values_with_markup_come_back_as_text_on_every_page(tmp_path, write_config, runs_dir):
    cfg = markup_table(tmp_path)
    first = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    assert_shown_as_text(first / "report.html", MARKUP)
    second = run_dir_from(cli("train", write_config(cfg), "name=m<zz>&'\"", "--runs-dir", runs_dir, "-q"))
    # nnrun never makes such a folder name, but a user may rename a folder (helper cold audit)
    renamed = second.with_name(second.name + "-<zz>&'\"")
    second.rename(renamed)
    out = tmp_path / "compare.html"
    result = cli("report", first, renamed, "--out", out)
    assert result.exit_code == 0, result.output
    # the config table's text cells (the two names differ) and the renamed folder's name
    assert_shown_as_text(out, ['n<zz>&"\'', "m<zz>&'\"", renamed.name])
    assert cli("plot", renamed).exit_code == 0
    assert_shown_as_text(renamed / "report.html", [renamed.name])
    cfg["sweep"] = {"grid": {"train.eta": [0.05, 0.1]}}
    sweep_dir = run_dir_from(cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir, "-q"))
    assert_shown_as_text(sweep_dir / "report.html", ['n<zz>&"\''])
    for cell in pd.read_csv(sweep_dir / "results.csv")["folder"]:  # the best cell's page, the other's on demand
        if not (sweep_dir / cell / "report.html").exists():
            assert cli("plot", sweep_dir / cell).exit_code == 0
        assert_shown_as_text(sweep_dir / cell / "report.html", MARKUP)
