"""Which feature columns are free text, and the data type of the others.

Rule (``docs/text.md``, the spec's proposal): with ``text_config`` present, a feature column is
text when its values are strings, not all readable as numbers, with more than one
whitespace-separated word per value on average and at least 5 % distinct values (the contract's
categorical rule read the other way). Numeric columns are ``numerical``; other string columns
(few distinct values, single words) are ``categorical``.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from clarify_engine.errors import DataError

__all__ = ["MIN_UNIQUE_FRACTION", "check_text_values", "data_type", "detect_text_columns"]

#: Smallest share of distinct values of a text column.
MIN_UNIQUE_FRACTION = 0.05
#: Mean words per value a text column must exceed.
MIN_MEAN_WORDS = 1.0


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def data_type(series: pd.Series) -> str:
    """``"numerical"`` or ``"categorical"``: the vocabulary of Clarify's PDP and text outputs."""
    return "numerical" if _is_numeric(series) else "categorical"


def _describe(series: pd.Series) -> tuple[bool, str]:
    """(is text, why not) of one column."""
    if _is_numeric(series):
        return False, "numerical"
    values = series.dropna()
    if len(values) == 0:
        return False, "empty"
    strings = values[values.map(lambda v: isinstance(v, str))]
    if len(strings) < len(values):
        return False, "categorical (not all values are strings)"
    if pd.to_numeric(strings, errors="coerce").notna().all():
        return False, "categorical (every value is a number written as text)"
    words = float(strings.str.split().str.len().mean())
    unique = strings.nunique() / len(strings)
    if words > MIN_MEAN_WORDS and unique >= MIN_UNIQUE_FRACTION:
        return True, ""
    return False, f"categorical ({words:.2g} words per value on average, {unique:.0%} distinct values)"


def detect_text_columns(frame: pd.DataFrame, features: Sequence[str]) -> tuple[str, ...]:
    """The free-text columns among ``features`` (model order).

    Raises
    ------
    DataError
        No feature column is text: names each column and what it was taken for, and the fix.
    """
    found, why = [], []
    for name in features:
        is_text, reason = _describe(frame[name])
        if is_text:
            found.append(name)
        else:
            why.append(f"{name!r} is {reason}")
    if not found:
        raise DataError(
            "methods.shap.text_config: no feature column holds free text (" + "; ".join(why) + "). "
            f"A text column needs string values with more than {MIN_MEAN_WORDS:g} word per value on average "
            f"and at least {MIN_UNIQUE_FRACTION:.0%} distinct values; check the headers and label, or remove "
            "text_config to explain every column as a tabular feature")
    return tuple(found)


def check_text_values(frame: pd.DataFrame, column: str) -> list[str]:
    """The values of a text column as strings (missing -> ``""``).

    Raises
    ------
    DataError
        A value that is not a string (names the row and the column).
    """
    values = frame[column].to_numpy(dtype=object)
    missing = pd.isna(values)
    out = []
    for i, (value, gone) in enumerate(zip(values, missing)):
        if gone:
            out.append("")
        elif isinstance(value, str):
            out.append(value)
        else:
            raise DataError(
                f"methods.shap.text_config: row {i}, text column {column!r} holds {value!r} "
                f"({type(value).__name__}), not a string; text columns need a string in every record "
                "(quote it in CSV, or write it as a JSON string)")
    return out


