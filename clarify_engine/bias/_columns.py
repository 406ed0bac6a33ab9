"""Column typing and binarisation of facet, label and predicted-label columns.

Clarify decides first whether a column is *categorical* or *continuous*, and that choice
decides what a ``value_or_threshold`` means: a list of values (categorical) or an exclusive
lower bound (continuous). The typing rules are defined once, in
:mod:`clarify_engine._column_types` (``clarify_bias_kind``, Clarify's; ``intent_bias_kind``,
the ``"column_typing": "intent"`` extension); this module codes and binarises the columns.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clarify_engine import _column_types as T
from clarify_engine.bias import _kernels
from clarify_engine.bias._spec import CLARIFY_TYPING, INTENT_TYPING, TYPINGS  # noqa: F401 - re-exported
from clarify_engine.errors import DataError

log = logging.getLogger(__name__)

CATEGORICAL = T.CATEGORICAL
CONTINUOUS = T.CONTINUOUS



# ---------------------------------------------------------------------- coding


@dataclass(frozen=True)
class Coded:
    """A column coded as ints in order of first appearance.

    Attributes
    ----------
    codes : numpy.ndarray of int64, shape (n,)
        Index into ``uniques``; -1 for a missing value.
    uniques : list
        Distinct non-missing values as Python scalars, in order of first appearance.
    nan_position : int or None
        Where a missing value first appears among the distinct values (for one-vs-rest
        entries), or None when no value is missing.
    """

    codes: np.ndarray
    uniques: list
    nan_position: int | None


#: Integer columns whose value range is at most this wide are coded by direct addressing.
SMALL_RANGE = 1 << 20


def code_column(series: pd.Series) -> Coded:
    """Factorize ``series`` in order of first appearance (missing → -1).

    Integer and bool columns with a small value range are coded by a numba kernel (one pass,
    no hashing); anything else goes through :func:`pandas.factorize`.
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biu" and len(series):
        values = series.to_numpy()
        if dtype.kind == "b":
            values = values.view(np.uint8)
        lo, hi = map(int, _kernels._min_max(values))
        if hi - lo < SMALL_RANGE:
            codes, firsts = _kernels._code_small_ints(values.astype(np.int64, copy=False), lo, hi - lo + 1)
            uniques = [_py(u) for u in series.to_numpy()[firsts]]
            return Coded(codes, uniques, None)
    codes, uniques = pd.factorize(series, sort=False, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if isinstance(uniques, pd.Index | pd.api.extensions.ExtensionArray):
        uniques = np.asarray(uniques, dtype=object)
    uniques = [_py(u) for u in uniques]
    nan_position = None
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        first = missing[0]
        nan_position = int(codes[:first].max()) + 1 if first > 0 else 0
    return Coded(codes, uniques, nan_position)


def _py(value):
    """numpy scalar → Python scalar (``str`` renders them the way pandas 1.5 lists do)."""
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------- typing


#: Re-exported rules of :mod:`clarify_engine._column_types` (their callers read them from here).
is_int = T.is_int
intent_kind = T.intent_bias_kind


def weighted_count(mask: np.ndarray | None, weights: np.ndarray | None, n: int | None = None) -> int:
    """Rows where ``mask`` holds (all ``n`` rows for ``mask=None``), each row counting ``weights[i]``.

    ``weights`` are the row counts of a frame of distinct rows (``bias/_compress.py``); without
    them every row counts once.
    """
    if weights is None:
        return int(n if mask is None else np.count_nonzero(mask))
    return int(weights.sum() if mask is None else weights[mask].sum())


def column_kind(series: pd.Series, values, coded: Coded | None = None, weights: np.ndarray | None = None) -> str:
    """``CATEGORICAL`` or ``CONTINUOUS`` by Clarify's bias typing (:func:`~clarify_engine._column_types.clarify_bias_kind`).

    ``coded`` (the column's :func:`code_column`), when at hand, saves counting distinct values.
    ``weights``: rows per row of ``series`` (see :func:`weighted_count`).
    """
    fraction = None
    if weights is not None and (T.is_int(series.dtype) or T.is_text(series.dtype)):
        present = series.notna().to_numpy()
        count = weighted_count(present, weights)
        fraction = 0.0 if count == 0 else int(series.nunique()) / count
    elif coded is not None:
        count = len(coded.codes) if coded.nan_position is None else int(np.count_nonzero(coded.codes >= 0))
        fraction = 0.0 if count == 0 else len(coded.uniques) / count
    return T.clarify_bias_kind(series, values, fraction)


def as_written(series: pd.Series) -> pd.Series:
    """A float column without missing cells whose values are all whole numbers, as int64 (intent typing).

    So that one-vs-rest entries of a 0/1 facet stored as floats read ``"0"``/``"1"``, as for the
    integers the user wrote. Any other column is returned unchanged.
    """
    if T.is_float(series.dtype) and len(series) and not series.isna().any() and T.whole_numbers(series):
        return series.astype(np.int64)
    return series


def typed_kind(series: pd.Series, values, typing: str, coded: Coded | None = None,
               weights: np.ndarray | None = None) -> str:
    """The column's kind under ``column_typing`` ``typing`` (``"clarify"`` or ``"intent"``)."""
    if typing == INTENT_TYPING:
        return intent_kind(series, values, weights)
    if typing != CLARIFY_TYPING:
        raise ValueError(f"column_typing must be one of {TYPINGS}; found {typing!r}")
    return column_kind(series, values, coded, weights)


def continuous_reason(series: pd.Series, weights: np.ndarray | None = None) -> str:
    """Why Clarify's typing made ``series`` continuous, in words (for warnings)."""
    isna = series.isna().to_numpy()
    missing = weighted_count(isna, weights)
    n = weighted_count(None, weights, len(series))
    if T.is_float(series.dtype):
        if missing:
            return (f"has {missing} missing cell(s) in {n} rows, so its values are stored as floats, "
                    "and Clarify types every float column as continuous")
        return "holds whole numbers written as floats (such as 1.0/0.0), and Clarify types every float column as continuous"
    distinct = int(series.nunique())
    count = n - missing
    return (f"has {distinct} distinct values in {count} rows ({distinct / max(count, 1):.1%} >= 5%), "
            "and Clarify types such an integer column as continuous")


def numeric(series: pd.Series) -> np.ndarray:
    """Values of a continuous column as a numpy array (int64 or float64; missing = NaN)."""
    s = pd.to_numeric(series) if T.is_text(series.dtype) else series
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        if T.is_int(s.dtype) and not s.isna().any():
            return s.to_numpy(dtype=np.int64)
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return s.to_numpy()


#: smclarify's words for a continuous column given a non-numeric value; our message starts with them.
THRESHOLD_NOT_NUMERIC = "Facet/label value provided must be a single numeric threshold for continuous data"


def threshold_of(values, what: str):
    """The single threshold of a continuous column; strings convert to float.

    smclarify converts a non-numeric first value to ``float`` (and keeps using the converted
    value afterwards, e.g. in the interval string).
    """
    if not values:
        raise DataError(f"{what}: threshold values must be provided for a continuous column; found {values!r}")
    t = values[0]
    if not isinstance(t, (int, float)):
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise DataError(
                f"{THRESHOLD_NOT_NUMERIC} ({what}: the column is continuous and {values[0]!r} is not a number; give "
                "one numeric threshold, or several values to treat the column as categorical)"
            ) from None
    return t


# ---------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    """Right-closed interval ``(left, right]`` selecting the positive / sensitive rows."""

    left: float | int
    right: float | int

    def __str__(self) -> str:
        if all(isinstance(x, (int, np.integer)) for x in (self.left, self.right)):
            return f"({int(self.left)}, {int(self.right)}]"
        return f"({float(self.left)!r}, {float(self.right)!r}]"

    def mask(self, values: np.ndarray) -> np.ndarray:
        """``left < values <= right`` as uint8 (missing values are outside)."""
        if values.dtype.kind not in "iuf":
            values = values.astype(np.float64)
        return _kernels._interval_mask(values, float(self.left), float(self.right))


def interval_for(threshold, data_max, what: str) -> Interval | None:
    """Interval from the breaks ``sorted([threshold, max])``.

    The max is not added when ``abs(max) == threshold`` (then nothing is selected and the
    rendered interval is ``""``), exactly as smclarify builds its IntervalIndex.
    """
    if data_max is None or (isinstance(data_max, float) and math.isnan(data_max)):
        raise DataError(f"{what}: the column has no non-missing value to build a threshold interval from")
    data_max = _py(data_max)
    if abs(data_max) == threshold:
        return None
    left, right = sorted([threshold, data_max])
    if isinstance(left, float) or isinstance(right, float):
        left, right = float(left), float(right)
    return Interval(left, right)


def column_max(values: np.ndarray):
    """Max ignoring NaN (None when there is no value)."""
    if values.size == 0:
        return None
    if values.dtype.kind == "f":
        m = np.nanmax(values) if not np.isnan(values).all() else None
        return None if m is None else _py(m)
    return _py(values.max())


# ---------------------------------------------------------------------- categorical


def _category_family(series: pd.Series) -> str:
    """How equality with a given value behaves: 'bool', 'number' or 'object'."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "object"


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _equal(u, v, family: str) -> bool:
    """Whether category value ``u`` equals given value ``v`` (pandas categorical ``==``)."""
    if family == "bool":
        return _is_bool(v) and bool(u) == bool(v)
    if family == "number":
        if _is_bool(v) or not isinstance(v, (int, float, np.integer, np.floating)):
            return False
        return u == v
    if isinstance(v, float) and math.isnan(v):
        return False
    try:
        return bool(u == v)
    except Exception:  # noqa: BLE001 - exotic objects that refuse comparison never match
        return False


def _convert_like(first, values: list, what: str, examples: list | None = None) -> list:
    """Convert ``values`` to the type of the column's first element (smclarify's retry)."""
    kind = type(first)
    if isinstance(values[0], kind):
        return values
    try:
        return [kind(v) for v in values]
    except ValueError as exc:
        is_int_type = issubclass(kind, (int, np.integer)) and not issubclass(kind, (bool, np.bool_))
        if is_int_type and "invalid literal for int()" in str(exc):
            try:
                return [float(v) for v in values]
            except (TypeError, ValueError):
                pass
        failure = exc
    except TypeError as exc:
        failure = exc
    shown = "" if examples is None else f" (its values include {examples[:10]!r})"
    raise DataError(
        f"{what}: none of the values {values!r} occurs in the column, and they cannot be converted "
        f"to the type of its values ({kind.__name__}): {failure}. Give values that occur in the column{shown}."
    )


def categorical_hits(series: pd.Series, coded: Coded, values: list, what: str) -> np.ndarray:
    """Boolean per distinct value (``coded.uniques``): equal to any of ``values``.

    When nothing matches, the values are converted to the type of the column's first element
    and matched again; missing values never match.
    """
    family = _category_family(series)
    hits = np.array([any(_equal(u, v, family) for v in values) for u in coded.uniques], dtype=bool)
    if hits.any():
        return hits
    if len(series) == 0:
        raise DataError(f"{what}: the column is empty")
    values = list(values)
    converted = _convert_like(series.iloc[0], values, what, coded.uniques)
    if converted is not values:
        log.warning("%s: values %r converted to %r to match the column's type", what, values, converted)
    return np.array([any(_equal(u, v, family) for v in converted) for u in coded.uniques], dtype=bool)


def sensitive_groups(series: pd.Series, coded: Coded, values: list | None, what: str) -> list[tuple[str, np.ndarray]]:
    """The sensitive groups of a categorical facet, as Clarify forms them.

    Parameters
    ----------
    series : pandas.Series
        The facet column.
    coded : Coded
        Its :func:`code_column`.
    values : list or None
        The sensitive values (one group), or None/empty for one group per distinct value,
        missing included, in order of first appearance (one-vs-rest).
    what : str
        The column, for error messages.

    Returns
    -------
    list of (str, numpy.ndarray of bool)
        Per group its ``value_or_threshold`` and, per facet code (the last slot being the
        missing-value code -1), whether the code is in the group.
    """
    if values:
        return [(",".join(map(str, values)), np.append(categorical_hits(series, coded, values, what), False))]
    order = list(coded.uniques)
    if coded.nan_position is not None:
        order.insert(coded.nan_position, float("nan"))
    return [(str(value), np.append(categorical_hits(series, coded, [value], what), False)) for value in order]


def rows_of(coded: Coded, hits: np.ndarray) -> np.ndarray:
    """uint8 row mask from per-distinct-value hits."""
    return _kernels._lookup(coded.codes, np.ascontiguousarray(hits, dtype=np.uint8))


# ---------------------------------------------------------------------- labels


@dataclass(frozen=True)
class Binarised:
    """A label column reduced to positive (1) / negative (0) rows.

    Attributes
    ----------
    positive : numpy.ndarray of uint8, shape (n,)
    kind : str
        ``CATEGORICAL`` or ``CONTINUOUS``.
    text : str
        The ``label_value_or_threshold`` string.
    values : numpy.ndarray or None
        Numeric values (continuous labels only; the predicted label needs them).
    threshold : int, float or None
        The converted threshold (continuous labels only).
    coded : Coded or None
        The column's coding (categorical labels only).
    """

    positive: np.ndarray
    kind: str
    text: str
    values: np.ndarray | None = None
    threshold: float | int | None = None
    coded: Coded | None = None


def binarise_label(series: pd.Series, label_values: list, typing: str = CLARIFY_TYPING,
                   weights: np.ndarray | None = None) -> Binarised:
    """Positive rows of the observed label column and its ``label_value_or_threshold``.

    ``typing`` is ``column_typing``: ``"clarify"`` (smclarify's rules) or ``"intent"``;
    ``weights``: rows per row of ``series`` (see :func:`weighted_count`).
    """
    what = f"label column {series.name!r}"
    if not label_values:
        raise DataError(f"{what}: label_values_or_threshold is empty; give the positive label values or a threshold")
    coded = code_column(series) if T.is_int(series.dtype) else None
    kind = typed_kind(series, label_values, typing, coded, weights)
    if kind == CONTINUOUS:
        t = threshold_of(label_values, what)
        values = numeric(series)
        interval = interval_for(t, column_max(values), what)
        positive = np.zeros(len(values), np.uint8) if interval is None else interval.mask(values)
        return Binarised(positive, kind, "" if interval is None else str(interval), values, t)
    coded = coded or code_column(series)
    hits = categorical_hits(series, coded, label_values, what)
    return Binarised(rows_of(coded, hits), kind, ",".join(map(str, label_values)), coded=coded)


def binarise_predicted(series: pd.Series, label: Binarised, label_values: list,
                       typing: str = CLARIFY_TYPING, label_series: pd.Series | None = None,
                       weights: np.ndarray | None = None) -> np.ndarray:
    """Positive rows of the predicted label (contract §3.4).

    The predicted label must be typed like the label. For a continuous label the predictions
    are cast to the label's dtype and the interval's upper end is the max over label and
    predictions together. ``label_series`` (the label column) lets the type-mismatch error
    name the label's dtype and the fix.
    """
    what = f"predicted label column {series.name!r}"
    coded = code_column(series) if T.is_int(series.dtype) else None
    kind = typed_kind(series, label_values, typing, coded, weights)
    if kind != label.kind:
        raise DataError(
            "Predicted Label Column series datatype is not the same as Label Column series "
            f"(label is {label.kind}, predicted label {series.name!r} is {kind}). "
            + type_mismatch_fix(series, label.kind, label_series)
        )
    if kind == CONTINUOUS:
        pred = numeric(series)
        try:
            with np.errstate(invalid="raise"):
                if label.values.dtype.kind in "iu" and pred.dtype.kind == "f" and not np.isfinite(pred).all():
                    raise ValueError("missing or infinite values cannot be cast to the integer label type")
                pred = pred.astype(label.values.dtype)
        except (ValueError, FloatingPointError) as exc:
            raise DataError(f"{what}: cannot cast the predictions to the label's dtype {label.values.dtype}: {exc}") from None
        both_max = [m for m in (column_max(label.values), column_max(pred)) if m is not None]
        interval = interval_for(label.threshold, max(both_max) if both_max else None, what)
        positive = np.zeros(len(pred), np.uint8) if interval is None else interval.mask(pred)
    else:
        coded = coded or code_column(series)
        positive = rows_of(coded, categorical_hits(series, coded, label_values, what))
    if not positive.any():
        raise DataError(
            "No Label values are present in the predicted Label Column,"
            "Positive Predicted Index Series contains all False values"
            f" (predicted label column {series.name!r}, positive values {label_values!r})"
        )
    return positive


def _dtype_text(series: pd.Series | None) -> str:
    return "" if series is None else f" ({series.dtype})"


def type_mismatch_fix(pred: pd.Series, label_kind: str, label_series: pd.Series | None) -> str:
    """What to change when the predicted label is typed differently from the label."""
    label_name = "the label" if label_series is None else f"label {label_series.name!r}"
    numbers = T.as_numbers(pred)
    if label_kind == CATEGORICAL and T.is_float(pred.dtype) and numbers is not None and T.whole_numbers(numbers):
        return (f"The predicted labels are whole numbers written as floats{_dtype_text(pred)} and {label_name} is "
                f"categorical{_dtype_text(label_series)}: write the predicted labels as integers (1, not 1.0), "
                "or set \"column_typing\": \"intent\" in analysis_config.json.")
    if label_kind == CATEGORICAL and T.is_float(pred.dtype):
        return (f"The predicted labels are fractional numbers{_dtype_text(pred)} and {label_name} is categorical"
                f"{_dtype_text(label_series)}: if they are scores between 0 and 1, set probability_threshold "
                "(e.g. 0.5) at the top level of analysis_config.json so that a score above it predicts 1; "
                "otherwise give predicted labels with the label's values.")
    if label_kind == CONTINUOUS:
        return (f"{label_name[0].upper()}{label_name[1:]} is continuous{_dtype_text(label_series)} and the predicted "
                f"labels are categorical{_dtype_text(pred)}: give numeric predicted labels, or make the label "
                "categorical (integers without missing cells, or \"column_typing\": \"intent\").")
    return (f"Give the predicted labels the same type as {label_name}{_dtype_text(label_series)} "
            f"(they are{_dtype_text(pred) or ' of another type'}).")
