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
"""

from __future__ import annotations

import math

import numpy as np


def batch_count(n_train: int, batch_size: int | str) -> int:
    """Iterations per epoch."""
    return 1 if batch_size == "full" else math.ceil(n_train / batch_size)


class Sampler:
    def __init__(self, n_train: int, batch_size: int | str, sampling: str, rng: np.random.Generator):
        self.n = n_train
        self.full = batch_size == "full"
        self.b = n_train if self.full else int(batch_size)
        self.sampling = sampling
        self.rng = rng
        self._perm = np.empty(0, dtype=np.int64)
        self._pos = 0

    def chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and pointers for the next k iterations."""
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
