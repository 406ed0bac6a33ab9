"""Numba kernels of Kernel SHAP: synthetic rows, their dedupe, and the background mean.

A block of explained rows ``X[start:stop]`` times the coalitions ``masks`` (C2 of them,
empty and full included by the caller) times the baseline rows ``B`` (K) defines
``V = (stop - start) * C2 * K`` *virtual* synthetic rows, numbered
``v = ((i - start) * C2 + c) * K + k``. Column ``p`` of virtual row ``v`` is

* ``X[i, p]`` when ``p`` is not explained (``colfeat[p] < 0``) or its feature is present
  (``masks[c, colfeat[p]] == 1``),
* ``B[k, p]`` otherwise.

:func:`_build_block` writes only the first of each set of bit-identical virtual rows into
the request buffer (one pass: write, hash, probe), and :func:`_reduce_mean` averages the
model outputs back per (row, coalition) with the baseline weights. Values are handled as
their 64-bit patterns (arrays viewed as ``uint64``), so "identical" means bit-identical,
NaN included.

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
def _build_block(xbits, bbits, colfeat, masks, start, stop, table, row_hash, inverse, out):
    """Write the distinct virtual rows of explained rows ``start:stop`` into ``out``.

    One pass over the virtual rows ``v``: row ``v`` is written into ``out[U]`` (``U`` = distinct
    rows so far) while its hash is computed; if an earlier distinct row ``u`` has the same hash
    and the same words, ``inverse[v] = u`` and the slot is reused by the next row, otherwise
    ``inverse[v] = U`` and ``U`` grows. The source values are read once and every distinct row is
    written once, straight into the request buffer.

    Parameters
    ----------
    xbits, bbits : uint64 (n, P), (K, P)
        Explained rows and baseline rows viewed as 64-bit words.
    colfeat : int64 (P,)
        Explained feature of each column, -1 when the column is not explained.
    masks : uint8 (C2, M)
        Coalitions (present = 1), empty and full included by the caller.
    table : int64, scratch
        Hash table, a power of two of at least ``2 V`` slots; overwritten.
    row_hash : uint64 (V,), scratch
        Hash of each distinct row.
    inverse : int64 (V,), output
        Distinct row of each virtual row.
    out : uint64 (V, P), output
        Request buffer; rows ``0:U`` are written.

    Returns
    -------
    int
        U, the number of distinct rows.

    Notes
    -----
    Hash: the sum over columns of ``mix(word + p * 0x9E3779B97F4A7C15)`` (``mix`` = splitmix64
    finaliser), finalised once more; linear probing. Being a sum, it is computed per
    (row, baseline row) for the empty coalition plus one precomputed difference per present
    feature: ``M`` additions per synthetic row instead of ``P`` dependent multiplies. A hash
    match is confirmed word by word, so collisions never merge distinct rows. Plain form: ``np.unique(rows, axis=0, return_index=True,
    return_inverse=True)`` on the bit patterns, distinct rows renumbered by first appearance.
    """
    n_coal = masks.shape[0]
    n_base = bbits.shape[0]
    n_col = xbits.shape[1]
    n_feat = masks.shape[1]
    size = table.shape[0]
    slot_mask = np.uint64(size - 1)
    table[:] = -1
    cols = np.empty(n_feat, dtype=np.int64)  # column of each explained feature
    for p in range(n_col):
        if colfeat[p] >= 0:
            cols[colfeat[p]] = p
    base = np.empty(n_base, dtype=np.uint64)  # hash of the empty-coalition row, per k
    delta = np.empty((n_base, n_feat), dtype=np.uint64)  # change when feature j turns present
    n_unique = 0
    v = 0
    for i in range(start, stop):
        for k in range(n_base):
            h = np.uint64(0)
            for p in range(n_col):
                if colfeat[p] < 0:
                    h += _finalize(xbits[i, p] + np.uint64(p) * _MUL)
                else:
                    h += _finalize(bbits[k, p] + np.uint64(p) * _MUL)
            base[k] = h
            for j in range(n_feat):
                p = cols[j]
                salt = np.uint64(p) * _MUL
                delta[k, j] = _finalize(xbits[i, p] + salt) - _finalize(bbits[k, p] + salt)
        for c in range(n_coal):
            for k in range(n_base):
                h = base[k]
                for j in range(n_feat):
                    if masks[c, j] != 0:
                        h += delta[k, j]
                for p in range(n_col):
                    j = colfeat[p]
                    if j < 0 or masks[c, j] != 0:
                        out[n_unique, p] = xbits[i, p]
                    else:
                        out[n_unique, p] = bbits[k, p]
                h = _finalize(h)
                s = np.int64(h & slot_mask)
                while True:
                    u = table[s]
                    if u < 0:
                        table[s] = n_unique
                        row_hash[n_unique] = h
                        inverse[v] = n_unique
                        n_unique += 1
                        break
                    if row_hash[u] == h:
                        same = True
                        for p in range(n_col):
                            if out[u, p] != out[n_unique, p]:
                                same = False
                                break
                        if same:
                            inverse[v] = u
                            break
                    s = (s + 1) & np.int64(size - 1)
                v += 1
    return n_unique


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
