"""Streamed Kernel SHAP (explain/_stream.py): shards of whole blocks give the in-memory values, bit for bit."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain import BaselineSpec, ShapSpec, run_shap
from clarify_engine.explain._aggregate import aggregate, aggregate_standard_error, ordered_sum
from clarify_engine.explain._baseline import cluster_baseline
from clarify_engine.explain._stream import reservoir_sample, shard_rows, stream_shap
from clarify_engine.explain._stream_median import MedianSpill
from clarify_engine.report._explanations import (shap_local_frame, shap_section, shap_standard_error_frame,
                                                 shap_standard_error_section)
from clarify_engine.report._shap_outputs import StreamedLocalValues, write_shap_outputs


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.uniform(0, 5, n),
                         "d": rng.normal(size=n), "e": rng.choice(["x", "y", "z"], n), "id": np.arange(n) + 1000})


FEATURES = ("a", "b", "c", "d", "e")


def _model(outputs: int):
    """A per-row model: each row's scores depend on that row only (no batch arithmetic)."""
    def score(frame: pd.DataFrame) -> np.ndarray:
        z = (frame["a"].to_numpy() - 0.7 * frame["b"].to_numpy() + 0.2 * frame["c"].to_numpy() ** 2
             + np.where(frame["e"].to_numpy() == "y", 1.0, 0.0) - 0.3 * frame["d"].to_numpy())
        p = 1.0 / (1.0 + np.exp(-z))
        return np.stack([p, 1.0 - p, p * p][:outputs], axis=1)
    return score


def _chunks(frame: pd.DataFrame, rows: int):
    return lambda: (frame.iloc[i:i + rows] for i in range(0, len(frame), rows))


class _Sink:
    def __init__(self):
        self.values, self.errors, self.ids = [], [], []

    def append(self, values, standard_errors, features, labels, record_ids):
        self.values.append(values)
        self.errors.append(standard_errors)
        self.ids.append(record_ids)


def _spec(**extra) -> ShapSpec:
    base = {"features": FEATURES, "explain": (0, 1, 2, 3, 4), "baseline": BaselineSpec(num_clusters=3),
            "num_samples": 12, "seed": 7, "regression_adjusted": "off"}
    return ShapSpec(**{**base, **extra})


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.integers(1, 3), st.integers(1, 17))
@settings(max_examples=60, deadline=None)
def test_ordered_sum_in_shards_is_the_sum_in_row_order(xs, width, shard):
    values = np.array(xs).reshape(-1, 1).repeat(width, axis=1) * np.arange(1, width + 1)
    expected = values[0].copy()
    for row in values[1:]:
        expected = expected + row
    total = None
    for i in range(0, len(values), shard):
        total = ordered_sum(values[i:i + shard], total)
    assert np.array_equal(total, expected) and np.array_equal(ordered_sum(values), expected)


@given(st.integers(0, 300), st.integers(1, 80), st.lists(st.integers(1, 90), min_size=1, max_size=4),
       st.integers(0, 5))
@settings(max_examples=60, deadline=None)
def test_reservoir_sample_does_not_depend_on_the_chunks(n, size, cuts, seed):
    frame = pd.DataFrame({"x": np.arange(n, dtype=np.int64), "y": np.arange(n) * 0.5})
    whole, rows = reservoir_sample([frame], size, seed)
    pieces, start, i = [], 0, 0
    while start < n:
        step = cuts[i % len(cuts)]
        pieces.append(frame.iloc[start:start + step])
        start, i = start + step, i + 1
    chunked, rows2 = reservoir_sample(pieces or [frame], size, seed)  # no rows: one empty chunk
    assert rows == rows2 == n
    pd.testing.assert_frame_equal(whole, chunked)
    assert len(whole) == min(n, size)
    assert whole["x"].is_monotonic_increasing and whole["x"].is_unique  # row order, each row once
    if n <= size:
        pd.testing.assert_frame_equal(whole, frame)


def test_reservoir_sample_is_uniform_and_seeded():
    frame = pd.DataFrame({"x": np.arange(2000)})
    hits = np.zeros(2000)
    for seed in range(200):
        sample, _ = reservoir_sample([frame.iloc[i:i + 333] for i in range(0, 2000, 333)], 100, seed)
        hits[sample["x"].to_numpy()] += 1
    # each row is kept with probability 100/2000: 10 times in 200 draws on average
    assert abs(hits[:1000].mean() - 10) < 1 and abs(hits[1000:].mean() - 10) < 1
    a, _ = reservoir_sample([frame], 100, 1)
    b, _ = reservoir_sample([frame], 100, 2)
    assert not a.equals(b)


@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("chunk_rows", [1, 23, 64, 400])
def test_streamed_shap_equals_the_in_memory_values_bit_for_bit(outputs, chunk_rows):
    frame = _frame(400)
    spec = _spec(agg_method="mean_sq" if outputs == 3 else "mean_abs")
    score = _model(outputs)
    # a small call size: blocks of 8 records, so the shards hold several blocks
    rows_per_call = (12 + 2) * 3 * 8
    expected = run_shap(frame.loc[:, FEATURES], spec, score, max_rows_per_call=rows_per_call)
    sink = _Sink()
    found = stream_shap(_chunks(frame, chunk_rows), spec, score, chunk_rows=chunk_rows, sink=sink, id_column="id",
                        max_rows_per_call=rows_per_call)
    assert found.shards == -(-400 // shard_rows(chunk_rows, 8))
    assert np.array_equal(np.concatenate(sink.values), expected.values)
    assert np.array_equal(np.concatenate(sink.errors), expected.standard_errors)
    assert np.array_equal(pd.concat(sink.ids).to_numpy(), frame["id"].to_numpy())
    assert shap_section(found) == shap_section(expected)
    assert shap_standard_error_section(found) == shap_standard_error_section(expected)
    pd.testing.assert_frame_equal(found.baseline, expected.baseline)
    assert found.records == 400 and found.core.method == expected.core.method


def test_a_given_baseline_and_the_sample_bound():
    frame = _frame(300, seed=3)
    score = _model(1)
    spec = _spec(baseline=BaselineSpec(given=[[0.0, 0.0, 1.0, 0.0, "x"]]))
    expected = run_shap(frame.loc[:, FEATURES], spec, score)
    found = stream_shap(_chunks(frame, 50), spec, score, chunk_rows=50)
    assert shap_section(found) == shap_section(expected) and found.sample_rows is None
    assert found.baseline_source == "config"
    # a sample smaller than the data: the baseline is the k-means of the sample
    spec = _spec()
    found = stream_shap(_chunks(frame, 50), spec, score, chunk_rows=50, sample_rows=120)
    sample, _ = reservoir_sample(_chunks(frame.loc[:, FEATURES], 50)(), 120, spec.seed)
    baseline, weights = cluster_baseline(sample, 3, spec.seed)
    pd.testing.assert_frame_equal(found.baseline, baseline)
    assert found.sample_rows == 120 and found.baseline_weights.sum() == 120


@pytest.mark.parametrize("n, chunk_rows", [(101, 9), (100, 9), (100, 100)])
def test_the_streamed_median_is_the_in_memory_median(n, chunk_rows):
    frame = _frame(n, seed=6)
    spec = _spec(agg_method="median")
    score = _model(3)
    expected = run_shap(frame.loc[:, FEATURES], spec, score, max_rows_per_call=14 * 3 * 4)
    found = stream_shap(_chunks(frame, chunk_rows), spec, score, chunk_rows=chunk_rows, max_rows_per_call=14 * 3 * 4)
    assert found.shards > 1 or chunk_rows == n
    assert shap_section(found) == shap_section(expected)
    assert shap_standard_error_section(found) == shap_standard_error_section(expected)


@given(st.integers(1, 70), st.integers(1, 3), st.integers(1, 2), st.integers(1, 9), st.booleans(),
       st.integers(0, 10**6))
@settings(max_examples=80, deadline=None)
def test_median_spill_selects_numpys_median_exactly(n, m, d, shard, ties, seed):
    rng = np.random.default_rng(seed)
    if ties:  # repeated values, zeros of both signs: the stable order decides the standard error
        values = rng.integers(-2, 3, size=(n, m, d)).astype(float)
        values[values == 0] = rng.choice([0.0, -0.0], size=int((values == 0).sum()))
    else:
        values = rng.normal(size=(n, m, d)) * 10.0 ** rng.integers(-300, 300, size=(n, m, d))
    errors = rng.uniform(0, 1, size=(n, m, d))
    with MedianSpill() as spill:
        for i in range(0, n, shard):
            spill.append(values[i:i + shard], errors[i:i + shard])
        median, error = spill.median()
        path = spill.path
    assert np.array_equal(median, aggregate(values, "median"))
    assert np.array_equal(error, aggregate_standard_error(values, errors, "median"))
    assert not os.path.exists(path)


@pytest.mark.parametrize("chunk_rows", [7, 200])
def test_streamed_files_are_the_in_memory_bytes(tmp_path, chunk_rows):
    frame = _frame(120, seed=4)
    spec = _spec(joinsource="id")
    score = _model(3)
    expected = run_shap(frame.loc[:, FEATURES], spec, score, record_ids=frame["id"], max_rows_per_call=14 * 3 * 4)
    write_shap_outputs(tmp_path / "memory", shap_local_frame(expected), shap_standard_error_frame(expected))
    sink = StreamedLocalValues(tmp_path / "stream")
    stream_shap(_chunks(frame, chunk_rows), spec, score, chunk_rows=chunk_rows, sink=sink, id_column="id",
                max_rows_per_call=14 * 3 * 4)
    sink.commit()
    for name in ("out.csv", "out_standard_errors.csv"):
        assert (tmp_path / "stream" / "explanations_shap" / name).read_bytes() == \
            (tmp_path / "memory" / "explanations_shap" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "stream" / "explanations_shap").iterdir()) == \
        ["out.csv", "out_standard_errors.csv"]


def test_a_failed_stage_leaves_no_local_file(tmp_path):
    frame = _frame(60)
    calls = []

    def failing(rows: pd.DataFrame) -> np.ndarray:
        calls.append(len(rows))
        if len(calls) > 3:
            raise RuntimeError("the model went away")
        return _model(1)(rows)

    sink = StreamedLocalValues(tmp_path)
    with pytest.raises(RuntimeError, match="the model went away"):
        stream_shap(_chunks(frame, 10), _spec(), failing, chunk_rows=10, sink=sink, max_rows_per_call=14 * 3)
    sink.abort()
    assert list((tmp_path / "explanations_shap").iterdir()) == []
