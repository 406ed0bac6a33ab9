"""ColumnMemo: a job's bias stages type and code each column once, and never mix columns up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clarify_engine.bias import BiasSpec, FacetSpec, bias_report
from clarify_engine.bias._memo import ColumnMemo
from clarify_engine.data import Dataset
from clarify_engine.job._run import _bias_frame


def counted(memo, role, series, settings=()):
    calls = []
    value = memo.get(role, series, settings, lambda: calls.append(1) or len(calls))
    return value, len(calls)


def test_computed_once_per_column_and_settings():
    memo = ColumnMemo()
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3]})
    assert counted(memo, "facet", frame["a"], ([1], "clarify")) == (1, 1)
    assert counted(memo, "facet", frame["a"], ([1], "clarify"))[1] == 0  # a new Series over the same values
    assert counted(memo, "facet", frame["a"], ([1.0], "clarify"))[1] == 1  # other settings
    assert counted(memo, "label", frame["a"], ([1], "clarify"))[1] == 1  # other role
    assert counted(memo, "facet", frame["b"], ([1], "clarify"))[1] == 1  # equal values, other column


def test_same_name_other_values_is_computed_again():
    memo = ColumnMemo()
    first = pd.Series([1, 2, 3], name="a")
    counted(memo, "group", first)
    assert counted(memo, "group", pd.Series([1, 2, 3], name="a"))[1] == 1
    assert counted(memo, "group", first.iloc[1:])[1] == 1  # a slice starts elsewhere
    assert counted(memo, "group", first.iloc[::2])[1] == 1  # same start, other stride and length


def test_columns_not_held_in_one_numpy_array_are_never_kept():
    memo = ColumnMemo()
    for series in (pd.Series([1, None, 3], dtype="Int64", name="a"), pd.Series(["x", "y"], dtype=object, name="s")):
        assert counted(memo, "facet", series)[1] == 1
        assert counted(memo, "facet", series)[1] == 1


def _frame(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "race": rng.integers(0, 4, n),
                         "age": rng.uniform(18, 90, n), "g": rng.integers(0, 5, n), "x": rng.normal(size=n)})


def test_stages_share_the_codings_and_give_the_reports_of_separate_calls():
    frame = _frame()
    common = dict(label="y", label_values=[1], group_variable="g",
                  facets=[FacetSpec("race", [1]), FacetSpec("age", [40]), FacetSpec("race", None)])
    pre = BiasSpec.resolve(stage="pre_training", methods="all", **common)
    post = BiasSpec.resolve(stage="post_training", methods=["AD", "DI", "DPPL", "FT"], predicted_label="p", **common)
    memo = ColumnMemo()
    assert bias_report(frame, pre, memo=memo) == bias_report(frame, pre)
    kept = len(memo._items)
    assert kept == 5  # label, group, race with [1], race one-vs-rest, age
    assert bias_report(frame, post, memo=memo) == bias_report(frame, post)
    assert len(memo._items) == kept  # post-training read the same codings


def test_intent_typing_does_not_use_the_memo():
    frame = _frame().astype({"race": float})
    frame.loc[3, "race"] = np.nan  # intent typing drops this row from the facet's rows
    spec = BiasSpec.resolve(stage="pre_training", methods="all", label="y", label_values=[1],
                            facets=[FacetSpec("race", [1])], column_typing="intent")
    memo = ColumnMemo()
    assert bias_report(frame, spec, memo=memo) == bias_report(frame, spec)
    assert not memo._items


def test_bias_frame_reads_the_dataset_columns_without_copying():
    frame = _frame()
    dataset = Dataset(frame=frame, label="y", predicted_label="p", facets=[("race", [1]), ("age", [40])],
                      group_variable="g", features=["race", "age", "g", "x"])
    bias_frame = _bias_frame(dataset)
    assert list(bias_frame.columns) == ["race", "age", "g", "x", "y", "p"]
    for column in bias_frame.columns:
        assert np.shares_memory(bias_frame[column].to_numpy(), frame[column].to_numpy())
