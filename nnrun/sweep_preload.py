"""Imported once by the sweep's fork server (see :class:`nnrun.sweep.LocalPool`).

Every module a cell needs is loaded here, before the workers are forked from the server,
so no worker pays for the imports again. Not matplotlib: cells draw nothing, and the one
worker that draws the sweep's pictures at the end imports it then. Not the compiled
kernels either: each worker loads the one its cells need (~0.5 s), the workers in
parallel, which beats the server loading both in turn.
"""

import nnrun.engines.numba_engine  # noqa: F401
import nnrun.experiment  # noqa: F401
import nnrun.report.run  # noqa: F401 (each cell's page)
