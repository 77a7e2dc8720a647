"""snapshots.npz: ``iterations`` (N,) and ``theta`` (N, P), row k the flat parameter vector
after ``iterations[k]`` steps (which iterations: :func:`nnrun.maths.snapshots.snapshot_iterations`)."""

from __future__ import annotations

import numpy as np

from nnrun.store.files import atomic_npz


def save_snapshots(path, iterations, thetas) -> None:
    iterations = np.asarray(iterations, dtype=np.int64)
    theta = np.vstack(thetas) if len(thetas) else np.empty((0, 0))
    atomic_npz(path, lambda f: np.savez_compressed(f, iterations=iterations, theta=theta))


def load_snapshots(path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as f:
        return f["iterations"], f["theta"]
