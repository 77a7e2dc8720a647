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
        if re.fullmatch(r"[+-]?\d*,\d+", raw.strip()):
            raise NnrunError(f"{path}: row {row + 2}, column '{column}': {what} has a decimal comma; write numbers "
                             f"with a decimal point ({raw.strip().replace(',', '.')})")
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
