"""Reading a run folder back: its config, history, network and metrics."""

from __future__ import annotations

import json
from pathlib import Path

from nnrun.errors import NnrunError
from nnrun.store.names import CONFIG, HISTORY, METRICS_JSON, MODEL


def load_run(run_dir: str | Path):
    """(config, history DataFrame, network, metrics) of a run folder."""
    import pandas as pd
    import yaml

    from nnrun.config import validate
    from nnrun.maths.network import Network

    run_dir = Path(run_dir)
    for needed in (CONFIG, HISTORY, MODEL):
        if not (run_dir / needed).exists():
            raise NnrunError(f"{run_dir}: not a run folder (no {needed})")
    cfg = validate(yaml.safe_load((run_dir / CONFIG).read_text()), str(run_dir / CONFIG))
    history = pd.read_csv(run_dir / HISTORY)
    network = Network.from_npz(run_dir / MODEL, key=str(run_dir))
    metrics_path = run_dir / METRICS_JSON
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return cfg, history, network, metrics
