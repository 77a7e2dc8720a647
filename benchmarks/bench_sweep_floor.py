"""E5's digits cell against its floor: its multiply-adds at the machine's measured peak.

    python benchmarks/bench_sweep_floor.py            # ~30 s

1. The machine's peak: NumPy's matrix product (OpenBLAS, one thread) on 1000 x 1000
   matrices, best of 5, in GFLOP/s (2 flops a multiply-add).
2. The same product at the sizes of a digits step (a batch of 100 rows, 64-50-10) and of
   a record (1,797 rows), which is what the cell's products can reach at best.
3. One cell of ``configs/digits_sweep.yaml`` (eta 1, lambda 1e-4) trained through the
   public API, best of 5 (``train_seconds``: the training loop alone, kernel loaded), against
   the floor = its multiply-adds / the peak. The multiply-adds, for batch m, layers
   n0-n1-n2 = 64-50-10: a step m (2 n0 n1 + 3 n1 n2) (forward, delta_1, both gradients),
   a record of N = 1,797 rows N (n0 n1 + n1 n2), 1,500 steps and 101 records per cell.

Run it with one BLAS thread (it sets ``OPENBLAS_NUM_THREADS=1`` itself) on a quiet machine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def gflops(m: int, k: int, n: int, repeat: int = 5) -> float:
    """Best GFLOP/s of A (m x k) @ B (k x n) into a preallocated out."""
    rng = np.random.default_rng(0)
    a, b, out = rng.random((m, k)), rng.random((k, n)), np.empty((m, n))
    calls = max(1, int(2e8 / (m * k * n)))  # ~0.2 G multiply-adds a timing
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            np.dot(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / calls)
    return 2 * m * k * n / best / 1e9


def main() -> None:
    import nnrun

    peak = gflops(1000, 1000, 1000)
    print(f"peak (1000 x 1000 x 1000, one thread): {peak:.1f} GFLOP/s")
    for label, shape in [("step forward  100 x 64 @ 64 x 50", (100, 64, 50)),
                         ("step gradient 50 x 100 @ 100 x 64", (50, 100, 64)),
                         ("record        1797 x 64 @ 64 x 50", (1797, 64, 50)),
                         ("output        100 x 50 @ 50 x 10", (100, 50, 10))]:
        print(f"  {label}: {gflops(*shape):.1f} GFLOP/s")

    cfg = nnrun.load_config(REPO / "configs" / "digits_sweep.yaml", ["train.eta=1", "train.lambda=1e-4"])
    data = nnrun.load_data(cfg)
    n0, n1, n2 = cfg.model.architecture
    m, n_train, n_rows = cfg.train.batch_size, len(data.X_train), len(data.X_train) + len(data.X_test)
    epochs = cfg.train.epochs
    steps = epochs * -(-n_train // m)
    step_mads = n_train * (2 * n0 * n1 + 3 * n1 * n2) * epochs  # every sample once an epoch
    record_mads = (epochs + 1) * n_rows * (n0 * n1 + n1 * n2)
    floor = 2 * (step_mads + record_mads) / (peak * 1e9)
    nnrun.train(cfg, data)  # loads the kernel
    seconds = min(nnrun.train(cfg, data).train_seconds for _ in range(5))
    print(f"\none digits cell: {steps} steps, {epochs + 1} records, "
          f"{(step_mads + record_mads) / 1e9:.2f} G multiply-adds ({2 * (step_mads + record_mads) / 1e9:.2f} GFLOP)")
    print(f"  training: {seconds:.3f} s   floor at peak: {floor:.3f} s   ratio: {seconds / floor:.1f}x")
    print(f"  49 cells on {os.cpu_count()} cores: training {49 * seconds / os.cpu_count():.2f} s, "
          f"floor {49 * floor / os.cpu_count():.2f} s")


if __name__ == "__main__":
    main()
