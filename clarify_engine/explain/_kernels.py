"""Numba kernels of Kernel SHAP: synthetic rows, their dedupe, and the background mean.

A block of explained rows ``X[start:stop]`` times the coalitions ``masks`` (C2 of them,
empty and full included by the caller) times the baseline rows ``B`` (K) defines
``V = (stop - start) * C2 * K`` *virtual* synthetic rows, numbered
``v = ((i - start) * C2 + c) * K + k``. Column ``p`` of virtual row ``v`` is

* ``X[i, p]`` when ``p`` is not explained (``colfeat[p] < 0``) or its feature is present
  (``masks[c, colfeat[p]] == 1``),
* ``B[k, p]`` otherwise.

The kernels never materialise the V rows: :func:`_hash_rows` hashes them, :func:`_dedupe`
keeps the first of each set of bit-identical rows, :func:`_write_rows` writes only those
into the request buffer, and :func:`_reduce_mean` averages the model outputs back per
(row, coalition) with the baseline weights. Values are handled as their 64-bit patterns
(arrays viewed as ``uint64``), so "identical" means bit-identical, NaN included.

Plain-numpy twins live in ``tests/explain/naive.py``.
"""

from __future__ import annotations

import numpy as np

from clarify_engine._jit import jit

_MUL = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@jit
def _finalize(h):
    """splitmix64 finaliser: spreads every input bit over the low bits used as table index."""
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


@jit
def _hash_rows(xbits, bbits, colfeat, masks, start, stop, out):
    """Hash every virtual row of explained rows ``start:stop`` into ``out`` (length V).

    ``out[v]`` is a polynomial hash of the row's 64-bit words, finalised with splitmix64.
    Plain form: ``out[v] = hash(tuple(virtual_row(v).view(uint64)))``.
    """
    n_coal = masks.shape[0]
    n_base = bbits.shape[0]
    n_col = xbits.shape[1]
    v = 0
    for i in range(start, stop):
        for c in range(n_coal):
            for k in range(n_base):
                h = np.uint64(0)
                for p in range(n_col):
                    j = colfeat[p]
                    if j < 0 or masks[c, j] != 0:
                        word = xbits[i, p]
                    else:
                        word = bbits[k, p]
                    h = h * _MUL + word
                out[v] = _finalize(h)
                v += 1


@jit
def _same_row(xbits, bbits, colfeat, masks, start, va, vb):
    """True when virtual rows ``va`` and ``vb`` are bit-identical."""
    n_coal = masks.shape[0]
    n_base = bbits.shape[0]
    ia = start + va // (n_coal * n_base)
    ca = (va // n_base) % n_coal
    ka = va % n_base
    ib = start + vb // (n_coal * n_base)
    cb = (vb // n_base) % n_coal
    kb = vb % n_base
    for p in range(xbits.shape[1]):
        j = colfeat[p]
        if j < 0 or masks[ca, j] != 0:
            a = xbits[ia, p]
        else:
            a = bbits[ka, p]
        if j < 0 or masks[cb, j] != 0:
            b = xbits[ib, p]
        else:
            b = bbits[kb, p]
        if a != b:
            return False
    return True


@jit
def _dedupe(hashes, xbits, bbits, colfeat, masks, start, table, inverse, first):
    """Number the distinct virtual rows in order of first appearance.

    Parameters
    ----------
    hashes : uint64 (V,)
        From :func:`_hash_rows`.
    inverse : int64 (V,), output
        ``inverse[v]`` = number of the distinct row equal to virtual row ``v``.
    table : int64, scratch
        Hash table, a power of two of at least ``2 V`` slots; overwritten.
    first : int64 (V,), output
        ``first[u]`` = first virtual row of distinct row ``u`` (entries ``0:U`` are written).

    Returns
    -------
    int
        U, the number of distinct rows.

    Notes
    -----
    Open addressing with linear probing in a table of at least ``2 V`` slots; a hash match is
    confirmed by comparing the rows word by word, so collisions never merge distinct rows.
    Plain form: ``np.unique(rows, axis=0, return_index=True, return_inverse=True)`` with the
    distinct rows renumbered by first appearance.
    """
    n = hashes.shape[0]
    size = table.shape[0]
    slot_mask = np.uint64(size - 1)
    table[:] = -1
    n_unique = 0
    for v in range(n):
        h = hashes[v]
        s = np.int64(h & slot_mask)
        while True:
            u = table[s]
            if u < 0:
                table[s] = n_unique
                first[n_unique] = v
                inverse[v] = n_unique
                n_unique += 1
                break
            w = first[u]
            if hashes[w] == h and _same_row(xbits, bbits, colfeat, masks, start, w, v):
                inverse[v] = u
                break
            s = (s + 1) & np.int64(size - 1)
    return n_unique


@jit
def _write_rows(xbits, bbits, colfeat, masks, start, first, lo, hi, out):
    """Write distinct rows ``lo:hi`` (virtual rows ``first[lo:hi]``) into ``out[lo:hi]``.

    ``out`` is the request buffer viewed as ``uint64``, shape (U, P).
    Plain form: ``out[u] = virtual_row(first[u])``.
    """
    n_coal = masks.shape[0]
    n_base = bbits.shape[0]
    for u in range(lo, hi):
        v = first[u]
        i = start + v // (n_coal * n_base)
        c = (v // n_base) % n_coal
        k = v % n_base
        for p in range(xbits.shape[1]):
            j = colfeat[p]
            if j < 0 or masks[c, j] != 0:
                out[u, p] = xbits[i, p]
            else:
                out[u, p] = bbits[k, p]


@jit
def _reduce_mean(y, inverse, weights, n_coal, lo, hi, out):
    """Background-weighted mean of the model outputs per (row, coalition), rows ``lo:hi``.

    ``out[i, c, d] = sum_k weights[k] * y[inverse[(i*n_coal + c)*K + k], d]`` for block-local
    rows ``i`` in ``lo:hi``; ``out`` has shape (rows, n_coal, D). ``weights`` sum to 1.
    """
    n_base = weights.shape[0]
    n_out = y.shape[1]
    for i in range(lo, hi):
        for c in range(n_coal):
            base = (i * n_coal + c) * n_base
            for d in range(n_out):
                acc = 0.0
                for k in range(n_base):
                    acc += weights[k] * y[inverse[base + k], d]
                out[i, c, d] = acc
