"""Writing a run folder's files so that no reader ever sees half of one, and reading them back.

Every file is written to a hidden temporary name in the same folder and renamed into place
(``os.replace`` is atomic on one file system), so a reader, or a crash, sees the old file or
the new one, never a part. Reading back is lenient (:func:`read_saved_json`,
:func:`read_saved_yaml`): a page or a table built from a folder that lacks a file, or holds
a broken one, shows what there is; a user's own config file is read strictly, by
:func:`nnrun.config.read_yaml`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import yaml

_UMASK = os.umask(0)
os.umask(_UMASK)


def _naming(error: BaseException, path: Path) -> BaseException:
    """A failed write names the file it was writing (a full disk's OSError names none)."""
    if isinstance(error, OSError) and not error.filename:
        named = OSError(error.errno, error.strerror, str(path))
        named.__cause__ = error
        return named
    return error


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    path = Path(path)
    mode = "w" if isinstance(data, str) else "wb"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        raise _naming(e, path)


def atomic_savefig(fig, path: str | Path, **kwargs) -> None:
    """``fig.savefig`` to a hidden name, renamed into place (a failed save leaves nothing)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, **kwargs)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        raise _naming(e, path)


def atomic_npz(path: str | Path, save) -> None:
    """``save(file)`` writes an .npz to an open file; then it is renamed into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    try:
        with open(tmp, "wb") as f:
            save(f)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        raise _naming(e, path)


def json_safe(value):
    """``value`` with NumPy numbers as Python's and NaN/inf as None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: str | Path, data: dict) -> None:
    """JSON with NaN/inf as null (strict JSON readers reject NaN)."""
    atomic_write(path, json.dumps(json_safe(data), indent=2) + "\n")


def read_saved_json(path: Path) -> dict:
    """A JSON mapping nnrun wrote; {} when the file is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def read_saved_yaml(path: Path) -> dict:
    """A YAML mapping nnrun wrote; {} when the file is missing, unreadable or not a mapping."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}
