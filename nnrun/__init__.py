"""nnrun: YAML-driven experiments with neural networks built from scratch.

The pipeline, one module per stage::

    config  ->  data  ->  network  ->  train  ->  rundir  ->  plots
    (schema)   (sources,   (forward,    (SGD loop,  (artifacts)  (pictures)
               transforms) backward)    engines)

Everything the CLI does is a function here, e.g.::

    import nnrun
    cfg = nnrun.load_config("configs/higham_2232.yaml", ["train.iterations=1000"])
    run_dir = nnrun.run_experiment(cfg, runs_dir="runs")
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("nnrun")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from nnrun.errors import NnrunError  # noqa: E402
from nnrun.config import Config, load_config  # noqa: E402
from nnrun.data import Dataset, load_data  # noqa: E402
from nnrun.network import Network  # noqa: E402
from nnrun.train import TrainResult, train  # noqa: E402
from nnrun.experiment import run_experiment  # noqa: E402

__all__ = [
    "__version__",
    "NnrunError",
    "Config",
    "load_config",
    "Dataset",
    "load_data",
    "Network",
    "TrainResult",
    "train",
    "run_experiment",
]
