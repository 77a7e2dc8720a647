"""The sweep's local worker processes start here: a fork server, and the context that forks them.

Workers are forked from a server process that has imported what a cell needs and loaded
the cached kernels (:mod:`nnrun.sweeps.preload`), instead of each worker doing it again
(~1 s of imports, ~0.3 s a kernel). The server is a fresh single-threaded process, so
forking it is safe. This module imports nothing heavy: ``nnrun sweep`` starts the server
first thing, and it prepares the workers while the client imports, checks the configs
and the data (~1.5 s on two cores, in parallel instead of one after the other).
"""

from __future__ import annotations

import os

PRELOAD = ["nnrun.sweeps.preload"]


def start_fork_server():
    """The multiprocessing context for local workers, its fork server started (once per
    process; it keeps the environment of that moment). 'spawn' where there is no fork
    server (Windows)."""
    import multiprocessing as mp

    # One BLAS thread per worker: the workers already use every core, and threads
    # fighting over them made cells 4x slower.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    from multiprocessing import forkserver

    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()
    return context
