"""The compiled engine against the NumPy reference: same seed, same samples, same numbers."""

import itertools

import numpy as np
import pytest

import nnrun
from nnrun.maths.activations import ACTIVATIONS
from nnrun.config import validate
from conftest import CONFIGS, small_config


def run(cfg_dict, engine):
    cfg_dict = {**cfg_dict, "train": {**cfg_dict["train"], "engine": engine}}
    cfg = validate(cfg_dict)
    return nnrun.train(cfg, nnrun.load_data(cfg))


def assert_same(a, b):
    assert a.status == b.status and a.iterations == b.iterations
    np.testing.assert_allclose(a.history[:, :5], b.history[:, :5], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a.network.theta, b.network.theta, rtol=1e-10, atol=1e-14)


CASES = [
    # hidden activations x outputs x losses
    *[(hidden, "softmax", "cross_entropy") for hidden in ACTIVATIONS],
    *[("tanh", output, "quadratic") for output in [*ACTIVATIONS, "softmax"]],
    ("relu", "sigmoid", "cross_entropy"),
]


@pytest.mark.parametrize("hidden,output,loss", CASES)
def test_engines_agree_across_functions(hidden, output, loss):
    cfg = small_config(
        model={"architecture": "2-5-4-2", "activation": hidden, "output": output, "init": "xavier"},
        train={"loss": loss, "eta": 0.05, "iterations": 400, "batch_size": 1, "log_every": 7, "lambda": 0.0},
    )
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


@pytest.mark.parametrize("batch,sampling,lam", list(itertools.product([1, 5, "full"], ["random", "epoch"], [0.0, 0.01])))
def test_engines_agree_across_batches_and_penalty(batch, sampling, lam):
    cfg = small_config(train={"loss": "cross_entropy", "eta": 0.2, "iterations": 150, "batch_size": batch,
                              "sampling": sampling, "lambda": lam, "log_every": 1})
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


def test_engines_agree_on_one_sigmoid_unit_and_regression():
    binary = small_config(model={"architecture": "2-6-1", "activation": "elu", "output": "sigmoid"},
                          train={"loss": "cross_entropy"})
    assert_same(run(binary, "numpy"), run(binary, "numba"))
    regression = small_config(data={"task": "regression", "source": "csv", "path": str(
        __import__("conftest").REPO / "datasets" / "ps5_data.csv"), "label": "x_1", "features": ["x_2"],
        "test_fraction": 0.2, "transform": ["standardize"]},
        model={"architecture": "1-6-1", "activation": "tanh", "output": "identity"},
        train={"loss": "quadratic", "eta": 0.01})
    assert_same(run(regression, "numpy"), run(regression, "numba"))


@pytest.mark.parametrize("batch", [1, 2])
def test_engines_agree_on_divergence(batch):
    cfg = small_config(model={"architecture": "2-8-2", "activation": "relu", "output": "identity", "init": "he"},
                       train={"loss": "quadratic", "eta": 50.0, "iterations": 500, "batch_size": batch, "log_every": 50})
    a, b = run(cfg, "numpy"), run(cfg, "numba")
    assert a.status == b.status == "diverged"
    assert a.diverged_at == b.diverged_at


# ------------------------------------------------------------------- the rows path
@pytest.fixture
def rows_path(monkeypatch):
    """Every run through the rows kernel (matrix products), per-sample SGD included."""
    from nnrun.engines import numba_engine as engine_numba

    monkeypatch.setattr(engine_numba, "ROWS_MIN_PARAMS", 0)
    assert engine_numba.use_rows(1, 10)


@pytest.mark.parametrize("hidden,output,loss", CASES)
def test_rows_path_agrees_across_functions(rows_path, hidden, output, loss):
    cfg = small_config(
        model={"architecture": "2-5-4-2", "activation": hidden, "output": output, "init": "xavier"},
        train={"loss": loss, "eta": 0.05, "iterations": 200, "batch_size": 6, "log_every": 7, "lambda": 0.001},
    )
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


@pytest.mark.parametrize("batch,sampling", [(1, "random"), (5, "epoch"), (7, "random"), ("full", "epoch")])
def test_rows_path_agrees_across_batches(rows_path, batch, sampling):
    cfg = small_config(train={"loss": "cross_entropy", "eta": 0.2, "iterations": 120, "batch_size": batch,
                              "sampling": sampling, "lambda": 0.01, "log_every": 1})
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


def test_rows_path_agrees_on_one_sigmoid_unit_and_on_divergence(rows_path):
    binary = small_config(model={"architecture": "2-6-1", "activation": "sigmoid", "output": "sigmoid"},
                          train={"loss": "cross_entropy", "batch_size": 8})
    assert_same(run(binary, "numpy"), run(binary, "numba"))
    cfg = small_config(model={"architecture": "2-8-2", "activation": "relu", "output": "identity", "init": "he"},
                       train={"loss": "quadratic", "eta": 50.0, "iterations": 500, "batch_size": 4, "log_every": 50})
    a, b = run(cfg, "numpy"), run(cfg, "numba")
    assert a.status == b.status == "diverged"
    assert a.diverged_at == b.diverged_at


def test_digits_sized_network_takes_the_rows_path_and_matches_numpy():
    """The E5 shape (64-50-10, batch 100) without forcing: the default thresholds pick rows."""
    from nnrun.engines import numba_engine as engine_numba

    assert engine_numba.use_rows(100, 64 * 50 + 50 + 50 * 10 + 10)
    cfg = small_config(data={"source": "digits", "path": str(__import__("conftest").REPO / "datasets" / "digits.csv"),
                             "test_fraction": 0.2, "transform": ["minmax"]},
                       model={"architecture": "64-50-10", "activation": "sigmoid", "output": "softmax",
                              "init": "normal", "bias_init": 0.01},
                       train={"loss": "cross_entropy", "eta": 1.0, "epochs": 2, "iterations": None,
                              "batch_size": 100, "sampling": "epoch", "lambda": 1e-4, "log_every": 5})
    assert_same(run(cfg, "numpy"), run(cfg, "numba"))


def test_exp_into_is_numpy_exp_to_one_ulp():
    from nnrun.engines.compiled import exp_into

    rng = np.random.default_rng(0)
    x = np.concatenate([-708.0 * rng.random(200_000), -3.0 * rng.random(50_000),
                        [0.0, -0.0, -1e-300, -708.0, -707.99]])
    out, bits = np.empty_like(x), np.empty(len(x), dtype=np.int64)
    exp_into(x, out, bits)
    expected = np.exp(x)
    assert np.max(np.abs(out - expected) / expected) <= np.finfo(float).eps
    special = np.array([-708.5, -745.0, -1e308, -np.inf, np.nan])
    out, bits = np.empty_like(special), np.empty(len(special), dtype=np.int64)
    exp_into(special, out, bits)
    assert out[:4].tolist() == [0.0, 0.0, 0.0, 0.0] and np.isnan(out[4])
    large = np.array([700.0, 709.0, np.inf])  # unused by the kernels (their x <= 0), but right
    out, bits = np.empty_like(large), np.empty(len(large), dtype=np.int64)
    exp_into(large, out, bits)
    assert np.allclose(out[:2], np.exp(large[:2]), rtol=np.finfo(float).eps, atol=0) and out[2] == np.inf


def test_sigmoid_into_is_the_reference_sigmoid():
    from nnrun.maths.activations import sigmoid
    from nnrun.engines.compiled import sigmoid_into

    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(0.0, 5.0, 100_000), [0.0, -0.0, 36.0, -36.0, 708.0, -708.0, -709.5,
                                                         800.0, -800.0, np.inf, -np.inf]])
    out, bits = np.empty_like(z), np.empty(len(z), dtype=np.int64)
    sigmoid_into(z, out, bits)
    expected = sigmoid(z)
    assert np.all(np.abs(out - expected) <= 2 * np.finfo(float).eps * expected + 1e-300)
    sigmoid_into(np.array([np.nan]), out[:1], bits[:1])
    assert np.isnan(out[0])


@pytest.mark.parametrize("config,overrides", [
    ("digits_sweep.yaml", ["train.eta=10", "train.lambda=1e-5", "train.epochs=10"]),  # rows kernel
    ("higham_25552.yaml", ["train.iterations=20000"]),  # per-sample kernel
])
def test_the_run_that_compiles_the_kernel_matches_the_runs_that_load_it(tmp_path, config, overrides):
    """Regression: with fast-math, a kernel compiled in the process and the same kernel loaded
    from numba's cache rounded differently, so a first run on a machine differed from later ones
    (E5's eta = 10 cell: test accuracy 0.50 against 0.94)."""
    import os
    import subprocess
    import sys

    from conftest import CONFIGS

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}  # empty: the first run compiles

    def preload(stop="None"):  # what a sweep's fork server loads: cached kernels only, never a compile
        code = f"from nnrun.engines.numba_engine import load_cached_kernels; print(load_cached_kernels({stop}))"
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip()

    assert preload() == "[]" and not list((tmp_path / "numba-cache").rglob("*.nbc"))
    models, said = [], []
    for run in range(2):
        runs = tmp_path / f"runs{run}"
        done = subprocess.run([sys.executable, "-m", "nnrun", "train", str(CONFIGS / config), *overrides,
                               "--runs-dir", str(runs), "--quiet"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        models.append(next(runs.glob("*/model.npz")).read_bytes())
        said.append("nnrun: compiling the" in done.stderr)
    assert models[0] == models[1]
    assert said == [True, False]  # the first run says it compiles, before it does; later runs are silent
    assert preload() == str(["train_chunk_rows" if "digits" in config else "train_chunk"])
    assert preload(stop="lambda: True") == "[]"  # the server's client is gone: it loads nothing more


def test_ctrl_c_while_the_kernel_compiles_exits_130_at_once_without_a_folder(tmp_path):
    """The first run on a machine compiles for 10-30 s; Ctrl-C then used to wait for the compile."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import CONFIGS

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    runs = tmp_path / "runs"
    process = subprocess.Popen([sys.executable, "-m", "nnrun", "train", str(CONFIGS / "higham_2232.yaml"),
                                "--runs-dir", str(runs)], stderr=subprocess.PIPE, text=True, env=env)
    first = process.stderr.readline()
    assert first.startswith("nnrun: compiling the per-sample training kernel"), first
    time.sleep(1.0)  # inside the compile
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert time.perf_counter() - sent < 3.0  # "within a second", with room for a loaded CI machine
    assert "Traceback" not in process.stderr.read()
    assert not runs.exists()


def test_the_kernels_cache_stamp_covers_every_engine_source(tmp_path):
    """Regression: numba stamped a cached kernel with the hash of its own file only, so a
    change to compiled.py alone (the optimizer step, inlined into both kernels) loaded the
    old machine code from the cache: old numbers, silently (numba issue #1833)."""
    import shutil

    from nnrun.engines import cache
    from nnrun.engines.per_sample import train_chunk
    from nnrun.engines.rows import train_chunk_rows

    for kernel in (train_chunk, train_chunk_rows):  # the stamp numba checks on load (private API)
        assert kernel._cache._cache_file._source_stamp[1] == cache.engines_stamp()
    folder = tmp_path / "engines"
    shutil.copytree(cache.ENGINES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    registries = []
    for path in cache.REGISTRIES:
        registries.append(tmp_path / path.name)
        shutil.copy(path, registries[-1])
    before = cache.sources_stamp(folder, registries)
    with open(folder / "compiled.py", "a") as source:
        source.write("\nLEAKY_SLOPE = 0.02\n")
    assert cache.sources_stamp(folder, registries) != before
    # the codes and slots the kernels take from the registries count too
    before = cache.sources_stamp(folder, registries)
    with open(tmp_path / "optimizers.py", "a") as source:
        source.write("\n# the optimizers reordered\n")
    assert cache.sources_stamp(folder, registries) != before
    assert {p.name for p in cache.REGISTRIES} == {"activations.py", "losses.py", "optimizers.py", "metrics.py"}


def test_the_python_api_says_so_before_it_compiles_a_kernel(monkeypatch, capsys):
    """nnrun.train() from Python compiled a missing kernel in silence (cold read: 28 s
    without a word at the first call); the CLI always said so."""
    from nnrun.engines import numba_engine

    cfg = nnrun.load_config(str(CONFIGS / "higham_2232.yaml"), ["train.iterations=200"])
    data = nnrun.load_data(cfg)
    monkeypatch.setattr(numba_engine, "kernel_loaded", lambda rows: False)  # as in a fresh process
    monkeypatch.setattr(numba_engine, "kernel_cached", lambda rows: False)  # ... whose cache lacks it
    assert nnrun.train(cfg, data).status == "completed"
    assert "nnrun: compiling the per-sample training kernel" in capsys.readouterr().err
    monkeypatch.setattr(numba_engine, "kernel_loaded", lambda rows: True)  # loaded: not a word
    nnrun.train(cfg, data)
    assert capsys.readouterr().err == ""
