"""Reading a run folder back: its config and network, and its history and metrics."""

from __future__ import annotations

import json
from pathlib import Path

from nnrun.errors import NnrunError
from nnrun.store.history import has_history, read_history
from nnrun.store.names import CONFIG, HISTORY, METRICS_JSON, MODEL


def load_model(run_dir: str | Path):
    """(config, network) of a run folder, without reading its history (E1's is a million rows)."""
    import yaml

    from nnrun.config import validate
    from nnrun.maths.network import Network

    run_dir = Path(run_dir)
    for needed in (CONFIG, MODEL):  # not the history: a run whose history did not fit still predicts
        if not (run_dir / needed).exists():
            raise NnrunError(f"{run_dir}: not a run folder (no {needed})")
    cfg = validate(yaml.safe_load((run_dir / CONFIG).read_text()), str(run_dir / CONFIG))
    return cfg, Network.from_npz(run_dir / MODEL, key=str(run_dir))


def load_run(run_dir: str | Path):
    """(config, history DataFrame, network, metrics) of a run folder."""
    run_dir = Path(run_dir)
    cfg, network = load_model(run_dir)
    if not has_history(run_dir):  # its history.csv, or a sweep cell's rows of its sweep's table
        raise NnrunError(f"{run_dir}: not a run folder (no {HISTORY})")
    history = read_history(run_dir)
    metrics_path = run_dir / METRICS_JSON
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return cfg, history, network, metrics
