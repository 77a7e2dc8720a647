"""Data: the configured data set, split and transformed, with one module per part.

``load_data(cfg)`` returns a :class:`Dataset` with samples in rows:
``X_train`` (N, n_0) after the transforms, ``Y_train`` (N, n_L) targets (one-hot, 0/1
for a single sigmoid unit, or real values for regression), integer ``labels``, and the
untransformed inputs for plotting in the original coordinates.

- :mod:`nnrun.data.common`: :class:`DataCommon`, the fields every source's config model shares;
- :mod:`nnrun.data.sources`: the generators, each its config model and its function
  (:data:`GENERATORS`, ``franke_function``);
- :mod:`nnrun.data.tables`: CSV files read into features and labels, labels into classes;
- :mod:`nnrun.data.transforms`: the transforms (:data:`TRANSFORMS`) and their :class:`Pipeline`;
- here: :class:`Dataset` and :func:`load_data` (read, encode, split, transform).

Where to add things: a generator is one file, ``sources.py`` (its model, its function, its
entry in :data:`GENERATORS`); a transform is one class in :data:`TRANSFORMS`.
Randomness comes from the run's seed through independent streams (see
:func:`nnrun.maths.streams.streams`, re-exported here), so the data, the split, the
initial weights and the sample order never disturb each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnrun.data.common import DataCommon
from nnrun.data.sources import GENERATORS, HIGHAM_X1, HIGHAM_X2, franke_function
from nnrun.data.tables import (
    class_name,
    encode_labels,
    label_values,
    numeric_column,
    read_csv,
    read_inline,
    read_table,
)
from nnrun.data.transforms import TRANSFORMS, Pipeline
from nnrun.errors import NnrunError
from nnrun.maths.streams import STREAMS, streams

__all__ = [
    "GENERATORS", "HIGHAM_X1", "HIGHAM_X2", "STREAMS", "TRANSFORMS", "Dataset", "Pipeline", "class_name",
    "encode_labels", "franke_function", "label_values", "load_data", "numeric_column", "read_csv",
    "read_inline", "read_table", "streams",
]


@dataclass
class Dataset:
    """A split, transformed data set; rows are samples."""

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    labels_train: np.ndarray  # class indices (classification) or targets (regression)
    labels_test: np.ndarray
    raw_train: np.ndarray  # inputs before the transforms, for plots in original coordinates
    raw_test: np.ndarray
    task: str
    feature_names: list[str]
    class_names: list[str] = field(default_factory=list)
    transform: Pipeline = field(default_factory=lambda: Pipeline([]))
    # the validation set (data.validation_fraction), carved from the training part
    X_val: np.ndarray | None = None
    Y_val: np.ndarray | None = None
    labels_val: np.ndarray | None = None
    raw_val: np.ndarray | None = None
    label_name: str | list[str] | None = None  # the label column of a file source (several targets: a list)

    def __post_init__(self):
        if self.X_val is None:
            self.X_val = np.empty((0, self.X_train.shape[1]))
            self.Y_val = np.empty((0, self.Y_train.shape[1]))
            self.labels_val = self.labels_train[:0]
            self.raw_val = self.raw_train[:0]

    @property
    def has_val(self) -> bool:
        return len(self.X_val) > 0

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_targets(self) -> int:
        """The number of regression targets (label columns), one output unit each; 1 for a classification."""
        return 1 if self.labels_train.ndim == 1 else self.labels_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_test(self) -> bool:
        return len(self.X_test) > 0


def _raw(cfg) -> tuple[np.ndarray, np.ndarray, list[str], str | None]:
    """(X, y, feature names, label column or None) straight from the source."""
    d = cfg.data
    if d.source in GENERATORS:
        rng = streams(cfg.seed)["data"]
        params = d.model_dump(exclude={"source", *DataCommon.model_fields})  # the generator's own keys
        X, y = GENERATORS[d.source].generate(rng, **params)
        return X.astype(np.float64), y, [f"x{i + 1}" for i in range(X.shape[1])], None
    if d.source == "digits":
        X, y, names, label = read_csv(d.path, "label", None)
        if X.shape[1] != 64:
            raise NnrunError(f"data.path: {d.path} has {X.shape[1]} pixel columns; the digits have 64")
        return X, y, names, label
    if d.source == "inline":
        return read_inline(d.columns, d.rows, d.label, d.features)
    return read_csv(d.path, d.label, d.features)


def _check_inputs(cfg, X: np.ndarray, feature_names: list[str], where: str) -> None:
    """The inputs fit the network's first layer and, for images, data.image_shape."""
    n_in = cfg.model.architecture[0]
    arch = "-".join(map(str, cfg.model.architecture))
    if X.shape[1] != n_in:
        raise NnrunError(
            f"model.architecture: {arch} takes {n_in} inputs but {where} gives {X.shape[1]} "
            f"features ({', '.join(feature_names)}); make the first size {X.shape[1]}"
        )
    shape = cfg.data.image_shape
    if shape is not None and shape[0] * shape[1] != X.shape[1]:
        raise NnrunError(
            f"data.image_shape: {shape[0]}x{shape[1]} = {shape[0] * shape[1]} pixels, but {where} gives "
            f"{X.shape[1]} features; give [height, width] with height * width = {X.shape[1]}, or leave it out"
        )


def _targets(cfg, y: np.ndarray, where: str, one_class_ok: bool = False
             ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(labels, class names, Y): the labels encoded, and the targets the output layer learns
    (one-hot, 0/1 for a single unit, or the regression targets, one column each).
    ``one_class_ok``: accept labels of one class (data.class_names then says its output unit)."""
    d = cfg.data
    n_out = cfg.model.architecture[-1]
    arch = "-".join(map(str, cfg.model.architecture))
    if y.ndim == 2 and d.task == "classification":
        raise NnrunError(f"data.label: {d.label} names {y.shape[1]} columns; a classifier has one label column "
                         "(several are the targets of data.task: regression)")
    labels, class_names = encode_labels(y, d.task, where, d.class_names)
    if d.task == "classification":
        n_classes = len(class_names)
        present = np.unique(labels)
        if len(present) < 2:
            only = class_names[int(present[0])]
            if not one_class_ok:
                raise NnrunError(f"{where}: only one class ({only}) in the labels; a classifier needs at least 2 "
                                 "to train; `nnrun explain CONFIG` shows the steps of one")
            if d.class_names is None:
                raise NnrunError(f"data.class_names: required when the labels hold one class ({only}), to say which "
                                 f"output unit it is; give the class names in output-unit order, e.g. "
                                 f"data.class_names: [{only}, ...]")
        if not (n_classes == n_out or (n_classes == 2 and n_out == 1)):
            raise NnrunError(
                f"model.architecture: {arch} has {n_out} output unit(s) but {where} has "
                f"{n_classes} classes; make the last size {n_classes}"
                + (" (or 1 for 0/1 targets)" if n_classes == 2 else "")
            )
        Y = np.eye(n_out)[labels] if n_out > 1 else labels[:, None].astype(np.float64)
    elif labels.ndim == 2:
        if n_out != labels.shape[1]:
            raise NnrunError(f"model.architecture: regression with the {labels.shape[1]} targets {', '.join(d.label)} "
                             f"predicts {labels.shape[1]} values, one output unit each; make the last size "
                             f"{labels.shape[1]}, not {n_out}")
        Y = labels
    else:
        if n_out != 1:
            raise NnrunError(f"model.architecture: regression predicts one value; make the last size 1, not {n_out}"
                             " (or name one target column per output unit in data.label)")
        Y = labels[:, None].astype(np.float64)
    return labels, class_names, Y


def _split(cfg, N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(test, validation, train): sorted row indices of the seeded split of N samples."""
    n_test = int(round(cfg.data.test_fraction * N))
    n_val = int(round(cfg.data.validation_fraction * N))
    for key, fraction, n in (("test", cfg.data.test_fraction, n_test), ("validation", cfg.data.validation_fraction, n_val)):
        if fraction > 0 and (n == 0 or n_test + n_val >= N):
            raise NnrunError(
                f"data.{key}_fraction: {fraction} of {N} samples leaves "
                f"{f'no {key}' if n == 0 else 'no training'} sample; choose a fraction between {1 / N:.3g} and "
                f"{1 - 1 / N - (cfg.data.test_fraction if key == 'validation' else cfg.data.validation_fraction):.3g}"
            )
    # one permutation: the first n_test samples test, the next n_val validation, so a
    # validation set never changes which samples are held out for testing
    order = streams(cfg.seed)["split"].permutation(N) if (n_test or n_val) else np.arange(N)
    return (np.sort(order[:n_test]), np.sort(order[n_test:n_test + n_val]),
            np.sort(order[n_test + n_val:]))


def load_data(cfg, one_class_ok: bool = False) -> Dataset:
    """Build the configured data set: source -> labels/targets -> split -> transforms.

    ``one_class_ok``: accept a classification whose labels hold one class (``nnrun
    explain`` shows a step on one sample; training refuses it), provided data.class_names
    says which output unit that class is."""
    X, y, feature_names, label_name = _raw(cfg)
    n_in, n_out = cfg.model.architecture[0], cfg.model.architecture[-1]
    where = f"data.path {cfg.data.path}" if hasattr(cfg.data, "path") else f"data.source {cfg.data.source}"
    _check_inputs(cfg, X, feature_names, where)
    labels, class_names, Y = _targets(cfg, y, where, one_class_ok)
    test, val, train = _split(cfg, len(X))
    n_test, n_val = len(test), len(val)
    pipeline = Pipeline(cfg.data.transform).fit(X[train])
    return Dataset(
        X_train=np.ascontiguousarray(pipeline(X[train])),
        Y_train=np.ascontiguousarray(Y[train]),
        X_test=np.ascontiguousarray(pipeline(X[test])) if n_test else np.empty((0, n_in)),
        Y_test=np.ascontiguousarray(Y[test]) if n_test else np.empty((0, n_out)),
        labels_train=labels[train],
        labels_test=labels[test],
        raw_train=X[train],
        raw_test=X[test],
        task=cfg.data.task,
        feature_names=feature_names,
        class_names=class_names,
        transform=pipeline,
        label_name=label_name,
        X_val=np.ascontiguousarray(pipeline(X[val])) if n_val else np.empty((0, n_in)),
        Y_val=np.ascontiguousarray(Y[val]) if n_val else np.empty((0, n_out)),
        labels_val=labels[val],
        raw_val=X[val],
    )
