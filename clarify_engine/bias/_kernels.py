"""Numba kernels that count rows into a bias count table in one pass.

Every kernel is a private function of int-coded arrays; the wrappers in
:mod:`clarify_engine.bias._table` check dtypes and shapes before calling them.
Plain twins of these kernels live in ``tests/bias/naive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from clarify_engine._jit import jit

#: Rows per chunk of the parallel count; each chunk writes its own slab.
CHUNK_ROWS = 1 << 20


@jit
def _count_rows(facet_codes, n_facet, group_codes, n_group, label_pos, pred_pos, start, stop, out):
    """Add rows ``start:stop`` into ``out[facet, group, label, pred]``.

    Plain form: ``np.add.at(out, (facet_codes, group_codes, label_pos, pred_pos), 1)``.
    """
    for i in range(start, stop):
        f = facet_codes[i]
        g = group_codes[i]
        if f < 0:  # missing facet value: last facet slot
            f = n_facet - 1
        if g < 0:  # missing group value: last group slot
            g = n_group - 1
        out[f, g, label_pos[i], pred_pos[i]] += 1


@jit
def _count_table_serial(facet_codes, n_facet, group_codes, n_group, label_pos, pred_pos):
    """Serial twin of :func:`_count_table` for inputs of at most one chunk."""
    out = np.zeros((n_facet, n_group, 2, 2), dtype=np.int64)
    _count_rows(facet_codes, n_facet, group_codes, n_group, label_pos, pred_pos, 0, facet_codes.shape[0], out)
    return out


@jit
def _count_table_weighted(facet_codes, n_facet, group_codes, n_group, label_pos, pred_pos, weights):
    """Like :func:`_count_table_serial`, row ``i`` counting ``weights[i]`` rows (a frame of distinct
    rows with their counts, ``bias/_compress.py``).

    Plain form: ``np.add.at(out, (facet_codes, group_codes, label_pos, pred_pos), weights)``.
    """
    out = np.zeros((n_facet, n_group, 2, 2), dtype=np.int64)
    for i in range(facet_codes.shape[0]):
        f = facet_codes[i]
        g = group_codes[i]
        if f < 0:
            f = n_facet - 1
        if g < 0:
            g = n_group - 1
        out[f, g, label_pos[i], pred_pos[i]] += weights[i]
    return out


@jit
def _outcome_codes(group_codes, n_group, label_pos, pred_pos, out):
    """Write ``(group * 2 + label) * 2 + pred`` of each row into ``out`` (group -1: last slot): the
    group, label and predicted-label axes of a count table as one code, shared by every facet.

    Plain form: ``(np.where(group_codes < 0, n_group - 1, group_codes) * 2 + label_pos) * 2 + pred_pos``.
    """
    for i in range(group_codes.shape[0]):
        g = np.int64(group_codes[i])
        if g < 0:
            g = np.int64(n_group - 1)
        # int64 throughout: numba widens small ints itself, plain numpy keeps a Python int + uint8 in
        # uint8 and wraps above 255 (the NUMBA_DISABLE_JIT twin run)
        out[i] = (g * 2 + label_pos[i]) * 2 + pred_pos[i]


@jit
def _count_outcomes(facet_codes, n_facet, outcomes, n_outcomes):
    """Count table of shape ``(n_facet, n_outcomes)`` from facet codes (-1: last slot) and
    :func:`_outcome_codes`: two arrays read per row instead of four.

    Plain form: ``np.add.at(out, (facet_codes, outcomes), 1)``.
    """
    out = np.zeros((n_facet, n_outcomes), dtype=np.int64)
    _count_outcome_rows(facet_codes, n_facet, outcomes, 0, facet_codes.shape[0], out)
    return out


@jit
def _count_outcome_rows(facet_codes, n_facet, outcomes, start, stop, out):
    """Add rows ``start:stop`` into ``out[facet, outcome]``."""
    for i in range(start, stop):
        f = facet_codes[i]
        if f < 0:
            f = n_facet - 1
        out[f, outcomes[i]] += 1


@jit(parallel=True)
def _count_outcomes_parallel(facet_codes, n_facet, outcomes, n_outcomes):
    """:func:`_count_outcomes` with each chunk of :data:`CHUNK_ROWS` rows counted on its own thread
    into its own slab (as :func:`_count_table`)."""
    n = facet_codes.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    slabs = np.zeros((max(n_chunks, 1), n_facet, n_outcomes), dtype=np.int64)
    for c in prange(n_chunks):
        start = c * CHUNK_ROWS
        _count_outcome_rows(facet_codes, n_facet, outcomes, start, min(n, start + CHUNK_ROWS), slabs[c])
    return slabs.sum(axis=0)


@jit(parallel=True)
def _count_table(facet_codes, n_facet, group_codes, n_group, label_pos, pred_pos):
    """Count table of shape ``(n_facet, n_group, 2, 2)`` over all rows.

    Parameters
    ----------
    facet_codes, group_codes : int64 arrays of shape (n,)
        Codes in ``[0, n_facet)`` and ``[0, n_group)``; -1 (a missing value) counts in the
        last slot.
    label_pos, pred_pos : uint8 arrays of shape (n,)
        1 for a positive (predicted) label, else 0.

    Each chunk of :data:`CHUNK_ROWS` rows counts into its own slab; the slabs are summed at
    the end, so threads never write to the same cell.
    """
    n = facet_codes.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    slabs = np.zeros((max(n_chunks, 1), n_facet, n_group, 2, 2), dtype=np.int64)
    for c in prange(n_chunks):
        start = c * CHUNK_ROWS
        stop = min(n, start + CHUNK_ROWS)
        _count_rows(facet_codes, n_facet, group_codes, n_group, label_pos, pred_pos, start, stop, slabs[c])
    return slabs.sum(axis=0)


@jit
def _interval_mask(values, left, right):
    """``left < values <= right`` as uint8 (missing values are never inside)."""
    n = values.shape[0]
    out = np.empty(n, dtype=np.uint8)
    for i in range(n):  # branch-free: random membership costs no mispredictions (NaN compares False)
        v = values[i]
        out[i] = (v > left) & (v <= right)
    return out


@jit
def _min_max(values):
    """``(values.min(), values.max())`` of a non-empty integer array in one pass."""
    lo = values[0]
    hi = values[0]
    for i in range(1, values.shape[0]):
        v = values[i]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@jit
def _lookup(codes, hit):
    """``hit[codes]`` as uint8 with code -1 (missing) mapped to 0.

    Branch-free gather from ``hit`` shifted by one slot (slot 0 = missing), so random
    positives do not cost branch mispredictions.
    """
    table = np.zeros(hit.shape[0] + 1, dtype=np.uint8)
    for c in range(hit.shape[0]):
        table[c + 1] = 1 if hit[c] else 0
    n = codes.shape[0]
    out = np.empty(n, dtype=np.uint8)
    for i in range(n):
        out[i] = table[codes[i] + 1]
    return out


@jit
def _code_small_ints(values, lo, size):
    """Code integers in ``[lo, lo + size)`` in order of first appearance.

    Returns ``(codes, firsts)``: ``codes[i]`` is the code of row ``i`` and ``firsts[c]`` the
    row where code ``c`` first appears. Plain form: ``pandas.factorize(values, sort=False)``.
    """
    n = values.shape[0]
    slot = np.full(size, -1, dtype=np.int64)
    codes = np.empty(n, dtype=np.int64)
    firsts = np.empty(min(n, size), dtype=np.int64)
    k = 0
    for i in range(n):
        j = values[i] - lo
        c = slot[j]
        if c < 0:
            c = k
            slot[j] = k
            firsts[k] = i
            k += 1
        codes[i] = c
    return codes, firsts[:k]


@jit
def _bin_codes(values, cuts, lo, hi, fraction):
    """Bin of each value between sorted ``cuts`` (a value equal to a cut falls below it; NaN → -1),
    updating each bin's ``lo``/``hi`` (min/max) and ``fraction`` (the first value with a fractional
    part, NaN while none) in place.

    Plain form: ``np.searchsorted(cuts, values, side="left")`` with NaN → -1, then per bin
    ``min``, ``max`` and the first finite value ``!= round(value)``.
    """
    n = values.shape[0]
    codes = np.empty(n, dtype=np.int64)
    m = cuts.shape[0]
    for i in range(n):
        v = values[i]
        if v != v:
            codes[i] = -1
            continue
        a, b = 0, m  # first cut >= v
        while a < b:
            mid = (a + b) // 2
            if cuts[mid] < v:
                a = mid + 1
            else:
                b = mid
        codes[i] = a
        if v < lo[a]:
            lo[a] = v
        if v > hi[a]:
            hi[a] = v
        if fraction[a] != fraction[a] and np.isfinite(v) and v != np.round(v):
            fraction[a] = v
    return codes
