"""The user's tables: CSV files read into features and labels, labels turned into classes.

Every problem is one :class:`~nnrun.errors.NnrunError` naming the file, row and column.
pandas is imported on first use, so that a config error answers without it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nnrun.errors import NnrunError

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
    if not isinstance(frame.index, pd.RangeIndex):  # pandas made the extra leading fields an index, silently
        raise NnrunError(
            f"{path}: the data rows have more fields than the header's {len(frame.columns)} names"
            + ("; a number with a decimal comma (168,4) is two fields: write it with a point (168.4)"
               if sep == "," else "; give every row one field per header name"))
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda column: column if _numbers(column) else column.astype(str).str.strip())


def _numbers(column) -> bool:
    """Whether pandas read the column as numbers (not True/False, which stay words)."""
    return column.dtype.kind in "iuf"


def _csv_row(path: str):
    """A CSV's data row i (0 = the first after the header) as its line number in the file."""
    return lambda i: f"{path}: row {i + 2}"


def numeric_column(frame, column: str, path: str, row=None) -> np.ndarray:
    """The column as float64; a missing, non-numeric or infinite cell is one error naming row and value.
    ``row(i)`` names data row i in the error (default: the CSV ``path``'s line number)."""
    import pandas as pd

    row_name = row or _csv_row(path)

    cells = frame[column]
    if _numbers(cells):
        values = cells.to_numpy(dtype=np.float64)
    else:
        values = pd.to_numeric(cells.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raw = str(cells.iloc[at])
        what = "missing value" if raw == "" else f"value {raw!r}"
        if re.fullmatch(r"[+-]?\d*,\d+", raw.strip()):
            raise NnrunError(f"{row_name(at)}, column '{column}': {what} has a decimal comma; write numbers "
                             f"with a decimal point ({raw.strip().replace(',', '.')})")
        raise NnrunError(f"{row_name(at)}, column '{column}': {what}; expected a finite number")
    return values


def read_csv(path: str, label, features: list[str] | None, key: str = "data.path"):
    """Read a CSV with a header; return (X, y, feature names, label name). Errors name file, row, column.

    Features must be numbers. Labels are numbers when every cell of the label column
    is one, else text (class names such as ``setosa``); :func:`encode_labels` turns
    them into classes. ``label``: see :func:`select_columns`.
    """
    frame = read_table(path, key)
    if len(frame) == 0:
        raise NnrunError(f"{path}: no data rows after the header")
    return select_columns(frame, label, features, path, _csv_row(path))


def inline_table(names: list[str], rows: list[list]):
    """``data.columns`` and ``data.rows`` as a DataFrame like :func:`read_table`'s: a column
    whose every cell is a number (not true/false) as float64, any other as stripped text."""
    import pandas as pd

    frame = pd.DataFrame([list(r) for r in rows], columns=list(names), dtype=object)

    def column(cells):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in cells):
            return cells.astype(np.float64)
        return cells.map(lambda v: "" if v is None else str(v).strip())

    return frame.apply(column)


def read_inline(names: list[str], rows: list[list], label, features: list[str] | None):
    """(X, y, feature names, label name) of ``data.rows``; data row i is named ``data.rows[i]``
    (counted from 0, as the YAML list's index)."""
    return select_columns(inline_table(names, rows), label, features, "data.columns", lambda i: f"data.rows[{i}]")


def select_columns(frame, label, features: list[str] | None, source: str, row):
    """(X, y, feature names, label name) of a table: ``label`` one column (default: the
    last) or a list of them (several regression targets: y is then (N, k) and the label
    name the list); ``features`` the feature columns (default: all but the label ones).
    ``source`` names the table in errors, ``row(i)`` its data row i."""
    names = list(frame.columns)
    several = isinstance(label, list) and len(label) > 1
    labels = (label if isinstance(label, list) else [label]) if label is not None else [names[-1]]
    for name in labels:
        if name not in names:
            raise NnrunError(f"data.label: column '{name}' not in {source}; columns: {', '.join(names)}")
    if len(set(labels)) < len(labels):
        twice = next(n for n in labels if labels.count(n) > 1)
        raise NnrunError(f"data.label: column '{twice}' is named twice in {labels}; name each label column once")
    if features is None:
        features = [c for c in names if c not in labels]
    missing = [c for c in features if c not in names]
    if missing:
        raise NnrunError(f"data.features: column '{missing[0]}' not in {source}; columns: {', '.join(names)}")
    if not features:
        raise NnrunError(f"data.features: {source} has no feature column besides the label "
                         f"{', '.join(repr(n) for n in labels)}")
    both = [c for c in labels if c in features]
    if both:
        raise NnrunError(f"data.features: '{both[0]}' is a label column and cannot also be a feature")
    X = np.column_stack([numeric_column(frame, c, source, row) for c in features])
    if several:
        y = np.column_stack([label_values(frame[name], name, source, row) for name in labels])
        return X, y, list(features), list(labels)
    return X, label_values(frame[labels[0]], labels[0], source, row), list(features), labels[0]


def label_values(cells, label: str, path: str, row=None) -> np.ndarray:
    """Labels as float64 when every cell is a number, else as text; an empty cell is an error."""
    import pandas as pd

    empty = (cells == "").to_numpy()
    if empty.any():
        at = int(np.flatnonzero(empty)[0])
        raise NnrunError(f"{(row or _csv_row(path))(at)}, column '{label}': missing label; every row needs one")
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(numbers).all():
        return numbers
    return cells.to_numpy(dtype=str)


def class_name(value) -> str:
    """A class's name: the text itself, or a number written plainly (1.0 -> '1')."""
    return str(value) if isinstance(value, str) else f"{float(value):g}"


def encode_labels(y: np.ndarray, task: str, where: str, classes: list[str] | None = None
                  ) -> tuple[np.ndarray, list[str]]:
    """(class index per sample, class names) for classification; (targets, []) for regression
    (y of shape (N,), or (N, k) for k targets).

    Classes are ``classes`` when given (``data.class_names``: the class names in output-unit
    order; a label not among them is an error), else the distinct labels in sorted order:
    numbers by value, text alphabetically. Fractional numbers are then refused (each
    distinct value would silently become a class of its own).
    """
    text = y.dtype.kind in "US"
    if task == "regression":
        if text:
            bad = str(next(v for v in y.ravel() if _not_a_number(v)))
            raise NnrunError(f"{where}: label {bad!r} is text; regression needs numeric targets "
                             f"(or use data.task: classification)")
        return y.astype(np.float64), []
    if classes is not None:
        names = [class_name(v) for v in y]
        index = {name: k for k, name in enumerate(classes)}
        bad = next((name for name in names if name not in index), None)
        if bad is not None:
            raise NnrunError(f"{where}: label {bad!r} is not in data.class_names [{', '.join(classes)}]; list every "
                             "label's class there (in output-unit order), or leave data.class_names out")
        return np.array([index[name] for name in names], dtype=np.int64), list(classes)
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
