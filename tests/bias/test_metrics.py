"""Each metric on hand-computed counts, against the naive twin, and its description string."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.bias import _metrics as M
from clarify_engine.bias import count_table
from clarify_engine.bias._registry import METRICS, POSTTRAINING_METRICS, PRETRAINING_METRICS
from clarify_engine.errors import MetricError
from tests.bias import naive

# Clarify's description strings, parity quirks included ("Liebler", "Rejection").
DESCRIPTIONS = {
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "FT": "Flip Test (FT)",
    "GE": "Generalized Entropy (GE)",
    "RD": "Recall Difference (RD)",
    "SD": "Specificity Difference (SD)",
    "TE": "Treatment Equality (TE)",
}


@pytest.mark.parametrize("name", sorted(DESCRIPTIONS))
def test_description_strings(name):
    assert METRICS[name].description == DESCRIPTIONS[name]
    # the function's summary line is the same string, so its documentation cannot drift
    assert METRICS[name].fn.__doc__.strip().splitlines()[0] == DESCRIPTIONS[name]


def test_metric_sets():
    assert PRETRAINING_METRICS == ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
    assert POSTTRAINING_METRICS == ("AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE")
    assert set(METRICS) == set(PRETRAINING_METRICS) | set(POSTTRAINING_METRICS)


def facet_counts(d, y, yhat=None, groups=None):
    """FacetCounts of rows given as 0/1 lists (groups: ints, None = missing)."""
    d = np.asarray(d, dtype=np.int64)
    y = np.asarray(y, dtype=bool)
    yhat = np.zeros(len(d), bool) if yhat is None else np.asarray(yhat, dtype=bool)
    if groups is None:
        table = count_table(d, 2, y, yhat)
    else:
        codes = np.array([3 if g is None else g for g in groups], dtype=np.int64)
        table = count_table(d, 2, y, yhat, codes, 4)
    return table.collapse([False, True])


# Six rows: d = rows 0-1, a = rows 2-5.
#        d  d  a  a  a  a
D = [1, 1, 0, 0, 0, 0]
Y = [1, 0, 1, 1, 0, 0]
P = [0, 0, 1, 1, 1, 0]
# a: TP=2 FP=1 FN=0 TN=1 ; d: TP=0 FP=0 FN=1 TN=1


@pytest.mark.parametrize(
    "name, expected",
    [
        ("CI", (4 - 2) / 6),
        ("DPL", 2 / 4 - 1 / 2),
        ("DPPL", 3 / 4 - 0 / 2),
        ("DI", 0.0),  # (0/2) / (3/4)
        ("DCA", 2 / 3 - math.inf),  # c_a = 2/3, c_d = 1/0
        ("DCR", 1 / 2 - 2 / 1),  # r_d = n0/n̂0 = 1/2, r_a = 2/1
        ("RD", 2 / 2 - 0 / 1),
        ("SD", 1 / 1 - 1 / 2),
        ("DAR", 2 / 3 - 0.0),  # d has no predicted positive: 0/0 = 0
        ("DRR", 1 / 2 - 1 / 1),
        ("AD", 3 / 4 - 1 / 2),
        ("TE", math.inf),  # FN_d/FP_d = 1/0 minus FN_a/FP_a = 0/1
    ],
)
def test_post_training_hand_computed(name, expected):
    assert METRICS[name].fn(facet_counts(D, Y, P)) == pytest.approx(expected, rel=1e-12)


def test_divergences_hand_computed():
    # a: 3 pos / 1 neg ; d: 1 pos / 1 neg
    t = facet_counts([0, 0, 0, 0, 1, 1], [1, 1, 1, 0, 1, 0])
    pa, pd_ = np.array([0.25, 0.75]), np.array([0.5, 0.5])
    m = (pa + pd_) / 2
    assert M.KL(t) == pytest.approx(np.sum(pa * np.log(pa / pd_)))
    assert M.JS(t) == pytest.approx(0.5 * (np.sum(pa * np.log(pa / m)) + np.sum(pd_ * np.log(pd_ / m))))
    assert M.LP(t) == pytest.approx(math.sqrt(2 * 0.25**2))
    assert M.TVD(t) == pytest.approx(0.25)
    assert M.KS(t) == pytest.approx(0.25)


def test_divergences_keep_only_common_support_without_renormalising():
    # a all positive; d half positive → support {pos}: KL = 1 * log(1 / 0.5)
    t = facet_counts([0, 0, 1, 1], [1, 1, 1, 0])
    assert M.KL(t) == pytest.approx(math.log(2))
    # d all positive, a half → KL = 0.5 * log(0.5 / 1) (negative)
    t = facet_counts([1, 1, 0, 0], [1, 1, 1, 0])
    assert M.KL(t) == pytest.approx(0.5 * math.log(0.5))
    assert M.LP(t) == pytest.approx(0.5)


def test_cdd_hand_computed():
    # group 0: rows 0-3, group 1: rows 4-5, row 6: missing group (counts for no group)
    d = [1, 0, 1, 0, 1, 0, 1]
    y = [1, 1, 0, 0, 1, 0, 0]
    g = [0, 0, 0, 0, 1, 1, None]
    # group 0: pos rows 0,1 (d share 1/2), neg rows 2,3 (d share 1/2) → DD = 0
    # group 1: pos row 4 (d share 1), neg row 5 (d share 0) → DD = -1
    assert M.CDDL(facet_counts(d, y, groups=g)) == pytest.approx((4 * 0 + 2 * -1) / 6)


def test_ge_hand_computed():
    y = [1, 1, 0, 0]
    yhat = [1, 0, 1, 0]  # benefits 1, 0, 2, 1 → mean 1
    assert M.GE(facet_counts([0, 1, 0, 1], y, yhat)) == pytest.approx(((1 - 1) + (0 - 1) + (4 - 1) + (1 - 1)) / 8)


@pytest.mark.parametrize(
    "name, d, message",
    [
        ("CI", [1, 1], "CI: negated facet set is empty. Check that x[~facet] has non-zero length."),
        ("CI", [0, 0], "CI: facet set is empty. Check that x[facet] has non-zero length."),
        ("DPL", [1, 1], "Negative facet set is empty."),
        ("DPL", [0, 0], "Facet set is empty."),
        ("DPPL", [0, 0], "Facet set is empty."),
        ("DI", [1, 1], "Negated facet set is empty"),
        ("DI", [0, 0], "Facet set is empty"),
        ("DCA", [0, 0], "DCO: Facet set is empty"),
        ("DCR", [1, 1], "DCO: Negated Facet set is empty"),
        ("RD", [0, 0], "DLA: Facet set is empty"),
        ("SD", [1, 1], "DLA: Negated Facet set is empty"),
        ("DAR", [0, 0], "DLR: Facet set is empty"),
        ("DRR", [1, 1], "DLR: Negated Facet set is empty"),
        ("AD", [0, 0], "Facet set is empty"),
        ("TE", [1, 1], "Negated Facet set is empty"),
        ("KL", [0, 0], "No instance of common facet found, dataset may be too small"),
        ("CDDL", [0, 1], "Group variable is empty or not provided"),
        ("CDDPL", [0, 1], "Group variable is empty or not provided"),
    ],
)
def test_error_messages(name, d, message):
    with pytest.raises(MetricError) as err:
        METRICS[name].fn(facet_counts(d, [1, 0], [1, 0]))
    assert str(err.value) == message


def test_cdd_needs_both_label_values():
    with pytest.raises(MetricError, match="^No positive labels in set$"):
        M.CDDL(facet_counts([0, 1], [0, 0], groups=[0, 1]))
    with pytest.raises(MetricError, match="^No negative labels in set$"):
        M.CDDL(facet_counts([0, 1], [1, 1], groups=[0, 1]))
    assert M.CDDL(facet_counts([0, 0], [1, 0], groups=[0, 1])) == 0.0  # empty d


def test_divide_rule():
    assert M.divide(0, 0) == 0.0 and M.divide(1, 0) == math.inf and M.divide(-1, 0) == -math.inf


rows = st.integers(0, 40).flatmap(
    lambda n: st.tuples(*[st.lists(st.booleans(), min_size=n, max_size=n)] * 3,
                        st.lists(st.one_of(st.none(), st.integers(0, 2)), min_size=n, max_size=n))
)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_metrics_equal_naive_twin(data):
    d, y, yhat, groups = data
    t = facet_counts(d, y, yhat, groups)
    expected = naive.metrics(d, y, yhat, groups)
    for name, want in expected.items():
        if want is None:
            with pytest.raises(MetricError):
                METRICS[name].fn(t)
        else:
            got = METRICS[name].fn(t)
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), name
