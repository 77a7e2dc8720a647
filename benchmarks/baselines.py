"""Baselines for the E1 speed benchmark (Higham & Higham's 2-2-3-2 network).

Both baselines do the same arithmetic:

* Data: 10 points x_k in [0,1]^2, k = 0..4 class A with target y = [1,0],
  k = 5..9 class B with target y = [0,1].
* Network 2-2-3-2: a_1 = x, z_l = W_l a_{l-1} + b_l, a_l = sigma(z_l) for
  l = 2, 3, 4, with sigma(z) = 1/(1+exp(-z)) and sigma'(z) = sigma(z)(1-sigma(z)).
  Every weight and bias is initialised as 0.5 * N(0,1).
* Cost: C = (1/10) sum_k 1/2 ||a_4(x_k) - y_k||^2.
* Per-sample SGD with eta = 0.05: each iteration draws k uniformly from 0..9
  (with replacement) and does
      delta_4 = sigma'(z_4) o (a_4 - y_k)
      delta_l = sigma'(z_l) o W_{l+1}^T delta_{l+1},      l = 3, 2
      W_l -= eta delta_l a_{l-1}^T,   b_l -= eta delta_l,  l = 2, 3, 4.
* After every ``log_every``-th iteration the full cost C is computed and
  stored in a preallocated array of ``iterations // log_every`` entries
  (``log_every = 1`` is E1's setting: the cost after every iteration).

``numpy_loop`` is a straightforward NumPy loop in the style of a course
report; ``c_loop`` compiles and runs ``c_floor.c`` (plain C, doubles), the
speed floor.  Both return ``(seconds, final_cost)`` where ``seconds`` times
the training loop only (including the cost logging) and ``final_cost`` is C
after training.  The two use different random number generators, so their
trajectories differ; only the arithmetic per iteration is the same.

Run ``python baselines.py`` for a timing table at 10**6 iterations.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

C_SOURCE = Path(__file__).resolve().parent / "c_floor.c"

ETA = 0.05
X = np.array([
    [0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7],
    [0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6],
])
Y = np.array([
    [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
], dtype=float)


def _sigmoid(z):
    """sigma(z) = 1 / (1 + exp(-z))."""
    return 1.0 / (1.0 + np.exp(-z))


def numpy_loop(iterations: int, log_every: int = 1, seed: int = 0) -> tuple[float, float]:
    """Train E1 with a plain NumPy per-sample SGD loop.

    Column vectors throughout: a_{l} = sigma(W_l @ a_{l-1} + b_l); the weight
    gradient is np.outer(delta_l, a_{l-1}).  Initialisation and sample
    indices come from ``np.random.default_rng(seed)``.

    Returns ``(seconds, final_cost)``: ``seconds`` is the wall time of the
    training loop (time.perf_counter), including the cost evaluations every
    ``log_every`` iterations; ``final_cost`` is C over the 10 points after
    training (``iterations = 0`` gives the initial cost).
    """
    if iterations < 0 or log_every < 1:
        raise ValueError("need iterations >= 0 and log_every >= 1")
    rng = np.random.default_rng(seed)
    W2 = 0.5 * rng.standard_normal((2, 2))
    W3 = 0.5 * rng.standard_normal((3, 2))
    W4 = 0.5 * rng.standard_normal((2, 3))
    b2 = 0.5 * rng.standard_normal((2, 1))
    b3 = 0.5 * rng.standard_normal((3, 1))
    b4 = 0.5 * rng.standard_normal((2, 1))

    def cost():
        """C = (1/10) sum_k 1/2 ||a_4(x_k) - y_k||^2, one point at a time."""
        total = 0.0
        for k in range(10):
            x = X[:, [k]]
            a2 = _sigmoid(W2 @ x + b2)
            a3 = _sigmoid(W3 @ a2 + b3)
            a4 = _sigmoid(W4 @ a3 + b4)
            total += 0.5 * np.linalg.norm(a4 - Y[:, [k]]) ** 2
        return total / 10

    costs = np.zeros(iterations // log_every)
    recorded = 0

    start = time.perf_counter()
    for it in range(1, iterations + 1):
        k = rng.integers(10)
        x = X[:, [k]]
        y = Y[:, [k]]
        # Forward pass.
        a2 = _sigmoid(W2 @ x + b2)
        a3 = _sigmoid(W3 @ a2 + b3)
        a4 = _sigmoid(W4 @ a3 + b4)
        # Backward pass, sigma'(z_l) = a_l o (1 - a_l).
        delta4 = a4 * (1 - a4) * (a4 - y)
        delta3 = a3 * (1 - a3) * (W4.T @ delta4)
        delta2 = a2 * (1 - a2) * (W3.T @ delta3)
        # Gradient step.
        W2 -= ETA * np.outer(delta2, x)
        W3 -= ETA * np.outer(delta3, a2)
        W4 -= ETA * np.outer(delta4, a3)
        b2 -= ETA * delta2
        b3 -= ETA * delta3
        b4 -= ETA * delta4
        if it % log_every == 0:
            costs[recorded] = cost()
            recorded += 1
    seconds = time.perf_counter() - start

    return seconds, float(cost())


def _compile(workdir: Path) -> Path:
    """Compile c_floor.c into workdir with the system's cc; return the binary.

    Tries ``cc -O2 -march=native`` and falls back to ``cc -O2`` if the
    compiler rejects -march=native.  Reuses a binary newer than the source.
    """
    cc = shutil.which("cc")
    if cc is None:
        raise RuntimeError("c_loop needs a C compiler: 'cc' was not found on PATH")
    binary = workdir / "c_floor"
    if binary.exists() and binary.stat().st_mtime >= C_SOURCE.stat().st_mtime:
        return binary
    errors = []
    for flags in (["-O2", "-march=native"], ["-O2"]):
        cmd = [cc, *flags, "-o", str(binary), str(C_SOURCE), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            return binary
        errors.append(f"$ {' '.join(cmd)}\n{proc.stderr.strip()}")
    raise RuntimeError("compiling c_floor.c failed:\n" + "\n".join(errors))


def c_loop(iterations: int, log_every: int = 1, seed: int = 0,
           workdir: str | os.PathLike | None = None) -> tuple[float, float]:
    """Train E1 with the plain-C floor (c_floor.c) and return (seconds, final_cost).

    Compiles c_floor.c into ``workdir`` (a fresh temporary directory if
    None), runs ``c_floor iterations log_every seed`` and parses its line
    ``seconds=... final_cost=... recorded=...``.  ``seconds`` is the C
    program's own CLOCK_MONOTONIC timing of the training loop.  Raises
    RuntimeError if cc is missing or compilation or the run fails.
    """
    if iterations < 0 or log_every < 1:
        raise ValueError("need iterations >= 0 and log_every >= 1")
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="nnrun-cfloor-") as tmp:
            return c_loop(iterations, log_every, seed, tmp)
    binary = _compile(Path(workdir))
    proc = subprocess.run([str(binary), str(iterations), str(log_every), str(seed)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"c_floor exited with {proc.returncode}: {proc.stderr.strip()}")
    fields = dict(item.split("=", 1) for item in proc.stdout.split())
    expected = iterations // log_every
    if int(fields["recorded"]) != expected:
        raise RuntimeError(f"c_floor recorded {fields['recorded']} costs, expected {expected}")
    return float(fields["seconds"]), float(fields["final_cost"])


def main(argv=None) -> None:
    """Print C and NumPy loop times for 10**6 iterations, log_every in (1, 1000)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10**6,
                        help="iterations to report (default 10**6)")
    parser.add_argument("--numpy-iterations", type=int, default=10**5,
                        help="iterations actually run by the NumPy loop; its time "
                             "is scaled linearly to --iterations (default 10**5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n, n_np = args.iterations, min(args.numpy_iterations, args.iterations)
    scale = n / n_np
    print(f"E1 2-2-3-2 per-sample SGD, {n:,} iterations, eta={ETA}")
    if scale != 1:
        print(f"NumPy times are measured over {n_np:,} iterations and scaled "
              f"linearly (x{scale:g}); the NumPy final cost is after {n_np:,} iterations.")
    print(f"{'log_every':>9}  {'C s':>8}  {'NumPy s':>9}  {'NumPy/C':>8}  "
          f"{'C final cost':>12}  {'NumPy final cost':>16}")
    with tempfile.TemporaryDirectory(prefix="nnrun-cfloor-") as tmp:
        for log_every in (1, 1000):
            c_s, c_cost = c_loop(n, log_every, args.seed, tmp)
            np_s, np_cost = numpy_loop(n_np, log_every, args.seed)
            np_s *= scale
            print(f"{log_every:>9}  {c_s:>8.3f}  {np_s:>9.2f}  {np_s / c_s:>8.0f}  "
                  f"{c_cost:>12.3e}  {np_cost:>16.3e}")


if __name__ == "__main__":
    main()
