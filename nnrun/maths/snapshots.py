"""Parameter snapshots during training (``train.snapshots: N``), for the animation.

The N iterations are spaced geometrically in (k + c), c = total / 10, between 0 and the
last iteration: the gaps grow about 11-fold from the first to the last, so early
training, where the boundary changes fastest, gets most frames while the late phases
still get enough to be seen. Iteration 0 (the initial weights) and the last
iteration are always included. ``snapshots.npz`` holds ``iterations`` (N,) and ``theta``
(N, P), row k the flat parameter vector after ``iterations[k]`` steps.
"""

from __future__ import annotations

import numpy as np


def snapshot_iterations(total: int, n: int) -> np.ndarray:
    """n distinct iterations in [0, total], 0 and total included (fewer when total + 1 < n)."""
    if n <= 0 or total <= 0:
        return np.zeros(1 if n > 0 else 0, dtype=np.int64)
    if n >= total + 1:
        return np.arange(total + 1, dtype=np.int64)
    if n == 1:
        return np.array([total], dtype=np.int64)
    c = max(total / 10.0, 1.0)
    m = n
    while True:  # rounding merges early points: ask for more until n distinct ones exist
        points = np.unique(np.rint(np.geomspace(c, total + c, m) - c).astype(np.int64))
        points = np.union1d(points, [0, total])
        if len(points) >= n:
            break
        m += max(1, n - len(points))
    if len(points) > n:  # drop evenly among the interior, keeping 0 and total
        keep = np.rint(np.linspace(0, len(points) - 1, n)).astype(int)
        points = points[keep]
    return points


