"""Imported once by the sweep's fork server (see :class:`nnrun.sweep.LocalPool`).

Every module a cell needs, the compiled kernels and matplotlib's fonts are loaded here,
before the workers are forked from the server, so no worker pays for them again.
"""

from nnrun.sweep import warm_up

warm_up()
