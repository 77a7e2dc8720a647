"""Data: sources (generators and files), the train/test split, and transforms.

``load_data(cfg)`` returns a :class:`Dataset` with samples in rows:
``X_train`` (N, n_0) after the transforms, ``Y_train`` (N, n_L) targets (one-hot, 0/1
for a single sigmoid unit, or real values for regression), integer ``labels``, and the
untransformed inputs for plotting in the original coordinates.

Where to add things: a generator is one function in :data:`GENERATORS` (plus its
parameters in ``config.DATA_SOURCES``); a transform is one class in :data:`TRANSFORMS`.
Randomness comes from the run's seed through independent streams (see
:func:`streams`), so the data, the split, the initial weights and the sample order
never disturb each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnrun.errors import NnrunError

# --------------------------------------------------------------------- randomness
STREAMS = ("data", "split", "init", "sampling", "dropout")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for each use of randomness, all from one seed.

    A new stream goes at the end: the k-th child of a SeedSequence does not depend on how
    many are spawned, so adding one never changes the numbers of the others."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children)}


# --------------------------------------------------------------------- generators
HIGHAM_X1 = [0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7]
HIGHAM_X2 = [0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6]


def higham(rng, **_):
    """The 10 points of Higham & Higham (2019): the first 5 class A (0), the last 5 class B (1)."""
    X = np.column_stack([HIGHAM_X1, HIGHAM_X2]).astype(np.float64)
    return X, np.repeat([0, 1], 5)


def _halves(n):
    return n // 2, n - n // 2


def ellipse(rng, n_samples, noise, inner, outer, aspect, angle, **_):
    """Two closed ellipse contours around (0.5, 0.5), one inside the other.

    A point of a contour with semi-major axis s is c + R(angle) (s cos t, aspect s sin t)
    with t uniform in [0, 2 pi), plus N(0, noise^2) per coordinate. Inner contour is class 0.
    """
    counts = _halves(n_samples)
    rot = np.deg2rad(angle)
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    parts, labels = [], []
    for label, (s, n) in enumerate(zip((inner, outer), counts)):
        t = rng.uniform(0.0, 2 * np.pi, n)
        P = np.column_stack([s * np.cos(t), aspect * s * np.sin(t)]) @ R.T
        parts.append(0.5 + P + noise * rng.standard_normal((n, 2)))
        labels.append(np.full(n, label))
    return np.vstack(parts), np.concatenate(labels)


def moons(rng, n_samples, noise, **_):
    """Two interleaving half circles (scikit-learn's make_moons), N(0, noise^2) added."""
    n0, n1 = _halves(n_samples)
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    X = np.vstack([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1 - np.cos(t1), 1 - np.sin(t1) - 0.5]),
    ])
    X += noise * rng.standard_normal(X.shape)
    return X, np.repeat([0, 1], [n0, n1])


def circles(rng, n_samples, noise, factor, **_):
    """Two concentric circles of radii 1 and ``factor`` (scikit-learn's make_circles)."""
    n_out, n_in = _halves(n_samples)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
    ])
    X += noise * rng.standard_normal(X.shape)
    return X, np.repeat([0, 1], [n_out, n_in])


def xor(rng, n_samples, noise, **_):
    """Uniform points in [-1, 1]^2; class 1 where x1 and x2 have different signs."""
    X = rng.uniform(-1.0, 1.0, (n_samples, 2))
    labels = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    return X + noise * rng.standard_normal(X.shape), labels


def spirals(rng, n_samples, noise, classes, turns, **_):
    """``classes`` spiral arms r = t, angle = 2 pi turns t + 2 pi k / classes, t in (0, 1]."""
    counts = np.full(classes, n_samples // classes)
    counts[: n_samples % classes] += 1
    parts, labels = [], []
    for k, n in enumerate(counts):
        t = np.linspace(0.05, 1.0, n)
        phi = 2 * np.pi * turns * t + 2 * np.pi * k / classes
        parts.append(np.column_stack([t * np.cos(phi), t * np.sin(phi)]))
        labels.append(np.full(n, k))
    X = np.vstack(parts)
    return X + noise * rng.standard_normal(X.shape), np.concatenate(labels)


def gauss(rng, n_samples, noise, classes, radius, **_):
    """Gaussian blobs N(mu_k, noise^2 I), centres mu_k evenly spaced on a circle of ``radius``."""
    counts = np.full(classes, n_samples // classes)
    counts[: n_samples % classes] += 1
    phi = 2 * np.pi * np.arange(classes) / classes
    centres = radius * np.column_stack([np.cos(phi), np.sin(phi)])
    labels = np.repeat(np.arange(classes), counts)
    X = centres[labels] + noise * rng.standard_normal((n_samples, 2))
    return X, labels


def sine(rng, n_samples, noise, **_):
    """1-D regression: x uniform in [0, 1], y = sin(2 pi x) + N(0, noise^2)."""
    x = rng.uniform(0.0, 1.0, n_samples)
    return x[:, None], np.sin(2 * np.pi * x) + noise * rng.standard_normal(n_samples)


def franke_function(x, y):
    """Franke's function, the regression test surface of Hjorth-Jensen's course, on [0, 1]^2."""
    return (0.75 * np.exp(-(9 * x - 2) ** 2 / 4 - (9 * y - 2) ** 2 / 4)
            + 0.75 * np.exp(-(9 * x + 1) ** 2 / 49 - (9 * y + 1) / 10)
            + 0.5 * np.exp(-(9 * x - 7) ** 2 / 4 - (9 * y - 3) ** 2 / 4)
            - 0.2 * np.exp(-(9 * x - 4) ** 2 - (9 * y - 7) ** 2))


def franke(rng, n_samples, noise, **_):
    """2-D regression: (x, y) uniform in [0, 1]^2, target franke_function(x, y) + N(0, noise^2)."""
    X = rng.uniform(0.0, 1.0, (n_samples, 2))
    return X, franke_function(X[:, 0], X[:, 1]) + noise * rng.standard_normal(n_samples)


GENERATORS = {
    "higham": higham,
    "ellipse": ellipse,
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "spirals": spirals,
    "gauss": gauss,
    "sine": sine,
    "franke": franke,
}


# -------------------------------------------------------------------------- files
DELIMITERS = ",;\t"


def read_table(path: str, key: str = "data.path"):
    """A user's CSV as a DataFrame, as it comes from spreadsheets and exports.

    The delimiter (comma, semicolon or tab) is detected from the first lines
    (``csv.Sniffer``); a UTF-8 byte-order mark, CRLF line ends and quoted fields are
    read by pandas. A column whose every cell is a number comes as numbers, read by
    pandas' C parser (0.4 s -> 0.04 s for the digits, where converting text took the
    time); any other column as stripped text, and the caller decides what must be a
    number (:func:`numeric_column` names the bad cell).
    """
    import csv

    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise NnrunError(f"{key}: {path}: no such file")
    if p.is_dir():
        raise NnrunError(f"{key}: {path}: is a directory, expected a CSV file")
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:
            sample = f.read(64 * 1024)
    except UnicodeDecodeError:
        raise NnrunError(f"{path}: not a text file in UTF-8; expected a CSV file") from None
    except OSError as e:
        raise NnrunError(f"{path}: cannot read ({e.strerror})") from None
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or too few lines to tell
        sep = ","
    try:
        # numbers rounded as float() rounds them: pandas 3 does by default (and deprecates
        # the option), pandas 2 with round_trip
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        frame = pd.read_csv(p, sep=sep, encoding="utf-8-sig", skipinitialspace=True, keep_default_na=False,
                            **exact)
    except pd.errors.EmptyDataError:
        raise NnrunError(f"{path}: the file is empty; expected a header row and data rows") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NnrunError(f"{path}: not a readable CSV ({first})") from None
    except OSError as e:
        raise NnrunError(f"{path}: cannot read ({e.strerror})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda column: column if _numbers(column) else column.astype(str).str.strip())


def _numbers(column) -> bool:
    """Whether pandas read the column as numbers (not True/False, which stay words)."""
    return column.dtype.kind in "iuf"


def numeric_column(frame, column: str, path: str) -> np.ndarray:
    """The column as float64; a missing, non-numeric or infinite cell is one error naming row and value."""
    import pandas as pd

    cells = frame[column]
    if _numbers(cells):
        values = cells.to_numpy(dtype=np.float64)
    else:
        values = pd.to_numeric(cells.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = str(cells.iloc[row])
        what = "missing value" if raw == "" else f"value {raw!r}"
        raise NnrunError(f"{path}: row {row + 2}, column '{column}': {what}; expected a finite number")
    return values


def read_csv(path: str, label: str | None, features: list[str] | None, key: str = "data.path"):
    """Read a CSV with a header; return (X, y, feature names, label name). Errors name file, row, column.

    Features must be numbers. Labels are numbers when every cell of the label column
    is one, else text (class names such as ``setosa``); :func:`encode_labels` turns
    them into classes.
    """
    frame = read_table(path, key)
    if len(frame) == 0:
        raise NnrunError(f"{path}: no data rows after the header")
    columns = list(frame.columns)
    label = label if label is not None else columns[-1]
    if label not in columns:
        raise NnrunError(f"data.label: column '{label}' not in {path}; columns: {', '.join(columns)}")
    if features is None:
        features = [c for c in columns if c != label]
    missing = [c for c in features if c not in columns]
    if missing:
        raise NnrunError(f"data.features: column '{missing[0]}' not in {path}; columns: {', '.join(columns)}")
    if not features:
        raise NnrunError(f"data.features: {path} has no feature column besides the label '{label}'")
    if label in features:
        raise NnrunError(f"data.features: '{label}' is the label column and cannot also be a feature")
    X = np.column_stack([numeric_column(frame, c, path) for c in features])
    y = label_values(frame[label], label, path)
    return X, y, list(features), label


def label_values(cells, label: str, path: str) -> np.ndarray:
    """Labels as float64 when every cell is a number, else as text; an empty cell is an error."""
    import pandas as pd

    empty = (cells == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise NnrunError(f"{path}: row {row + 2}, column '{label}': missing label; every row needs one")
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(numbers).all():
        return numbers
    return cells.to_numpy(dtype=str)


def class_name(value) -> str:
    """A class's name: the text itself, or a number written plainly (1.0 -> '1')."""
    return str(value) if isinstance(value, str) else f"{float(value):g}"


def encode_labels(y: np.ndarray, task: str, where: str) -> tuple[np.ndarray, list[str]]:
    """(class index per sample, class names) for classification; (targets, []) for regression.

    Classes are the distinct labels in sorted order: numbers by value, text
    alphabetically. Fractional numbers are refused in a classification (each distinct
    value would silently become a class of its own).
    """
    text = y.dtype.kind in "US"
    if task == "regression":
        if text:
            bad = str(next(v for v in y if _not_a_number(v)))
            raise NnrunError(f"{where}: label {bad!r} is text; regression needs numeric targets "
                             f"(or use data.task: classification)")
        return y.astype(np.float64), []
    if not text:
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise NnrunError(f"{where}: label {fractional[0]:g} is not a whole number; class labels must be "
                             f"whole numbers or names (for numeric targets use data.task: regression)")
    values, labels = np.unique(y, return_inverse=True)
    return labels, [class_name(v) for v in values]


def _not_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


# --------------------------------------------------------------------- transforms
class Standardize:
    """x -> (x - mean) / std per feature (std 0 leaves the feature centred only)."""

    def fit(self, X):
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def __call__(self, X):
        return (X - self.mean) / self.std


class MinMax:
    """x -> (x - min) / (max - min) per feature, into [0, 1] on the training part."""

    def fit(self, X):
        self.low = X.min(axis=0)
        span = X.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        return self

    def __call__(self, X):
        return (X - self.low) / self.span


class Center:
    """x -> x - mean per feature."""

    def fit(self, X):
        self.mean = X.mean(axis=0)
        return self

    def __call__(self, X):
        return X - self.mean


class Polar:
    """(x1, x2) -> (r, theta) of the point centred on the training mean c.

    r = |x - c|, theta = atan2(x2 - c2, x1 - c1), both from the same centred copy, so
    theta never sees an already-overwritten x1 (the bug of E2's report).
    """

    def fit(self, X):
        if X.shape[1] != 2:
            raise NnrunError(f"data.transform: polar needs exactly 2 input features, the data has {X.shape[1]}")
        self.centre = X.mean(axis=0)
        return self

    def __call__(self, X):
        D = X - self.centre
        return np.column_stack([np.hypot(D[:, 0], D[:, 1]), np.arctan2(D[:, 1], D[:, 0])])


TRANSFORMS = {"standardize": Standardize, "minmax": MinMax, "center": Center, "polar": Polar}


class Pipeline:
    """Transforms applied in order, each fitted on the (already transformed) training part."""

    def __init__(self, names):
        self.names = list(names)
        self.steps = []

    def fit(self, X):
        for name in self.names:
            step = TRANSFORMS[name]().fit(X)
            X = step(X)
            self.steps.append(step)
        return self

    def __call__(self, X):
        for step in self.steps:
            X = step(X)
        return X

    def state(self) -> list[dict]:
        """The fitted transforms as plain data (name and fitted arrays), for model.json."""
        return [{"name": name, **{k: np.asarray(v).tolist() for k, v in vars(step).items()}}
                for name, step in zip(self.names, self.steps)]

    @classmethod
    def from_state(cls, state: list[dict]) -> "Pipeline":
        """The pipeline :meth:`state` described, fitted as it was in training."""
        pipeline = cls([entry["name"] for entry in state])
        for entry in state:
            step = TRANSFORMS[entry["name"]]()
            for k, v in entry.items():
                if k != "name":
                    setattr(step, k, np.asarray(v, dtype=np.float64))
            pipeline.steps.append(step)
        return pipeline


# ------------------------------------------------------------------------ dataset
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
    label_name: str | None = None  # the label column of a file source

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
        params = d.model_dump(exclude={"source", "test_fraction", "validation_fraction", "transform", "task",
                                       "image_shape"})
        X, y = GENERATORS[d.source](rng, **params)
        return X.astype(np.float64), y, [f"x{i + 1}" for i in range(X.shape[1])], None
    if d.source == "digits":
        X, y, names, label = read_csv(d.path, "label", None)
        if X.shape[1] != 64:
            raise NnrunError(f"data.path: {d.path} has {X.shape[1]} pixel columns; the digits have 64")
        return X, y, names, label
    return read_csv(d.path, d.label, d.features)


def load_data(cfg) -> Dataset:
    """Build the configured data set: source -> labels/targets -> split -> transforms."""
    X, y, feature_names, label_name = _raw(cfg)
    n_in, n_out = cfg.model.architecture[0], cfg.model.architecture[-1]
    arch = "-".join(map(str, cfg.model.architecture))
    where = f"data.path {cfg.data.path}" if hasattr(cfg.data, "path") else f"data.source {cfg.data.source}"
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
    labels, class_names = encode_labels(y, cfg.data.task, where)
    if cfg.data.task == "classification":
        n_classes = len(class_names)
        if n_classes < 2:
            raise NnrunError(f"{where}: only one class ({class_names[0]}) in the labels; a classifier needs at least 2")
        if not (n_classes == n_out or (n_classes == 2 and n_out == 1)):
            raise NnrunError(
                f"model.architecture: {arch} has {n_out} output unit(s) but {where} has "
                f"{n_classes} classes; make the last size {n_classes}"
                + (" (or 1 for 0/1 targets)" if n_classes == 2 else "")
            )
        Y = np.eye(n_out)[labels] if n_out > 1 else labels[:, None].astype(np.float64)
    else:
        if n_out != 1:
            raise NnrunError(f"model.architecture: regression predicts one value; make the last size 1, not {n_out}")
        Y = labels[:, None].astype(np.float64)

    N = len(X)
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
    test, val, train = (np.sort(order[:n_test]), np.sort(order[n_test:n_test + n_val]),
                        np.sort(order[n_test + n_val:]))
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
