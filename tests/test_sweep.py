"""nnrun sweep and nnrun plot: grids, results, heatmaps, divergence, resume, Dask."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import cli, nnrun_process, run_dir_from, small_config
from nnrun.store.history import SWEEP_HISTORY_ROWS, read_history

FAST = {"train": {"iterations": 60, "batch_size": 4, "log_every": 20}}


def sweep_config(**grid):
    cfg = small_config(**FAST)
    cfg["sweep"] = {"grid": grid or {"train.eta": [0.05, 0.5], "train.lambda": "logspace(-3, -1, 3)"}, "seeds": 1}
    return cfg


def test_two_axes_give_cells_results_and_heatmaps(write_config, runs_dir):
    result = cli("sweep", write_config(sweep_config()), "--jobs", "2", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    assert sweep_dir.name.endswith("-tiny-sweep")
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 6 and set(results["status"]) == {"completed"}
    assert sorted(results["train.lambda"].unique()) == [0.001, 0.01, 0.1]
    pages = []
    for folder in results["folder"]:  # a cell draws no pictures; `nnrun plot CELL` does, on demand
        files = {p.name for p in (sweep_dir / folder).iterdir()}
        assert {"config.yaml", "metrics.json", "model.npz"} <= files and "history.csv" not in files
        assert not [f for f in files if f.endswith(".png")]
        assert len(read_history(sweep_dir / folder)) == 4  # its rows of the sweep's table (60 iterations / 20 + 1)
        pages += [folder] if "report.html" in files else []
    assert len(pages) == 1  # the best cell's page, which the sweep page links to; the others on demand
    page = (sweep_dir / "report.html").read_text()
    assert f"{pages[0]}/report.html" in page and f"{results['folder'][1 if pages[0] == results['folder'][0] else 0]}/'" in page
    assert (sweep_dir / "heatmaps.png").exists() and (sweep_dir / "summary.csv").exists()
    assert (sweep_dir / "curves.png").exists()  # two axes: every cell's losses in small multiples
    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    assert spec["axes"]["train.lambda"] == [0.001, 0.01, 0.1] and spec["base"]["train"]["log_every"] == 20
    assert "best cell" in result.stderr


def test_comma_overrides_are_axes_and_seeds_repeat_cells(write_config, runs_dir):
    cfg = small_config(**FAST)
    cfg["sweep"] = {"seeds": 2}
    result = cli("sweep", write_config(cfg), "model.architecture=2-3-2,2-6-2", "model.activation=[relu]",
                 "--jobs", "1", "--runs-dir", runs_dir, "-q")
    sweep_dir = run_dir_from(result)
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 4 and sorted(results["seed"].unique()) == [3, 4]
    assert set(results["model.architecture"]) == {"2-3-2", "2-6-2"}
    # each repeat trained with the seed its row names (tests/test_plumbing.py retrains them)
    for _, row in results.iterrows():
        assert yaml.safe_load((sweep_dir / row["folder"] / "config.yaml").read_text())["seed"] == row["seed"]
    first = [np.load(sweep_dir / f / "model.npz")["W1"] for f in results[results["model.architecture"] == "2-3-2"]["folder"]]
    assert not np.array_equal(*first), "the two seeds of a cell trained the same network"
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert len(summary) == 2 and (summary["seeds"] == 2).all() and "test_accuracy_std" in summary
    assert (sweep_dir / "metrics.png").exists()


def test_a_diverging_cell_is_marked_and_the_rest_go_on(write_config, runs_dir):
    cfg = sweep_config(**{"train.eta": [0.1, 100.0]})
    cfg["model"].update(activation="relu", output="identity", init="he")
    cfg["train"]["loss"] = "quadratic"
    result = cli("sweep", write_config(cfg), "--jobs", "2", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0
    results = pd.read_csv(run_dir_from(result) / "results.csv")
    assert results.set_index("train.eta")["status"].to_dict() == {0.1: "completed", 100.0: "diverged"}
    assert (run_dir_from(result) / "metrics.png").exists()


def test_a_cell_whose_loss_blows_up_without_overflow_is_marked_diverged(write_config, runs_dir):
    # E5's eta=100: sigmoid units saturate and the softmax loss grows 30x but stays finite;
    # it used to be reported as 'completed' and drawn as an ordinary bad cell
    # two axes with a single completed cell: its heatmap crashed once (a one-value log colour scale)
    cfg = sweep_config(**{"train.eta": [0.5, 300.0], "train.lambda": [0.0]})
    cfg["model"].update(architecture="2-8-2", activation="sigmoid", output="softmax", init="normal")
    cfg["train"].update(loss="cross_entropy", iterations=300, batch_size=8, log_every=10)
    result = cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0
    sweep_dir = run_dir_from(result)
    results = pd.read_csv(sweep_dir / "results.csv").set_index("train.eta")
    assert results["status"].to_dict() == {0.5: "completed", 300.0: "diverged"}
    assert pd.notna(results.loc[300.0, "train_loss"])  # finite, unlike an overflow
    metrics = json.loads((sweep_dir / results.loc[300.0, "folder"] / "metrics.json").read_text())
    assert metrics["diverged_at"] == metrics["diagnostics"]["blew_up_at"] > 0
    assert (sweep_dir / "heatmaps.png").exists()


@pytest.mark.parametrize("axis,said", [
    ("train.eta=0.1,-1", "command line 'train.eta=0.1,-1': train.eta: Input should be greater than 0 (got -1)"),
    # an axis from the command line was called sweep.grid.train.eta, a key of the file
    ("train.eta=logspace(-2,0)", "command line 'train.eta=logspace(-2,0)': 'logspace(-2,0)' is not a list"),
    ("train.eta=logspace(a,0,3)", "command line 'train.eta=logspace(a,0,3)': 'logspace(a,0,3)' is not a list"),
])
def test_bad_axis_value_exits_2_before_any_folder(axis, said, write_config, runs_dir):
    result = nnrun_process("sweep", write_config(sweep_config()), axis, "--runs-dir", runs_dir)
    assert result.returncode == 2 and said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not runs_dir.exists()


def test_interrupted_sweep_resumes_without_redoing_cells(write_config, runs_dir):
    cfg = sweep_config(**{"train.eta": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]})
    # cells long enough (~0.5 s each, no pictures) that Ctrl-C lands between the first and the last
    cfg["train"].update(iterations=400000, log_every=1000)
    cfg["data"]["n_samples"] = 400
    path = write_config(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(path), "--jobs", "1", "--runs-dir",
                             str(runs_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for the first finished cell, then interrupt
        done = list(runs_dir.glob("*-sweep/c*/metrics.json"))
        if done:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    sweep_dir = next(runs_dir.glob("*-sweep"))
    finished = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("c*/metrics.json")}
    assert 1 <= len(finished) < 6 and not list(sweep_dir.glob(".*partial"))
    assert "--resume" in err and f"sweep interrupted: {len(finished)} of 6 cells done" in err

    result = cli("sweep", path, "--resume", sweep_dir, "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 6 and set(results["status"]) == {"completed"}
    for name, mtime in finished.items():  # finished cells were not redone
        assert (sweep_dir / name / "metrics.json").stat().st_mtime_ns == mtime


def test_interrupted_sweep_with_overrides_prints_a_resume_command_that_finishes_it(write_config, runs_dir):
    # issue 23: "finish it with: nnrun sweep CONFIG --resume DIR" left out the overrides, and
    # --resume then refused the command it had been told to type
    import shlex

    cfg = sweep_config(**{"train.eta": [0.01, 0.02, 0.03, 0.04]})
    cfg["data"]["n_samples"] = 400
    path = write_config(cfg)
    overrides = ["train.iterations=400000", "train.log_every=1000"]
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(path), *overrides, "--jobs", "1",
                             "--runs-dir", str(runs_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(runs_dir.glob("*-sweep/c*/metrics.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    line = next(x for x in err.splitlines() if "finish it with: " in x)
    words = shlex.split(line.split("finish it with: ", 1)[1])
    assert words[:2] == ["nnrun", "sweep"]
    result = nnrun_process(*words[1:], "-q")
    assert result.returncode == 0, result.stderr
    sweep_dir = next(runs_dir.glob("*-sweep"))
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 4 and set(results["status"]) == {"completed"}


def test_resume_refuses_a_config_or_overrides_that_changed(write_config, runs_dir):
    # --resume used to run the saved sweep.yaml and ignore what it was given, without a word:
    # a user who changed an axis or a key believed the finished sweep used the new values
    path = write_config(sweep_config(**{"train.eta": [0.05, 0.5]}))
    sweep_dir = run_dir_from(cli("sweep", path, "--jobs", "1", "--runs-dir", runs_dir, "-q"))
    before = {p: p.stat().st_mtime_ns for p in sweep_dir.rglob("*")}
    for changed, said in [(["train.eta=0.05,0.1"], "sweep axis train.eta=0.05,0.5"),
                          (["train.iterations=80"], "train.iterations=60"),
                          (["sweep.seeds=2"], "sweep.seeds=1")]:
        result = nnrun_process("sweep", path, *changed, "--resume", sweep_dir, "-q")
        assert result.returncode == 2, result.stderr
        assert said in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in sweep_dir.rglob("*")} == before
    same = nnrun_process("sweep", path, "--resume", sweep_dir, "-q")
    assert same.returncode == 0 and "2 of 2 cells already done" in same.stderr


def test_plot_recreates_deleted_pngs_of_a_run_and_a_sweep(write_config, runs_dir):
    run_dir = run_dir_from(cli("train", write_config(small_config(**FAST)), "--runs-dir", runs_dir, "-q"))
    for png in run_dir.glob("*.png"):
        png.unlink()
    result = cli("plot", run_dir)
    assert result.exit_code == 0
    assert {p.name for p in run_dir.glob("*.png")} == {"loss.png", "data.png", "regions.png", "accuracy.png",
                                                       "neurons.png", "network.png", "confusion.png"}
    assert cli("plot", run_dir, "--format", "pdf").exit_code == 0 and (run_dir / "regions.pdf").exists()

    sweep_dir = run_dir_from(cli("sweep", write_config(sweep_config(), "s.yaml"), "--runs-dir", runs_dir, "-q"))
    for png in sweep_dir.rglob("*.png"):
        png.unlink()
    assert cli("plot", sweep_dir).exit_code == 0
    assert (sweep_dir / "heatmaps.png").exists() and not list(sweep_dir.glob("c*/*.png"))
    # a cell's pictures are drawn on demand, with its page (the sweep wrote only the best cell's)
    cell = next(p for p in sorted(sweep_dir.glob("c*")) if p.is_dir() and not (p / "report.html").exists())
    assert "nnrun plot" in (sweep_dir / "report.html").read_text()
    assert cli("plot", cell).exit_code == 0
    assert {"loss.png", "regions.png"} <= {p.name for p in cell.glob("*.png")}
    assert "loss.png" in (cell / "report.html").read_text()
    assert "../report.html" in (cell / "report.html").read_text()  # still linked up to its sweep
    assert (sweep_dir / "curves.png").exists()


def test_plot_of_a_missing_folder_exits_2(tmp_path):
    result = nnrun_process("plot", tmp_path / "nope")
    assert result.returncode == 2 and "no such run folder" in result.stderr


def test_dask_scheduler_runs_every_cell(write_config, runs_dir):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = cli("sweep", write_config(sweep_config()), "--scheduler", cluster.scheduler_address,
                     "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    results = pd.read_csv(run_dir_from(result) / "results.csv")
    assert len(results) == 6 and set(results["status"]) == {"completed"}


def test_sweep_section_overrides_on_the_command_line_count(write_config, runs_dir):
    # regression: sweep.seeds=2 and sweep.grid={...} given as overrides were ignored
    cfg = small_config(**FAST)
    result = cli("sweep", write_config(cfg), "sweep.seeds=2", "sweep.grid={train.eta: [0.1, 1e-1, 1]}",
                 "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    results = pd.read_csv(run_dir_from(result) / "results.csv")
    assert len(results) == 6 and sorted(results["seed"].unique()) == [3, 4]


def test_best_cell_ties_go_to_the_lower_loss():
    from nnrun.store.results import best_row

    results = pd.DataFrame({"status": ["completed"] * 3, "test_accuracy": [1.0, 1.0, 0.9],
                            "train_accuracy": [1.0] * 3, "test_loss": [0.06, 0.002, 0.001],
                            "train_loss": [0.1] * 3, "folder": ["a", "b", "c"], "seed": [0] * 3})
    row, metric = best_row(results)
    assert metric == "test_accuracy" and row["folder"] == "b"


def test_with_a_validation_set_the_best_cell_is_chosen_on_it_not_on_the_test_set():
    """Issue 20: choosing by test accuracy is selection on the test set. Cell a has the best
    test accuracy, b and c tie on validation accuracy and c has the lower validation loss."""
    from nnrun.store.results import best_row, chosen_by

    results = pd.DataFrame({"status": ["completed"] * 4, "folder": ["a", "b", "c", "d"], "seed": [0] * 4,
                            "val_accuracy": [0.90, 0.95, 0.95, 0.99], "val_loss": [0.3, 0.2, 0.1, 0.05],
                            "test_accuracy": [0.99, 0.90, 0.93, 0.80], "test_loss": [0.01, 0.3, 0.2, 0.5],
                            "train_accuracy": [1.0] * 4, "train_loss": [0.1] * 4})
    results.loc[3, "status"] = "diverged"  # d is out however good its records look
    row, metric = best_row(results)
    assert (metric, row["folder"]) == ("val_accuracy", "c")
    assert chosen_by(metric) == "val_accuracy (ties: lower val_loss)"
    # a regression (no accuracy) with a validation set: the lowest validation loss
    regression = results.assign(val_accuracy=np.nan, test_accuracy=np.nan, train_accuracy=np.nan)
    row, metric = best_row(regression)
    assert (metric, row["folder"]) == ("val_loss", "c")
    # without a validation set the test set chooses, and the rule says so
    row, metric = best_row(results.drop(columns=["val_accuracy", "val_loss"]))
    assert (metric, row["folder"]) == ("test_accuracy", "a")
    assert "chosen on the test set" in chosen_by(metric)


def test_a_sweep_with_a_validation_set_names_the_metric_that_chose_and_reports_test_beside(
        write_config, runs_dir):
    cfg = sweep_config(**{"train.eta": [0.05, 0.5]})
    cfg["data"]["validation_fraction"] = 0.25
    result = cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir)
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    assert "best cell chosen by val_accuracy (ties: lower val_loss)" in result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("best cell (val_accuracy"))
    results = pd.read_csv(sweep_dir / "results.csv")
    best = results.sort_values(["val_accuracy", "val_loss"], ascending=[False, True]).iloc[0]
    assert f"; its test_accuracy {best['test_accuracy']:.4g}" in line and best["folder"] in line
    page = (sweep_dir / "report.html").read_text()
    assert "Chosen by val_accuracy (ties: lower val_loss)." in page
    table = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv").stdout))
    assert list(table["kind"]) == ["sweep (by val_accuracy)"]
    # without one, the summary says that the test set chose
    cfg["data"]["validation_fraction"] = 0.0
    result = cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir)
    assert "best cell chosen by test_accuracy (ties: lower test_loss), chosen on the test set" in result.stderr


def test_with_several_seeds_the_best_cell_is_the_best_mean():
    """One lucky seed must not win: eta=0.1 has the single best seed, eta=0.2 the best mean."""
    from nnrun.store.results import best_row

    results = pd.DataFrame({"train.eta": [0.1, 0.1, 0.2, 0.2], "seed": [0, 1, 0, 1],
                            "status": ["completed"] * 4, "test_accuracy": [1.0, 0.80, 0.95, 0.96],
                            "train_accuracy": [1.0] * 4, "test_loss": [0.1] * 4, "train_loss": [0.1] * 4,
                            "folder": ["a", "b", "c", "d"]})
    row, metric = best_row(results, {"train.eta": [0.1, 0.2]})
    assert row["train.eta"] == 0.2 and row["folder"] == "d" and row["seeds"] == 2
    assert row[metric] == pytest.approx(0.955) and row["std"] == pytest.approx(np.std([0.95, 0.96], ddof=1))
    assert best_row(results)[0]["folder"] == "a"  # without axes: the single best row, as before


def test_summary_averages_the_completed_seeds_and_says_how_each_cells_seeds_ended():
    """Regression (cold read): summary.csv averaged a pruned or diverged seed's numbers, final
    only in name, with the completed ones', and had no word of how the seeds ended."""
    from nnrun.store.results import RESULT_METRICS, summary_table

    rows = [(0.1, 0, "completed", 0.90), (0.1, 1, "completed", 0.80), (0.1, 2, "diverged", 0.10),
            (1.0, 0, "pruned", 0.30), (1.0, 1, "pruned", 0.35), (3.0, 0, "completed", 0.5)]
    results = pd.DataFrame([{"train.eta": eta, "seed": seed, "status": status, "folder": f"{eta}-{seed}",
                             **{m: np.nan for m in RESULT_METRICS}, "test_accuracy": acc}
                            for eta, seed, status, acc in rows])
    summary = summary_table(results, {"train.eta": [0.1, 1.0, 3.0]}).set_index("train.eta")
    assert summary.loc[0.1, "test_accuracy_mean"] == pytest.approx(0.85)
    assert summary.loc[0.1, "test_accuracy_std"] == pytest.approx(np.std([0.9, 0.8], ddof=1))
    assert list(summary["seeds"]) == [3, 2, 1] and list(summary["completed"]) == [2, 0, 1]
    assert list(summary["status"]) == ["2 completed, 1 diverged", "pruned", "completed"]
    assert np.isnan(summary.loc[1.0, "test_accuracy_mean"])  # no completed seed: no number


def test_heatmap_marks_diverged_cells_whatever_the_value_spelling(write_config, runs_dir):
    cfg = small_config(**FAST)
    cfg["model"].update(activation="relu", output="identity", init="he")
    cfg["train"]["loss"] = "quadratic"
    result = cli("sweep", write_config(cfg), "train.eta=1e-1,1e3", "model.architecture=2-4-2,2-8-2",
                 "--jobs", "2", "--runs-dir", runs_dir, "-q")
    results = pd.read_csv(run_dir_from(result) / "results.csv")
    assert set(results[results["train.eta"] == 1000.0]["status"]) == {"diverged"}


def test_a_single_value_for_a_grid_key_fixes_that_axis(write_config, runs_dir):
    # regression: train.lambda=0.001 on the command line was silently replaced by the grid's values
    cfg = {**small_config(**FAST), "sweep": {"grid": {"train.eta": [0.1, 1.0], "train.lambda": [0.0, 0.01, 0.1]}}}
    result = cli("sweep", write_config(cfg), "train.lambda=0.001", "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    results = pd.read_csv(run_dir_from(result) / "results.csv")
    assert len(results) == 2 and results["train.lambda"].tolist() == [0.001, 0.001]
    assert sorted(results["train.eta"]) == [0.1, 1.0]


def test_the_fork_servers_preload_imports_what_a_cell_needs_and_no_matplotlib():
    """Cells draw nothing, so the fork server (nnrun.sweeps.preload) no longer spends a
    second of every sweep's start on matplotlib."""
    import subprocess
    import sys

    code = ("import sys, nnrun.sweeps.preload; "
            "print(all(m in sys.modules for m in ('nnrun.experiment', 'nnrun.engines.numba_engine', "
            "'nnrun.report.run')), 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


def test_a_plot_that_fails_costs_no_results(write_config, runs_dir, monkeypatch):
    """A bug in drawing the heatmaps is reported in one line; results.csv and the cells stay."""
    from nnrun.sweeps import runner as sweep

    def broken(*args, **kwargs):
        raise ValueError("broken plot")

    monkeypatch.setattr(sweep, "sweep_plots", broken)
    result = cli("sweep", write_config(sweep_config()), "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0
    assert "the sweep's plots were not drawn (" in result.stderr  # (the worker cannot even unpickle it)
    assert len(pd.read_csv(run_dir_from(result) / "results.csv")) == 6


def test_seed_is_an_axis_like_any_other_key(write_config, runs_dir):
    """Regression: with seed as an axis every cell ran the config's seed (the cell named seed=2
    repeated seed 1's numbers) and the summary crashed (Grouper for 'seed' not 1-dimensional)."""
    import numpy as np

    config = write_config(small_config(**FAST))
    result = nnrun_process("sweep", config, "seed=1,2", "train.eta=0.05,0.5", "--jobs", "1", "--runs-dir",
                           runs_dir / "sweep", "-q")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    sweep_dir = run_dir_from(result)
    results = pd.read_csv(sweep_dir / "results.csv")
    assert list(results.columns).count("seed") == 1 and sorted(results["seed"]) == [1, 1, 2, 2]
    assert len(pd.read_csv(sweep_dir / "summary.csv")) == 4
    for _, row in results.iterrows():
        alone = cli("train", config, f"seed={row['seed']}", f"train.eta={row['train.eta']}", "--runs-dir",
                    runs_dir / f"alone-{row['folder']}", "-q")
        expected = np.load(run_dir_from(alone) / "model.npz")
        got = np.load(sweep_dir / row["folder"] / "model.npz")
        assert all(np.array_equal(expected[k], got[k]) for k in expected.files), row["folder"]
    by_seed = results.set_index(["seed", "train.eta"])["train_loss"]
    assert by_seed[(1, 0.05)] != by_seed[(2, 0.05)]


def test_every_cell_of_a_grid_is_bit_identical_to_training_its_config_alone(write_config, runs_dir):
    """The sweep's invariant: each cell's history and weights are exactly what
    `nnrun train CELL/config.yaml` gives (the same kernels, data, seeds and chunks)."""
    import numpy as np

    cfg = small_config(**FAST)
    cfg["model"]["dropout"] = 0.2
    cfg["train"].update(optimizer="momentum", schedule={"type": "step", "step_size": 2, "gamma": 0.5})
    cfg["sweep"] = {"grid": {"train.eta": [0.05, 0.2], "train.batch_size": [1, 4, "full"]}}
    result = cli("sweep", write_config(cfg), "--jobs", "2", "--runs-dir", runs_dir / "sweep", "-q")
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    cells = sorted(p for p in sweep_dir.glob("c*") if p.is_dir())
    assert len(cells) == 6
    for cell in cells:
        alone = run_dir_from(cli("train", cell / "config.yaml", "--runs-dir", runs_dir / cell.name, "-q"))
        # the cell's history is its rows of the sweep's table, the same columns and numbers as history.csv
        a, b = pd.read_csv(alone / "history.csv"), read_history(cell)
        assert list(a.columns) == list(b.columns)
        pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"), check_exact=True)
        with np.load(alone / "model.npz") as x, np.load(cell / "model.npz") as y:
            assert all(np.array_equal(x[k], y[k]) for k in x.files), cell.name


def test_a_sweep_of_one_cell_and_a_train_of_a_sweep_config_say_so(write_config, runs_dir):
    # issue 23: nnrun sweep with no axes quietly ran one cell, and nnrun train ignored the sweep section
    cfg = small_config(**FAST)
    cfg["sweep"] = {"seeds": 1}
    path = write_config(cfg)
    result = nnrun_process("sweep", path, "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.returncode == 0, result.stderr
    assert f"nnrun: note: {path} and the overrides give no axis with two values or more, so this sweep is one " \
           "cell" in result.stderr
    two = nnrun_process("sweep", path, "train.eta=0.1,0.2", "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert two.returncode == 0 and "note:" not in two.stderr, two.stderr
    trained = nnrun_process("train", path, "--runs-dir", runs_dir, "-q")
    assert trained.returncode == 0, trained.stderr
    assert f"nnrun: note: the sweep section of {path} is ignored by nnrun train; run it with nnrun sweep {path}" \
           in trained.stderr
    plain = nnrun_process("train", write_config(small_config(**FAST)), "--runs-dir", runs_dir, "-q")
    assert plain.returncode == 0 and "note:" not in plain.stderr, plain.stderr


def _held_out_sweep(**sweep):
    """Two axes, a validation set, and the given sweep keys besides the grid."""
    cfg = sweep_config(**{"train.eta": [0.05, 0.5], "train.lambda": [0.0, 0.01]})
    cfg["data"]["validation_fraction"] = 0.25
    cfg["sweep"].update(sweep)
    return cfg


def test_sweep_metrics_choose_what_the_heatmaps_show(write_config, runs_dir, monkeypatch):
    """Issue 23: digits_dropout's study is about the validation and test losses, and no
    sweep picture showed them; sweep.metrics chooses, sweep.yaml keeps the choice and
    ``nnrun plot SWEEP`` redraws with it."""
    from nnrun.plots import heatmaps, sweep_curves

    path = write_config(_held_out_sweep(metrics=["val_loss", "test_loss"]))
    result = cli("sweep", path, "--jobs", "2", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    assert yaml.safe_load((sweep_dir / "sweep.yaml").read_text())["metrics"] == ["val_loss", "test_loss"]
    figures = []
    for module in (heatmaps, sweep_curves):
        monkeypatch.setattr(module, "save_figure", lambda fig, path: figures.append(fig))
    assert cli("plot", sweep_dir).exit_code == 0
    heat, curves = figures
    titles = [ax.get_title() for ax in heat.axes if ax.get_title()]
    assert [t.split(" (")[0] for t in titles] == ["final validation loss", "final test loss"], titles
    assert "training, validation and test loss" in curves._suptitle.get_text()


def test_sweep_without_metrics_keeps_the_default_panels(write_config, runs_dir, monkeypatch):
    from nnrun.plots import heatmaps

    sweep_dir = run_dir_from(cli("sweep", write_config(_held_out_sweep()), "--jobs", "2", "--runs-dir", runs_dir,
                                 "-q"))
    assert "metrics" not in yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    figures = []
    monkeypatch.setattr(heatmaps, "save_figure", lambda fig, path: figures.append(fig))
    assert cli("plot", sweep_dir).exit_code == 0
    titles = [ax.get_title().split(" (")[0] for ax in figures[0].axes if ax.get_title()]
    assert titles == ["validation accuracy: chooses the best cell", "test accuracy", "train accuracy",
                      "final training loss"]


@pytest.mark.parametrize("metrics,words", [
    (["val_los"], ["sweep.metrics", "'val_los'", "did you mean 'val_loss'", "accepted: train_loss"]),
    (["test_r2"], ["sweep.metrics", "'test_r2'", "accepted: train_loss"]),
    (["train_r2x", "test_loss"], ["sweep.metrics", "'train_r2x'", "accepted: train_loss"])])
def test_an_unknown_sweep_metric_is_one_line_and_exit_2(write_config, runs_dir, metrics, words):
    result = nnrun_process("sweep", write_config(_held_out_sweep(metrics=metrics)), "--runs-dir", runs_dir, "-q")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert not runs_dir.exists() or not list(runs_dir.iterdir())


def test_a_validation_metric_without_a_validation_set_is_one_line(write_config, runs_dir):
    cfg = _held_out_sweep(metrics=["val_loss"])
    cfg["data"]["validation_fraction"] = 0.0
    result = nnrun_process("sweep", write_config(cfg), "--runs-dir", runs_dir, "-q")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "sweep.metrics: val_loss needs a validation set" in result.stderr


def test_a_sweep_folder_without_metrics_resumes_under_a_config_that_has_them(write_config, runs_dir):
    """A sweep.yaml written before sweep.metrics existed has no such key: resuming it with the
    config that now names metrics (as configs/digits_dropout.yaml does) must not be refused."""
    old = write_config(_held_out_sweep())
    sweep_dir = run_dir_from(cli("sweep", old, "--jobs", "1", "--runs-dir", runs_dir, "-q"))
    cell = min(sweep_dir.glob("c00*_*"))
    import shutil

    shutil.rmtree(cell)  # one cell left to do
    new = write_config(_held_out_sweep(metrics=["val_loss", "test_loss"]))
    result = nnrun_process("sweep", new, "--resume", sweep_dir, "-q")
    assert result.returncode == 0, result.stderr
    assert "3 of 4 cells already done" in result.stderr and cell.exists()
    assert yaml.safe_load((sweep_dir / "sweep.yaml").read_text())["metrics"] == ["val_loss", "test_loss"]
    changed = nnrun_process("sweep", new, "train.iterations=80", "--resume", sweep_dir, "-q")
    assert changed.returncode == 2 and "train.iterations=60" in changed.stderr  # other keys still checked


def test_a_cell_with_many_records_keeps_every_kth_in_the_sweeps_table_and_plots_and_trains_from_it(
        write_config, runs_dir):
    """Issue 26: a cell recording more than SWEEP_HISTORY_ROWS records keeps every k-th (and
    the last) in its batch's table, rows unchanged; `nnrun plot CELL` draws its loss.png and
    page from there; `nnrun train CELL/config.yaml` gives every record, the kept ones equal."""
    cfg = small_config(train={"iterations": 3000, "batch_size": 4, "log_every": 1})
    cfg["sweep"] = {"grid": {"train.eta": [0.05, 0.2]}}
    sweep_dir = run_dir_from(cli("sweep", write_config(cfg), "--jobs", "2", "--runs-dir", runs_dir / "s", "-q"))
    assert list((sweep_dir / "histories").glob("*.csv.gz")) and not list(sweep_dir.glob("c*/history.csv"))
    alones = {}
    for cell in sorted(p for p in sweep_dir.glob("c*") if p.is_dir()):
        kept = read_history(cell)
        pointer = json.loads((cell / "metrics.json").read_text())["history"]
        assert pointer["records"] == 3001 and pointer["every"] == 4 and len(kept) == pointer["rows"] <= SWEEP_HISTORY_ROWS + 1
        assert kept["iteration"].iloc[-1] == 3000 and kept["iteration"].iloc[0] == 0
        alone = run_dir_from(cli("train", cell / "config.yaml", "--runs-dir", runs_dir / cell.name, "-q"))
        full = pd.read_csv(alone / "history.csv").set_index("iteration")
        assert len(full) == 3001
        got = kept.set_index("iteration")
        pd.testing.assert_frame_equal(full.loc[got.index].drop(columns="seconds"), got.drop(columns="seconds"),
                                      check_exact=True)
        with np.load(alone / "model.npz") as x, np.load(cell / "model.npz") as y:
            assert all(np.array_equal(x[k], y[k]) for k in x.files)
        alones[cell] = alone
    # the best cell's page is written by the sweep; the other's (and its first step, explained) on demand
    cell = next(c for c in alones if not (c / "report.html").exists())
    assert not (cell / "first_step.json").exists()
    assert cli("plot", cell).exit_code == 0
    alone = alones[cell]
    assert (cell / "first_step.json").read_text() == (alone / "first_step.json").read_text()
    assert (cell / "loss.png").exists() and "loss.png" in (cell / "report.html").read_text()
    page = (cell / "report.html").read_text()
    table = json.loads((cell / "metrics.json").read_text())["history"]["file"]
    assert f"href='../{table}'" in page and f"the rows whose folder is {cell.name}" in page
    assert cli("report", cell, alone, "--out", runs_dir / "both.html").exit_code == 0


def test_batches_are_sized_by_cell_time_and_spread_the_tail():
    from nnrun.sweeps.runner import MAX_BATCH, batch_size

    assert batch_size(None, 1000, 2) == 1  # no cell timed yet
    assert batch_size(0.02, 1000, 2) == 25 and batch_size(0.001, 10_000, 2) == MAX_BATCH
    assert batch_size(2.0, 1000, 2) == 1 and batch_size(0.02, 12, 2) == 3  # the last cells spread over the tasks


def test_an_interrupted_sweep_of_batched_cells_resumes_with_each_cell_once(write_config, runs_dir):
    """Ctrl-C drops the batches running (their cells absent, not half written); resume runs
    exactly the missing cells: no cell written twice, none lost, each history found once."""
    cfg = small_config(train={"iterations": 3000, "batch_size": 4, "log_every": 1})
    cfg["sweep"] = {"grid": {"train.eta": "linspace(0.01, 0.2, 8)"}, "seeds": 5}
    path = write_config(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(path), "--jobs", "1", "--runs-dir",
                             str(runs_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(runs_dir.glob("*-sweep/c*/metrics.json"))) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    sweep_dir = next(runs_dir.glob("*-sweep"))
    finished = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("c*/metrics.json")}
    assert proc.returncode == 130 and 3 <= len(finished) < 40, (proc.returncode, len(finished), err)
    assert not list(sweep_dir.glob(".*partial"))
    result = cli("sweep", path, "--resume", sweep_dir, "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 40 and results["folder"].is_unique and set(results["status"]) == {"completed"}
    for name, mtime in finished.items():  # finished cells were not redone
        assert (sweep_dir / name / "metrics.json").stat().st_mtime_ns == mtime
    for folder in results["folder"]:
        history = read_history(sweep_dir / folder)
        assert history["iteration"].is_unique and history["iteration"].iloc[-1] == 3000


def test_thin_finds_each_bins_extremes_as_the_loop_over_bins_did():
    """thin() for all bins at once (a fifth of an E1 sweep cell's time as a loop): the same
    rows as np.argmin/np.argmax bin by bin, with ties, NaN, ±inf and ±0."""
    from nnrun.store.history import _thin_loop, thin

    rng = np.random.default_rng(0)
    for trial in range(600):
        n = int(rng.integers(1, 3000))
        block = rng.normal(size=(n, 3))
        if trial % 3 == 0:
            block[:, 1] = np.round(block[:, 1], 1)
        for k, value in ((5, np.nan), (7, np.inf), (11, -np.inf), (19, -0.0), (23, 0.0)):
            if trial % k == 0:
                block[rng.random(n) < 0.3, 1] = value
        if trial % 13 == 0:
            block[:, 1] = np.nan if trial % 2 else np.inf
        bins = int(rng.integers(1, 100))
        assert np.array_equal(thin(block, bins), _thin_loop(block, bins), equal_nan=True), (trial, n, bins)


def test_config_yaml_is_the_same_text_with_libyaml():
    """dump_yaml uses libyaml's emitter (4x faster for a thousand cells' config.yaml): the same text."""
    from pathlib import Path

    from nnrun.config import dump_yaml

    for path in (Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"):
        raw = yaml.safe_load(open(path))
        assert dump_yaml(raw) == yaml.safe_dump(raw, sort_keys=False, default_flow_style=None), path
    odd = {"a": [0.1, 1e-5, 3.0, None, True, "a: b", "long " * 30, float("inf"), [1, [2, 3]], -0.0, 0.1 + 0.2],
           "b": {"c": "ünï", "d": 12345678901234567890}}
    assert dump_yaml(odd) == yaml.safe_dump(odd, sort_keys=False, default_flow_style=None)


def test_a_kept_history_holds_every_kth_record_and_the_last_and_the_best_as_the_column_loop_did():
    from nnrun.store.history import HistoryKept
    from nnrun.training import HISTORY_COLUMNS

    rng = np.random.default_rng(1)
    for trial in range(200):
        kept, loop = HistoryKept(HISTORY_COLUMNS, int(rng.integers(1, 30))), HistoryKept(HISTORY_COLUMNS)
        blocks, start = [], 0
        for _ in range(int(rng.integers(1, 6))):
            n = int(rng.integers(0, 300))
            block = rng.normal(size=(n, len(HISTORY_COLUMNS))).round(1)
            for value, share in ((np.nan, 0.3), (np.inf, 0.1), (-np.inf, 0.1), (-0.0, 0.1)):
                block[rng.random(block.shape) < share] = value
            block[:, 0] = np.arange(start, start + n)
            start += n
            kept(block.copy())
            loop._best_so_far_loop(block)
            blocks.append(block)
        assert kept.best == loop.best, trial
        every = np.vstack(blocks)
        want = every[::kept.every]
        if len(every) and (len(every) - 1) % kept.every:
            want = np.vstack([want, every[-1:]])
        assert np.array_equal(kept.table(), want, equal_nan=True), trial


def test_a_learning_curve_from_rows_is_the_one_from_their_frame():
    from nnrun.store.history import learning_curve
    from nnrun.training import HISTORY_COLUMNS

    rows = np.random.default_rng(2).random((700, len(HISTORY_COLUMNS)))
    rows[:, HISTORY_COLUMNS.index("test_loss")] = np.nan
    pd.testing.assert_frame_equal(learning_curve(rows, columns=HISTORY_COLUMNS),
                                  learning_curve(pd.DataFrame(rows, columns=HISTORY_COLUMNS)), check_exact=True)


@pytest.mark.parametrize("length", [{"iterations": 300}, {"iterations": None, "epochs": 4}])
def test_a_sweep_of_a_config_without_log_every_records_as_train_does(write_config, runs_dir, length):
    """log_every left out (the shipped digits configs): the sweep resolves it as nnrun train
    does (once an epoch, or ~1,000 records in all), and every cell completes (a regression:
    the cells once divided by the unresolved None and all failed)."""
    cfg = small_config(train={"log_every": None, **length})
    result = cli("sweep", write_config(cfg), "train.eta=0.05,0.2", "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.stderr
    sweep = run_dir_from(result)
    results = pd.read_csv(sweep / "results.csv")
    assert list(results["status"]) == ["completed", "completed"]
    alone = cli("train", sweep / results["folder"][0] / "config.yaml", "--runs-dir", runs_dir / "alone", "-q")
    trained = run_dir_from(alone)
    mine = read_history(sweep / results["folder"][0])
    theirs = pd.read_csv(trained / "history.csv")
    assert list(mine["iteration"]) == list(theirs["iteration"])
    assert np.array_equal(mine["train_loss"].to_numpy(), theirs["train_loss"].to_numpy())


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through Linux's /proc")
def test_a_worker_killed_midway_stops_the_sweep_in_one_line_and_resume_finishes_it(write_config, runs_dir):
    cfg = small_config(train={"iterations": 150000, "log_every": 50000})  # ~0.5 s a cell
    cfg["sweep"] = {"grid": {"train.eta": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]}}
    path = write_config(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(path), "--jobs", "1", "--runs-dir",
                             str(runs_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(runs_dir.glob("*-sweep/c0*/metrics.json")):
        time.sleep(0.05)
    workers = [w for server in _children(proc.pid) for w in _children(server)]  # the fork server's children
    assert workers, "no worker found"
    for worker in workers:
        os.kill(worker, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert err.count("\n") == 1 and err.startswith("nnrun: error: a worker process of the sweep stopped"), err
    assert re.search(r"\d+ cells? (is|are) saved; finish it with: nnrun sweep ", err) and "--resume" in err
    sweep_dir = next(runs_dir.glob("*-sweep"))
    resumed = cli("sweep", path, "--resume", sweep_dir, "--runs-dir", runs_dir, "-q")
    assert resumed.exit_code == 0, resumed.output
    assert set(pd.read_csv(sweep_dir / "results.csv")["status"]) == {"completed"}
    assert len(pd.read_csv(sweep_dir / "results.csv")) == 6


class RecordingPool:
    """A launcher (the pool interface of nnrun.sweeps.launchers) that runs each call at once,
    here, and records which function each task was."""

    slots = 2

    def __init__(self):
        self.calls = []

    def submit(self, fn, *args):
        from concurrent.futures import Future

        self.calls.append(fn.__name__)
        future = Future()
        future.set_result(fn(*args))
        return future

    def wait(self, futures):
        return futures


def test_the_last_batches_warm_their_workers_for_the_pictures(write_config, tmp_path):
    """The worker that trains a sweep's last cells draws next: those batches (two at most,
    one per picture) import the drawing modules beside their training; the earlier ones do not."""
    from nnrun.sweeps.cell import GRID_PICTURES
    from nnrun.sweeps.grid import make_cells
    from nnrun.sweeps.runner import _run_cells

    cfg = small_config(**FAST)
    axes = {"train.eta": [0.05, 0.1, 0.2, 0.5], "train.lambda": [0.0, 0.001, 0.01]}
    todo = make_cells(cfg, axes, 1)
    pool = RecordingPool()
    (tmp_path / "s").mkdir()
    assert _run_cells(pool, todo, tmp_path / "s", True, axes, {}) is False
    tasks = [c for c in pool.calls if c != "warm_up"]
    assert tasks[-2:] == ["warming", "warming"] and set(tasks[:-2]) == {"compute_cells"}, pool.calls
    assert len(list((tmp_path / "s").glob("c0*"))) == 12
    import threading

    for thread in threading.enumerate():
        if thread.name == "nnrun-warm-up":
            thread.join()
    assert all(module in sys.modules for module in GRID_PICTURES)
