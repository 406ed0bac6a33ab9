"""Kernels against their naive twins on random data, and merging of count tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from clarify_engine.bias import CountTable, count_table
from clarify_engine.bias import _kernels
from clarify_engine.bias._table import count_outcomes, outcome_codes
from tests.bias import naive


@st.composite
def coded_rows(draw, max_rows=300):
    n = draw(st.integers(0, max_rows))
    n_facet = draw(st.integers(1, 6))
    n_group = draw(st.integers(1, 4))
    ints = lambda hi: hnp.arrays(np.int64, n, elements=st.integers(-1, hi - 1))  # -1: last slot  # noqa: E731
    flags = hnp.arrays(np.bool_, n)
    return n_facet, n_group, draw(ints(n_facet)), draw(ints(n_group)), draw(flags), draw(flags)


@settings(max_examples=60, deadline=None)
@given(coded_rows())
def test_count_table_equals_naive(rows):
    n_facet, n_group, facets, groups, y, p = rows
    table = count_table(facets, n_facet, y, p, groups, n_group)
    expected = naive.count_table(facets, n_facet, y, p, groups, n_group)
    np.testing.assert_array_equal(table.counts, expected)
    assert table.n_rows == len(facets)


@settings(max_examples=60, deadline=None)
@given(coded_rows(), st.data())
def test_weighted_count_table_equals_naive(rows, data):
    n_facet, n_group, facets, groups, y, p = rows
    weights = np.asarray(data.draw(st.lists(st.integers(0, 9), min_size=len(facets), max_size=len(facets))),
                         dtype=np.int64)
    table = count_table(facets, n_facet, y, p, groups, n_group, weights=weights)
    expected = naive.count_table(facets, n_facet, y, p, groups, n_group, weights)
    np.testing.assert_array_equal(table.counts, expected)
    assert table.n_rows == int(weights.sum())


@settings(max_examples=60, deadline=None)
@given(coded_rows(), st.data())
def test_tables_on_random_splits_merge_to_one_pass(rows, data):
    n_facet, n_group, facets, groups, y, p = rows
    n = len(facets)
    parts = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n), label="part of each row")
    parts = np.asarray(parts, dtype=int)
    whole = count_table(facets, n_facet, y, p, groups, n_group)
    merged = CountTable(np.zeros_like(whole.counts), has_groups=True)
    for k in range(4):
        m = parts == k
        merged = merged + count_table(facets[m], n_facet, y[m], p[m], groups[m], n_group)
    np.testing.assert_array_equal(merged.counts, whole.counts)


def test_count_table_spans_several_chunks(monkeypatch):
    rng = np.random.default_rng(3)
    n = 2 * _kernels.CHUNK_ROWS + 17
    facets, groups = rng.integers(0, 3, n), rng.integers(0, 2, n)
    y, p = rng.random(n) < 0.3, rng.random(n) < 0.6
    table = count_table(facets, 3, y, p, groups, 2)
    expected = np.zeros((3, 2, 2, 2), dtype=np.int64)
    np.add.at(expected, (facets, groups, y.astype(int), p.astype(int)), 1)
    np.testing.assert_array_equal(table.counts, expected)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(0, 200), elements=st.one_of(st.floats(-1e6, 1e6), st.just(np.nan), st.just(np.inf))),
    st.floats(-1e3, 1e3),
    st.floats(0, 1e3),
)
def test_interval_mask_equals_naive(values, left, width):
    np.testing.assert_array_equal(
        _kernels._interval_mask(values, left, left + width), naive.interval_mask(values, left, left + width)
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8).flatmap(lambda k: st.tuples(
    hnp.arrays(np.int64, st.integers(0, 100), elements=st.integers(-1, k - 1)),
    hnp.arrays(np.uint8, k, elements=st.integers(0, 1)),
)))
def test_lookup_equals_naive(args):
    codes, hits = args
    np.testing.assert_array_equal(_kernels._lookup(codes, hits), naive.lookup(codes, hits))


def test_constant_and_empty_inputs():
    empty = count_table(np.zeros(0, np.int64), 2, np.zeros(0, bool))
    assert empty.counts.shape == (2, 1, 2, 2) and empty.n_rows == 0
    const = count_table(np.ones(5, np.int64), 2, np.ones(5, bool))
    assert const.counts[1, 0, 1, 0] == 5 and const.n_rows == 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(facet_codes=[0, 2], n_facet=2, label_pos=[True, False]), r"facet_codes must lie in \[-1, 2\)"),
        (dict(facet_codes=[0.5], n_facet=2, label_pos=[True]), "facet_codes must be a 1-d integer array"),
        (dict(facet_codes=[0, 1], n_facet=2, label_pos=[1, 0]), "label_pos must be a boolean array"),
        (dict(facet_codes=[0, 1], n_facet=2, label_pos=[True]), r"label_pos must have shape \(2,\)"),
        (dict(facet_codes=[0], n_facet=1, label_pos=[True], group_codes=[0]), "n_group is required"),
    ],
)
def test_count_table_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        count_table(**kwargs)


def test_merge_rejects_different_codings():
    a = count_table(np.array([0]), 1, np.array([True]))
    b = count_table(np.array([0]), 2, np.array([True]))
    with pytest.raises(ValueError, match="different codings"):
        a.merge(b)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 200), elements=st.integers(-5, 40)))
def test_code_small_ints_equals_naive(values):
    lo = int(values.min()) if values.size else 0
    size = int(values.max()) - lo + 1 if values.size else 1
    codes, firsts = _kernels._code_small_ints(values, lo, size)
    want_codes, want_firsts = naive.code_ints(values.tolist())
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(firsts, want_firsts)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from([np.int64, np.int8, np.uint8, np.int32]), st.integers(1, 200)))
def test_min_max_equals_naive(values):
    assert _kernels._min_max(values) == naive.min_max(values.tolist())


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 200), elements=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 1.0, 2.5, -3.0])),
       st.lists(st.floats(-10, 10), max_size=4))
def test_bin_codes_equals_naive(values, cuts):
    cuts = np.array(sorted(set(cuts)), dtype=np.float64)
    state = [np.full(len(cuts) + 1, np.inf), np.full(len(cuts) + 1, -np.inf), np.full(len(cuts) + 1, np.nan)]
    twin = [a.copy() for a in state]
    codes = _kernels._bin_codes(values, cuts, *state)
    np.testing.assert_array_equal(codes, naive.bin_codes(values, cuts, *twin))
    for found, expected in zip(state, twin):
        np.testing.assert_array_equal(found, expected)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 300), st.integers(1, 5), st.integers(1, 70), st.booleans(), st.booleans(),
       st.sampled_from(["int64", "int8", "uint8"]), st.integers(0, 2**32 - 1))
def test_outcome_counts_equal_naive(n, n_facet, n_group, grouped, post, facet_dtype, seed):
    rng = np.random.default_rng(seed)
    facets = rng.integers(-1, n_facet, n)
    facets = (facets.clip(0) if facet_dtype == "uint8" else facets).astype(facet_dtype)  # uint8: no missing code
    groups = rng.integers(-1, n_group, n) if grouped else None
    y = rng.integers(0, 2, n).astype(bool)
    p = rng.integers(0, 2, n).astype(bool) if post else None
    outcomes = outcome_codes(y, p, groups, n_group if grouped else None)
    assert outcomes.codes.dtype == (np.uint8 if 4 * (n_group if grouped else 1) <= 256 else np.int32)
    table = count_outcomes(facets, n_facet, outcomes)
    expected = naive.count_table(facets, n_facet, y, np.zeros(n, bool) if p is None else p,
                                 np.zeros(n, np.int64) if groups is None else groups, n_group if grouped else 1)
    np.testing.assert_array_equal(table.counts, expected)
    assert table.has_groups == grouped
    keep = rng.integers(0, 2, n).astype(bool)  # the rows a facet keeps (intent typing)
    np.testing.assert_array_equal(count_outcomes(facets[keep], n_facet, outcomes.take(keep)).counts,
                                  count_table(facets[keep], n_facet, y[keep], None if p is None else p[keep],
                                              None if groups is None else groups[keep], n_group if grouped else None).counts)


def test_outcome_counts_span_several_chunks():
    rng = np.random.default_rng(3)
    n = 2 * _kernels.CHUNK_ROWS + 17
    facets, groups = rng.integers(-1, 3, n), rng.integers(-1, 4, n)
    y, p = rng.random(n) < 0.3, rng.random(n) < 0.6
    table = count_outcomes(facets, 3, outcome_codes(y, p, groups, 4))
    np.testing.assert_array_equal(table.counts, count_table(facets, 3, y, p, groups, 4).counts)
