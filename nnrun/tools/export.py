"""A trained network that leaves nnrun: ``nnrun export RUN --to onnx|torch [--out PATH]``.

Both forms compute what ``nnrun predict`` computes before it chooses a class (:mod:`nnrun.tools.predict`)::

    a_0 = T(x)                                  the input transforms, as fitted in training
    z_l = W_l a_{l-1} + b_l,  a_l = f_l(z_l)    l = 1..L
    y   = a_L

for raw feature rows x (shape [N, n_features], samples in rows, so each layer is
x W_l^T + b_l), in float64, with nothing else of nnrun.

``onnx``: one ONNX graph ``x -> y`` (tensor(double), dynamic batch N), opset :data:`OPSET`
(onnxruntime >= 1.17 runs it). Its first nodes are the transforms, each a chain of
element-wise Sub/Div with the fitted arrays as initializers (the transform's ``onnx`` entry in
:mod:`nnrun.data.transforms`), which gives NumPy's bits; then per layer one ``Gemm``
(``transB=1``, so W_l is stored as nnrun holds it, [n_l, n_{l-1}]) and the activation
(:data:`ONNX_ACTIVATIONS`). The class names, features, task, output, transforms and the
nnrun version are in the model's ``metadata_props`` (JSON for the lists). A transform without
an exact ONNX form (``polar``: atan2) is refused before anything is written: an export
never computes other numbers.

``torch``: a standalone Python file, ``torch.nn.Sequential`` of ``nn.Linear`` (float64) and
the activations' ``torch.nn`` layers (each registry entry's ``torch_layer``), the fitted
transforms written into it as numbers, the class names; the weights beside it in an .npz
(W1..WL, b1..bL as in model.npz: no pickle, readable with NumPy alone). It needs only torch
and numpy.

The differences from ``nnrun predict`` are rounding: the matrix products sum in another
order, and onnxruntime's exp, tanh and sigmoid are other implementations of the same
functions (ELU's e^z - 1 is Exp then Sub, NumPy's is expm1: at most a few 1e-16 apart).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from nnrun.errors import NnrunError, disk_fault, is_disk_fault
from nnrun.maths.activations import (ACTIVATIONS, LEAKY_SLOPE, SOFTMAX, SOFTMAX_TORCH_LAYER)
from nnrun.store.files import atomic_write
from nnrun.store.names import EXPORT_ONNX, EXPORT_TORCH, torch_weights_path
from nnrun.tools.predict import Predictor, load_predictor

#: ONNX opset of the exported graph: Gemm, Sigmoid, Tanh, Relu, Softmax(axis), Max, Min, Exp
#: with tensor(double) kernels in onnxruntime 1.17 and later
OPSET = 17
#: the ONNX file format (IR) version that goes with the opset, readable by onnxruntime >= 1.17
IR_VERSION = 8
TARGETS = ("onnx", "torch")


# ------------------------------------------------------------------ ONNX
class _Graph:
    """Nodes and initializers being collected, with fresh names for the intermediate values."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers = [], []
        self._count = 0

    def const(self, name: str, value) -> str:
        """A float64 initializer (an array of the run, or a scalar of a formula)."""
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype=np.float64), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        self._count += 1
        output = output or f"{op.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=f"{op}_{self._count}", **attrs))
        return output


def _single(op):
    return lambda g, z, out: g.node(op, [z], out)


def _leaky_relu(g, z, out):
    """max(z, 0.01 z), as nnrun.maths.activations.leaky_relu computes it (the same bits)."""
    return g.node("Max", [z, g.node("Mul", [z, g.const(f"{z}_slope", LEAKY_SLOPE)])], out)


def _elu(g, z, out):
    """max(z, 0) + (e^{min(z, 0)} - 1): nnrun's max(z, 0) + expm1(min(z, 0)), ONNX having no
    Expm1 (and onnxruntime no double Elu); e^m - 1 and expm1(m) differ by rounding only."""
    zero, one = g.const(f"{z}_zero", 0.0), g.const(f"{z}_one", 1.0)
    negative = g.node("Sub", [g.node("Exp", [g.node("Min", [z, zero])]), one])
    return g.node("Add", [g.node("Max", [z, zero]), negative], out)


#: f_l as ONNX nodes, by nnrun's name: ``rule(graph, z, out)`` adds the nodes a = f(z) named out.
#: A new activation in nnrun/maths/activations.py needs its rule here (tests/test_registries.py says so).
ONNX_ACTIVATIONS = {
    "identity": _single("Identity"),
    "sigmoid": _single("Sigmoid"),
    "tanh": _single("Tanh"),
    "relu": _single("Relu"),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    SOFTMAX: lambda g, z, out: g.node("Softmax", [z], out, axis=1),  # over the units of each row
}


def import_onnx():
    """The onnx package, or a one-line NnrunError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise NnrunError('nnrun export --to onnx needs the onnx package: pip install -e ".[export]" in the nnrun '
                         "checkout (or pip install onnx onnxruntime)") from None
    return onnx


def onnx_refusal(predictor: Predictor) -> str | None:
    """Why the run cannot become an exact ONNX graph (a transform or an activation without an
    exact ONNX form), or None."""
    from nnrun.data.transforms import TRANSFORMS

    for name in predictor.transform.names:
        if TRANSFORMS[name].onnx is None:
            return f"transform '{name}' cannot be exported to ONNX: {TRANSFORMS[name].onnx_refusal}"
    for name in predictor.network.activations:
        if name not in ONNX_ACTIVATIONS:
            return f"activation '{name}' has no ONNX form yet (ONNX_ACTIVATIONS in nnrun/tools/export.py)"
    return None


def metadata(predictor: Predictor, run_dir: Path) -> dict[str, str]:
    """What a user of the exported model needs besides the numbers (strings; lists as JSON)."""
    from nnrun import __version__

    return {
        "class_names": json.dumps(predictor.class_names),
        "features": json.dumps(predictor.features),
        "label": json.dumps(predictor.label),
        "task": predictor.task,
        "output": predictor.output,
        "activations": json.dumps(predictor.network.activations),
        "transforms": json.dumps(predictor.transform.names),
        "run": Path(run_dir).resolve().name,
        "nnrun_version": __version__,
    }


def onnx_model(predictor: Predictor, run_dir: Path):
    """The run as an ``onnx.ModelProto``: x [N, n_0] -> transforms -> L x (Gemm, f_l) -> y [N, n_L]."""
    refusal = onnx_refusal(predictor)
    if refusal:
        raise NnrunError(f"nnrun export --to onnx: {refusal}; nothing was written (--to torch exports it)")
    onnx = import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    g = _Graph(helper, numpy_helper)
    net, current = predictor.network, "x"
    for i, (name, step) in enumerate(zip(predictor.transform.names, predictor.transform.steps), start=1):
        for op, array in type(step).onnx:  # x -> x op fitted array, element-wise per feature
            current = g.node(op, [current, g.const(f"{name}{i}_{array}", getattr(step, array))],
                             f"{name}{i}_{op.lower()}_{array}")
    for l, (W, b, f) in enumerate(zip(net.W, net.b, net.activations), start=1):
        z = g.node("Gemm", [current, g.const(f"W{l}", W), g.const(f"b{l}", b)], f"z{l}", transB=1)
        current = ONNX_ACTIVATIONS[f](g, z, "y" if l == net.n_layers else f"a{l}")
    graph = helper.make_graph(
        g.nodes, "nnrun", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", net.sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", net.sizes[-1]])], g.initializers,
        doc_string=f"a_L of nnrun run {Path(run_dir).resolve().name} for raw rows x (features "
                   f"{', '.join(predictor.features)}), the fitted transforms applied first")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="nnrun", producer_version=metadata(predictor, run_dir)["nnrun_version"])
    helper.set_model_props(model, metadata(predictor, run_dir))
    onnx.checker.check_model(model, full_check=True)
    return model


# ------------------------------------------------------------------ PyTorch
def _tensor(values) -> str:
    """A float64 tensor literal; repr of a Python float reads back to the same double."""
    return f"torch.tensor({json.dumps(np.asarray(values, dtype=np.float64).tolist())}, dtype=torch.float64)"


def torch_layer(name: str) -> str:
    """f as a torch.nn layer, from the activations registry."""
    if name == SOFTMAX:
        return SOFTMAX_TORCH_LAYER
    layer = ACTIVATIONS[name].torch_layer if name in ACTIVATIONS else ""
    if not layer:
        raise NnrunError(f"nnrun export --to torch: activation '{name}' has no torch.nn layer yet; give its entry "
                         "in nnrun/maths/activations.py a torch_layer")
    return layer


def torch_source(predictor: Predictor, run_dir: Path, weights_name: str) -> str:
    """The standalone PyTorch file: transforms (fitted numbers), nn.Sequential, the weights loaded."""
    from nnrun import __version__
    from nnrun.data.transforms import TRANSFORMS

    net, run = predictor.network, Path(run_dir).resolve().name
    names = predictor.transform.names
    constants, lines = [], []
    for i, (name, step) in enumerate(zip(names, predictor.transform.steps), start=1):
        prefix = name.upper() + (f"_{i}" if names.count(name) > 1 else "")
        fitted = {}
        for key, value in vars(step).items():
            fitted[key] = f"{prefix}_{key.upper()}"
            constants.append(f"{fitted[key]} = {_tensor(value)}")
        lines += [f"    {line.format(**fitted)}" for line in TRANSFORMS[name].torch]
    steps = " then ".join(names) if names else "none"
    layers = []
    for l, f in enumerate(net.activations):
        layers.append(f"        nn.Linear({net.sizes[l]}, {net.sizes[l + 1]}, dtype=torch.float64), {torch_layer(f)},")
    formula = " -> ".join(f"Linear + {f}" for f in net.activations)
    return f'''"""nnrun run {run}, exported by `nnrun export --to torch` (nnrun {__version__}).

The trained network in PyTorch, needing only torch and numpy:

    a_0 = T(x)                                  the input transforms fitted in training ({steps})
    z_l = W_l a_(l-1) + b_l,  a_l = f_l(z_l)    layers: {formula}
    y   = a_L                                   what `nnrun predict` computes before choosing a class

x holds raw feature rows, shape [N, {net.sizes[0]}], the columns of FEATURES below in that order.
nn.Linear stores W_l as [n_l, n_(l-1)] and computes x W_l^T + b_l: samples are rows. The weights
W1..W{net.n_layers}, b1..b{net.n_layers} are in {weights_name} beside this file.

    from {Path(weights_name).stem} import outputs, predict
    outputs(rows)   # a_L, float64, shape [N, {net.sizes[-1]}]
    predict(rows)   # the class names (classification)
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

FEATURES = {json.dumps(predictor.features)}
CLASS_NAMES = {json.dumps(predictor.class_names)}
TASK = {json.dumps(predictor.task)}
WEIGHTS = Path(__file__).with_name({json.dumps(weights_name)})

# the transforms' numbers, fitted on the training part of the run
{chr(10).join(constants) if constants else "# (none)"}


def transform(x):
    """T(x): {steps}, applied in this order."""
{chr(10).join(lines) if lines else "    pass"}
    return x


def build_model():
    """nn.Sequential of nn.Linear (float64) and activations, with the run's weights."""
    model = nn.Sequential(
{chr(10).join(layers)}
    )
    with np.load(WEIGHTS, allow_pickle=False) as weights, torch.no_grad():
        for l, linear in enumerate(model[0::2], start=1):
            linear.weight.copy_(torch.from_numpy(weights[f"W{{l}}"]))
            linear.bias.copy_(torch.from_numpy(weights[f"b{{l}}"]))
    return model.eval()


model = build_model()


def outputs(rows):
    """a_L for raw feature rows (columns in the order of FEATURES), as a NumPy array."""
    x = torch.as_tensor(np.asarray(rows, dtype=np.float64).reshape(-1, {net.sizes[0]}))
    with torch.no_grad():
        return model(transform(x)).numpy()


def predict(rows):
    """The class name of each row: argmax of a_L (one output unit: a_L >= 0.5 is the second class)."""
    a = outputs(rows)
    k = (a[:, 0] >= 0.5).astype(int) if a.shape[1] == 1 else a.argmax(axis=1)
    return [CLASS_NAMES[i] for i in k]


if __name__ == "__main__":
    print(model)
    print("features:", ", ".join(FEATURES))
    print("classes:", ", ".join(CLASS_NAMES) or "(a regression)")
'''


def torch_weights(predictor: Predictor) -> bytes:
    """W1..WL, b1..bL as an .npz (the names of model.npz), in memory."""
    net = predictor.network
    arrays = {f"W{l}": W for l, W in enumerate(net.W, start=1)}
    arrays.update({f"b{l}": b for l, b in enumerate(net.b, start=1)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# ------------------------------------------------------------------ the command
def export(run_dir: str | Path, target: str, out: str | Path | None = None) -> Path:
    """Write RUN's network as ``target`` (onnx or torch) to ``out`` (default: inside the run
    folder, :data:`~nnrun.store.names.EXPORT_ONNX` or :data:`~nnrun.store.names.EXPORT_TORCH`);
    the torch file's weights go beside it. Returns the path written. Everything is built and
    checked before the first file is written; a failed write leaves no file."""
    if target not in TARGETS:
        raise NnrunError(f"--to: {target!r} is not a target; accepted: {', '.join(TARGETS)}")
    run_dir = Path(run_dir)
    predictor = load_predictor(run_dir)
    if target == "onnx":
        out = Path(out) if out is not None else run_dir / EXPORT_ONNX
        files = {out: onnx_model(predictor, run_dir).SerializeToString()}
    else:
        out = Path(out) if out is not None else run_dir / EXPORT_TORCH
        if out.suffix != ".py":
            raise NnrunError(f"--out: {out} does not end in .py; --to torch writes a Python file (and its "
                             f"weights beside it, {torch_weights_path(out.with_suffix('.py')).name})")
        weights = torch_weights_path(out)
        files = {weights: torch_weights(predictor), out: torch_source(predictor, run_dir, weights.name)}
    written = []
    try:
        for path, data in files.items():
            atomic_write(path, data)
            written.append(path)
    except OSError as e:
        for path in written:
            path.unlink(missing_ok=True)
        if is_disk_fault(e):
            raise disk_fault(e, "free some space and export again") from None
        raise NnrunError(f"--out: cannot write {e.filename or out} ({e.strerror}); give --out a path in a "
                         "folder you can write") from None
    return out
