"""The named column-typing rules of clarify_engine._column_types (bias, PDP, SHAP baseline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine import _column_types as T

# 20 distinct values in 400 rows = exactly the 5 % threshold; 19 in 400 is below it.
AT_THRESHOLD = pd.Series(np.arange(400) % 20)
BELOW_THRESHOLD = pd.Series(np.arange(400) % 19)

BIAS = [
    (pd.Series([0.0, 1.0, 1.0]), None, T.CONTINUOUS),
    (pd.Series([0.0, 1.0, 1.0]), [0.0, 1.0], T.CATEGORICAL),  # several values given
    (AT_THRESHOLD, None, T.CONTINUOUS),
    (BELOW_THRESHOLD, None, T.CATEGORICAL),
    (AT_THRESHOLD.astype(str), None, T.CONTINUOUS),  # text that parses as integers
    (BELOW_THRESHOLD.astype(str), None, T.CATEGORICAL),
    (pd.Series(["a", "b"] * 50), None, T.CATEGORICAL),
    (pd.Series(pd.Categorical([1.5, 2.5])), None, T.CATEGORICAL),
    (pd.Series([True, False]), None, T.CATEGORICAL),
    (AT_THRESHOLD.astype(str).astype(pd.ArrowDtype(pa.string())), None, T.CONTINUOUS),  # Arrow text is text
]


@pytest.mark.parametrize("series, values, kind", BIAS)
def test_clarify_bias_kind(series, values, kind):
    assert T.clarify_bias_kind(series, values) == kind


def test_clarify_bias_kind_takes_a_counted_fraction():
    assert T.clarify_bias_kind(BELOW_THRESHOLD, None, fraction=0.5) == T.CONTINUOUS
    assert T.clarify_bias_kind(AT_THRESHOLD, None, fraction=0.0) == T.CATEGORICAL


@pytest.mark.parametrize("series, values, kind", [
    (pd.Series([0.0, 1.0, np.nan]), None, T.CATEGORICAL),  # whole floats with a gap: integers as written
    (pd.Series([0.0, 1.0, 2.0]), [5], T.CONTINUOUS),  # a value not in the column is a threshold
    (pd.Series([0.5, 1.0]), None, T.CONTINUOUS),
    (AT_THRESHOLD, [3], T.CONTINUOUS),
    (BELOW_THRESHOLD, [3], T.CATEGORICAL),
])
def test_intent_bias_kind(series, values, kind):
    assert T.intent_bias_kind(series, values) == kind


PDP = [
    (pd.Series([0.5, 1.0, 1.0]), "numerical"),
    (AT_THRESHOLD, "numerical"),
    (BELOW_THRESHOLD, "categorical"),
    (pd.Series(pd.array([1, 2, None] * 10 + list(range(100, 140)), dtype="Int64")), "numerical"),
    (pd.Series([True, False]), "categorical"),
    (pd.Series([True, None, False], dtype=object), "categorical"),
    (pd.Series(["a", "b", "a"]), "categorical"),
    (pd.Series(pd.Categorical(["lo", "hi", "lo"])), "categorical"),
    (pd.Series(["a great product", "did not work at all", "fine", "would buy again"]), "free_text"),
    (pd.Series(["a great product"] * 3 + ["fine"]), "categorical"),  # mostly repeated phrases
    (pd.Series(["two words", "more words"]).astype(pd.ArrowDtype(pa.string())), "free_text"),
    (pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])), "datetime"),
    (pd.Series(pd.to_timedelta([1, 2], unit="s")), "timedelta"),
    (pd.Series([pd.Interval(0, 1)]), "other"),
]


@pytest.mark.parametrize("series, kind", PDP)
def test_pdp_kind(series, kind):
    assert T.pdp_kind(series) == kind


@pytest.mark.parametrize("series, categorical", [
    (pd.Series([1.5]), False), (pd.Series([1]), False), (pd.Series(pd.array([1, None], dtype="Int64")), False),
    (pd.Series([True]), True), (pd.Series(["a"]), True), (pd.Series(pd.Categorical([1])), True),
    (pd.Series([1, "a"], dtype=object), True),
])
def test_baseline_is_categorical(series, categorical):
    assert T.baseline_is_categorical(series) is categorical


def test_one_threshold_and_one_text_test():
    assert T.UNIQUENESS_THRESHOLD == 0.05
    for dtype in (object, "string", "str", pd.ArrowDtype(pa.string()), pd.ArrowDtype(pa.large_string())):
        assert T.is_text(pd.Series(["a"], dtype=dtype).dtype), dtype
    for dtype in ("int64", "Int64", "float64", "bool", "category", "datetime64[ns]"):
        assert not T.is_text(pd.Series([1], dtype=dtype).dtype), dtype


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, -3.0, 0.5, 7.25, np.nan, np.inf, -np.inf]), min_size=1, max_size=30),
       st.sampled_from([None, [1], [1.0], [0.5], [9]]), st.integers(1, 8))
def test_intent_bias_kind_decided_by_the_head_equals_the_whole_column(values, given, head_rows):
    series = pd.Series(values, dtype=np.float64)
    previous = T.HEAD_ROWS
    try:
        T.HEAD_ROWS = 0  # no shortcut: the whole column is read
        whole = T.intent_bias_kind(series, given)
        T.HEAD_ROWS = head_rows
        assert T.intent_bias_kind(series, given) == whole
    finally:
        T.HEAD_ROWS = previous


def test_fraction_in_head_reads_only_the_head():
    late = pd.Series(np.r_[np.zeros(T.HEAD_ROWS), 0.5])  # the fraction is after the head
    assert not T._fraction_in_head(late) and T.intent_bias_kind(late, None) == T.CONTINUOUS
    assert T._fraction_in_head(pd.Series([np.nan, 2.0, 0.5])) and T._fraction_in_head(pd.Series([1.0, np.inf]))
    assert not T._fraction_in_head(pd.Series([1.0, np.nan, -2.0])) and not T._fraction_in_head(pd.Series([1, 2]))
