"""Imported once by the sweep's fork server (see :mod:`nnrun.workers`).

Every module a cell needs is loaded here, and every kernel numba's cache holds (~0.3 s
each, none compiled), before the workers are forked from the server: no worker pays for
them again. The server does this while the client is still importing and checking the
configs. Not matplotlib: cells draw nothing, and the worker that draws the sweep's
pictures at the end imports it then.
"""

from nnrun.engines.numba_engine import load_cached_kernels
import nnrun.experiment  # noqa: F401
import nnrun.report.run  # noqa: F401 (each cell's page)

load_cached_kernels()
