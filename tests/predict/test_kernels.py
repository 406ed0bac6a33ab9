"""The model client's numba kernels against their plain-Python twins, and the row keys they use."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from clarify_engine.predict.batching._layout import Layout, _reserve, _row_keys
from clarify_engine.predict.codecs._format import CSV, JSON, format_rows_bytes, format_rows_packed
from clarify_engine.predict._kernels import EMPTY_SLOT, dedupe_rows, rehash
from tests.predict import naive

# Values the encoders meet: NaN, signed zeros, integral values, very small and very large
# magnitudes (orjson's exponent forms), and ordinary decimals.
_VALUES = st.one_of(
    st.floats(allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 1.0, -3.0, 35.0, 1e16, 1e-7, 123456789.0, 2.5, float("nan")]),
    st.integers(-(10**6), 10**6).map(float),
    st.decimals(places=4, min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False).map(float),
)
_BLOCKS = st.integers(0, 6).flatmap(
    lambda m: hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.just(m)), elements=_VALUES)
)
_LAYOUTS = [
    # style, prefix, suffix, separator, empty
    (CSV, b"", b"", b"\n", b""),
    (CSV, b"", b"", b"\n", b'""'),
    (JSON, b'{"features":[', b"]}", b"\n", b""),
    (JSON, b"[", b"]", b",", b""),
    (JSON, b'{"in":[', b"]}", b"", b""),
]


@settings(max_examples=300, deadline=None)
@given(_BLOCKS, st.sampled_from(_LAYOUTS))
def test_lay_out_equals_its_twin_and_the_record_encoder(block, layout):
    style, prefix, suffix, separator, empty = layout
    data, starts = format_rows_packed(block, block.shape[1], style, prefix=prefix, suffix=suffix,
                                      separator=separator, empty=empty)
    dump = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)
    twin_data, twin_starts = naive.lay_out(dump, prefix, suffix, separator, style.missing.encode(), empty)
    assert data == twin_data
    np.testing.assert_array_equal(starts, twin_starts)
    # and every record is what the record-at-a-time encoder writes
    records = [data[starts[i] : starts[i + 1] - len(separator)] for i in range(len(block))]
    expected = [prefix + (line or empty) + suffix for line in format_rows_bytes(block, block.shape[1], style)]
    assert records == expected


def test_lay_out_declines_what_is_not_a_numeric_block():
    assert format_rows_packed(np.array([[1.0, np.inf]]), 2, CSV) is None  # orjson would write null
    assert format_rows_packed(pd.DataFrame({"a": ["x"]}), 1, CSV) is None
    data, starts = format_rows_packed(np.empty((0, 3)), 3, CSV, separator=b"\n")
    assert (data, starts.tolist()) == (b"", [0])


def _index(keys: np.ndarray, chunk: int, first_size: int = 16):
    """Codes of every row, indexing ``chunk`` rows at a time as the batcher does."""
    run = Layout(cum=np.zeros(1), codes=np.empty(0), first_rows=np.empty(len(keys), dtype=np.intp), fixed=0,
                 sep=0, record_limit=1, stats=None, keys=keys)
    run.stats = type("Stats", (), {"unique_rows": 0})()
    run.table = np.full(first_size, EMPTY_SLOT, dtype=np.int64)
    codes = np.empty(len(keys), dtype=np.intp)
    for start in range(0, len(keys), chunk):
        stop = min(start + chunk, len(keys))
        _reserve(run, run.stats.unique_rows + stop - start)
        run.stats.unique_rows = dedupe_rows(keys, start, stop, run.table, run.first_rows,
                                            run.stats.unique_rows, codes[start:stop])
    return codes, run.first_rows[: run.stats.unique_rows].tolist(), run


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.uint64, st.tuples(st.integers(1, 300), st.integers(0, 4)), elements=st.integers(0, 3)),
    st.integers(1, 64),
)
def test_dedupe_rows_equals_its_twin_in_any_chunking(keys, chunk):
    codes, first_rows, run = _index(keys, chunk)
    twin_codes, twin_first = naive.dedupe_rows(keys)
    np.testing.assert_array_equal(codes, twin_codes)
    assert first_rows == twin_first
    assert (run.table != EMPTY_SLOT).sum() == len(first_rows) <= len(run.table) // 2


def test_rehash_keeps_every_record_findable():
    keys = np.arange(40, dtype=np.uint64).reshape(20, 2) % 14
    codes, first_rows, run = _index(keys, chunk=20)
    bigger = np.full(4 * len(run.table), EMPTY_SLOT, dtype=np.int64)
    rehash(keys, run.first_rows, len(first_rows), bigger)
    again = np.empty(20, dtype=np.intp)
    assert dedupe_rows(keys, 0, 20, bigger, run.first_rows.copy(), len(first_rows), again) == len(first_rows)
    np.testing.assert_array_equal(again, codes)


@pytest.mark.parametrize(
    "rows",
    [
        np.array([[1.0, 2.0], [1.0, 2.0], [-0.0, 2.0], [0.0, 2.0]]),
        np.array([[1, 2], [1, 2], [3, 4]], dtype=np.int8),
        np.array([[True], [False], [True]]),
        np.array([[1.5], [1.5], [2.5]], dtype=np.float32),
        np.array([[2**64 - 1], [2**64 - 1], [0]], dtype=np.uint64),
        pd.DataFrame({"a": [1, 1, 2], "b": [0.5, 0.5, 0.5], "c": [True, True, True]}),
    ],
    ids=["float64", "int8", "bool", "float32", "uint64", "frame"],
)
def test_row_keys_are_equal_exactly_for_equal_rows(rows):
    keys = _row_keys(rows)
    values = rows.to_numpy().tolist() if hasattr(rows, "to_numpy") else rows.tolist()
    for a in range(len(values)):
        for b in range(len(values)):
            same_value = [repr(v) for v in values[a]] == [repr(v) for v in values[b]]  # -0.0 != 0.0
            assert (keys[a] == keys[b]).all() == same_value


@pytest.mark.parametrize(
    "rows",
    [
        np.array([["a", 1]], dtype=object),
        np.array([1.0, 2.0]),
        pd.DataFrame({"a": ["x", "y"]}),
        pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}),
        pd.DataFrame({"a": pd.Categorical(["x", "y"])}),
        [[1.0, 2.0]],
    ],
    ids=["object array", "1-D", "text frame", "nullable ints", "categories", "list"],
)
def test_rows_that_are_not_plain_numbers_have_no_keys(rows):
    assert _row_keys(rows) is None
