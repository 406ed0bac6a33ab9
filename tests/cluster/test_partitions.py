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
