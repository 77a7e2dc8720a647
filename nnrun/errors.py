"""The one exception type for bad input.

Anything the user can fix (config, data, paths) raises :class:`NnrunError` with a
single line naming the key or file, the bad value and what is accepted. The CLI turns
it into that line on stderr and exit code 2; nothing else is ever shown as a traceback
for bad input.
"""

from __future__ import annotations


class NnrunError(Exception):
    """A user-facing error: one line, exit code 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def no_run_folder(path, prefix: str = "") -> NnrunError:
    """The error for a RUN argument that is not a folder: a file inside a run folder
    (``RUN/model.npz``) is named as such, with the folder to give instead."""
    from pathlib import Path

    path = Path(path)
    in_a_run = any((path.parent / name).exists() for name in ("metrics.json", "history.csv", "sweep.yaml"))
    if path.is_file() and not in_a_run and path.suffix.lower() in (".yaml", ".yml"):
        return NnrunError(f"{prefix}{path}: is a config, not a run folder; give a run folder (one under runs/), "
                          f"or train it first: nnrun train {path}")
    if path.is_file() and not in_a_run:
        return NnrunError(f"{prefix}{path}: is a file, not a run folder; give a run folder (one under runs/)")
    if path.is_file():
        return NnrunError(f"{prefix}{path}: is a file, not a run folder; give the folder that holds it, {path.parent}")
    return NnrunError(f"{prefix}{path}: no such run folder")


class RunFailed(Exception):
    """Training crashed (a bug or a resource failure); the run folder keeps the evidence."""

    def __init__(self, run_dir, error: BaseException):
        super().__init__(f"training failed ({type(error).__name__}: {error}); the traceback is in "
                         f"{run_dir / 'metrics.json'}")
        self.run_dir = run_dir


def where(path: str | None, key: str | None = None) -> str:
    """Prefix for messages: ``file: key:`` with whatever is known."""
    parts = [p for p in (path, key) if p]
    return (": ".join(parts) + ": ") if parts else ""
