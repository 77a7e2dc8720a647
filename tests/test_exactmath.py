"""nnrun.engines.exactmath against NumPy: e^x, e^x - 1, log, log(1 + x), tanh (issue 22).

The compiled kernels use these instead of the C library's, so that their bits do not
depend on the machine; here they must stay within 1 ulp of NumPy (tanh: 4) on random
arguments over their whole range and on the edge cases (signed zeros, subnormals, the
overflow and underflow thresholds, infinities, NaN).
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from nnrun.engines import exactmath as em

SPECIALS = np.array([
    0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308,
    1e-310, -1e-310, 1.0, -1.0, 2.0, 0.5, -0.5, 1e-20, -1e-20, 2.0 ** -54, -(2.0 ** -54), 2.0 ** -29, 2.0 ** -60,
    1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308, 709.78, 709.7827, 709.79, 710.0, -708.0,
    -708.5, 708.5, -745.13, -745.14, -746.0, -0.2929, -0.29289321881345254, 0.41421356237309503, 0.41422,
    0.34657359027997264, -0.34657359027997264, 1.0397207708399179, -1.0397207708399179, 38.0, -38.0, 22.0, -22.0,
    np.log(2.0), -np.log(2.0), 1.0 + 2.0 ** -52, 1.0 - 2.0 ** -53, -1.0 + 2.0 ** -53,
])


@njit
def apply(f, x, out):
    for i in range(x.shape[0]):
        out[i] = f(x[i])


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Doubles between a and b (0 where both are NaN or equal; signed zeros count as equal)."""
    def ordinal(v):
        i = v.view(np.int64).astype(object)
        return np.where(i < 0, -(2 ** 63) - i, i)
    d = np.abs(ordinal(a) - ordinal(b)).astype(float)
    d[(a == b) | (np.isnan(a) & np.isnan(b))] = 0.0
    return d


def arguments(name: str) -> np.ndarray:
    rng = np.random.default_rng(22)
    u = rng.uniform
    n = 20_000
    spread = {  # random arguments over the function's range, dense where its code branches
        "exp": [u(-750, 750, n), u(-1, 1, n), u(-0.01, 0.01, n), u(-746, -700, n), u(700, 710, n)],
        "expm1": [u(-750, 750, n), u(-2, 2, n), u(-1e-6, 1e-6, n), u(-60, 60, n), u(700, 710, n)],
        "log": [np.exp(u(-745, 709, n)), u(0, 3, n), 1 + u(-1e-6, 1e-6, n), u(0, 1, n) * 1e-308, -u(0, 10, 100)],
        "log1p": [u(-1, 3, n), u(-1e-6, 1e-6, n), u(-0.3, 0.42, n), np.exp(u(-745, 709, n)), -np.exp(u(-40, 0, n)),
                  -1 - u(0, 10, 100)],
        "tanh": [u(-30, 30, n), u(-1.5, 1.5, n), u(-1e-6, 1e-6, n)],
    }[name]
    return np.concatenate([*spread, SPECIALS])


@pytest.mark.parametrize("name, reference, ulps", [
    ("exp", np.exp, 1), ("expm1", np.expm1, 1), ("log", np.log, 1), ("log1p", np.log1p, 1), ("tanh", np.tanh, 4),
])
def test_against_numpy(name, reference, ulps):
    x = arguments(name)
    ours = np.empty_like(x)
    apply(getattr(em, name), x, ours)
    with np.errstate(all="ignore"):
        expected = reference(x)
    d = ulp_distance(ours, expected)
    worst = int(np.argmax(d))
    assert d.max() <= ulps, f"{name}({x[worst]!r}) = {ours[worst]!r}, NumPy {expected[worst]!r}: {d.max()} ulps"
    # special values exactly: inf, -inf, NaN, the sign of zero where NumPy gives a zero
    special = ~np.isfinite(expected) | (expected == 0.0)
    assert np.array_equal(ours[special], expected[special], equal_nan=True), name
    assert np.array_equal(np.signbit(ours[expected == 0.0]), np.signbit(expected[expected == 0.0])), name


def test_exp_matches_the_vectorised_exp_into():
    """The scalar e^x and the rows kernel's vectorised exp_into round alike where both apply."""
    from nnrun.engines.compiled import exp_into

    x = np.random.default_rng(1).uniform(-700, 0, 50_000)
    ours, vectorised = np.empty_like(x), np.empty_like(x)
    apply(em.exp, x, ours)
    exp_into(x, vectorised, np.empty(x.shape, dtype=np.int64))
    assert ulp_distance(ours, vectorised).max() <= 1


def test_no_c_maths_or_blas_in_the_kernels():
    """The compiled kernels' sources call no C maths function with CPU-dependent results and
    no BLAS: no math.exp/log/..., np.dot, np.matmul or @ (sqrt and floor are exact in IEEE 754)."""
    import ast
    from pathlib import Path

    import nnrun.engines

    banned_math = {"exp", "expm1", "log", "log1p", "log2", "log10", "tanh", "sinh", "cosh", "pow", "erf", "sin", "cos"}
    banned_np = {"dot", "matmul", "inner", "outer", "tensordot", "einsum", "exp", "log", "log1p", "expm1", "tanh"}
    folder = Path(nnrun.engines.__file__).parent
    for name in ("compiled.py", "per_sample.py", "rows.py", "exactmath.py"):
        tree = ast.parse((folder / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp):
                assert not isinstance(node.op, ast.MatMult), (name, node.lineno)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "math":
                    assert node.attr not in banned_math, (name, node.lineno, node.attr)
                if node.value.id in ("np", "numpy"):
                    assert node.attr not in banned_np, (name, node.lineno, node.attr)


def test_branch_free_sigmoid_matches_the_rows_kernel():
    """The per-sample kernel's vectorisable e^v (v <= 0) and sigmoid give the bits of the rows
    kernel's exp_into and sigmoid_into."""
    from nnrun.engines.compiled import exp_into, exp_nonpositive, sigmoid_into, sigmoid_vec

    @njit
    def both(x, e, s):
        for i in range(x.shape[0]):
            e[i] = exp_nonpositive(x[i])
            s[i] = sigmoid_vec(x[i])

    rng = np.random.default_rng(2)
    z = np.concatenate([rng.uniform(-800, 800, 20_000), rng.uniform(-5, 5, 20_000), SPECIALS])
    v = -np.abs(z)
    e, s = np.empty_like(z), np.empty_like(z)
    both(v, e, np.empty_like(z))
    both(z, np.empty_like(z), s)
    e_rows, s_rows = np.empty_like(z), np.empty_like(z)
    exp_into(v, e_rows, np.empty(z.shape, dtype=np.int64))
    sigmoid_into(z, s_rows, np.empty(z.shape, dtype=np.int64))
    assert np.array_equal(e, e_rows, equal_nan=True)
    assert np.array_equal(s, s_rows, equal_nan=True)
