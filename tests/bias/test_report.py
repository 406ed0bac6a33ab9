"""bias_section: shape of the result, Clarify's typing rules, error entries and failures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import clarify_engine.bias as bias
from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.errors import DataError


def frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.uniform(18, 80, n).round(1),
            "g": rng.integers(0, 3, n),
            "x": rng.normal(size=n),
        }
    )


def by_name(entry):
    return {m["name"]: m for m in entry["metrics"]}


def test_pre_training_shape_and_key_order():
    out = bias_section(frame(), label="y", label_values=[1], facets=[FacetSpec("sex", None)], stage="pre_training")
    assert list(out) == ["label", "facets", "label_value_or_threshold"]
    assert out["label"] == "y" and out["label_value_or_threshold"] == "1"
    entries = out["facets"]["sex"]
    assert [e["value_or_threshold"] for e in entries] == [frame()["sex"].iloc[0], ({"F", "M"} - {frame()["sex"].iloc[0]}).pop()]
    for e in entries:
        assert list(e) == ["value_or_threshold", "metrics"]
        assert [m["name"] for m in e["metrics"]] == list(bias.PRETRAINING_METRICS)
        cddl = by_name(e)["CDDL"]
        assert cddl == {"name": "CDDL", "description": "Conditional Demographic Disparity in Labels (CDDL)",
                        "value": None, "error": "Group variable is empty or not provided"}
        assert all(isinstance(m["value"], float) for m in e["metrics"] if m["name"] != "CDDL")
    # one-vs-rest with two values: CI of one is minus CI of the other
    assert by_name(entries[0])["CI"]["value"] == pytest.approx(-by_name(entries[1])["CI"]["value"])
    json.dumps(out, allow_nan=False)


def test_values_match_direct_counts():
    df = frame()
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("sex", ["F"])], stage="post_training",
                       predicted_label="p", group_variable="g", methods=["DPPL", "DI", "DPPL"])
    (entry,) = out["facets"]["sex"]
    assert entry["value_or_threshold"] == "F"
    d = (df.sex == "F").to_numpy()
    m = by_name(entry)
    assert list(m) == ["DI", "DPPL"]
    qa, qd = df.p[~d].mean(), df.p[d].mean()
    assert m["DPPL"]["value"] == pytest.approx(qa - qd)
    assert m["DI"]["value"] == pytest.approx(qd / qa)


def test_continuous_facet_interval_and_threshold_at_max():
    df = frame()
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("age", [40])], stage="pre_training")
    assert out["facets"]["age"][0]["value_or_threshold"] == f"(40.0, {float(df.age.max())!r}]"
    top = float(df.age.max())
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("age", [top])], stage="pre_training",
                       methods=["CI"])
    (entry,) = out["facets"]["age"]
    assert entry["value_or_threshold"] == ""  # t == max selects nothing
    assert entry["metrics"][0]["error"].startswith("CI: facet set is empty")


def test_integer_typing_depends_on_distinct_fraction():
    # 62 distinct ages in 4000 rows → categorical: [40] means age == 40
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": rng.integers(0, 2, 4000), "age": rng.integers(18, 80, 4000)})
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("age", [40])], stage="pre_training",
                       methods=["CI"])
    n_d = int((df.age == 40).sum())
    assert out["facets"]["age"][0]["value_or_threshold"] == "40"
    assert out["facets"]["age"][0]["metrics"][0]["value"] == pytest.approx((4000 - 2 * n_d) / 4000)
    # few rows: a 0/1 integer label is continuous, and [1] (= max) selects nothing
    small = df.head(30)
    out = bias_section(small, label="y", label_values=[0], facets=[FacetSpec("age", [40])], stage="pre_training",
                       methods=["DPL"])
    assert out["label_value_or_threshold"] == "(0, 1]"
    assert out["facets"]["age"][0]["value_or_threshold"] == f"(40, {small.age.max()}]"


def test_string_values_convert_to_the_column_type():
    df = frame()
    a = bias_section(df, label="y", label_values=["1"], facets=[FacetSpec("g", ["2"])], stage="pre_training")
    b = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("g", [2])], stage="pre_training")
    assert a["label_value_or_threshold"] == "1"
    assert a["facets"]["g"][0]["value_or_threshold"] == "2"
    assert a["facets"]["g"][0]["metrics"] == b["facets"]["g"][0]["metrics"]


def test_multi_valued_facet_and_label():
    df = frame()
    out = bias_section(df, label="g", label_values=[1, 2], facets=[FacetSpec("g", [0, 2])], stage="pre_training",
                       methods=["DPL"])
    assert out["label_value_or_threshold"] == "1,2"
    assert out["facets"]["g"][0]["value_or_threshold"] == "0,2"


def test_missing_facet_value_forms_a_nan_entry():
    df = frame(50)
    df["sex"] = df["sex"].astype(object)
    df.loc[3, "sex"] = None
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("sex", None)], stage="post_training",
                       predicted_label="p")
    texts = [e["value_or_threshold"] for e in out["facets"]["sex"]]
    # One entry per distinct value in order of first appearance (F at row 0, M at row 1), the
    # missing cell last as its own group, as smclarify does.
    assert df.sex[0] == "F" and df.sex[1] == "M"
    assert texts == ["F", "M", "nan"]
    nan_entry = out["facets"]["sex"][texts.index("nan")]
    for m in nan_entry["metrics"]:
        if m["name"] == "GE":
            assert isinstance(m["value"], float)
        else:
            assert m["value"] is None and m["error"], m


def test_infinity_is_a_string():
    df = pd.DataFrame({"y": [1, 0, 1, 1, 0, 0] * 10, "p": [0, 0, 1, 1, 1, 0] * 10, "f": ["d", "d", "a", "a", "a", "a"] * 10})
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("f", ["d"])], stage="post_training",
                       predicted_label="p", methods=["TE", "DCA"])
    m = by_name(out["facets"]["f"][0])
    assert m["TE"]["value"] == "Infinity" and m["DCA"]["value"] == "-Infinity"


def test_flip_test_matches_brute_force_neighbours():
    rng = np.random.default_rng(5)
    n = 120
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "f": rng.integers(0, 2, n),
                       "x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("f", [1])], stage="post_training",
                       predicted_label="p", methods=["FT"])
    X = df[["x1", "x2"]].to_numpy()
    d = df.f.to_numpy() == 1
    pa, pd_ = df.p.to_numpy()[~d].astype(bool), df.p.to_numpy()[d].astype(bool)
    dist = ((X[d][:, None, :] - X[~d][None, :, :]) ** 2).sum(-1)
    votes = pa[np.argsort(dist, axis=1)[:, :5]].sum(1) >= 3
    expected = ((pd_ & ~votes).sum() - (~pd_ & votes).sum()) / d.sum()
    assert out["facets"]["f"][0]["metrics"][0]["value"] == pytest.approx(expected)


def test_flip_test_errors_are_entries():
    df = frame(60)
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("g", [1])], stage="post_training",
                       predicted_label="p", methods=["FT"])  # 'sex' is text
    assert out["facets"]["g"][0]["metrics"][0]["error"] == "FlipTest does not support non-numeric columns"
    df = frame(60).drop(columns=["sex"])
    df.loc[0, "x"] = np.nan
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("g", [1])], stage="post_training",
                       predicted_label="p", methods=["FT"])
    assert out["facets"]["g"][0]["metrics"][0]["error"].startswith("Input X contains NaN")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(predicted_label="p", label_values=[7]), "No Label values are present in the predicted Label Column"),
        (dict(predicted_label="x"), "Predicted Label Column series datatype is not the same as Label Column series"),
        (dict(predicted_label=None), "need a predicted label column"),
        (dict(predicted_label="nope"), "predicted label column 'nope' is not in the dataset"),
        (dict(facets=[FacetSpec("x", None)]), "Threshold values must be provided for continuous features"),
        (dict(facets=[FacetSpec("zz", None)]), "facet column 'zz' is not in the dataset"),
        (dict(label_values=[]), "label_values_or_threshold is empty"),
        (dict(facets=[FacetSpec("age", ["old"])]), "single numeric threshold"),
    ],
)
def test_whole_report_failures(kwargs, message):
    args = dict(label="y", label_values=[1], facets=[FacetSpec("sex", None)], stage="post_training", predicted_label="p")
    args.update(kwargs)
    with pytest.raises(DataError, match=message):
        bias_section(frame(), **args)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(stage="training"), "stage must be 'pre_training' or 'post_training'"),
        (dict(methods=["CI", "XYZ"]), r"methods: unknown pre_training metric\(s\) \['XYZ'\]"),
        (dict(methods=["DPPL"]), r"methods: unknown pre_training metric\(s\) \['DPPL'\]"),
        (dict(methods="CI"), "methods must be 'all' or a list"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(label="y", label_values=[1], facets=[FacetSpec("sex", None)], stage="pre_training")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        bias_section(frame(), **args)


def test_pandas3_string_and_object_columns_agree():
    df = frame()
    obj = df.astype({"sex": object})
    kw = dict(label="y", label_values=[1], facets=[FacetSpec("sex", None)], stage="pre_training", group_variable="g")
    assert bias_section(df, **kw) == bias_section(obj, **kw)


def test_category_dtype_is_categorical_and_bool_needs_bool_values():
    df = frame()
    df["band"] = pd.cut(df.age, [0, 40, 100], labels=["young", "old"])
    out = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("band", ["old"])], stage="pre_training",
                       methods=["CI"])
    assert out["facets"]["band"][0]["metrics"][0]["value"] == pytest.approx(1 - 2 * (df.age > 40).mean())
    df["flag"] = df.sex == "F"
    a = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("flag", [True])], stage="pre_training")
    b = bias_section(df, label="y", label_values=[1], facets=[FacetSpec("sex", ["F"])], stage="pre_training")
    assert a["facets"]["flag"][0]["metrics"] == b["facets"]["sex"][0]["metrics"]
