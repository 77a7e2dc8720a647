"""nnrun train through the command line: artifacts, overrides, reproducibility, exit codes."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

import nnrun

from conftest import CONFIGS, cli, nnrun_process, r2_of_saved_run, read_metrics, run_dir_from, small_config

ARTIFACTS_2D = {"config.yaml", "history.csv", "metrics.json", "model.npz", "model.json", "loss.png", "data.png",
                "regions.png", "report.html", "accuracy.png", "neurons.png", "network.png", "confusion.png"}


def test_relu_ellipse_writes_every_artifact(runs_dir):
    result = cli("train", CONFIGS / "relu_ellipse.yaml", "train.iterations=3000", "--runs-dir", runs_dir, "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = run_dir_from(result)
    assert run_dir.parent == runs_dir and run_dir.name.endswith("-relu_ellipse")
    assert {p.name for p in run_dir.iterdir()} == ARTIFACTS_2D

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["train"]["iterations"] == 3000  # the override is recorded
    assert config["train"]["log_every"] == 100 and config["model"]["bias_init"] == "zeros"  # defaults spelled out
    assert "nnrun_version" in config

    history = pd.read_csv(run_dir / "history.csv")
    assert list(history.columns) == ["iteration", "train_loss", "test_loss", "train_accuracy", "test_accuracy",
                                     "val_loss", "val_accuracy", "eta", "seconds"]
    assert history["iteration"].tolist() == list(range(0, 3001, 100))

    metrics = read_metrics(run_dir)
    for key in ("status", "iterations", "train_loss", "test_loss", "train_accuracy", "test_accuracy",
                "train_seconds", "seed", "nnrun_version"):
        assert key in metrics
    assert metrics["status"] == "completed" and metrics["iterations"] == 3000
    assert metrics["test_accuracy"] >= 0.95

    model = np.load(run_dir / "model.npz")
    assert model["architecture"].tolist() == [2, 16, 16, 2]
    assert model["activations"].tolist() == ["relu", "relu", "softmax"]
    assert model["W1"].shape == (16, 2) and model["b1"].shape == (16,) and model["W3"].shape == (2, 16)


def test_same_seed_gives_identical_model_and_history(runs_dir, write_config):
    path = write_config(small_config())
    dirs = [run_dir_from(cli("train", path, "--runs-dir", runs_dir, "-q")) for _ in range(2)]
    assert dirs[0] != dirs[1]
    a, b = (np.load(d / "model.npz") for d in dirs)
    assert all(np.array_equal(a[k], b[k]) for k in a.files)
    ha, hb = (pd.read_csv(d / "history.csv").drop(columns="seconds") for d in dirs)
    pd.testing.assert_frame_equal(ha, hb)
    other = run_dir_from(cli("train", path, "seed=4", "--runs-dir", runs_dir, "-q"))
    assert not np.array_equal(np.load(other / "model.npz")["W1"], a["W1"])


def test_overrides_reach_every_section(runs_dir, write_config):
    path = write_config(small_config())
    result = cli("train", path, "model.architecture=2-3-3-2", "model.activation=[relu, elu]",
                 "train.eta=0.01", "data.transform=[standardize]", "--name", "custom", "--runs-dir", runs_dir, "-q")
    run_dir = run_dir_from(result)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["architecture"] == [2, 3, 3, 2]
    assert config["model"]["activation"] == ["relu", "elu"]
    assert config["train"]["eta"] == 0.01 and config["data"]["transform"] == ["standardize"]
    assert run_dir.name.endswith("-custom")


def test_one_sigmoid_unit_gets_a_probability_map(runs_dir, write_config):
    cfg = small_config(model={"architecture": "2-5-1", "activation": "tanh", "output": "sigmoid"})
    cfg["train"].update(iterations=3000, eta=0.3)
    result = cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q")
    run_dir = run_dir_from(result)
    metrics = read_metrics(run_dir)
    # one sigmoid unit: class 1 where a_L >= 0.5, computed here from the saved weights
    data = nnrun.load_data(nnrun.load_config(run_dir / "config.yaml"))
    p = nnrun.Network.from_npz(run_dir / "model.npz").predict(data.X_test)[:, 0]
    assert metrics["status"] == "completed"
    assert metrics["test_accuracy"] == np.mean((p >= 0.5) == (data.labels_test == 1)) > 0.8
    # a probability map, not two flat colours: many shades between the classes' colours
    from PIL import Image

    with Image.open(run_dir / "regions.png") as image:
        shades = len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0))
    assert shades > 200, f"regions.png has {shades} colours"


def test_regression_reports_r2_and_no_accuracy(runs_dir, write_config):
    cfg = small_config(
        data={"source": "csv", "path": str(CONFIGS.parent / "datasets" / "ps5_data.csv"), "label": "x_1",
              "features": ["x_2"], "task": "regression", "test_fraction": 0.2, "transform": ["standardize"]},
        model={"architecture": "1-8-1", "activation": "tanh", "output": "identity"},
        train={"loss": "quadratic", "eta": 0.02, "iterations": 2000, "batch_size": 8, "log_every": 100},
    )
    run_dir = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    metrics = read_metrics(run_dir)
    train_r2, test_r2 = r2_of_saved_run(run_dir)
    assert metrics["train_accuracy"] is None and metrics["test_accuracy"] is None
    assert metrics["train_r2"] == pytest.approx(train_r2, rel=1e-12) and metrics["test_r2"] == pytest.approx(test_r2, rel=1e-12)
    assert pd.read_csv(run_dir / "history.csv")["train_accuracy"].isna().all()
    assert {p.name for p in run_dir.iterdir()} == {"config.yaml", "history.csv", "metrics.json", "model.npz",
                                                   "model.json", "loss.png", "report.html", "network.png", "fit.png",
                                                   "residuals.png", "first_step.json"}


def test_epochs_and_full_batch(runs_dir, write_config):
    cfg = small_config(train={"iterations": None, "epochs": 5, "batch_size": 7, "sampling": "epoch", "log_every": None})
    run_dir = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    metrics = read_metrics(run_dir)
    assert metrics["iterations"] == 5 * 7  # 45 training samples in batches of 7
    history = pd.read_csv(run_dir / "history.csv")
    assert history["iteration"].tolist() == [0, 7, 14, 21, 28, 35]  # once per epoch by default


def test_init_from_restarts_from_saved_weights(runs_dir, write_config):
    first = run_dir_from(cli("train", write_config(small_config()), "--runs-dir", runs_dir, "-q"))
    cfg = small_config(model={"init_from": str(first / "model.npz")}, train={"iterations": 1, "eta": 1e-12})
    second = run_dir_from(cli("train", write_config(cfg, "again.yaml"), "--runs-dir", runs_dir, "-q"))
    np.testing.assert_allclose(np.load(second / "model.npz")["W1"], np.load(first / "model.npz")["W1"], rtol=1e-9)


def test_bad_config_exits_2_with_one_line_and_no_folder(runs_dir, write_config):
    path = write_config(small_config(train={"eta": -1}))
    result = nnrun_process("train", path, "--runs-dir", runs_dir)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "train.eta" in result.stderr and "-1" in result.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_python_dash_m_and_console_script_agree(runs_dir, write_config):
    result = nnrun_process("train", write_config(small_config()), "--runs-dir", runs_dir, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert json.loads((runs_dir / last.split("/")[-1] / "metrics.json").read_text())["status"] == "completed"


def test_a_run_repeats_from_its_own_config_yaml(runs_dir, write_config):
    # regression: the nnrun_version key nnrun writes was refused when read back
    first = run_dir_from(cli("train", write_config(small_config()), "--runs-dir", runs_dir, "-q"))
    again = cli("train", first / "config.yaml", "--runs-dir", runs_dir, "-q")
    assert again.exit_code == 0, again.stderr
    a, b = np.load(first / "model.npz"), np.load(run_dir_from(again) / "model.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_numbers_in_scientific_notation_without_a_dot(runs_dir, write_config):
    # YAML 1.1 reads 1e3 as a string; nnrun reads it as a number, in files and overrides
    text = yaml.safe_dump(small_config())
    assert "iterations: 300" in text
    path = write_config(text.replace("iterations: 300", "iterations: 3e2"))
    result = cli("train", path, "train.eta=5e-2", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.stderr
    config = yaml.safe_load((run_dir_from(result) / "config.yaml").read_text())
    assert config["train"]["iterations"] == 300 and config["train"]["eta"] == 0.05


def test_a_reused_loss_figure_draws_what_a_fresh_one_draws(tmp_path):
    """plot_loss keeps one figure per process; a redraw must leave nothing of the last run."""
    import matplotlib.image

    import nnrun
    from nnrun.plots import curves as plots

    def history(n, scale, test=True):
        it = np.arange(n + 1) * 10.0
        loss = scale * np.exp(-it / (n * 5.0)) + 1e-3
        return pd.DataFrame({"iteration": it, "train_loss": loss, "test_loss": 1.1 * loss if test else np.nan})

    cfg = nnrun.load_config(str(CONFIGS / "relu_ellipse.yaml"))
    other = nnrun.load_config(str(CONFIGS / "higham_2232.yaml"))
    for test_line in (True, False):
        plots._LOSS_FIGURE.clear()
        plots.plot_loss(history(50, 3.0, test_line), cfg, tmp_path / "fresh.png")
        plots._LOSS_FIGURE.clear()
        plots.plot_loss(history(2000, 1e5, not test_line), other, tmp_path / "first.png", "diverged")
        plots.plot_loss(history(50, 3.0, test_line), cfg, tmp_path / "reused.png")
        fresh, reused = (matplotlib.image.imread(tmp_path / name) for name in ("fresh.png", "reused.png"))
        assert fresh.shape == reused.shape and np.array_equal(fresh, reused)


@pytest.mark.parametrize("args,allowed", [
    (["--help"], set()),
    (["train", "--help"], set()),
    (["train", "{bad}"], {"numpy"}),  # a config error: the schema needs NumPy's registries, nothing more
    # a sweep's config error took 1.25 s: nnrun.sweep (now nnrun.sweeps) imported pandas, and numba through rundir (now nnrun.store).
    # (--scheduler: the local fork server, started first, would print its own imports here)
    (["sweep", "{bad}", "--scheduler", "tcp://127.0.0.1:9"], {"numpy"}),
])
def test_help_and_config_errors_load_no_heavy_module(tmp_path, args, allowed):
    """`nnrun --help` took 1.2 s because importing nnrun imported numba, pandas and matplotlib."""
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {source: higham}\n")
    args = [str(bad) if a == "{bad}" else a for a in args]
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nnrun", *args], capture_output=True, text=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    heavy = {"numpy", "pandas", "numba", "matplotlib", "scipy", "torch"}
    assert imported & heavy <= allowed, sorted(imported & heavy)
    assert done.returncode == (0 if "--help" in args else 2), done.stderr[-500:]


def test_the_sweep_help_examples_paste_into_bash():
    """`nnrun sweep --help` showed train.lambda=logspace(-5,1,7) unquoted: pasted into bash, a
    syntax error (cold read)."""
    import re
    import subprocess

    text = " ".join(cli("sweep", "--help").output.split())
    examples = re.search(r"e\.g\. (.*?) \(quoted", text).group(1).split(" or ")
    assert len(examples) == 2
    for example in examples:
        check = subprocess.run(["bash", "-n", "-c", f"nnrun sweep x.yaml {example}"], capture_output=True, text=True)
        assert check.returncode == 0, (example, check.stderr)


def test_drawing_is_announced_and_ctrl_c_while_drawing_says_how_to_draw_the_rest(write_config, runs_dir):
    # issue 23: the pictures took seconds with nothing shown, and Ctrl-C then left a folder saying
    # 'completed' without report.html, and nothing mentioned nnrun plot
    import signal
    import subprocess
    import sys

    path = write_config(small_config(train={"iterations": 60, "batch_size": 4, "log_every": 20}))
    quiet = nnrun_process("train", path, "--runs-dir", runs_dir, "-q")
    assert quiet.returncode == 0 and "drawing" not in quiet.stderr, quiet.stderr
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "train", str(path), "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = []
    for line in proc.stderr:  # interrupt once the drawing is announced (matplotlib alone takes longer)
        said.append(line)
        if line.startswith("drawing "):
            proc.send_signal(signal.SIGINT)
            break
    _, rest = proc.communicate(timeout=120)
    err = "".join(said) + rest
    assert said and said[-1].startswith("drawing 7 pictures ..."), err
    assert proc.returncode == 130, err
    run_dir = max(runs_dir.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert not (run_dir / "report.html").exists() and read_metrics(run_dir)["status"] == "completed"
    assert f"the run is complete, but its pictures and report.html are not; `nnrun plot {run_dir}` draws them" \
        in err, err
    assert "completed: 60 iterations" in err and "Traceback" not in err  # the summary is still given
    assert cli("plot", run_dir).exit_code == 0 and (run_dir / "report.html").exists()


@pytest.mark.parametrize("args, code, out", [(["--version"], 0, "nnrun, version"),
                                             (["train", "missing.yaml"], 2, "")])
def test_the_command_runs_its_exit_handlers_and_keeps_its_exit_code(args, code, out, tmp_path):
    """The nnrun command skips the interpreter's teardown (0.3-0.5 s after the work is done):
    the exit handlers still run, the output is flushed, the exit code is the command's."""
    script = ("import atexit, sys; atexit.register(lambda: print('exit handler ran', file=sys.stderr)); "
              f"sys.argv = ['nnrun', *{args!r}]; from nnrun.cli import entry; entry(); print('not reached')")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith(out) and "not reached" not in done.stdout
    assert done.stderr.endswith("exit handler ran\n"), done.stderr


def test_ctrl_c_during_the_first_compile_says_so_and_leaves_nothing(runs_dir, write_config, tmp_path):
    """Second cold read: Ctrl-C while numba compiled the kernel (a first run) ended the
    command with the 'compiling' line as its last word, and no folder: now one more line says
    what happened. (An empty NUMBA_CACHE_DIR makes this run a first one.)"""
    import os
    import signal
    import time

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty-cache")}
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "train", str(write_config(small_config())), "--runs-dir",
                             str(runs_dir), "-q"], stderr=subprocess.PIPE, text=True, env=env)
    first = proc.stderr.readline()  # the compile is announced before it starts, and takes seconds
    assert "compiling" in first, first
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert "interrupted while compiling: nothing was written" in rest, rest
    assert not any(runs_dir.iterdir()) if runs_dir.exists() else True
