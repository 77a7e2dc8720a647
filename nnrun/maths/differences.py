"""How far apart two implementations' numbers are, relative to the reference a (nnrun):

    |a - b| / max(|a|, tiny)

used by ``nnrun compare`` (:mod:`nnrun.tools.compare`) and its picture.
"""

from __future__ import annotations

import numpy as np


TINY = np.finfo(np.float64).tiny


def relative_difference(a, b) -> float:
    """max|a - b| / max(max|a|, tiny) over the entries; a is the reference (nnrun).

    Entries non-finite in both (a diverged run) are skipped; an entry finite in one and
    not the other is an infinite difference. NaN when there is nothing to compare.
    """
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return np.inf
    fa, fb = np.isfinite(a), np.isfinite(b)
    if (fa != fb).any() or (~fa & (a != b) & ~(np.isnan(a) & np.isnan(b))).any():
        return np.inf
    if not fa.any():
        return np.nan
    return float(np.abs(a[fa] - b[fa]).max() / max(np.abs(a[fa]).max(), TINY))


def pointwise_relative(a, b) -> np.ndarray:
    """|a - b| / max(|a|, tiny) entry by entry (NaN where either is NaN, 0 where both are equal)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(a == b, 0.0, np.abs(a - b))
        return diff / np.maximum(np.abs(a), TINY)


def max_pointwise_relative(a, b) -> float | None:
    """Largest entry of :func:`pointwise_relative`; None when neither has a finite entry.

    Entries NaN in both (no test set, or regression accuracy) are skipped; NaN in one
    only is an infinite difference.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = np.isnan(a), np.isnan(b)
    if (na != nb).any():
        return np.inf
    keep = ~na
    if not keep.any():
        return None
    rel = pointwise_relative(a[keep], b[keep])
    return float(np.nan_to_num(rel, nan=np.inf).max())
