"""How rows are cut into partitions for the workers (interface 2 of the Dask executor).

Rows are split into ``P`` contiguous partitions of the row order, with
``P = max(1, min(n_rows // rows_per_partition, partitions_per_worker * n_workers))``; every
result is gathered in row order, so nothing published depends on ``P``.

Kernel SHAP adds one constraint: its regression of a block of records is one matrix product
whose last bits depend on how many records the block holds (BLAS kernels differ for the tail
columns), so a shard must hold whole blocks of the single-process run. Shard bounds are
therefore multiples of the block size (:func:`aligned_bounds`).
"""

from __future__ import annotations

__all__ = ["aligned_bounds", "partition_bounds", "partition_count"]


def partition_count(n_rows: int, rows_per_partition: int, max_partitions: int) -> int:
    """``max(1, min(n_rows // rows_per_partition, max_partitions))``."""
    return max(1, min(n_rows // max(1, rows_per_partition), max_partitions))


def partition_bounds(n_rows: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``[start, stop)`` ranges covering ``0..n_rows`` (sizes differ by at most 1)."""
    parts = max(1, min(parts, n_rows)) if n_rows else 1
    base, extra = divmod(n_rows, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def aligned_bounds(n_rows: int, parts: int, block: int) -> list[tuple[int, int]]:
    """Up to ``parts`` contiguous ranges of ``0..n_rows`` whose starts are multiples of ``block``.

    The ``ceil(n_rows / block)`` blocks are shared out as evenly as :func:`partition_bounds`
    shares rows; the last range ends at ``n_rows``.
    """
    block = max(1, block)
    n_blocks = -(-n_rows // block)
    return [(a * block, min(n_rows, b * block)) for a, b in partition_bounds(n_blocks, parts) if b > a] or [(0, 0)]
