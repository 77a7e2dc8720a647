"""Applying a trained run to new rows: ``nnrun predict RUN CSV``.

Training saves, next to ``model.npz``, a ``model.json`` with what a prediction needs
and the weights do not hold: the feature columns in order, the transforms as fitted
on the training part (so a new row x goes through exactly the same x -> T(x)), the
task, the label column and the class names. A prediction is then

    a_L = network(T(x)),    class = argmax_k a_L[k]   (one sigmoid unit: a_L >= 0.5)

For a softmax output a_L holds the class probabilities; one sigmoid unit gives
p(last class) = a_L and p(first class) = 1 - a_L; other outputs are scores, not
probabilities, and are written as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnrun.data import Pipeline, class_name, label_values, numeric_column, read_table
from nnrun.errors import NnrunError
from nnrun.store.names import no_run_folder
from nnrun.maths.metrics import r2_score
from nnrun.store.names import MODEL_JSON


@dataclass
class Predictor:
    """A trained network with what it needs to read raw rows."""

    network: object
    task: str
    features: list[str]
    label: str | list[str] | None  # several regression targets: their columns, one output unit each
    class_names: list[str]
    output: str
    transform: Pipeline

    def outputs(self, X_raw: np.ndarray) -> np.ndarray:
        """a_L for raw feature rows (the fitted transforms applied first)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.network.predict(self.transform(X_raw))

    def classes(self, A: np.ndarray) -> np.ndarray:
        """Class index per row: argmax of a_L, or a_L >= 0.5 for one output unit."""
        return (A[:, 0] >= 0.5).astype(int) if A.shape[1] == 1 else A.argmax(axis=1)

    def columns(self, A: np.ndarray) -> dict:
        """Per-class output columns: p_<class> (probabilities) or score_<class>."""
        if A.shape[1] == 1 and self.output == "sigmoid":
            return {f"p_{self.class_names[0]}": 1.0 - A[:, 0], f"p_{self.class_names[1]}": A[:, 0]}
        prefix = "p" if self.output == "softmax" else "score"
        return {f"{prefix}_{name}": A[:, k] for k, name in enumerate(self.class_names[:A.shape[1]])}


def load_predictor(run_dir: str | Path) -> Predictor:
    """The predictor of a run folder (model.npz + model.json; older runs: rebuilt from config.yaml)."""
    from nnrun.store.runs import load_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise no_run_folder(run_dir, "RUN: ")
    cfg, network = load_model(run_dir)
    path = run_dir / MODEL_JSON
    if path.exists():
        spec = json.loads(path.read_text())
        transform = Pipeline.from_state(spec["transform"])
        task, features, label, names = spec["task"], spec["features"], spec["label"], spec["class_names"]
    else:  # a run from before model.json: the data set gives the same transforms and classes
        from nnrun.data import load_data

        data = load_data(cfg)
        transform, task, features = data.transform, data.task, data.feature_names
        label, names = data.label_name, data.class_names
    return Predictor(network, task, list(features), label, list(names), cfg.model.output, transform)


def predict(run_dir: str | Path, csv_path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Predictions for every row of ``csv_path`` and, when it has the label column, the score.

    Returns (table, summary): the table holds the label (if present), ``predicted``
    (a class name, or a value for regression) and the per-class columns; the summary
    holds ``rows`` and ``accuracy`` (or ``r2`` and ``rmse``) when labels were given.
    Several regression targets: their columns (if present) and ``predicted_<target>`` each.
    """
    csv_path = str(csv_path)
    return predict_frame(load_predictor(run_dir), read_table(csv_path, key="CSV"), csv_path)


def predict_frame(predictor: Predictor, frame: pd.DataFrame, csv_path: str = "rows") -> tuple[pd.DataFrame, dict]:
    """:func:`predict` for rows already read (``Run.predict``): the same table and summary;
    ``csv_path`` names the rows in messages."""
    A = _outputs(predictor, frame, csv_path)
    if isinstance(predictor.label, list):
        return _predict_targets(predictor, frame, A, csv_path)
    table = pd.DataFrame(index=range(len(frame)))
    summary: dict = {"rows": len(frame), "label": predictor.label}
    has_label = predictor.label is not None and predictor.label in frame.columns
    truth = label_values(frame[predictor.label], predictor.label, csv_path) if has_label else None
    if predictor.task == "regression":
        if truth is not None:
            if truth.dtype.kind in "US":
                raise NnrunError(f"{csv_path}: column '{predictor.label}' holds text ({truth[0]!r}); "
                                 "this run predicts numbers")
            table[predictor.label] = truth
        table["predicted"] = A[:, 0]
        if truth is not None:
            residual = truth - A[:, 0]
            summary["rmse"] = float(np.sqrt((residual ** 2).mean()))
            summary["r2"] = r2_score(truth, A[:, 0])
        return table, summary
    names = np.array(predictor.class_names, dtype=object)
    predicted = names[predictor.classes(A)]
    if truth is not None:
        given = np.array([class_name(v) for v in truth], dtype=object)
        unknown = [v for v in given if v not in set(predictor.class_names)]
        if unknown:
            raise NnrunError(f"{csv_path}: column '{predictor.label}': label {unknown[0]!r} is not a class of "
                             f"this run; its classes: {', '.join(predictor.class_names)}")
        table[predictor.label] = given
        summary["accuracy"] = float((given == predicted).mean())
        summary["correct"] = int((given == predicted).sum())
    table["predicted"] = predicted
    for column, values in predictor.columns(A).items():
        table[column] = values
    return table, summary


def _outputs(predictor: Predictor, frame: pd.DataFrame, csv_path: str) -> np.ndarray:
    """a_L for each of the rows: the features read, the fitted transforms applied."""
    if len(frame) == 0:
        raise NnrunError(f"{csv_path}: no data rows after the header")
    missing = [c for c in predictor.features if c not in frame.columns]
    if missing:
        raise NnrunError(f"{csv_path}: no column '{missing[0]}'; the run was trained on the columns "
                         f"{', '.join(predictor.features)} (columns found: {', '.join(frame.columns)})")
    X = np.column_stack([numeric_column(frame, c, csv_path) for c in predictor.features])
    return predictor.outputs(X)


def _predict_targets(predictor: Predictor, frame, A: np.ndarray, csv_path: str) -> tuple[pd.DataFrame, dict]:
    """A regression of several targets: for each target t, ``predicted_t`` (output unit k for
    the k-th target) beside column t when the CSV has it. With every target column present,
    the summary holds the RMSE over all targets' cells and R², the mean of the targets' R²."""
    targets = list(predictor.label)
    table = pd.DataFrame(index=range(len(frame)))
    summary: dict = {"rows": len(frame), "label": targets}
    scored = all(t in frame.columns for t in targets)
    truth = np.column_stack([label_values(frame[t], t, csv_path) for t in targets]) if scored else None
    if truth is not None and truth.dtype.kind in "US":
        bad = next(t for t in targets if label_values(frame[t], t, csv_path).dtype.kind in "US")
        raise NnrunError(f"{csv_path}: column '{bad}' holds text; this run predicts numbers")
    for k, t in enumerate(targets):
        if truth is not None:
            table[t] = truth[:, k]
        table[f"predicted_{t}"] = A[:, k]
    if truth is not None:
        summary["rmse"] = float(np.sqrt(((truth - A) ** 2).mean()))
        summary["r2"] = r2_score(truth, A)
    return table, summary


def summary_line(summary: dict) -> str:
    """'accuracy 0.9667 (29 of 30 rows against column 'species')' or the regression scores."""
    label = summary.get("label")
    names = label if isinstance(label, list) else [label]
    column = f"column{'s' if len(names) > 1 else ''} " + ", ".join(f"'{n}'" for n in names)
    if "accuracy" in summary:
        return (f"accuracy {summary['accuracy']:.4f} ({summary['correct']} of {summary['rows']} rows "
                f"against {column})")
    if "rmse" in summary:
        r2 = "" if summary.get("r2") is None else f", R² {summary['r2']:.4g}"
        return f"RMSE {summary['rmse']:.4g}{r2} over {summary['rows']} rows against {column}"
    return f"{summary['rows']} rows predicted (no {column} to score against)" if label else \
        f"{summary['rows']} rows predicted"
