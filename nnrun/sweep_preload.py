"""Imported once by the sweep's fork server (see :class:`nnrun.sweep.LocalPool`).

Every module a cell needs and matplotlib's fonts are loaded here, before the workers are
forked from the server, so no worker pays for them again.
"""

import nnrun.experiment  # noqa: F401
import nnrun.plots  # noqa: F401 (the registry and its loss figure)
from nnrun.sweep import warm_up

try:
    warm_up()
except Exception:  # noqa: BLE001 - only a head start; a cell reports any real problem
    pass
