"""How a column is typed, defined once: the named rules of bias, PDP and the SHAP baseline.

Each consumer asks a different question of a column, so each has its own named rule; they
share the dtype tests and the distinct-value fraction below.

``clarify_bias_kind`` — Clarify bias typing (smclarify 0.5, contract §3.3-3.4)
    How a facet, label or predicted-label column is read, which decides whether a
    ``value_or_threshold`` is a list of values or an exclusive lower bound:

    * categorical if the dtype is ``category`` or more than one value is given;
    * float → continuous;
    * integer, or text whose values all parse as integers → continuous when the distinct
      values are at least :data:`UNIQUENESS_THRESHOLD` of the non-missing values, else
      categorical;
    * anything else (bool, text, ...) → categorical.

``intent_bias_kind`` — typing by intent (``"column_typing": "intent"``, an extension)
    The same rules on the column as written: missing cells left out, whole-number floats
    read as integers, one given value that is not one of the column's values read as a
    threshold, and a column with at most two distinct values categorical.

``pdp_kind`` — PDP typing (our rule; contract §6.4 names the grids, not the detection)
    ``bool``/``category`` → categorical; float → numerical; integer → numerical when the
    distinct fraction is at least :data:`UNIQUENESS_THRESHOLD`, else categorical; text →
    free text when at least half the values hold two or more words and more than half are
    distinct, else categorical; datetimes, timedeltas and anything else are not supported.

``baseline_is_categorical`` — the SHAP baseline's coding rule
    Non-numeric columns (text, object, category, bool) are coded as categories, never
    averaged.

pandas 3 infers text columns as the ``str`` dtype where pandas 1.5 (smclarify's) used
``object``; both are text here.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

__all__ = [
    "CATEGORICAL",
    "CONTINUOUS",
    "FREE_TEXT",
    "NUMERICAL",
    "UNIQUENESS_THRESHOLD",
    "as_numbers",
    "baseline_is_categorical",
    "clarify_bias_kind",
    "distinct_fraction",
    "intent_bias_kind",
    "is_float",
    "is_int",
    "is_text",
    "pdp_kind",
    "whole_numbers",
]

log = logging.getLogger(__name__)

CATEGORICAL = "categorical"
CONTINUOUS = "continuous"
NUMERICAL = "numerical"
FREE_TEXT = "free_text"

#: Integer columns with at least this fraction of distinct (non-missing) values are
#: continuous for bias and numerical for PDP.
UNIQUENESS_THRESHOLD = 0.05


# ---------------------------------------------------------------------- dtype tests


def is_text(dtype) -> bool:
    """Text dtype: ``object``, a pandas string dtype (``str`` in pandas 3) or an Arrow string."""
    return dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype) or pd.api.types.is_string_dtype(dtype)


def is_float(dtype) -> bool:
    """Float dtype, numpy or nullable."""
    return pd.api.types.is_float_dtype(dtype)


def is_int(dtype) -> bool:
    """Integer (not bool) dtype, numpy or nullable."""
    return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def distinct_fraction(series: pd.Series) -> float:
    """Distinct non-missing values / non-missing values (0 for a column without values)."""
    count = int(series.count())
    return 0.0 if count == 0 else series.nunique() / count


def _int_castable(series: pd.Series) -> bool:
    """Whether every element of a text/object column converts to int64 (as ``int(x)`` does)."""
    try:
        series.to_numpy(dtype=object).astype(np.int64)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def as_numbers(series: pd.Series) -> pd.Series | None:
    """The non-missing values as numbers, or None when they are not all numbers (text, bool)."""
    values = series.dropna()
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if is_int(dtype) or is_float(dtype):
        return values
    if is_text(dtype):
        if values.map(lambda v: isinstance(v, (bool, np.bool_))).any():
            return None
        try:
            return pd.to_numeric(values)
        except (ValueError, TypeError):
            return None
    return None


#: Rows :func:`_fraction_in_head` looks at.
HEAD_ROWS = 1024


def _fraction_in_head(series: pd.Series) -> bool:
    """Whether a float column's first :data:`HEAD_ROWS` rows hold a value that is not a whole
    number (a fraction or ±inf; missing cells are skipped): then :func:`whole_numbers` of the
    column is False, known without reading the rest."""
    if not (isinstance(series.dtype, np.dtype) and series.dtype.kind == "f"):
        return False
    head = series.to_numpy()[:HEAD_ROWS]
    head = head[~np.isnan(head)]
    with np.errstate(invalid="ignore"):
        return bool(np.any(~np.isfinite(head) | (head != np.round(head))))


def whole_numbers(numbers: pd.Series) -> bool:
    """Whether every value is a whole number (``1.0`` is, ``1.5`` is not)."""
    if is_int(numbers.dtype):
        return True
    array = numbers.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(array)) and np.all(array == np.round(array)))


# ---------------------------------------------------------------------- bias


def clarify_bias_kind(series: pd.Series, values, fraction: float | None = None) -> str:
    """``CATEGORICAL`` or ``CONTINUOUS`` by Clarify's bias typing (module docstring).

    Parameters
    ----------
    series : pandas.Series
        A facet, label or predicted-label column.
    values : list or None
        Its ``value_or_threshold`` / ``label_values_or_threshold``.
    fraction : float, optional
        The column's :func:`distinct_fraction` when the caller has it (it saves counting the
        distinct values of an integer or text column, and a column of distinct rows with
        counts gives it from the counts).
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or (isinstance(values, list) and len(values) > 1):
        return CATEGORICAL
    kind = CATEGORICAL
    if is_text(dtype):
        if _int_castable(series) and (distinct_fraction(series) if fraction is None else fraction) >= UNIQUENESS_THRESHOLD:
            kind = CONTINUOUS
    elif is_float(dtype):
        kind = CONTINUOUS
    elif is_int(dtype):
        if (distinct_fraction(series) if fraction is None else fraction) >= UNIQUENESS_THRESHOLD:
            kind = CONTINUOUS
    if is_int(dtype) or is_text(dtype):
        log.info("column %r typed %s by the distinct-value fraction rule", series.name, kind)
    return kind


def _is_one_of(value, numbers: pd.Series) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return bool((numbers.to_numpy(dtype=np.float64) == number).any())


def intent_bias_kind(series: pd.Series, values, weights: np.ndarray | None = None) -> str:
    """``CATEGORICAL`` or ``CONTINUOUS`` by the user's intent (``"column_typing": "intent"``).

    Clarify's rules applied to the column as written, not as stored: missing cells are left
    out (the caller excludes those rows), floats that are all whole numbers (``1.0``/``0.0``)
    count as integers, one given value that is not among the column's values is a threshold,
    and a column with at most two distinct values is categorical when no value or one of its
    own values is given (``[1]`` on a 0/1 column means ``== 1``).

    * dtype ``category`` or more than one value given → categorical;
    * values that are not all numbers (text, bool) → categorical;
    * numbers with a fractional part → continuous;
    * whole numbers: a given value that is not one of them is a threshold (continuous);
      otherwise categorical when there are at most two distinct values, else by Clarify's
      distinct-value fraction (``>= 0.05`` → continuous).

    ``weights`` (rows per row of ``series``, for a column of distinct rows with their counts:
    ``bias/_compress.py``) count the values; without, every row counts once.
    """
    if isinstance(series.dtype, pd.CategoricalDtype) or (isinstance(values, list) and len(values) > 1):
        return CATEGORICAL
    if _fraction_in_head(series):  # most float columns: decided by their first rows
        return CONTINUOUS
    numbers = as_numbers(series)
    if numbers is None:
        return CATEGORICAL
    if not whole_numbers(numbers):
        return CONTINUOUS
    if values and not _is_one_of(values[0], numbers):
        return CONTINUOUS
    distinct = int(numbers.nunique())
    if distinct <= 2:
        return CATEGORICAL
    count = len(numbers) if weights is None else int(weights[series.notna().to_numpy()].sum())
    return CONTINUOUS if count and distinct / count >= UNIQUENESS_THRESHOLD else CATEGORICAL


# ---------------------------------------------------------------------- PDP and baseline


def pdp_kind(series: pd.Series) -> str:
    """The PDP data type of a column (module docstring): ``"numerical"``, ``"categorical"``,
    ``"free_text"``, ``"datetime"``, ``"timedelta"`` or ``"other"``."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if is_float(dtype):
        return NUMERICAL
    if is_int(dtype):
        return NUMERICAL if distinct_fraction(series) >= UNIQUENESS_THRESHOLD else CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if is_text(dtype):
        present = series.dropna()
        if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
            return CATEGORICAL
        texts = [v for v in present if isinstance(v, str)]
        if texts and len(texts) == len(present):
            words = sum(len(v.split()) >= 2 for v in texts)
            distinct = len(set(texts))
            if 2 * words >= len(texts) and 2 * distinct > len(texts):
                return FREE_TEXT
        return CATEGORICAL
    return "other"


def baseline_is_categorical(series: pd.Series) -> bool:
    """Whether the SHAP baseline codes ``series`` as categories (non-numeric: text, object,
    category, bool) rather than averaging it."""
    dtype = series.dtype
    return pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype)
