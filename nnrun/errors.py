"""The exception types the user sees as one line: bad input, and faults of the machine.

Anything the user can fix (config, data, paths) raises :class:`NnrunError` with a
single line naming the key or file, the bad value and what is accepted. The CLI turns
it into that line on stderr and exit code 2; nothing else is ever shown as a traceback
for bad input. A fault of the machine (a full disk, a folder that cannot be written) is
:class:`MachineFault`: one line naming the file and what to do, exit code 1.
"""

from __future__ import annotations

import errno
import os


class NnrunError(Exception):
    """A user-facing error: one line, exit code 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class MachineFault(NnrunError):
    """A fault of the machine, not of the input: one line naming the file and what to do,
    exit code 1 (the input was fine; the same command works once the fault is gone)."""

    exit_code = 1


class WorkersStopped(MachineFault):
    """A sweep's worker process ended without a word (killed, out of memory, or stopped as it
    started); ``written``: how many cells were saved before (0: no sweep folder is left)."""

    def __init__(self, message: str, written: int):
        super().__init__(message)
        self.written = written


# a write that fails for these reasons fails for the next file too: stop and say so
DISK_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def is_disk_fault(error: BaseException) -> bool:
    """Whether ``error`` is a write refused by the disk (full, over quota, read-only)."""
    return isinstance(error, OSError) and error.errno in DISK_FAULTS


def disk_fault(error: OSError, what_next: str, path=None) -> MachineFault:
    """'no space left on device writing PATH; WHAT_NEXT' as a :class:`MachineFault`."""
    reason = (error.strerror or os.strerror(error.errno or 0)).lower()
    path = path if path is not None else error.filename
    return MachineFault(f"{reason}{f' writing {path}' if path else ''}; {what_next}")


class RunFailed(Exception):
    """Training crashed (a bug or a resource failure); the run folder keeps the evidence."""

    def __init__(self, run_dir, error: BaseException, evidence):
        super().__init__(f"training failed ({type(error).__name__}: {error}); the traceback is in {evidence}")
        self.run_dir = run_dir


def where(path: str | None, key: str | None = None) -> str:
    """Prefix for messages: ``file: key:`` with whatever is known."""
    parts = [p for p in (path, key) if p]
    return (": ".join(parts) + ": ") if parts else ""
