"""Which training samples each iteration uses.

A sampler hands out the batches of a chunk of iterations as a flat index array
``idx`` and pointers ``ptr``: iteration k of the chunk uses ``idx[ptr[k]:ptr[k+1]]``.
Both engines consume exactly the same chunks, so their sample sequences are equal by
construction, and chunk sizes depend only on the config (never on timing), so a run is
reproducible to the bit.

``random``  each iteration draws its batch uniformly with replacement (netbp.m's
            ``randi``; every index 0..N-1 can be drawn, the last one included).
``epoch``   shuffle, then walk the permutation in batches; the last batch of an
            epoch holds the remainder.
``full``    (batch_size: full) every iteration uses all N samples in order.

Dropout masks are handed out with the indices: row q of ``masks`` belongs to the sample
``idx[q]`` and holds one multiplier per hidden unit (layer by layer), 1/(1-p) for a kept
unit and 0 for a dropped one (inverted dropout). They come from their own stream, so
turning dropout on changes no sample index, and every engine uses the very same masks.
"""

from __future__ import annotations

import math

import numpy as np


def batch_count(n_train: int, batch_size: int | str) -> int:
    """Iterations per epoch."""
    return 1 if batch_size == "full" else math.ceil(n_train / batch_size)


NO_MASKS = np.empty((0, 0))


def unit_rates(dropout_rates: list[float], sizes: list[int]) -> np.ndarray:
    """The drop probability of every hidden unit, layer by layer (empty: no dropout)."""
    if not any(p > 0 for p in dropout_rates):
        return np.empty(0)
    return np.repeat(np.asarray(dropout_rates, dtype=np.float64), sizes[1:-1])


class Sampler:
    def __init__(self, n_train: int, batch_size: int | str, sampling: str, rng: np.random.Generator,
                 drop: np.ndarray | None = None, dropout_rng: np.random.Generator | None = None):
        self.n = n_train
        self.full = batch_size == "full"
        self.b = n_train if self.full else int(batch_size)
        self.sampling = sampling
        self.rng = rng
        self._perm = np.empty(0, dtype=np.int64)
        self._pos = 0
        self.drop = np.empty(0) if drop is None else np.asarray(drop, dtype=np.float64)
        self.dropout_rng = dropout_rng
        self.keep_scale = 1.0 / (1.0 - self.drop)

    def chunk(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices, pointers and dropout masks (NO_MASKS without dropout) for the next k iterations."""
        idx, ptr = self._indices(k)
        return idx, ptr, self.masks(len(idx))

    def masks(self, n: int) -> np.ndarray:
        """Multipliers for n sample occurrences: 1/(1-p) where u >= p (kept), else 0."""
        if len(self.drop) == 0:
            return NO_MASKS
        u = self.dropout_rng.random((n, len(self.drop)))
        return np.where(u >= self.drop, self.keep_scale, 0.0)

    def _indices(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.full:
            idx = np.tile(np.arange(self.n, dtype=np.int64), k)
            return idx, np.arange(0, k * self.n + 1, self.n, dtype=np.int64)
        if self.sampling == "random":
            idx = self.rng.integers(0, self.n, size=k * self.b, dtype=np.int64)
            return idx, np.arange(0, k * self.b + 1, self.b, dtype=np.int64)
        return self._epoch_chunk(k)

    def _epoch_chunk(self, k):
        parts, sizes = [], []
        for _ in range(k):
            if self._pos >= len(self._perm):
                self._perm, self._pos = self.rng.permutation(self.n).astype(np.int64), 0
            batch = self._perm[self._pos:self._pos + self.b]
            self._pos += len(batch)
            parts.append(batch)
            sizes.append(len(batch))
        ptr = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        return np.concatenate(parts), ptr


def chunk_iterations(n_params: int, batch: int, n_train: int, n_test: int, log_every: int,
                     total: int) -> int:
    """Iterations per chunk: about 2e6 multiply-adds of work per-sample, 5e7 for
    minibatches (BLAS products run them ~10x faster, and a chunk of one iteration would
    put Python back into every step), a multiple of log_every.

    The size depends only on the config, so results never depend on the machine; a
    chunk is short enough (well under 0.1 s) for Ctrl-C and the progress bar.
    """
    work = n_params * (3 * batch + (n_train + n_test) / log_every) + 50
    k = max(1, int((2e6 if batch == 1 else 5e7) / work))
    if k >= log_every:
        k -= k % log_every
    return max(1, min(k, total, 1 << 16))
