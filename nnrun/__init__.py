"""nnrun: YAML-driven experiments with neural networks built from scratch.

The pipeline, one module per stage::

    config  ->  data  ->  network  ->  engines  ->  training  ->  run folder  ->  plots, report
    (schema)   (sources,   (forward,    (NumPy,      (the loop,    (artifacts)     (pictures,
               transforms) backward)    compiled)    history)                      pages)

Everything the CLI does is a function here, e.g.::

    import nnrun
    cfg = nnrun.load_config("configs/higham_2232.yaml", ["train.iterations=1000"])
    run_dir = nnrun.run_experiment(cfg, runs_dir="runs")

The names below are imported on first use, so that ``nnrun --help`` and a config error
answer at once instead of waiting for NumPy, pandas, numba and matplotlib to load.
"""

from __future__ import annotations

import importlib

from nnrun.errors import NnrunError

#: public name -> the module that defines it
_API = {
    "Config": "nnrun.config",
    "load_config": "nnrun.config",
    "Dataset": "nnrun.data",
    "load_data": "nnrun.data",
    "Network": "nnrun.maths.network",
    "TrainResult": "nnrun.training",
    "train": "nnrun.training",
    "run_experiment": "nnrun.app",
    # notebooks: runs and sweeps as objects (docs/python.md)
    "run": "nnrun.notebook",
    "sweep": "nnrun.notebook",
    "load": "nnrun.notebook",
    "Run": "nnrun.notebook",
    "Sweep": "nnrun.notebook",
}

__all__ = ["__version__", "NnrunError", *_API]


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("nnrun")
        except PackageNotFoundError:  # running from a source tree that is not installed
            value = "0.0.0+unknown"
    elif name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
    else:
        raise AttributeError(f"module 'nnrun' has no attribute {name!r}")
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
