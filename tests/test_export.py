"""nnrun export RUN --to onnx|torch: the exported network computes what nnrun predict computes.

Every exported model is held to Predictor.outputs (a_L of the fitted transforms and the
network, what ``nnrun predict`` writes before choosing a class) to 1e-12, max abs difference,
on the run's raw rows and on rows far outside them. The ONNX tests need onnx and onnxruntime
(``pip install -e ".[export]"``) and skip saying so without them; the PyTorch file is run in a
fresh interpreter in which ``import nnrun`` fails, so it needs only torch and numpy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnrun
from nnrun.config import validate
from nnrun.data.transforms import TRANSFORMS
from nnrun.maths.activations import ACTIVATIONS, OUTPUTS, SOFTMAX
from nnrun.tools.predict import load_predictor
from conftest import CONFIGS, cli, small_config

TOLERANCE = 1e-12
EXPORT = 'pip install -e ".[export]"'
#: element-wise ONNX operators that give IEEE's (and so NumPy's) bits for the same operands
EXACT_OPS = {"Add", "Sub", "Mul", "Div"}


def needs_onnx():
    pytest.importorskip("onnx", reason=f"nnrun export --to onnx needs onnx: {EXPORT}")
    return pytest.importorskip("onnxruntime", reason=f"running the exported graph needs onnxruntime: {EXPORT}")


def train(runs_dir: Path, config, overrides=()) -> Path:
    cfg = nnrun.load_config(config, list(overrides)) if isinstance(config, Path) else validate(config)
    return nnrun.run_experiment(cfg, runs_dir=runs_dir, quiet=True, plots=False, log=lambda m: None)


def rows_of(run_dir: Path) -> np.ndarray:
    """The run's raw rows (training, validation, test) and rows well outside them."""
    data = nnrun.load_data(nnrun.load_config(run_dir / "config.yaml"))
    X = np.vstack([r for r in (data.raw_train, data.raw_val, data.raw_test) if r is not None])
    rng = np.random.default_rng(0)
    far = rng.normal(X.mean(axis=0), 3 * X.std(axis=0) + 1e-3, size=(40, X.shape[1]))
    return np.vstack([X, far])


def onnx_outputs(path: Path, X: np.ndarray) -> np.ndarray:
    ort = needs_onnx()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"] and [o.name for o in session.get_outputs()] == ["y"]
    assert session.get_inputs()[0].type == "tensor(double)"
    return session.run(["y"], {"x": X})[0]


def torch_outputs(path: Path, X: np.ndarray, tmp_path: Path) -> tuple[np.ndarray, list]:
    """(a_L, class names) from the exported file, in a fresh Python where nnrun cannot be imported."""
    np.save(tmp_path / "rows.npy", X)
    script = ("import json, runpy, sys, numpy as np; sys.modules['nnrun'] = None; "
              "ns = runpy.run_path(sys.argv[1], run_name='exported'); X = np.load(sys.argv[2]); "
              "np.save(sys.argv[3], ns['outputs'](X)); "
              "print(json.dumps(ns['predict'](X) if ns['CLASS_NAMES'] else []))")
    done = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "rows.npy"),
                           str(tmp_path / "out.npy")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return np.load(tmp_path / "out.npy"), json.loads(done.stdout)


def check_onnx(run_dir: Path, out=None) -> float:
    """Export to ONNX through the CLI, check the model, return the largest difference from predict."""
    needs_onnx()
    import onnx

    result = cli("export", run_dir, "--to", "onnx", *(["--out", out] if out else []))
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == (Path(out) if out else run_dir / "model.onnx")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    predictor = load_predictor(run_dir)
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["class_names"]) == predictor.class_names
    assert json.loads(meta["features"]) == predictor.features
    assert meta["task"] == predictor.task and meta["nnrun_version"] == nnrun.__version__
    X = rows_of(run_dir)
    difference = float(np.abs(onnx_outputs(path, X) - predictor.outputs(X)).max())
    assert difference <= TOLERANCE
    return difference


def check_torch(run_dir: Path, tmp_path: Path) -> float:
    result = cli("export", run_dir, "--to", "torch")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == run_dir / "model_torch.py" and (run_dir / "model_torch.npz").exists()
    predictor = load_predictor(run_dir)
    X = rows_of(run_dir)
    A, names = torch_outputs(path, X, tmp_path)
    expected = predictor.outputs(X)
    difference = float(np.abs(A - expected).max())
    assert difference <= TOLERANCE
    if predictor.class_names:
        assert names == [predictor.class_names[k] for k in predictor.classes(expected)]
    return difference


# ------------------------------------------------------------------ the shipped configs
NAMED = {
    "higham_2232": ("higham_2232.yaml", ["train.iterations=2000"]),
    "iris": ("iris.yaml", ["train.epochs=20"]),
    "sine_regression": ("sine_regression.yaml", ["train.epochs=20"]),
    "digits": ("digits_optimizers.yaml", ["train.epochs=2"]),
    "polar_ellipse": ("polar_ellipse.yaml", ["train.iterations=500", "data.n_samples=200"]),
}


@pytest.fixture(scope="module")
def named_runs(tmp_path_factory):
    runs, trained = tmp_path_factory.mktemp("named"), {}

    def run(name: str) -> Path:
        if name not in trained:
            config, overrides = NAMED[name]
            trained[name] = train(runs, CONFIGS / config, overrides)
        return trained[name]

    return run


@pytest.mark.parametrize("name", ["higham_2232", "iris", "sine_regression", "digits"])
def test_onnx_of_a_shipped_config_computes_what_predict_computes(named_runs, name):
    check_onnx(named_runs(name))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["higham_2232", "iris", "sine_regression", "digits", "polar_ellipse"])
def test_torch_file_of_a_shipped_config_computes_what_predict_computes(named_runs, name, tmp_path):
    check_torch(named_runs(name), tmp_path)


def test_iris_onnx_holds_the_species_and_the_standardize_nodes_first(named_runs):
    needs_onnx()
    import onnx

    run_dir = named_runs("iris")
    check_onnx(run_dir)
    model = onnx.load(str(run_dir / "model.onnx"))
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["class_names"]) == ["setosa", "versicolor", "virginica"]
    assert [n.op_type for n in model.graph.node] == ["Sub", "Div", "Gemm", "Tanh", "Gemm", "Softmax"]
    assert model.graph.node[0].input[0] == "x" and model.graph.node[-1].output[0] == "y"


def test_polar_is_refused_for_onnx_in_one_line_and_nothing_is_written(named_runs, tmp_path):
    run_dir = named_runs("polar_ellipse")
    before = sorted(p.name for p in run_dir.iterdir())
    for out in ([], ["--out", tmp_path / "polar.onnx"]):
        result = cli("export", run_dir, "--to", "onnx", *out)
        assert result.exit_code == 2 and result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "transform 'polar'" in lines[0] and "atan2" in lines[0], result.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == before
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ every activation, output, transform
def tiny(activation="tanh", output="softmax", transform=()) -> dict:
    loss = "cross_entropy" if output == SOFTMAX else "quadratic"
    return small_config(data={"source": "moons", "n_samples": 40, "noise": 0.1, "test_fraction": 0.25,
                              "transform": list(transform)},
                        model={"architecture": "2-3-2", "activation": activation, "output": output},
                        train={"loss": loss, "iterations": 20, "eta": 0.5})


CASES = ([pytest.param({"activation": a}, id=f"hidden-{a}") for a in ACTIVATIONS]
         + [pytest.param({"output": o}, id=f"output-{o}") for o in OUTPUTS]
         + [pytest.param({"transform": [t]}, id=f"transform-{t}") for t in TRANSFORMS]
         + [pytest.param({"transform": ["center", "minmax", "standardize"]}, id="transform-three")])


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    runs, trained = tmp_path_factory.mktemp("tiny"), {}

    def run(case: dict) -> Path:
        key = json.dumps(case, sort_keys=True)
        if key not in trained:
            trained[key] = train(runs, tiny(**case))
        return trained[key]

    return run


@pytest.mark.parametrize("case", CASES)
def test_onnx_of_every_activation_output_and_transform(tiny_runs, case):
    run_dir = tiny_runs(case)
    if any(TRANSFORMS[t].onnx is None for t in case.get("transform", ())):  # refused: see the polar test
        result = cli("export", run_dir, "--to", "onnx")
        assert result.exit_code == 2 and "cannot be exported to ONNX" in result.stderr
        assert not (run_dir / "model.onnx").exists()
        return
    check_onnx(run_dir)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES)
def test_torch_file_of_every_activation_output_and_transform(tiny_runs, case, tmp_path):
    check_torch(tiny_runs(case), tmp_path)


def test_every_transform_says_how_it_leaves_nnrun():
    """A new transform needs its ``torch`` lines and either an exact ONNX chain or the reason it has none."""
    lacking = []
    for name, cls in TRANSFORMS.items():
        if not getattr(cls, "torch", None):
            lacking.append(f"transform {name!r}: no torch lines (nnrun/data/transforms.py)")
        ops = getattr(cls, "onnx", ())
        if ops is None and not getattr(cls, "onnx_refusal", ""):
            lacking.append(f"transform {name!r}: onnx = None without an onnx_refusal saying why")
        for op, _ in ops or ():
            if op not in EXACT_OPS:
                lacking.append(f"transform {name!r}: ONNX {op} is not one of the exact {sorted(EXACT_OPS)}")
    assert lacking == []


@pytest.mark.torch
def test_every_torch_layer_is_the_registry_counterpart_bit_for_bit():
    import torch
    from torch import nn  # noqa: F401  (the layers' source names nn)

    from nnrun.maths.activations import SOFTMAX_TORCH_LAYER, torch_softmax

    z = torch.linspace(-40, 40, 600, dtype=torch.float64).reshape(-1, 6)
    z = torch.cat([z, torch.tensor([[0.0, -0.0, 1e-300, -1e-300, 1e-9, -1e-9]], dtype=torch.float64)])
    for name, a in ACTIVATIONS.items():
        assert torch.equal(eval(a.torch_layer)(z), a.torch(torch, z)), name
    assert torch.equal(eval(SOFTMAX_TORCH_LAYER)(z), torch_softmax(torch, z))


# ------------------------------------------------------------------ the command's edges
@pytest.mark.torch
def test_out_puts_the_files_where_asked_and_torch_weights_beside(tiny_runs, tmp_path):
    run_dir = tiny_runs({"activation": "tanh"})
    result = cli("export", run_dir, "--to", "torch", "--out", tmp_path / "net.py")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz", "net.py"]
    with np.load(tmp_path / "net.npz") as weights:
        assert sorted(weights.files) == ["W1", "W2", "b1", "b2"]
    X = rows_of(run_dir)
    A, _ = torch_outputs(tmp_path / "net.py", X, tmp_path)
    assert np.abs(A - load_predictor(run_dir).outputs(X)).max() <= TOLERANCE
    assert not (run_dir / "net.py").exists() and not (run_dir / "net.npz").exists()


def test_onnx_out_elsewhere(tiny_runs, tmp_path):
    run_dir = tiny_runs({"activation": "tanh"})
    check_onnx(run_dir, out=tmp_path / "net.onnx")


@pytest.mark.parametrize("args, words", [
    (["--to", "torch", "--out", "net.npz"], ["--out", "net.npz", ".py"]),
    (["--to", "onnx", "--out", "no/such/folder/net.onnx"], ["--out", "cannot write"]),
])
def test_bad_out_is_one_line_and_exit_2(tiny_runs, tmp_path, monkeypatch, args, words):
    if "onnx" in args:
        needs_onnx()
    monkeypatch.chdir(tmp_path)
    result = cli("export", tiny_runs({"activation": "tanh"}), *args)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert all(w in result.stderr for w in words), result.stderr
    assert list(tmp_path.iterdir()) == []


def test_not_a_run_folder(tmp_path):
    result = cli("export", tmp_path / "nothing", "--to", "onnx")
    assert result.exit_code == 2 and "no such run folder" in result.stderr


def test_missing_onnx_says_how_to_install_it(tiny_runs, monkeypatch, tmp_path):
    run_dir = tiny_runs({"activation": "tanh"})
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    result = cli("export", run_dir, "--to", "onnx", "--out", tmp_path / "net.onnx")
    assert result.exit_code == 2 and EXPORT in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
