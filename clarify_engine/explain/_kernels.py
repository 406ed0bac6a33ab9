"""Numba kernels of Kernel SHAP: synthetic rows, their dedupe, and the background mean.

A block of explained rows ``X[start:stop]`` times the coalitions ``masks`` (C2 of them,
empty and full included by the caller) times the baseline rows ``B`` (K) defines
``V = (stop - start) * C2 * K`` *virtual* synthetic rows, numbered
``v = ((i - start) * C2 + c) * K + k``. Column ``p`` of virtual row ``v`` is

* ``X[i, p]`` when ``p`` is not explained or its feature is present in coalition ``c``,
* ``B[k, p]`` otherwise.

:func:`_build_block` writes only the first of each set of bit-identical virtual rows *of one
explained row* into the request buffer, and :func:`_reduce_mean` averages the model outputs back
per (row, coalition) with the baseline weights. Values are handled as their 64-bit patterns
(arrays viewed as ``uint64``), so "identical" means bit-identical, NaN included, and ``0.0``
differs from ``-0.0``.

How rows are told apart without comparing them. For explained row ``x``, baseline row ``b_k``
and coalition ``S``, let ``diff_k`` be the explained features where ``x`` and ``b_k`` differ
and ``A = diff_k & ~S`` the *effective absent set*: the features that really take ``b_k``'s
value. The row is ``x`` outside ``A`` and ``b_k`` on ``A``, and ``x`` differs from ``b_k`` on
every feature of ``A``; so two virtual rows ``(S, k)`` and ``(S', k')`` of the same ``x`` are
identical exactly when ``A == A'`` and ``b_k`` and ``b_k'`` agree on ``A``, that is when
``A`` lies inside ``eq[k, k']``, the explained features where the two baseline rows agree.
Agreement on a set is an equivalence relation, so each row has a canonical baseline row
``k*`` (the first ``k'`` whose ``eq[k, k']`` covers ``A``) and the key ``(A, k*)`` names the
row exactly. Sets are bitmasks, ``W = ceil(M / 64)`` uint64 words.

* When ``x`` differs from every baseline row on every explained feature (the usual case with
  numeric data) ``A = ~S``: different coalitions never collide, and the only duplicates are
  the rows of the same coalition whose ``k* < k`` (for instance the full coalition, ``x``
  itself, once per baseline row). No table is needed. When moreover the baseline rows differ
  from each other on every explained feature, ``k* = k`` except for the full coalition, and
  the kernel runs a loop that only writes rows (about 3 ns per row less than the general one).
* Otherwise the keys go into a small open-addressing table private to ``x`` (2 C2 K slots,
  cache resident), stamped per row so it is never cleared.

The coalitions must be distinct (the plan's are). A row that is kept is written in one
branch-free pass, ``out[p] = colsel[c, p] ? x[p] : t_k[p]`` with ``t_k`` the empty coalition's
row for baseline row ``k``. Measured on the 2-core test machine (blocks of 100,000 rows): 4.5 ns
per row at P = 10, 6 ns at P = 20, 10.5 ns at P = 50 in the write-only loops; the general loop
adds about 3 ns (keys, canonical baseline row). The rest is the write into the request buffer,
which does not fit in cache (memory bound). In the general loop, writing a copy of ``x`` and
then overwriting the fewer of the present or absent columns measured 9.3 / 11.9 / 16.7 ns
against 7.5 / 9.3 / 13 ns for the select.

Plain-numpy twins live in ``tests/explain/naive.py``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from clarify_engine._jit import jit

#: The arrays of a :class:`BlockPlan` that :func:`_build_block` reads (a namedtuple of arrays
#: is one numba argument).
PlanArrays = namedtuple("PlanArrays", "cols present valid eq part_ptr part_k colsel")

#: The hash table scratch of :func:`_build_block`: ``keys`` uint64 (T, W), ``kstar``,
#: ``slot_row``, ``stamp`` int64 (T,), ``state`` int64 (1,) (see :func:`_build_block`).
Scratch = namedtuple("Scratch", "keys kstar slot_row stamp state")

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


def pack_sets(flags):
    """Boolean sets (..., M) as little-endian uint64 bitmasks (..., ceil(M / 64)).

    Bit ``j % 64`` of word ``j // 64`` is set when ``flags[..., j]`` is true.
    """
    flags = np.asarray(flags, dtype=bool)
    m = flags.shape[-1]
    n_words = max(1, -(-m // 64))
    padded = np.zeros(flags.shape[:-1] + (64 * n_words,), dtype=bool)
    padded[..., :m] = flags
    packed = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


class BlockPlan:
    """What :func:`_build_block` needs that depends only on the coalitions and the baseline.

    Parameters
    ----------
    masks : uint8 (C2, M)
        Coalitions (present = 1), empty and full included.
    baseline : float64 (K, P)
    cols : int64 (M,)
        Column of each explained feature.

    Attributes
    ----------
    present : uint64 (C2, W)
        Coalitions as bitmasks.
    eq : uint64 (K, K, W)
        Explained features where two baseline rows are bit-identical.
    part_ptr, part_k : int64
        For each baseline row ``k``, the rows ``k' < k`` that agree with it on at least one
        explained feature (``part_k[part_ptr[k]:part_ptr[k+1]]``, ascending). Other earlier
        rows can share a synthetic row with ``k`` only when ``A`` is empty.
    colsel : uint8 (C2, P)
        1 where a synthetic row of coalition ``c`` takes column ``p`` from the explained row
        (column not explained, or its feature present), 0 where it takes the baseline row's.
    """

    def __init__(self, masks, baseline, cols):
        masks = np.ascontiguousarray(masks, dtype=np.uint8)
        self.cols = np.ascontiguousarray(cols, dtype=np.int64)
        m = self.cols.shape[0]
        self.present = pack_sets(masks != 0)
        bb = baseline.view(np.uint64)[:, self.cols]  # (K, M)
        same = bb[:, None, :] == bb[None, :, :]
        self.eq = pack_sets(same)
        n_base = baseline.shape[0]
        touching = same.any(axis=2)
        ptr, part = [0], []
        for k in range(n_base):
            part.extend(int(q) for q in np.flatnonzero(touching[k, :k]))
            ptr.append(len(part))
        self.part_ptr = np.array(ptr, dtype=np.int64)
        self.part_k = np.array(part, dtype=np.int64)
        takes_x = np.ones((masks.shape[0], baseline.shape[1]), dtype=bool)
        takes_x[:, self.cols] = masks != 0
        self.colsel = takes_x.astype(np.uint8)
        self.valid = pack_sets(np.ones(m, dtype=bool))  # (W,): the M feature bits

    @property
    def arrays(self) -> PlanArrays:
        """The plan's arrays as :func:`_build_block` takes them."""
        return PlanArrays(self.cols, self.present, self.valid, self.eq, self.part_ptr, self.part_k, self.colsel)


@jit
def _build_block(plan, xbits, bbits, skip_empty, start, stop, scratch, inverse, out):
    """Write the distinct virtual rows of explained rows ``start:stop`` into ``out``.

    Distinct means distinct within one explained row: each row's virtual rows are deduplicated
    by their keys (module docstring); rows of different explained rows are not compared.
    Distinct rows are numbered in order of first appearance.

    Parameters
    ----------
    plan : PlanArrays
        ``cols, present, valid, eq, part_ptr, part_k, colsel``: the fields of :class:`BlockPlan`.
    xbits, bbits : uint64 (n, P), (K, P)
        Explained rows and baseline rows viewed as 64-bit words.
    skip_empty : bool
        The rows of coalition 0 (the empty one) are the baseline rows themselves (every column
        explained): they are not written, and they and every virtual row identical to them get
        ``inverse = -1 - k`` (baseline row ``k``, whose output the caller already has).
    scratch : Scratch
        ``keys`` uint64 (T, W), ``kstar``, ``slot_row``, ``stamp`` int64 (T,): the hash table,
        ``T`` a power of two of at least ``2 C2 K`` slots. ``stamp`` must start below
        ``state[0]`` (e.g. all -1 with ``state[0] = 0``) and is never cleared. ``state`` int64
        (1,): the stamp counter, advanced once per explained row that needs the table.
    inverse : int64 (V,), output
        Distinct row of each virtual row (or ``-1 - k``, see ``skip_empty``).
    out : uint64 (V, P), output
        Request buffer; rows ``0:U`` are written.

    Returns
    -------
    int
        U, the number of distinct rows written.
    """
    cols, present, valid, eq = plan.cols, plan.present, plan.valid, plan.eq
    part_ptr, part_k, colsel = plan.part_ptr, plan.part_k, plan.colsel
    keys, kstar, slot_row, stamp, state = scratch.keys, scratch.kstar, scratch.slot_row, scratch.stamp, scratch.state
    n_coal = present.shape[0]
    n_words = present.shape[1]
    n_base = bbits.shape[0]
    n_col = xbits.shape[1]
    n_feat = cols.shape[0]
    tmask = np.int64(keys.shape[0] - 1)
    diff = np.empty((n_base, n_words), dtype=np.uint64)
    tmpl = np.empty((n_base, n_col), dtype=np.uint64)  # the empty coalition's row, per k
    a = np.empty(n_words, dtype=np.uint64)
    one = np.uint64(1)
    no_partners = part_k.shape[0] == 0
    is_full = np.ones(n_coal, dtype=np.bool_)  # coalitions with every feature present
    for c in range(n_coal):
        for w in range(n_words):
            if present[c, w] != valid[w]:
                is_full[c] = False
    n_unique = 0
    v = 0
    for i in range(start, stop):
        simple = True
        for k in range(n_base):
            for p in range(n_col):
                tmpl[k, p] = xbits[i, p]
            for w in range(n_words):
                diff[k, w] = 0
            for j in range(n_feat):
                p = cols[j]
                b = bbits[k, p]
                tmpl[k, p] = b
                if b != xbits[i, p]:
                    diff[k, j >> 6] |= one << np.uint64(j & 63)
            for w in range(n_words):
                if diff[k, w] != valid[w]:
                    simple = False
        gen = state[0]
        if not simple:
            state[0] = gen + 1
        elif n_base == 1:
            # Every feature differs from the one baseline row: every coalition gives a new row
            # (A = ~S). No key is needed; the loop only writes rows.
            for c in range(n_coal):
                if skip_empty and c == 0:
                    inverse[v] = -1
                else:
                    u = n_unique
                    for p in range(n_col):
                        sel = np.uint64(0) - np.uint64(colsel[c, p])
                        out[u, p] = (xbits[i, p] & sel) | (tmpl[0, p] & ~sel)
                    inverse[v] = u
                    n_unique += 1
                v += 1
            continue
        elif no_partners:
            # The same with baseline rows that differ from each other on every feature: rows are
            # distinct except the full coalition's (x itself, once per baseline row).
            for c in range(n_coal):
                for k in range(n_base):
                    if skip_empty and c == 0:
                        inverse[v] = -1 - k
                    elif k > 0 and is_full[c]:
                        inverse[v] = inverse[v - k]
                    else:
                        u = n_unique
                        for p in range(n_col):
                            sel = np.uint64(0) - np.uint64(colsel[c, p])
                            out[u, p] = (xbits[i, p] & sel) | (tmpl[k, p] & ~sel)
                        inverse[v] = u
                        n_unique += 1
                    v += 1
            continue
        for c in range(n_coal):
            for k in range(n_base):
                empty_a = True
                for w in range(n_words):
                    a[w] = ~present[c, w] & diff[k, w]
                    if a[w] != 0:
                        empty_a = False
                ks = k
                if empty_a:
                    ks = 0
                else:
                    for q in range(part_ptr[k], part_ptr[k + 1]):
                        kp = part_k[q]
                        inside = True
                        for w in range(n_words):
                            if a[w] & ~eq[k, kp, w] != 0:
                                inside = False
                                break
                        if inside:
                            ks = kp
                            break
                if simple:
                    if ks != k:
                        inverse[v] = inverse[v - (k - ks)]
                        v += 1
                        continue
                    if skip_empty and c == 0:
                        inverse[v] = -1 - k
                        v += 1
                        continue
                else:
                    h = np.uint64(ks) * _MUL
                    for w in range(n_words):
                        h = _finalize(h ^ a[w])
                    s = np.int64(h & np.uint64(tmask))
                    found = -1
                    hit = False
                    while stamp[s] == gen:
                        if kstar[s] == ks:
                            same = True
                            for w in range(n_words):
                                if keys[s, w] != a[w]:
                                    same = False
                                    break
                            if same:
                                found = slot_row[s]
                                hit = True
                                break
                        s = (s + 1) & tmask
                    if hit:
                        inverse[v] = found
                        v += 1
                        continue
                    stamp[s] = gen
                    kstar[s] = ks
                    for w in range(n_words):
                        keys[s, w] = a[w]
                    if skip_empty and c == 0:
                        slot_row[s] = -1 - k
                        inverse[v] = -1 - k
                        v += 1
                        continue
                    slot_row[s] = n_unique
                u = n_unique  # a new row: one branch-free select pass from x and the template
                for p in range(n_col):
                    sel = np.uint64(0) - np.uint64(colsel[c, p])
                    out[u, p] = (xbits[i, p] & sel) | (tmpl[k, p] & ~sel)
                inverse[v] = u
                n_unique += 1
                v += 1
    return n_unique


@jit
def _reduce_mean(y, yb, inverse, weights, n_coal, lo, hi, out):
    """Background-weighted mean of the model outputs per (row, coalition), rows ``lo:hi``.

    ``out[i, c, d] = sum_k weights[k] * Y[inverse[(i*n_coal + c)*K + k], d]`` for block-local
    rows ``i`` in ``lo:hi``, where ``Y[u] = y[u]`` for ``u >= 0`` and ``Y[-1 - k] = yb[k]`` (the
    baseline rows' outputs); ``out`` has shape (rows, n_coal, D). ``weights`` sum to 1.
    """
    n_base = weights.shape[0]
    n_out = y.shape[1]
    for i in range(lo, hi):
        for c in range(n_coal):
            base = (i * n_coal + c) * n_base
            for d in range(n_out):
                acc = 0.0
                for k in range(n_base):
                    u = inverse[base + k]
                    if u >= 0:
                        acc += weights[k] * y[u, d]
                    else:
                        acc += weights[k] * yb[-1 - u, d]
                out[i, c, d] = acc
