"""Imported once by the sweep's fork server (see :mod:`nnrun.sweeps.forkserver`).

Every module a cell needs is loaded here, and every kernel numba's cache holds (~0.3 s
each, none compiled), before the workers are forked from the server: no worker pays for
them again. The server does this while the client is still importing and checking the
configs. Not matplotlib: cells draw nothing, and the worker that draws the sweep's
pictures at the end imports it then.

When the client is gone (a config error ends it ~1 s before this is done), the server
leaves at the next step instead of finishing: it would hold the client's stderr open,
and a script capturing that output would wait for it.
"""

import importlib
import os

CLIENT = os.getppid()  # the client started the server


def client_gone() -> bool:
    return os.getppid() != CLIENT


for module in ("numpy", "pandas", "numba", "nnrun.experiment", "nnrun.report.run"):
    if client_gone():
        os._exit(0)
    importlib.import_module(module)

from nnrun.engines.numba_engine import load_cached_kernels  # noqa: E402

load_cached_kernels(stop=client_gone)
