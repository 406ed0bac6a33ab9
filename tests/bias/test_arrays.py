"""bias_metrics: the array-level call against hand-computed values and the frame-level path."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clarify_engine.bias import BiasSpec, FacetSpec, MetricError, bias_metrics, bias_report
from clarify_engine.bias._registry import METRICS, POSTTRAINING_METRICS, PRETRAINING_METRICS

# 8 rows; d = the first four.
Y = [1, 1, 0, 0, 1, 0, 1, 1]
P = [1, 0, 0, 0, 1, 1, 1, 1]
D = [True, True, True, True, False, False, False, False]


def test_hand_computed_values():
    r = bias_metrics(Y, P, sensitive=D, metrics=["CI", "DPL", "DPPL", "DI", "AD", "RD", "DAR", "TE"])
    assert [e.value_or_threshold for e in r.entries] == ["True"]
    # n_d = n_a = 4; label positives d 2, a 3; predicted positives d 1, a 4
    assert r["CI"] == 0.0
    assert r["DPL"] == pytest.approx(3 / 4 - 2 / 4)
    assert r["DPPL"] == pytest.approx(4 / 4 - 1 / 4)
    assert r["DI"] == pytest.approx((1 / 4) / (4 / 4))
    # d: TP 1, FN 1, TN 2, FP 0 (acc 3/4); a: TP 3, FP 1, FN 0, TN 0 (acc 3/4)
    assert r["AD"] == pytest.approx(0.0)
    assert r["RD"] == pytest.approx(3 / 3 - 1 / 2)
    assert r["DAR"] == pytest.approx(3 / 4 - 1 / 1)
    assert r["TE"] == math.inf  # FN_d/FP_d = 1/0 = inf (Clarify's division), FN_a/FP_a = 0/1


def test_positive_label_values_and_strings():
    y = ["yes" if v else "no" for v in Y]
    p = ["yes" if v else "no" for v in P]
    want = bias_metrics(Y, P, sensitive=D, metrics=["DPL", "DPPL"])
    got = bias_metrics(y, p, sensitive=D, positive_label="yes", metrics=["DPL", "DPPL"])
    assert got.entry().values() == want.entry().values()
    both = bias_metrics([0, 1, 2, 2], None, sensitive=[True, False, True, False], positive_label=[1, 2],
                        metrics=["DPL"])
    assert both["DPL"] == pytest.approx(1.0 - 0.5)


def test_facet_values_one_vs_rest_and_given_values():
    sex = ["F", "F", "M", "F", "M", "M", "X", "M"]
    r = bias_metrics(Y, P, sensitive=sex, metrics=["CI"], name="sex")
    assert r.name == "sex"
    assert [e.value_or_threshold for e in r.entries] == ["F", "M", "X"]
    assert r.entry("F")["CI"] == pytest.approx((5 - 3) / 8)
    r = bias_metrics(Y, P, sensitive=np.array(sex), sensitive_values=["F", "X"], metrics=["CI"])
    assert [e.value_or_threshold for e in r.entries] == ["F,X"]
    assert r["CI"] == pytest.approx((4 - 4) / 8)


def test_default_metrics_are_those_whose_inputs_are_given():
    names = lambda r: [m.name for m in r.entry().metrics]  # noqa: E731
    assert names(bias_metrics(None, P, sensitive=D)) == ["CI", "DI", "DPPL"]
    assert names(bias_metrics(Y, None, sensitive=D)) == [n for n in PRETRAINING_METRICS if n != "CDDL"]
    assert names(bias_metrics(Y, P, sensitive=D, group=[0, 1] * 4)) == [
        n for n in (*PRETRAINING_METRICS, *POSTTRAINING_METRICS) if n != "FT"]
    everything = bias_metrics(Y, P, sensitive=D, group=[0, 1] * 4, features=np.arange(8.0)[:, None])
    assert names(everything) == list(METRICS)


def test_pandas_inputs_ignore_their_index():
    index = [10, 3, 7, 1, 2, 9, 8, 0]
    r = bias_metrics(pd.Series(Y, index=index), pd.Series(P, index=index[::-1]),
                     sensitive=pd.Series(D, index=index), metrics=["DPPL", "DPL"])
    assert r.entry().values() == bias_metrics(Y, P, sensitive=D, metrics=["DPPL", "DPL"]).entry().values()


def test_metric_that_cannot_be_computed_raises_metric_error_when_read():
    r = bias_metrics(Y, P, sensitive=[True] * 8, metrics=["DPPL"])
    assert r.entry().errors() == {"DPPL": "Negative facet set is empty."}
    assert r.entry().values() == {"DPPL": None}
    with pytest.raises(MetricError, match=r"^DPPL of 'True': Negative facet set is empty\.$"):
        r["DPPL"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y_true=Y[:5]), r"^y_true has 5 rows and sensitive has 8; give one value per row to each$"),
        (dict(y_pred=None, metrics=["DPPL"]), r"^metrics: DPPL needs y_pred; pass y_pred=\.\.\. or leave DPPL out$"),
        (dict(metrics=["CDDL"]), r"^metrics: CDDL needs group; pass group=\.\.\. or leave CDDL out$"),
        (dict(y_true=None, y_pred=None, metrics=["AD"]),
         r"^metrics: AD needs y_true and y_pred; pass y_true=\.\.\., y_pred=\.\.\. or leave AD out$"),
        (dict(metrics=["DPPL", "XX"]), r"^metrics: unknown metric\(s\) \['XX'\]; expected names from \['CDDL'"),
        (dict(positive_label="1"), r"^positive_label='1' occurs in neither y_true nor y_pred \(y_true's values "
                                   r"include \[1, 0\]\); pass the positive label value\(s\)$"),
        (dict(sensitive=np.ones((8, 2), bool)), r"^sensitive must be one-dimensional, one value per row; found "
                                                r"shape \(8, 2\)$"),
        (dict(features=np.zeros((7, 2))), r"^features must have shape \(8, n_features\), one row per record; "
                                          r"found \(7, 2\)$"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(y_true=Y, y_pred=P, sensitive=D)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        bias_metrics(**args)


@pytest.mark.parametrize("seed", range(4))
def test_equals_the_frame_level_path(seed):
    rng = np.random.default_rng(seed)
    n = 300
    frame = pd.DataFrame({
        "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "sex": rng.choice(["F", "M", "X"], n),
        "g": rng.integers(0, 4, n), "x1": rng.normal(size=n), "x2": rng.normal(size=n),
    })
    for values in (None, ["M", "X"]):
        for stage in ("pre_training", "post_training"):
            spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("sex", values)], stage=stage,
                                    predicted_label="p", group_variable="g")
            report = bias_report(frame, spec)
            want = report.facet("sex")
            got = bias_metrics(frame.y, frame.p, sensitive=frame.sex, sensitive_values=values, group=frame.g,
                               features=frame[["g", "x1", "x2"]],  # FT's columns in the frame path
                               metrics=[m.name for m in want.entries[0].metrics])
            assert [e.value_or_threshold for e in got.entries] == [e.value_or_threshold for e in want.entries]
            for g, w in zip(got.entries, want.entries, strict=True):
                assert g.metrics == w.metrics


def test_features_frame_with_text_gives_clarify_ft_error():
    r = bias_metrics(Y, P, sensitive=D, features=pd.DataFrame({"t": list("abcdefgh")}), metrics=["FT"])
    assert r.entry().errors() == {"FT": "FlipTest does not support non-numeric columns"}


small_frames = st.integers(1, 25).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(["yes", "no"]), min_size=n, max_size=n),
    st.lists(st.sampled_from(["yes", "no"]), min_size=n, max_size=n),
    st.lists(st.sampled_from(["F", "M", "X"]), min_size=n, max_size=n),
    st.lists(st.integers(0, 2), min_size=n, max_size=n),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(small_frames)
def test_equals_the_frame_level_path_on_small_and_degenerate_data(data):
    """Empty groups, one-row facets, all-negative labels: both paths give the same values and errors."""
    y, p, sex, g, x = data
    assume("yes" in p)  # the frame path fails the whole post-training report without a predicted positive
    frame = pd.DataFrame({"y": y, "p": p, "sex": sex, "g": g, "x": x})
    spec = BiasSpec.resolve(label="y", label_values=["yes"], facets=[FacetSpec("sex", None)], stage="post_training",
                            predicted_label="p", group_variable="g")
    want = bias_report(frame, spec).facet("sex")
    got = bias_metrics(y, p, sensitive=sex, positive_label="yes", group=g, features=frame[["g", "x"]],
                       metrics=spec.methods)
    assert got.entries == want.entries
