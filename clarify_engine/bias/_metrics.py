"""Clarify bias metrics as short pure functions of a :class:`FacetCounts`.

Each function is named by its Clarify abbreviation; the first line of its docstring is the
exact ``description`` string Clarify reports (spelling quirks included: "Kullback-Liebler"),
the same as its row in the catalogue (``bias/_registry.py``; a test pins the two equal).
A metric that cannot be computed raises :class:`~clarify_engine.errors.MetricError` with the
message Clarify puts in the report's ``error`` field. FT needs the feature rows, not only
counts, and lives in :mod:`clarify_engine.bias._flip`.

Notation: ``d`` = sensitive facet rows, ``a`` = the rest; ``n¹``/``n⁰`` observed positives/
negatives, ``n̂¹``/``n̂⁰`` predicted positives/negatives. Division follows Clarify: 0/0 = 0 and
x/0 = ±inf.

Notes
-----
Formulas: Clarify developer guide, "Pre-training bias metrics" and "Post-training data and
model bias metrics"; behaviours at the edges match smclarify 0.5 (contract §3.4).
"""

from __future__ import annotations

import math

import numpy as np

from clarify_engine.bias._table import NEG, POS, FacetCounts
from clarify_engine.errors import MetricError

__all__ = [
    "CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD",
    "AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE",
    "divide",
]  # fmt: skip

INF = math.inf


def divide(a, b) -> float:
    """``a / b`` with 0/0 = 0 and x/0 = ±inf (sign of ``x``)."""
    if b == 0:
        if a == 0:
            return 0.0
        return -INF if a < 0 else INF
    return a / b


def _require_sides(t: FacetCounts, tag: str, d_first: bool = True) -> None:
    checks = [(t.n_d, f"{tag}Facet set is empty"), (t.n_a, f"{tag}Negated Facet set is empty")]
    for n, message in checks if d_first else checks[::-1]:
        if n == 0:
            raise MetricError(message)


def _diff(x: float, y: float) -> float:
    """``x - y``, except that two +inf give 0 (Clarify's rule for ratio differences)."""
    if x == y == INF:
        return 0.0
    return float(x - y)


# ------------------------------------------------------------------ pre-training


def CI(t: FacetCounts) -> float:
    """Class Imbalance (CI)

    CI = (n_a - n_d) / (n_a + n_d).
    """
    n_a, n_d = t.n_a, t.n_d
    if n_a == 0:
        raise MetricError("CI: negated facet set is empty. Check that x[~facet] has non-zero length.")
    if n_d == 0:
        raise MetricError("CI: facet set is empty. Check that x[facet] has non-zero length.")
    return float(n_a - n_d) / (n_a + n_d)


def _dpl(t: FacetCounts, axis: int) -> float:
    """q_a - q_d with q = positives / n over the label (axis 0) or predicted label (axis 1)."""
    n_a, n_d = t.n_a, t.n_d
    if n_a == 0:
        raise MetricError("Negative facet set is empty.")
    if n_d == 0:
        raise MetricError("Facet set is empty.")
    pos_a = int(t.side("a").sum(axis=1 - axis)[POS])
    pos_d = int(t.side("d").sum(axis=1 - axis)[POS])
    return pos_a / n_a - pos_d / n_d


def DPL(t: FacetCounts) -> float:
    """Difference in Positive Proportions in Labels (DPL)

    DPL = n_a¹/n_a - n_d¹/n_d.
    """
    return _dpl(t, 0)


def _label_pdfs(t: FacetCounts) -> tuple[np.ndarray, np.ndarray]:
    """Binarised label distributions of ``a`` and ``d`` on their common support.

    Only label values with non-zero probability in both groups are kept (in the order
    negative, positive), without renormalising.
    """
    a = t.side("a").sum(axis=1)  # [neg, pos]
    d = t.side("d").sum(axis=1)
    n_a, n_d = int(a.sum()), int(d.sum())
    keep = [k for k in (NEG, POS) if a[k] > 0 and d[k] > 0]
    if not keep:
        raise MetricError("No instance of common facet found, dataset may be too small")
    p_a = np.array([int(a[k]) / n_a for k in keep])
    p_d = np.array([int(d[k]) / n_d for k in keep])
    return p_a, p_d


def KL(t: FacetCounts) -> float:
    """Kullback-Liebler Divergence (KL)

    KL = Σ_x P_a(x) log(P_a(x) / P_d(x)) over the binarised label.
    """
    p_a, p_d = _label_pdfs(t)
    return float(np.sum(p_a * np.log(p_a / p_d)))


def JS(t: FacetCounts) -> float:
    """Jensen-Shannon Divergence (JS)

    JS = ½ [KL(P_a, P) + KL(P_d, P)] with P = ½ (P_a + P_d).
    """
    p_a, p_d = _label_pdfs(t)
    p = 1 / 2 * (p_a + p_d)
    return float(0.5 * (np.sum(p_a * np.log(p_a / p)) + np.sum(p_d * np.log(p_d / p))))


def LP(t: FacetCounts) -> float:
    """L-p Norm (LP)

    LP = ‖P_a - P_d‖₂.
    """
    p_a, p_d = _label_pdfs(t)
    return float(np.linalg.norm(p_a - p_d, 2))


def TVD(t: FacetCounts) -> float:
    """Total Variation Distance (TVD)

    TVD = ½ ‖P_a - P_d‖₁.
    """
    p_a, p_d = _label_pdfs(t)
    return 0.5 * float(np.linalg.norm(p_a - p_d, 1))


def KS(t: FacetCounts) -> float:
    """Kolmogorov-Smirnov Distance (KS)

    KS = max_x |P_a(x) - P_d(x)|.
    """
    p_a, p_d = _label_pdfs(t)
    return float(np.linalg.norm(p_a - p_d, np.inf))


def _cdd(t: FacetCounts, axis: str) -> float:
    """Conditional demographic disparity over the groups of the group variable.

    CDD = Σ_i n_i (D_i - A_i) / Σ_i n_i, A_i = d positives in group i / positives in group i,
    D_i = d negatives in group i / negatives in group i (0 when a denominator is 0). Rows
    whose group value is missing belong to no group.
    """
    if not t.has_groups:
        raise MetricError("Group variable is empty or not provided")
    d, total = t.by_group(axis)  # (n_group, 2) each; last slot = missing group
    if int(total[:, POS].sum()) == 0:
        raise MetricError("No positive labels in set")
    if int(total[:, NEG].sum()) == 0:
        raise MetricError("No negative labels in set")
    d, total = d[:-1], total[:-1]
    n_i = total.sum(axis=1)
    dd = np.array(
        [
            (d[i, NEG] / total[i, NEG] if total[i, NEG] else 0)
            - (d[i, POS] / total[i, POS] if total[i, POS] else 0)
            for i in range(len(n_i))
        ],
        dtype=float,
    )
    acc = np.sum(n_i.astype(float) * dd)
    return float(divide(acc, float(n_i.sum())))


def CDDL(t: FacetCounts) -> float:
    """Conditional Demographic Disparity in Labels (CDDL)

    CDDL = Σ_i n_i DD_i / Σ_i n_i over the groups i of the group variable, with
    DD_i = d's share of the negatives in i - d's share of the positives in i.
    """
    return _cdd(t, "label")


# ------------------------------------------------------------------ post-training


def DPPL(t: FacetCounts) -> float:
    """Difference in Positive Proportions in Predicted Labels (DPPL)

    DPPL = n̂_a¹/n_a - n̂_d¹/n_d.
    """
    return _dpl(t, 1)


def DI(t: FacetCounts) -> float:
    """Disparate Impact (DI)

    DI = (n̂_d¹/n_d) / (n̂_a¹/n_a).
    """
    n_a, n_d = t.n_a, t.n_d
    if n_a == 0:
        raise MetricError("Negated facet set is empty")
    q_a = int(t.side("a")[:, POS].sum()) / n_a
    if n_d == 0:
        raise MetricError("Facet set is empty")
    q_d = int(t.side("d")[:, POS].sum()) / n_d
    return float(divide(q_d, q_a))


def _conditional(t: FacetCounts):
    """(c_a, c_d, r_a, r_d): c = n¹/n̂¹, r = n⁰/n̂⁰ for each side."""
    _require_sides(t, "DCO: ")
    out = []
    for side in ("a", "d"):
        s = t.side(side)
        n1, n0 = int(s[POS].sum()), int(s[NEG].sum())
        n1hat, n0hat = int(s[:, POS].sum()), int(s[:, NEG].sum())
        out.append((divide(n1, n1hat), divide(n0, n0hat)))
    (c_a, r_a), (c_d, r_d) = out
    return c_a, c_d, r_a, r_d


def DCA(t: FacetCounts) -> float:
    """Difference in Conditional Acceptance (DCA)

    DCA = c_a - c_d with c = n¹/n̂¹ (observed positives per predicted positive).
    """
    c_a, c_d, _, _ = _conditional(t)
    return _diff(c_a, c_d)


def DCR(t: FacetCounts) -> float:
    """Difference in Conditional Rejection (DCR)

    DCR = r_d - r_a with r = n⁰/n̂⁰ (observed negatives per predicted negative).
    """
    _, _, r_a, r_d = _conditional(t)
    return _diff(r_d, r_a)


def _rates(t: FacetCounts, tag: str):
    _require_sides(t, tag)
    return t.confusion("a"), t.confusion("d")


def RD(t: FacetCounts) -> float:
    """Recall Difference (RD)

    RD = TP_a/(TP_a + FN_a) - TP_d/(TP_d + FN_d).
    """
    (tp_a, _, fn_a, _), (tp_d, _, fn_d, _) = _rates(t, "DLA: ")
    return _diff(divide(tp_a, tp_a + fn_a), divide(tp_d, tp_d + fn_d))


def SD(t: FacetCounts) -> float:
    """Specificity Difference (SD)

    SD = TN_d/(TN_d + FP_d) - TN_a/(TN_a + FP_a).
    """
    (_, fp_a, _, tn_a), (_, fp_d, _, tn_d) = _rates(t, "DLA: ")
    return _diff(divide(tn_d, tn_d + fp_d), divide(tn_a, tn_a + fp_a))


def DAR(t: FacetCounts) -> float:
    """Difference in Acceptance Rates (DAR)

    DAR = TP_a/n̂_a¹ - TP_d/n̂_d¹ (precision difference).
    """
    (tp_a, fp_a, _, _), (tp_d, fp_d, _, _) = _rates(t, "DLR: ")
    return _diff(divide(tp_a, tp_a + fp_a), divide(tp_d, tp_d + fp_d))


def DRR(t: FacetCounts) -> float:
    """Difference in Rejection Rates (DRR)

    DRR = TN_d/n̂_d⁰ - TN_a/n̂_a⁰.
    """
    (_, _, fn_a, tn_a), (_, _, fn_d, tn_d) = _rates(t, "DLR: ")
    return _diff(divide(tn_d, tn_d + fn_d), divide(tn_a, tn_a + fn_a))


def AD(t: FacetCounts) -> float:
    """Accuracy Difference (AD)

    AD = ACC_a - ACC_d, ACC = (TP + TN) / n.
    """
    (tp_a, fp_a, fn_a, tn_a), (tp_d, fp_d, fn_d, tn_d) = _rates(t, "")
    acc_a = divide(tp_a + tn_a, tp_a + tn_a + fp_a + fn_a)
    acc_d = divide(tp_d + tn_d, tp_d + tn_d + fp_d + fn_d)
    return _diff(acc_a, acc_d)


def TE(t: FacetCounts) -> float:
    """Treatment Equality (TE)

    TE = FN_d/FP_d - FN_a/FP_a.
    """
    (_, fp_a, fn_a, _), (_, fp_d, fn_d, _) = _rates(t, "")
    return _diff(divide(fn_d, fp_d), divide(fn_a, fp_a))


def CDDPL(t: FacetCounts) -> float:
    """Conditional Demographic Disparity in Predicted Labels (CDDPL)

    CDDL computed with the predicted labels in place of the observed ones.
    """
    return _cdd(t, "pred")


def GE(t: FacetCounts) -> float:
    """Generalized Entropy (GE)

    GE (α = 2) over all rows: b = ŷ - y + 1, GE = Σ((b/μ)² - 1) / (2N), μ = mean b. It does
    not depend on the facet.
    """
    s = t.side("a") + t.side("d")
    n = int(s.sum())
    if n == 0:
        raise MetricError("dataset must be non-empty")
    n0 = int(s[POS, NEG])  # false negatives: b = 0
    n2 = int(s[NEG, POS])  # false positives: b = 2
    n1 = n - n0 - n2
    mu = (n1 + 2 * n2) / n
    if mu == 0:
        raise MetricError(
            "All predicted labels are false negatives. There should be at least one prediction "
            "that is not false negative."
        )
    # plain form: ((b / mu) ** 2 - 1).sum() / (n * 2 * 1)
    total = n0 * (0.0 - 1) + n1 * ((1 / mu) ** 2 - 1) + n2 * ((2 / mu) ** 2 - 1)
    return float(total / (n * 2 * 1))
