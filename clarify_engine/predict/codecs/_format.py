"""Text of feature values inside request bodies: CSV cells and JSON values, a block at a time.

Request encoding is on the hot path (Kernel SHAP sends millions of synthetic rows), so
numbers are never formatted one Python call at a time when it can be avoided: an all-numeric
block is written by one ``orjson.dumps`` of the whole 2-D array (shortest round-trip float
text, as ``repr`` gives) and cut into rows; a mixed block is formatted column by column, each
numeric column in one call, and only text/object columns value by value.

Number text (the same in CSV and JSON)
--------------------------------------
* A float is written with the fewest digits that read back to the same float64
  (``0.1``, ``1e+16``, ``0.00001``); an integral float loses its ``.0`` (``35.0`` → ``35``),
  so an integer column that pandas widened to float64 because of a missing value is
  still sent as integers. The rule is per value, so the bytes of a record never depend
  on which other records share its batch.
* float32 values are widened to float64 first: the text is exact for the float64 the
  value equals.
* Missing (NaN, None, ``pd.NA``, ``NaT``): an empty CSV field, JSON ``null``.
* ±inf: ``inf``/``-inf`` in CSV (what pandas and numpy read back), ``1e999``/``-1e999`` in
  JSON (a legal JSON number that every IEEE parser reads as infinity; ``Infinity`` is not
  JSON).
* Booleans: ``1``/``0`` in CSV (most CSV model servers parse numbers only), ``true``/``false``
  in JSON.

Text
----
* CSV: every text value is quoted and embedded quotes doubled (``"This is a good product"``,
  contract §5.2). Quoting every text value, not only those that need it, keeps the empty
  string (``""``) apart from a missing value (empty field) and text like ``"007"`` apart
  from numbers.
* JSON: a JSON string (UTF-8, not ``\\u``-escaped).
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import orjson
import pandas as pd

from clarify_engine.errors import DataError
from clarify_engine.predict._kernels import lay_out

__all__ = [
    "CSV",
    "JSON",
    "CellStyle",
    "excerpt",
    "format_columns",
    "format_rows",
    "format_rows_bytes",
    "format_rows_packed",
]

#: Integers beyond this are not exact in float64: such columns are never put in a float block.
_EXACT_INT = 2**53

_NUMPY_OPT = orjson.OPT_SERIALIZE_NUMPY

#: ``.0`` closing a number inside orjson output (numbers end at ``,`` or ``]``).
_TRAILING_ZERO = re.compile(r"\.0(?=[,\]])")
_TRAILING_ZERO_BYTES = re.compile(rb"\.0(?=[,\]])")


def excerpt(text: str | bytes, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters for an error message, saying how much was cut."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="replace")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _float_text(value: float) -> str:
    """Shortest round-trip text of a finite float, without a trailing ``.0``."""
    text = orjson.dumps(value).decode()
    return text[:-2] if text.endswith(".0") else text


def csv_cell(text: str, *, always: bool = True) -> str:
    """``text`` as one CSV cell: in double quotes (inner quotes doubled), or bare when ``always``
    is False and it holds no comma, quote or line break.

    Requests quote every text cell (so that a model reads ``"1"`` as text, not a number);
    the model server's replies quote only where CSV needs it.
    """
    if not always and not any(c in text for c in ',"\n\r'):
        return text
    return '"' + text.replace('"', '""') + '"'


def _json_string(text: str) -> str:
    return orjson.dumps(text).decode()


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT


class CellStyle:
    """How one format (CSV or JSON) writes the values that differ between the two.

    Parameters
    ----------
    name : str
        ``"csv"`` or ``"json"``, for messages.
    missing : str
        Text of a missing value.
    true, false : str
        Text of the booleans.
    inf, neg_inf : str
        Text of the infinities.
    text : callable
        Turns a Python ``str`` into its quoted form.
    """

    def __init__(self, name, *, missing, true, false, inf, neg_inf, text: Callable[[str], str]):
        self.name = name
        self.missing = missing
        self.true = true
        self.false = false
        self.inf = inf
        self.neg_inf = neg_inf
        self.text = text

    def __repr__(self) -> str:
        return f"CellStyle({self.name!r})"

    def cell(self, value: object) -> str:
        """Text of one value of any type (the slow path, for object columns)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (bool, np.bool_)):
            return self.true if value else self.false
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            value = float(value)
            if value != value:
                return self.missing
            if value in (np.inf, -np.inf):
                return self.inf if value > 0 else self.neg_inf
            return _float_text(value)
        if _is_missing(value):
            return self.missing
        return self.text(str(value))


CSV = CellStyle("csv", missing="", true="1", false="0", inf="inf", neg_inf="-inf", text=csv_cell)
JSON = CellStyle(
    "json", missing="null", true="true", false="false", inf="1e999", neg_inf="-1e999", text=_json_string
)


# --------------------------------------------------------------------------- the records


def _check_width(width: int, n_features: int, row: int | None = None) -> None:
    if width != n_features:
        where = f"record {row}" if row is not None else "each record"
        raise DataError(
            f"{where} has {width} values, expected {n_features} (one per feature sent to the model)"
        )


def _columns(rows, n_features: int) -> list[np.ndarray]:
    """The records as ``n_features`` 1-D arrays of length n_records."""
    if isinstance(rows, pd.DataFrame):
        _check_width(rows.shape[1], n_features)
        return [rows.iloc[:, j].to_numpy() for j in range(rows.shape[1])]
    if isinstance(rows, np.ndarray):
        if rows.ndim != 2:
            raise DataError(
                f"records must form a 2-D array (records × features), found {rows.ndim} dimensions"
            )
        _check_width(rows.shape[1], n_features)
        if rows.dtype == object:
            return [_narrow(rows[:, j]) for j in range(rows.shape[1])]
        return [rows[:, j] for j in range(rows.shape[1])]
    rows = list(rows)
    for i, row in enumerate(rows):
        _check_width(len(row), n_features, i)
    block = np.empty((len(rows), n_features), dtype=object)
    for i, row in enumerate(rows):
        block[i, :] = list(row)
    return [_narrow(block[:, j]) for j in range(n_features)]


def _narrow(column: np.ndarray) -> np.ndarray:
    """An object column as int64 or float64 when every value is a plain number of that kind."""
    values = column.tolist()
    kinds = {type(v) for v in values}
    if kinds and kinds <= {int}:
        if all(-_EXACT_INT <= v <= _EXACT_INT for v in values):
            return np.array(values, dtype=np.int64)
    elif kinds and kinds <= {int, float}:
        if all(isinstance(v, float) or -_EXACT_INT <= v <= _EXACT_INT for v in values):
            return np.array(values, dtype=np.float64)
    return column


def _is_number_kind(array: np.ndarray, style: CellStyle) -> bool:
    kind = array.dtype.kind
    if kind == "f":
        return True
    if kind in "iu":
        return array.size == 0 or (int(array.min()) >= -_EXACT_INT and int(array.max()) <= _EXACT_INT)
    return kind == "b" and style is CSV


def _numeric_block(rows, n_features: int, style: CellStyle) -> np.ndarray | None:
    """The records as one C-ordered float64 (n, m) block, or None when they are not all numbers."""
    if isinstance(rows, pd.DataFrame):
        _check_width(rows.shape[1], n_features)
        for dtype in rows.dtypes:
            if not (pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
                    or (style is CSV and pd.api.types.is_bool_dtype(dtype))):
                return None
        for j in range(rows.shape[1]):
            if pd.api.types.is_integer_dtype(rows.dtypes.iloc[j]):
                column = rows.iloc[:, j]
                if len(column) and (column.min() < -_EXACT_INT or column.max() > _EXACT_INT):
                    return None
        block = rows.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(rows, np.ndarray):
        if rows.ndim != 2:
            return None
        _check_width(rows.shape[1], n_features)
        if not _is_number_kind(rows, style):
            return None
        block = rows.astype(np.float64, copy=False)
    else:
        try:
            block = np.asarray(rows)
        except ValueError:  # ragged: the column path reports the record at fault
            return None
        if block.ndim != 2 or block.shape[1] != n_features or not _is_number_kind(block, style):
            return None
        block = block.astype(np.float64, copy=False)
        finite = block[np.isfinite(block)]
        if finite.size and np.abs(finite).max() >= _EXACT_INT:
            return None  # may hold ints that float64 rounded: let the column path write them
    if np.isinf(block).any():
        return None  # orjson writes inf as null: let the column path write it
    return np.ascontiguousarray(block)


def _format_block(block: np.ndarray, style: CellStyle) -> list[str]:
    """Each row of a finite-or-NaN float64 block as its cells joined by ``,``."""
    n, m = block.shape
    if n == 0:
        return []
    if m == 0:
        return [""] * n
    text = _TRAILING_ZERO.sub("", orjson.dumps(block, option=_NUMPY_OPT).decode())
    if style.missing != "null" and np.isnan(block).any():
        text = text.replace("null", style.missing)
    return text[2:-2].split("],[")


def _format_block_bytes(block: np.ndarray, style: CellStyle) -> list[bytes]:
    """:func:`_format_block` as UTF-8 bytes, without building any str.

    orjson writes an integral float with a trailing ``.0``; only the rows holding such a value
    (found with numpy) have it removed, so data without integral values skips that pass.
    """
    n, m = block.shape
    if n == 0:
        return []
    if m == 0:
        return [b""] * n
    lines = orjson.dumps(block, option=_NUMPY_OPT)[2:-2].split(b"],[")
    with np.errstate(invalid="ignore"):
        integral = np.flatnonzero((block == np.trunc(block)).any(axis=1))
    if integral.size:
        sub = _TRAILING_ZERO_BYTES.sub
        for i in integral.tolist():
            # a row's last value ends the line, not at ``,`` or ``]``: add one to match on
            lines[i] = sub(b"", lines[i] + b"]")[:-1]
    if style.missing != "null" and np.isnan(block).any():
        missing = style.missing.encode()
        null, blank = b",null,", b"," + missing + b","
        for i in np.flatnonzero(np.isnan(block).any(axis=1)).tolist():
            # two passes: one replace skips a null whose leading comma ended the previous match
            line = (b"," + lines[i] + b",").replace(null, blank).replace(null, blank)
            lines[i] = line[1:-1]
    return lines


def _format_numbers(column: np.ndarray, style: CellStyle) -> list[str]:
    """A 1-D int or float column, finite-or-NaN, in one orjson call."""
    if len(column) == 0:
        return []
    if column.dtype.kind == "f":
        column = column.astype(np.float64, copy=False)
    text = orjson.dumps(np.ascontiguousarray(column), option=_NUMPY_OPT).decode()
    text = _TRAILING_ZERO.sub("", text)
    if style.missing != "null":
        text = text.replace("null", style.missing)
    return text[1:-1].split(",")


def _format_column(column: np.ndarray, style: CellStyle) -> list[str]:
    kind = column.dtype.kind
    if kind == "f" and not np.isinf(column).any():
        return _format_numbers(column, style)
    if kind in "iu" and column.dtype.itemsize <= 8:
        return _format_numbers(column, style)
    if kind == "b":
        return [style.true if v else style.false for v in column.tolist()]
    if kind in "US" or isinstance(column.dtype, np.dtypes.StringDType):
        quote = style.text
        return [quote(v) for v in column.astype(str).tolist()]
    cell = style.cell
    return [cell(v) for v in column.tolist()]


def format_columns(rows, n_features: int, style: CellStyle) -> list[list[str]]:
    """The text of every value, column by column.

    Parameters
    ----------
    rows : pandas.DataFrame, numpy.ndarray of shape (n_records, n_features), or sequence of sequences
        The records, features in the order the model expects.
    n_features : int
        Values each record must have.
    style : CellStyle
        :data:`CSV` or :data:`JSON`.

    Returns
    -------
    list of n_features lists of n_records str
    """
    return [_format_column(column, style) for column in _columns(rows, n_features)]


def format_rows_bytes(rows, n_features: int, style: CellStyle) -> list[bytes]:
    """:func:`format_rows`, each record UTF-8 encoded (an all-numeric block never goes through str).

    Parameters
    ----------
    rows, n_features, style
        As for :func:`format_columns`.

    Returns
    -------
    list of n_records bytes
    """
    return _format_rows(rows, n_features, style, as_bytes=True)


def format_rows_packed(
    rows,
    n_features: int,
    style: CellStyle,
    *,
    prefix: bytes = b"",
    suffix: bytes = b"",
    separator: bytes = b"",
    empty: bytes = b"",
) -> tuple[bytes, np.ndarray] | None:
    """An all-numeric block's records laid end to end in one buffer, or None for other rows.

    Each record is ``prefix + values + suffix + separator``, the values written exactly as
    :func:`format_rows_bytes` writes them (``empty`` in their place when they wrote nothing),
    without making one Python object per record: one ``orjson.dumps`` of the block, then a
    numba pass (:func:`clarify_engine.predict._kernels.lay_out`).

    Parameters
    ----------
    rows, n_features, style
        As for :func:`format_columns`.
    prefix, suffix, separator, empty : bytes
        Record layout (see above).

    Returns
    -------
    (data, starts) or None
        ``data[starts[r]:starts[r + 1] - len(separator)]`` is record ``r``; ``starts`` is int64
        of shape (n_records + 1,). None when the rows are not one finite-or-NaN numeric block
        (text, object columns, infinities): encode them with :func:`format_rows_bytes`.
    """
    block = _numeric_block(rows, n_features, style)
    if block is None:
        return None
    n, m = block.shape
    if n == 0:
        return b"", np.zeros(1, dtype=np.int64)
    dump = np.frombuffer(orjson.dumps(block, option=_NUMPY_OPT), dtype=np.uint8)
    ends = np.flatnonzero(dump == ord("]"))[:-1]  # values hold no "]": each row's, then the outer one
    with np.errstate(invalid="ignore"):
        edit = (block == np.trunc(block)).any(axis=1) | np.isnan(block).any(axis=1)
    args = (prefix, suffix, separator, style.missing.encode(), empty)
    arrays = (np.frombuffer(a, dtype=np.uint8) for a in args)
    data, starts = lay_out(dump, ends, edit, *arrays)
    return data.tobytes(), starts


def format_rows(rows, n_features: int, style: CellStyle) -> list[str]:
    """Each record's values, formatted and joined by ``,`` (a CSV line, or a JSON array's inside).

    Parameters
    ----------
    rows, n_features, style
        As for :func:`format_columns`.

    Returns
    -------
    list of n_records str
    """
    return _format_rows(rows, n_features, style, as_bytes=False)


def _format_rows(rows, n_features: int, style: CellStyle, as_bytes: bool) -> list:
    """:func:`format_rows` (``as_bytes`` False) or :func:`format_rows_bytes`: an all-numeric
    block formatted at once, anything else value by value."""
    block = _numeric_block(rows, n_features, style)
    if block is not None:
        return _format_block_bytes(block, style) if as_bytes else _format_block(block, style)
    lines = _join_columns(rows, n_features, style)
    return [line.encode() for line in lines] if as_bytes else lines


def _join_columns(rows, n_features: int, style: CellStyle) -> list[str]:
    """The general (not all-numeric) path: each value formatted, each record joined by ``,``."""
    columns = format_columns(rows, n_features, style)
    if not columns:
        return [""] * len(rows)
    return [",".join(cells) for cells in zip(*columns)]
