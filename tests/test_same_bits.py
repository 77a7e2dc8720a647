"""The same bits on every machine (issue 22): a run's history and weights do not depend on
the CPU the compiled kernels are compiled for.

Every shipped config (and every optimizer of digits_optimizers, dropout of digits_dropout),
shortened to 120 iterations recorded every 10, runs through the numba engine three ways:
in this process, compiled for this machine's CPU; and in subprocesses compiled for
``NUMBA_CPU_NAME=generic`` (SSE2 only) and, when this CPU has AVX2 and FMA, for
``haswell`` (AVX2 + FMA), each with its own numba cache folder. Their history.csv (every
column but the wall-clock ``seconds``), model.npz and metrics.json (but timings) must be
identical to the last bit. With fast-math, BLAS or the C library's exp in the kernels they
were not (the E5 rmsprop run ended at train_loss 0.0596 on AVX-512, 0.0383 on AVX2).

Run as a script (``python tests/test_same_bits.py OUT``), this file writes the run folders
of every short config into OUT; the test does so for each target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
SHORT = ["train.epochs=null", "train.iterations=120", "train.log_every=10", "train.engine=numba"]
VARIANTS = {  # more cells of a config's sweep: every kernel path the shipped configs reach
    "digits_optimizers": [[f"train.optimizer={o}"] for o in ("sgd", "momentum", "nesterov", "adam", "rmsprop")],
    "digits_dropout": [["model.dropout=0.5"]],
}
# not results: timings, and the command line (in-process, a CLI call of an earlier test leaks into it)
TIMINGS = {"train_seconds", "seconds_per_iteration", "command"}


def runs() -> list[tuple[str, Path, list[str]]]:
    """(label, config, overrides) of every short run."""
    out = []
    for config in sorted(CONFIGS.glob("*.yaml")):
        for extra in VARIANTS.get(config.stem, [[]]):
            label = "-".join([config.stem, *(o.split("=")[1] for o in extra)])
            out.append((label, config, [*SHORT, *extra]))
    return out


def run_all(out: Path) -> None:
    """Write the run folder of every short run to out/<label> (no pictures)."""
    import nnrun

    for label, config, overrides in runs():
        cfg = nnrun.load_config(config, overrides)
        run_dir = nnrun.run_experiment(cfg, runs_dir=out / label, quiet=True, plots=False, log=lambda message: None)
        (out / label / "folder").write_text(str(run_dir))


def outputs(out: Path, label: str) -> dict:
    """What must be the same bits: history.csv without 'seconds', model.npz, metrics.json without timings and command."""
    run_dir = Path((out / label / "folder").read_text())
    lines = (run_dir / "history.csv").read_text().splitlines()
    seconds = lines[0].split(",").index("seconds")
    history = [",".join(v for i, v in enumerate(line.split(",")) if i != seconds) for line in lines]
    with np.load(run_dir / "model.npz") as model:
        arrays = {key: (model[key].dtype.str, model[key].shape, model[key].tobytes()) for key in model.files}
    metrics = {k: v for k, v in json.loads((run_dir / "metrics.json").read_text()).items() if k not in TIMINGS}
    return {"history": history, "model": arrays, "metrics": metrics}


def first_difference(a, b) -> str:
    """The first line, array or key where a and b differ."""
    if isinstance(a, list):
        lines = [f"line {i}: {x} | {y}" for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return lines[0] if lines else f"{len(a)} lines against {len(b)}"
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return f"{keys[:3]}: {[a.get(k) for k in keys[:1]]} | {[b.get(k) for k in keys[:1]]}"


def targets() -> list[str]:
    """CPUs to compile for besides this one: generic x86-64, and haswell if this CPU can run it."""
    names = ["generic"]
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    if {"avx2", "fma", "bmi2", "movbe", "f16c"} <= flags:
        names.append("haswell")
    return names


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="x86-64 Linux targets")
def test_same_bits_for_every_cpu_target(tmp_path):
    # the other targets compile in subprocesses (both at once), each with its own numba cache
    procs = {}
    for name in targets():
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
        env.update(NUMBA_CPU_NAME=name, NUMBA_CPU_FEATURES="", NUMBA_CACHE_DIR=str(tmp_path / f"cache-{name}"),
                   PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])]))
        procs[name] = subprocess.Popen([sys.executable, __file__, str(tmp_path / name)], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_all(tmp_path / "host")  # this process: the CPU numba finds (or NUMBA_CPU_NAME if set)
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{name}: {stderr[-3000:]}"
    for label, _, _ in runs():
        host = outputs(tmp_path / "host", label)
        for name in procs:
            other = outputs(tmp_path / name, label)
            for part in host:
                assert other[part] == host[part], f"{label}: {part} differs between this CPU and {name}: " + first_difference(host[part], other[part])


if __name__ == "__main__":
    run_all(Path(sys.argv[1]))


def test_products_sum_in_a_fixed_order():
    """The rows kernel's products equal a plain Python loop that sums each element over its
    inner index in ascending order from 0.0: to the last bit, for any shape (blocks of
    ABT_BLOCK rows, fewer than 8 rows, inner sizes not a multiple of 4)."""
    from numba import njit

    from nnrun.engines.rows import ABT_BLOCK, mul_ab, mul_abt, mul_atb

    @njit
    def products(A, B, Bt, Bm, S, C1, C2, C3):
        mul_abt(A, B, C1, S)  # A B^T
        mul_atb(A, Bt, C2)  # A^T Bt
        mul_ab(A, Bm, C3)  # A Bm

    def ordered(X, Y):  # X Y, each element summed left to right
        out = np.empty((X.shape[0], Y.shape[1]))
        for r in range(X.shape[0]):
            for c in range(Y.shape[1]):
                total = 0.0
                for j in range(X.shape[1]):
                    total += float(X[r, j]) * float(Y[j, c])
                out[r, c] = total
        return out

    rng = np.random.default_rng(22)
    for m, k, n in [(1, 3, 2), (5, 7, 3), (8, 4, 10), (63, 9, 5), (ABT_BLOCK, 6, 4), (ABT_BLOCK + 3, 13, 7), (130, 5, 11)]:
        A = rng.standard_normal((m, k)) * 10.0 ** rng.integers(-3, 4, (m, k))
        B, Bt, Bm = rng.standard_normal((n, k)), rng.standard_normal((m, n)), rng.standard_normal((k, n))
        S = np.full(max(2 * ABT_BLOCK * max(k, n), n * k), np.nan)
        C1, C2, C3 = np.full((m, n), np.nan), np.full((k, n), np.nan), np.full((m, n), np.nan)
        products(A, B, Bt, Bm, S, C1, C2, C3)
        assert np.array_equal(C1, ordered(A, B.T)), (m, k, n)
        assert np.array_equal(C2, ordered(A.T, Bt)), (m, k, n)
        assert np.array_equal(C3, ordered(A, Bm)), (m, k, n)
