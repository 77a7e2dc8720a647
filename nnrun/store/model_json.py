"""model.json: what ``nnrun predict`` needs besides the weights (features, fitted
transforms, task, label column (a list of them for several regression targets, one
output unit each, in order), class names)."""

from __future__ import annotations

from pathlib import Path

from nnrun.store.files import write_json
from nnrun.store.names import MODEL_JSON


def write_model_json(run_dir: Path, data, cfg) -> None:
    """model.json: feature columns, fitted transforms, task, label column, class names."""
    write_json(Path(run_dir) / MODEL_JSON, {
        "task": data.task,
        "features": list(data.feature_names),
        "label": data.label_name,
        "class_names": list(data.class_names),
        "output": cfg.model.output,
        "transform": data.transform.state(),
    })
