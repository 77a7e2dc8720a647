"""The seed streams: one run's seed spawns an independent generator for each use of randomness.

The data, the split, the initial weights, the sample order and the dropout masks each
draw from their own stream, so that none of them disturbs the others.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("data", "split", "init", "sampling", "dropout")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for each use of randomness, all from one seed.

    A new stream goes at the end: the k-th child of a SeedSequence does not depend on how
    many are spawned, so adding one never changes the numbers of the others."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children)}
