"""Partition bounds of the Dask executor: contiguous, covering, and (for Kernel SHAP) aligned to
the blocks of the single-process run."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clarify_engine.cluster._partitions import aligned_bounds, partition_bounds, partition_count


def _covers(bounds, n):
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


@given(st.integers(0, 5000), st.integers(1, 64))
def test_partition_bounds_are_contiguous_and_even(n, parts):
    bounds = partition_bounds(n, parts)
    _covers(bounds, n)
    sizes = [b - a for a, b in bounds]
    assert len(bounds) == (max(1, min(parts, n)) if n else 1)
    assert max(sizes) - min(sizes) <= 1


@given(st.integers(1, 5000), st.integers(1, 64), st.integers(1, 300))
def test_aligned_bounds_start_on_block_boundaries(n, parts, block):
    bounds = aligned_bounds(n, parts, block)
    _covers(bounds, n)
    assert all(a % block == 0 for a, _ in bounds)
    assert len(bounds) <= parts and all(b > a for a, b in bounds)


def test_partition_count_follows_the_documented_formula():
    assert partition_count(10_000, 1000, 16) == 10
    assert partition_count(100_000, 1000, 16) == 16
    assert partition_count(999, 1000, 16) == 1
    assert partition_count(0, 1000, 16) == 1


def _model(rows):
    import numpy as np

    w = np.linspace(-1.0, 1.0, rows.shape[1] * 2).reshape(rows.shape[1], 2)
    return 1.0 / (1.0 + np.exp(-(np.tanh(rows @ w) + rows[:, :1] * rows[:, 1:2])))


def test_kernel_shap_on_block_aligned_shards_of_distinct_records_is_the_single_run_bit_for_bit():
    """What the executor does on the workers, in process: drop duplicates, cut at block multiples,
    run each shard with the same seed, join and expand. (Cut elsewhere, the BLAS products of the
    blocks change width and, with OpenBLAS 0.3.31, some last bits: docs/scale.md.)"""
    import numpy as np

    from clarify_engine.cluster._executor import _joined
    from clarify_engine.explain._coalitions import coalition_plan
    from clarify_engine.explain._kernel_shap import _distinct_records, block_records, kernel_shap

    rng = np.random.default_rng(0)
    X = rng.normal(size=(503, 6))
    X[10], X[400] = X[3], X[3]  # duplicates in different shards
    X[:50, 2] = 0.0
    B = rng.normal(size=(3, 6))
    B[:, 2] = 0.0  # a feature equal to the baseline in some records (their own regression)
    kw = {"num_samples": 40, "seed": 3, "link": "logit", "max_rows_per_call": 1000}
    full = kernel_shap(_model, X, B, **kw)

    first, inverse = _distinct_records(X)
    distinct = X[first]
    block = block_records(coalition_plan(6, 40, 3).masks.shape[0], len(B), 1000)
    assert block == 7
    for parts in (2, 5, 40):
        shards = [kernel_shap(_model, distinct[a:b], B, **kw) for a, b in aligned_bounds(len(distinct), parts, block)]
        joined = _joined(shards, inverse)
        for name in ("values", "standard_errors", "fx", "reference", "expected_value"):
            assert np.array_equal(getattr(joined, name), getattr(full, name)), (parts, name)
