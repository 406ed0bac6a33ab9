"""The count metrics on a stack of count tables at once, for bootstrap replicates.

Each function takes ``d`` and ``a`` of shape ``(B, n_group, 2, 2)`` (``[replicate, group,
label, predicted label]``, as :class:`~clarify_engine.bias.FacetCounts` holds one table) and
returns ``B`` values: the metric of :mod:`clarify_engine.bias._metrics` on each table, NaN
where that function raises (an empty group, no positive label...), ±inf where it returns
±inf. ``tests/bias/test_batch_metrics.py`` compares every function with its scalar twin on
random tables (hypothesis), edge cases included.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BATCH_METRICS"]

NEG, POS = 0, 1


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x / y`` with 0/0 = 0 and x/0 = ±inf (``divide`` of the scalar metrics)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x / y
    zero = y == 0
    out[zero] = np.where(x[zero] == 0, 0.0, np.where(x[zero] < 0, -np.inf, np.inf))
    return out


def _diff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x - y``, except that two +inf give 0."""
    with np.errstate(invalid="ignore"):
        out = x - y
    out[(x == np.inf) & (y == np.inf)] = 0.0
    return out


def _sizes(d, a):
    return d.sum(axis=(1, 2, 3)), a.sum(axis=(1, 2, 3))


def _fail(values: np.ndarray, failed: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float).copy()
    values[failed] = np.nan
    return values


def CI(d, a, has_groups):
    n_d, n_a = _sizes(d, a)
    return _fail(_div(n_a - n_d, n_a + n_d), (n_a == 0) | (n_d == 0))


def _dpl(d, a, axis):
    n_d, n_a = _sizes(d, a)
    # axis 0: positives by observed label (sum over predictions); 1: by predicted label
    pos_a = a.sum(axis=1).sum(axis=2 - axis)[:, POS]
    pos_d = d.sum(axis=1).sum(axis=2 - axis)[:, POS]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = pos_a / n_a - pos_d / n_d
    return _fail(value, (n_a == 0) | (n_d == 0))


def DPL(d, a, has_groups):
    return _dpl(d, a, 0)


def DPPL(d, a, has_groups):
    return _dpl(d, a, 1)


def _pdfs(d, a):
    """Label distributions on the common support (``keep``), zero elsewhere; ``none`` = no common value."""
    la = a.sum(axis=(1, 3)).astype(float)  # [B, label]
    ld = d.sum(axis=(1, 3)).astype(float)
    keep = (la > 0) & (ld > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a = np.where(keep, la / la.sum(axis=1, keepdims=True), 0.0)
        p_d = np.where(keep, ld / ld.sum(axis=1, keepdims=True), 0.0)
    return p_a, p_d, keep, ~keep.any(axis=1)


def KL(d, a, has_groups):
    p_a, p_d, keep, none = _pdfs(d, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(keep, p_a * np.log(p_a / p_d), 0.0)
    return _fail(terms.sum(axis=1), none)


def JS(d, a, has_groups):
    p_a, p_d, keep, none = _pdfs(d, a)
    p = 0.5 * (p_a + p_d)
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = np.where(keep, p_a * np.log(p_a / p), 0.0).sum(axis=1)
        td = np.where(keep, p_d * np.log(p_d / p), 0.0).sum(axis=1)
    return _fail(0.5 * (ta + td), none)


def LP(d, a, has_groups):
    p_a, p_d, _, none = _pdfs(d, a)
    return _fail(np.sqrt(((p_a - p_d) ** 2).sum(axis=1)), none)


def TVD(d, a, has_groups):
    p_a, p_d, _, none = _pdfs(d, a)
    return _fail(0.5 * np.abs(p_a - p_d).sum(axis=1), none)


def KS(d, a, has_groups):
    p_a, p_d, _, none = _pdfs(d, a)
    return _fail(np.abs(p_a - p_d).max(axis=1), none)


def DI(d, a, has_groups):
    n_d, n_a = _sizes(d, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_a = a.sum(axis=1)[:, :, POS].sum(axis=1) / n_a
        q_d = d.sum(axis=1)[:, :, POS].sum(axis=1) / n_d
    return _fail(_div(q_d, q_a), (n_a == 0) | (n_d == 0))


def _confusion(side):
    """TP, FP, FN, TN of ``side`` (B, 2, 2)."""
    return side[:, POS, POS], side[:, NEG, POS], side[:, POS, NEG], side[:, NEG, NEG]


def _sides(d, a):
    n_d, n_a = _sizes(d, a)
    return _confusion(a.sum(axis=1)), _confusion(d.sum(axis=1)), (n_a == 0) | (n_d == 0)


def _conditional(d, a):
    (tp_a, fp_a, fn_a, tn_a), (tp_d, fp_d, fn_d, tn_d), failed = _sides(d, a)
    c_a, c_d = _div(tp_a + fn_a, tp_a + fp_a), _div(tp_d + fn_d, tp_d + fp_d)
    r_a, r_d = _div(fp_a + tn_a, fn_a + tn_a), _div(fp_d + tn_d, fn_d + tn_d)
    return c_a, c_d, r_a, r_d, failed


def DCA(d, a, has_groups):
    c_a, c_d, _, _, failed = _conditional(d, a)
    return _fail(_diff(c_a, c_d), failed)


def DCR(d, a, has_groups):
    _, _, r_a, r_d, failed = _conditional(d, a)
    return _fail(_diff(r_d, r_a), failed)


def RD(d, a, has_groups):
    (tp_a, _, fn_a, _), (tp_d, _, fn_d, _), failed = _sides(d, a)
    return _fail(_diff(_div(tp_a, tp_a + fn_a), _div(tp_d, tp_d + fn_d)), failed)


def SD(d, a, has_groups):
    (_, fp_a, _, tn_a), (_, fp_d, _, tn_d), failed = _sides(d, a)
    return _fail(_diff(_div(tn_d, tn_d + fp_d), _div(tn_a, tn_a + fp_a)), failed)


def DAR(d, a, has_groups):
    (tp_a, fp_a, _, _), (tp_d, fp_d, _, _), failed = _sides(d, a)
    return _fail(_diff(_div(tp_a, tp_a + fp_a), _div(tp_d, tp_d + fp_d)), failed)


def DRR(d, a, has_groups):
    (_, _, fn_a, tn_a), (_, _, fn_d, tn_d), failed = _sides(d, a)
    return _fail(_diff(_div(tn_d, tn_d + fn_d), _div(tn_a, tn_a + fn_a)), failed)


def AD(d, a, has_groups):
    (tp_a, fp_a, fn_a, tn_a), (tp_d, fp_d, fn_d, tn_d), failed = _sides(d, a)
    acc_a = _div(tp_a + tn_a, tp_a + tn_a + fp_a + fn_a)
    acc_d = _div(tp_d + tn_d, tp_d + tn_d + fp_d + fn_d)
    return _fail(_diff(acc_a, acc_d), failed)


def TE(d, a, has_groups):
    (_, fp_a, fn_a, _), (_, fp_d, fn_d, _), failed = _sides(d, a)
    return _fail(_diff(_div(fn_d, fp_d), _div(fn_a, fp_a)), failed)


def GE(d, a, has_groups):
    s = a.sum(axis=1) + d.sum(axis=1)
    n = s.sum(axis=(1, 2)).astype(float)
    n0 = s[:, POS, NEG].astype(float)
    n2 = s[:, NEG, POS].astype(float)
    n1 = n - n0 - n2
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = (n1 + 2 * n2) / n
        total = n0 * (0.0 - 1) + n1 * ((1 / mu) ** 2 - 1) + n2 * ((2 / mu) ** 2 - 1)
        value = total / (n * 2 * 1)
    return _fail(value, (n == 0) | (mu == 0))


def _cdd(d, a, has_groups, axis):
    if not has_groups:
        return np.full(d.shape[0], np.nan)
    ax = 3 if axis == "label" else 2  # sum over the other of (label, predicted label)
    dg = d.sum(axis=ax)  # [B, group, outcome]
    total = dg + a.sum(axis=ax)
    failed = (total[:, :, POS].sum(axis=1) == 0) | (total[:, :, NEG].sum(axis=1) == 0)
    dg, total = dg[:, :-1], total[:, :-1]
    n_i = total.sum(axis=2).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        neg = np.where(total[:, :, NEG] > 0, dg[:, :, NEG] / total[:, :, NEG], 0.0)
        pos = np.where(total[:, :, POS] > 0, dg[:, :, POS] / total[:, :, POS], 0.0)
    acc = (n_i * (neg - pos)).sum(axis=1)
    return _fail(_div(acc, n_i.sum(axis=1)), failed)


def CDDL(d, a, has_groups):
    return _cdd(d, a, has_groups, "label")


def CDDPL(d, a, has_groups):
    return _cdd(d, a, has_groups, "pred")


#: Batch twin of every count metric, by name (FT reads rows and has none).
BATCH_METRICS = {f.__name__: f for f in (CI, DPL, KL, JS, LP, TVD, KS, CDDL, DPPL, DI, DCA, DCR, RD, SD, DAR, DRR,
                                         AD, TE, GE, CDDPL)}
