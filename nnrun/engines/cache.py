"""numba's disk cache for the kernels, stamped with every source file they are built from.

numba stamps a cached function with the hash of the one file that defines it. Code it
inlines from other files (the optimizer step of :mod:`nnrun.engines.compiled`, the indices
of :mod:`nnrun.engines.layout`) is not part of that stamp (numba issue #1833), so an
upgrade or an edit that changed only compiled.py would load the old machine code of
``train_chunk``: old numbers, silently. The locators below stamp a function defined in
``nnrun/engines`` with the hash of every ``.py`` file there as well, and of the registries
in ``nnrun/maths`` whose codes and slots the kernels take as constants, so any change there
recompiles both kernels once.

They subclass numba's own locators (same cache folders: ``NUMBA_CACHE_DIR``, beside the
source, or the user-wide cache for read-only installs) and are put in front of them in
numba's list before any kernel is decorated; :mod:`nnrun.engines.compiled` imports this
module first.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from numba.core import caching

ENGINES = Path(__file__).resolve().parent
# the registries whose codes and slots the kernels take as constants (engines/layout.py and
# engines/compiled.py derive them): a reordered registry must recompile, not load old codes
REGISTRIES = [ENGINES.parent / "maths" / f"{name}.py" for name in ("activations", "losses", "optimizers", "metrics")]


def sources_stamp(folder: Path = ENGINES, also=()) -> str:
    """sha256 over the names and contents of every .py file in ``folder`` (sorted), and of
    the files ``also``."""
    digest = hashlib.sha256()
    for path in [*sorted(folder.glob("*.py")), *also]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=None)
def engines_stamp() -> str:
    """nnrun/engines' own stamp, with the registries it reads: computed once a process."""
    return sources_stamp(ENGINES, REGISTRIES)


class _PackageStamp:
    """Mixin: only for functions of nnrun/engines; their stamp adds :func:`sources_stamp`."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve().parent != ENGINES:
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return super().get_source_stamp(), engines_stamp()


class UserProvidedLocator(_PackageStamp, caching.UserProvidedCacheLocator):
    """``NUMBA_CACHE_DIR`` is set."""


class InTreeLocator(_PackageStamp, caching.InTreeCacheLocator):
    """``__pycache__`` beside the source."""


class UserWideLocator(_PackageStamp, caching.UserWideCacheLocator):
    """The user's cache folder, when the install is read-only."""


LOCATORS = [UserProvidedLocator, InTreeLocator, UserWideLocator]


def install() -> None:
    """Put the locators first in numba's list (once); numba tries them in order."""
    classes = caching.CacheImpl._locator_classes
    if classes[: len(LOCATORS)] != LOCATORS:
        classes[:0] = LOCATORS


install()
