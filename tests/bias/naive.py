"""Slow, obviously correct twins of the bias kernels and metrics, for tests only.

Everything here works row by row on plain Python lists or boolean numpy masks, following the
formulas of contract §3 literally; nothing is shared with the engine.
"""

from __future__ import annotations

import math

import numpy as np


def count_table(facet_codes, n_facet, label_pos, pred_pos, group_codes, n_group, weights=None):
    """Twin of ``_kernels._count_table`` (and of ``_count_table_weighted`` with ``weights``): one
    Python loop, one cell increment per row by 1 or its weight (code -1 counts in the last slot)."""
    out = np.zeros((n_facet, n_group, 2, 2), dtype=np.int64)
    weights = [1] * len(facet_codes) if weights is None else weights
    for f, g, y, p, w in zip(facet_codes, group_codes, label_pos, pred_pos, weights):
        f = n_facet - 1 if f == -1 else int(f)
        g = n_group - 1 if g == -1 else int(g)
        out[f, g, int(y), int(p)] += int(w)
    return out


def code_ints(values):
    """Twin of ``_kernels._code_small_ints``: codes and first rows in order of appearance."""
    seen, codes, firsts = {}, [], []
    for i, v in enumerate(values):
        if v not in seen:
            seen[v] = len(seen)
            firsts.append(i)
        codes.append(seen[v])
    return np.array(codes, dtype=np.int64), np.array(firsts, dtype=np.int64)


def min_max(values):
    """Twin of ``_kernels._min_max``: the smallest and largest value, by one loop."""
    lo = hi = values[0]
    for v in values:
        lo, hi = (v if v < lo else lo), (v if v > hi else hi)
    return lo, hi


def interval_mask(values, left, right):
    """Twin of ``_kernels._interval_mask``."""
    return np.array([1 if (v == v and left < v <= right) else 0 for v in values], dtype=np.uint8)


def lookup(codes, hits):
    """Twin of ``_kernels._lookup``."""
    return np.array([1 if c >= 0 and hits[c] else 0 for c in codes], dtype=np.uint8)


def _div(a, b):
    if b == 0:
        return 0.0 if a == 0 else (math.inf if a > 0 else -math.inf)
    return a / b


def _minus(x, y):
    return 0.0 if x == y == math.inf else x - y


def metrics(d, y, yhat, groups=None):
    """Every count-based metric from boolean row masks; a failing metric maps to ``None``.

    Parameters
    ----------
    d, y, yhat : sequences of bool
        Sensitive rows, positive labels, positive predictions.
    groups : sequence or None
        Group of each row (None = missing group).
    """
    d, y, yhat = (np.asarray(v, dtype=bool) for v in (d, y, yhat))
    a = ~d
    n_a, n_d = int(a.sum()), int(d.sum())
    out = {}

    def cnt(*masks):
        m = np.ones(len(d), dtype=bool)
        for x in masks:
            m &= x
        return int(m.sum())

    both = n_a > 0 and n_d > 0
    out["CI"] = (n_a - n_d) / (n_a + n_d) if both else None
    out["DPL"] = cnt(a, y) / n_a - cnt(d, y) / n_d if both else None
    out["DPPL"] = cnt(a, yhat) / n_a - cnt(d, yhat) / n_d if both else None
    out["DI"] = _div(cnt(d, yhat) / n_d, cnt(a, yhat) / n_a) if both else None

    # label distributions on the common support
    pa = {k: cnt(a, y == k) / n_a for k in (False, True)} if n_a else {}
    pd_ = {k: cnt(d, y == k) / n_d for k in (False, True)} if n_d else {}
    keys = [k for k in (False, True) if pa.get(k, 0) > 0 and pd_.get(k, 0) > 0]
    if keys:
        A = [pa[k] for k in keys]
        D = [pd_[k] for k in keys]
        M = [(x + z) / 2 for x, z in zip(A, D)]
        out["KL"] = sum(x * math.log(x / z) for x, z in zip(A, D))
        out["JS"] = 0.5 * (sum(x * math.log(x / m) for x, m in zip(A, M)) + sum(z * math.log(z / m) for z, m in zip(D, M)))
        out["LP"] = math.sqrt(sum((x - z) ** 2 for x, z in zip(A, D)))
        out["TVD"] = 0.5 * sum(abs(x - z) for x, z in zip(A, D))
        out["KS"] = max(abs(x - z) for x, z in zip(A, D))
    else:
        for k in ("KL", "JS", "LP", "TVD", "KS"):
            out[k] = None

    tp = {s: cnt(m, y, yhat) for s, m in (("a", a), ("d", d))}
    fp = {s: cnt(m, ~y, yhat) for s, m in (("a", a), ("d", d))}
    fn = {s: cnt(m, y, ~yhat) for s, m in (("a", a), ("d", d))}
    tn = {s: cnt(m, ~y, ~yhat) for s, m in (("a", a), ("d", d))}
    if both:
        out["DCA"] = _minus(_div(tp["a"] + fn["a"], tp["a"] + fp["a"]), _div(tp["d"] + fn["d"], tp["d"] + fp["d"]))
        out["DCR"] = _minus(_div(tn["d"] + fp["d"], tn["d"] + fn["d"]), _div(tn["a"] + fp["a"], tn["a"] + fn["a"]))
        out["RD"] = _div(tp["a"], tp["a"] + fn["a"]) - _div(tp["d"], tp["d"] + fn["d"])
        out["SD"] = _div(tn["d"], tn["d"] + fp["d"]) - _div(tn["a"], tn["a"] + fp["a"])
        out["DAR"] = _div(tp["a"], tp["a"] + fp["a"]) - _div(tp["d"], tp["d"] + fp["d"])
        out["DRR"] = _div(tn["d"], tn["d"] + fn["d"]) - _div(tn["a"], tn["a"] + fn["a"])
        out["AD"] = (tp["a"] + tn["a"]) / n_a - (tp["d"] + tn["d"]) / n_d
        out["TE"] = _minus(_div(fn["d"], fp["d"]), _div(fn["a"], fp["a"]))
    else:
        for k in ("DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE"):
            out[k] = None

    for name, lab in (("CDDL", y), ("CDDPL", yhat)):
        if groups is None or lab.all() or not lab.any():
            out[name] = None
            continue
        num = den = 0.0
        for g in {x for x in groups if x is not None}:
            in_g = np.array([x == g for x in groups])
            share_neg = _div(cnt(d, ~lab, in_g), cnt(~lab, in_g)) if cnt(~lab, in_g) else 0.0
            share_pos = _div(cnt(d, lab, in_g), cnt(lab, in_g)) if cnt(lab, in_g) else 0.0
            num += int(in_g.sum()) * (share_neg - share_pos)
            den += int(in_g.sum())
        out[name] = _div(num, den)

    benefit = yhat.astype(int) - y.astype(int) + 1
    mu = benefit.mean() if len(benefit) else 0
    out["GE"] = float(sum((b / mu) ** 2 - 1 for b in benefit) / (len(benefit) * 2)) if mu else None
    return out


def interval_bits(values, intervals, n_listed):
    """Twin of ``_segment_kernels._interval_bits``: the segment bits of each value, row by row.

    ``intervals`` lists ``(left, right, left_closed, right_closed, segment)``; a value in no
    interval gets the bit ``n_listed`` (``__default__``); NaN is in no interval.
    """
    out = []
    for v in values:
        bits = 0
        for left, right, left_closed, right_closed, segment in intervals:
            above = v >= left if left_closed else v > left
            below = v <= right if right_closed else v < right
            if above and below:
                bits |= 1 << segment
        out.append(bits or 1 << n_listed)
    return out


def bin_codes(values, cuts, lo, hi, fraction):
    """Twin of ``_kernels._bin_codes``: bin by counting the cuts below each value; per bin
    min, max and first fractional value updated in place."""
    codes = []
    for v in values:
        if math.isnan(v):
            codes.append(-1)
            continue
        b = sum(1 for c in cuts if c < v)
        codes.append(b)
        lo[b] = min(lo[b], v)
        hi[b] = max(hi[b], v)
        if math.isnan(fraction[b]) and math.isfinite(v) and v != round(v):
            fraction[b] = v
    return np.array(codes, dtype=np.int64)


def merge_best(best_d, best_y, dist, labels):
    """Twin of ``_knn._merge_best``: per row, the kept entries then the new ones, stably sorted by
    distance, cut at the kept list's width."""
    keep = np.shape(best_d)[1]
    out_d, out_y = [], []
    for kd, ky, nd, ny in zip(best_d, best_y, dist, labels):
        pairs = sorted(zip(list(kd) + list(nd), list(ky) + list(ny)), key=lambda p: p[0])[:keep]
        out_d.append([d for d, _ in pairs])
        out_y.append([y for _, y in pairs])
    return np.array(out_d, dtype=np.float64).reshape(len(best_d), keep), np.array(out_y, dtype=bool).reshape(
        len(best_d), keep)
