"""Per-segment bias: segment rules, the config → spec plan, and equality with runs on the segment's rows."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.bias._grouped import EMPTY_SEGMENT, resolve_methods
from clarify_engine.bias._segment_run import segment_bias
from clarify_engine.bias._segments import (
    DEFAULT_SEGMENT,
    Segment,
    Segmentation,
    SegmentSpec,
    parse_interval,
    segment_keys,
)
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError, DataError
from clarify_engine.job._plan_segments import plan_segments
from clarify_engine.report._segments_json import segment_analysis_dict
from tests.bias.segment_helpers import stage_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "segments"


def frame(n=2000, seed=0, missing=False):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "race": rng.integers(0, 4, n),
        "age": rng.uniform(18, 90, n).round(1), "g": rng.integers(0, 5, n), "x": rng.normal(size=n),
        "city": rng.choice(list("ABCD"), n),
    })  # fmt: skip
    if missing:
        df.loc[rng.random(n) < 0.05, "age"] = np.nan
        df["city"] = df["city"].where(rng.random(n) > 0.05)
    return df


def interval_segment(*items, alias=None):
    return Segment(tuple(items), alias or ",".join(items), tuple(parse_interval(i, "test") for i in items))


def requests(facets, methods=("all", "all"), **kw):
    pre = stage_spec("y", (1,), tuple(facets), "pre_training", resolve_methods("pre_training", methods[0]),
                      group_variable="g", **kw)
    post = stage_spec("y", (1,), tuple(facets), "post_training", resolve_methods("post_training", methods[1]),
                       predicted_label="p", group_variable="g", **kw)
    return [pre, post]


def assert_equal_to_filtered(result, sub, req, check_text=True):
    """The typed result of one segment equals bias_section on the segment's rows (1e-12)."""
    ref = bias_section(sub, label=req.label, label_values=list(req.label_values), facets=list(req.facets),
                       stage=req.stage, methods=list(req.methods), predicted_label=req.predicted_label,
                       group_variable=req.group_variable, column_typing=req.column_typing)
    compared = 0
    for name, entries in result.facets:
        ref_entries = ref["facets"][name]
        texts = [e.value_or_threshold for e in entries]
        if check_text:
            assert texts == [e["value_or_threshold"] for e in ref_entries]
        elif len(ref_entries) > 1:  # one-vs-rest: same values, listed in the whole dataset's order
            assert sorted(texts) == sorted(e["value_or_threshold"] for e in ref_entries)
            ref_entries = sorted(ref_entries, key=lambda e: texts.index(e["value_or_threshold"]))
        for got, want in zip(entries, ref_entries, strict=True):
            for m, w in zip(got.metrics, want["metrics"]):
                assert m.name == w["name"]
                if w["value"] is None:
                    assert (m.value, m.error) == (None, w["error"])
                    continue
                value = {"Infinity": math.inf, "-Infinity": -math.inf}.get(w["value"], w["value"])
                assert m.value == pytest.approx(value, abs=1e-12, rel=0) or m.value == value
                compared += 1
    assert ref["label_value_or_threshold"] == result.label_value_or_threshold
    return compared


# ----------------------------------------------------------------------------- rules


@pytest.mark.parametrize("text, expected", [
    ("[1, 4]", (1, 4, True, True)), ("(2, 5]", (2, 5, False, True)), ("[18,30)", (18, 30, True, False)),
    (" ( -inf , 0.5 ) ", (-math.inf, 0.5, False, False)), ("[65, INF]", (65, math.inf, True, True)),
    ("[1e3, 2E3)", (1000, 2000, True, False)), ("[3, 3]", (3, 3, True, True)),
])  # fmt: skip
def test_parse_interval(text, expected):
    iv = parse_interval(text, "here")
    assert (iv.left, iv.right, iv.left_closed, iv.right_closed) == expected


@pytest.mark.parametrize("text", ["A", "1", "[1, 4", "1, 4]", "[a, b]", "", "[1; 4]"])
def test_not_an_interval(text):
    assert parse_interval(text, "here") is None


@pytest.mark.parametrize("text", ["[5, 1]", "(3, 3]", "[3, 3)", "[1-2, 4]"])
def test_interval_without_values_is_refused(text):
    with pytest.raises(DataError, match=r"here: "):
        parse_interval(text, "here")


def test_interval_bounds_open_and_closed():
    df = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan]})
    spec = SegmentSpec((Segmentation("s", "v", "v", (interval_segment("(1, 3]"), interval_segment("[4, 5)"))),))
    keys = segment_keys(df, spec)
    members = keys.members[0]
    rows = [np.flatnonzero(m[keys.keys]).tolist() for m in members]
    assert rows == [[1, 2], [3], [0, 4, 5]]  # NaN is in no interval: __default__


def test_several_intervals_form_one_segment():
    df = pd.DataFrame({"Age": [10, 20, 35, 55, 70, 130]})
    spec = SegmentSpec((Segmentation("a", "Age", "Age", (interval_segment("[18, 30)"),
                                                         interval_segment("[30, 50)", "[65, 120]"))),))
    keys = segment_keys(df, spec)
    assert [np.flatnonzero(m[keys.keys]).tolist() for m in keys.members[0]] == [[1], [2, 4], [0, 3, 5]]


def test_categorical_values_coerced_like_facets():
    # the SDK schema allows str or int; an int column matched with "1" converts as facet values do
    df = pd.DataFrame({"F1": [0, 1, 2, 1, 0]})
    spec = SegmentSpec((Segmentation("c", "F1", "F1", (Segment(("1",), "1"),)),))
    keys = segment_keys(df, spec)
    assert np.flatnonzero(keys.members[0][0][keys.keys]).tolist() == [1, 3]


def test_categorical_default_holds_missing_and_unlisted():
    df = pd.DataFrame({"c": ["A", "B", None, "C", "D"]})
    spec = SegmentSpec((Segmentation("c", "c", "c", (Segment(("A", "B"), "A,B"),)),))
    keys = segment_keys(df, spec)
    assert [np.flatnonzero(m[keys.keys]).tolist() for m in keys.members[0]] == [[0, 1], [2, 3, 4]]


def test_overlapping_segments_count_rows_in_both(caplog):
    df = pd.DataFrame({"v": [1, 2, 3, 4, 5]})
    spec = SegmentSpec((Segmentation("o", "v", "v", (interval_segment("[1, 3]"), interval_segment("[3, 5]"))),))
    with caplog.at_level(logging.WARNING, "clarify_engine"):
        keys = segment_keys(df, spec)
    assert [np.flatnonzero(m[keys.keys]).tolist() for m in keys.members[0]] == [[0, 1, 2], [2, 3, 4], []]
    assert "1 row(s) fall in more than one segment of column 'v'" in caplog.text


def test_missing_segment_column():
    spec = SegmentSpec((Segmentation("s", "Region", "Region", (Segment(("x",), "x"),), where="segment_config[0]"),))
    with pytest.raises(DataError, match=r"Unable to locate the segment column 'Region' \(segment_config\[0\]"):
        segment_keys(frame(10), spec)


def test_intervals_on_text_column():
    spec = SegmentSpec((Segmentation("s", "city", "city", (interval_segment("[1, 2]"),), where="segment_config[0]"),))
    with pytest.raises(DataError, match=r"segment_config\[0\]: segments are intervals but the segment column 'city' "
                                        r"holds non-numeric values"):
        segment_keys(frame(10), spec)


# ----------------------------------------------------------------------------- plan


def test_plan_sdk_example():
    config = load_config(json.loads((FIXTURES / "sdk_segment_config.json").read_text()))
    plan = plan_segments(config, ["Label", "F1", "Age", "Gender", "Predicted Label"])
    c1, ages = plan.segments.segmentations
    assert (c1.config_name, c1.column, c1.default_alias, c1.is_numeric) == ("c1", "F1", DEFAULT_SEGMENT, False)
    assert [s.alias for s in c1.segments] == ["a1"]
    assert (ages.config_name, ages.default_alias, ages.is_numeric) == ("age_bands", "other", True)
    assert [s.alias for s in ages.segments] == ["young", "mid+senior"]
    assert [len(s.intervals) for s in ages.segments] == [1, 2]
    assert plan.bootstrap is None and plan.intersections == ()


def base_config(**extra):
    doc = {"dataset_type": "text/csv", "headers": ["y", "p", "race", "age", "g", "x", "city"], "label": "y",
           "label_values_or_threshold": [1], "facet": [{"name_or_index": "race", "value_or_threshold": [1]}],
           "methods": {"pre_training_bias": {"methods": "all"}}, **extra}
    return load_config(doc)


def test_plan_defaults_index_and_aliases():
    config = base_config(segment_config=[{"name_or_index": 6, "segments": [["A"], ["B", "C"]]}])
    (seg,) = plan_segments(config, list(frame(5).columns)).segments.segmentations
    assert (seg.config_name, seg.column, seg.name_or_index) == ("segment_config_0", "city", 6)
    assert [s.alias for s in seg.segments] == ["A", "B,C"] and seg.default_alias == DEFAULT_SEGMENT


def test_plan_unknown_column():
    config = base_config(segment_config=[{"name_or_index": "Region", "segments": [["A"]]}])
    with pytest.raises(ConfigError, match=r"segment_config\[0\].name_or_index: Unable to locate the segment column "
                                          r"'Region'; the dataset's columns are"):
        plan_segments(config, list(frame(5).columns))


def test_plan_mixed_kinds():
    config = base_config(segment_config=[{"name_or_index": "age", "segments": [["[1, 2]"], ["A"]]}])
    with pytest.raises(ConfigError, match=r"segment_config\[0\].segments\[1\]: mixes interval strings and category "
                                          r"values"):
        plan_segments(config, list(frame(5).columns))


def test_plan_bad_interval():
    config = base_config(segment_config=[{"name_or_index": "age", "segments": [["[5, 1]"]]}])
    with pytest.raises(ConfigError, match=r"segment_config\[0\].segments\[0\]: the interval '\[5, 1\]' contains no "
                                          r"value"):
        plan_segments(config, list(frame(5).columns))


@pytest.mark.parametrize("aliases, message", [(["a", "b", "c"], "expected 1 or 2 display aliases")])
def test_sdk_alias_count_error(aliases, message):
    with pytest.raises(ConfigError, match=message):
        base_config(segment_config=[{"name_or_index": "city", "segments": [["A"]], "display_aliases": aliases}])


# ----------------------------------------------------------------------------- equality with filtered runs


def age_city_spec():
    return SegmentSpec((
        Segmentation("ages", "age", "age", (interval_segment("[18, 30)", alias="young"),
                                            interval_segment("[30, 50)", "[65, 120]", alias="mid")), "other"),
        Segmentation("cities", "city", "city", (Segment(("A", "B"), "A,B"), Segment(("B", "C"), "B,C"))),
    ))  # fmt: skip


def segment_masks(df):
    young = (df.age >= 18) & (df.age < 30)
    mid = ((df.age >= 30) & (df.age < 50)) | ((df.age >= 65) & (df.age <= 120))
    ab, bc = df.city.isin(["A", "B"]), df.city.isin(["B", "C"])
    return [young, mid, ~(young | mid), ab, bc, ~(ab | bc)]


@pytest.mark.parametrize("seed, missing", [(0, False), (1, True), (2, False)])
def test_segments_equal_runs_on_the_segment_rows(seed, missing):
    df = frame(3000, seed, missing)
    facets = [FacetSpec("race", [1]), FacetSpec("x", [0.5]), FacetSpec("city")]
    reqs = requests(facets, methods=("all", ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD",
                                             "SD", "TE"]))
    results = segment_bias(df, reqs, age_city_spec())
    flat = [s for r in results for s in r.segments]
    assert [s.display_alias for s in flat] == ["young", "mid", "other", "A,B", "B,C", DEFAULT_SEGMENT]
    compared = 0
    for mask, seg in zip(segment_masks(df), flat):
        sub = df[mask.to_numpy()]
        assert seg.num_records == len(sub)
        for req, section in zip(reqs, seg.sections):
            # the continuous facet's interval text is the whole dataset's (its rows are the same)
            compared += assert_equal_to_filtered(section, sub, req, check_text=False)
            assert [e.value_or_threshold for e in section.facets[0][1]] == ["1"]
    assert compared > 500


def test_ft_per_segment_equals_filtered_run():
    df = frame(600, 3)
    reqs = requests([FacetSpec("race", [1])], methods=(["CI"], ["FT"]))
    results = segment_bias(df, reqs, age_city_spec())
    for mask, seg in zip(segment_masks(df), [s for r in results for s in r.segments]):
        assert_equal_to_filtered(seg.sections[1], df[mask.to_numpy()], reqs[1])


def test_intent_typing_per_segment():
    df = frame(1500, 4, missing=True)
    df["race"] = df["race"].astype(float).where(np.random.default_rng(4).random(len(df)) > 0.1)
    reqs = requests([FacetSpec("race", [1])], column_typing="intent")
    results = segment_bias(df, reqs, age_city_spec())
    for mask, seg in zip(segment_masks(df), [s for r in results for s in r.segments]):
        for req, section in zip(reqs, seg.sections):
            assert_equal_to_filtered(section, df[mask.to_numpy()], req)


def test_one_vs_rest_lists_the_values_in_the_segment():
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "race": ["a", "b", "c", "a", "b", "c"], "s": [1, 1, 1, 1, 2, 2]})
    spec = SegmentSpec((Segmentation("s", "s", "s", (Segment((1,), "one"),)),))
    req = stage_spec("y", (1,), (FacetSpec("race"),), "pre_training", ("CI",))
    (seg,) = segment_bias(df, [req], spec)
    one, rest = seg.segments
    assert [e.value_or_threshold for e in one.sections[0].facets[0][1]] == ["a", "b", "c"]
    assert [e.value_or_threshold for e in rest.sections[0].facets[0][1]] == ["b", "c"]
    assert rest.sections[0].facets[0][1][0].metrics[0].value == 0.0  # 1 b vs 1 c


def test_empty_segment_reports_every_metric_as_empty():
    df = frame(200)
    spec = SegmentSpec((Segmentation("s", "age", "age", (interval_segment("[500, 600]"),)),))
    (seg,) = segment_bias(df, requests([FacetSpec("race", [1])]), spec)
    empty, default = seg.segments
    assert empty.num_records == 0 and default.num_records == 200
    for section in empty.sections:
        (name, entries), = section.facets
        assert [e.value_or_threshold for e in entries] == ["1"]
        assert {(m.value, m.error) for m in entries[0].metrics} == {(None, EMPTY_SEGMENT)}


def test_segment_frame_need_not_be_a_feature():
    df = frame(1000)
    spec = SegmentSpec((Segmentation("s", "city", "city", (Segment(("A",), "A"),)),))
    reqs = requests([FacetSpec("race", [1])], methods=(["CI"], ["FT"]))
    seg_only = segment_bias(df.drop(columns="city"), reqs, spec, segment_frame=df[["city"]])
    (a, rest), = [s.segments for s in seg_only]
    assert_equal_to_filtered(a.sections[1], df[df.city.eq("A").to_numpy()].drop(columns="city"), reqs[1])


def test_segment_analysis_json_shape():
    df = frame(2000)
    reqs = requests([FacetSpec("race", [1])], methods=(["CI"], ["DPPL"]))
    out = segment_analysis_dict(segment_bias(df, reqs, age_city_spec()))
    assert [s["config_name"] for s in out] == ["ages", "cities"]
    young = out[0]["segments"][0]
    assert list(young) == ["segment", "display_alias", "num_records", "pre_training_bias_metrics",
                           "post_training_bias_metrics"]
    assert young["segment"] == ["[18, 30)"] and out[0]["segments"][-1]["segment"] == DEFAULT_SEGMENT
    assert young["pre_training_bias_metrics"] == bias_section(
        df[segment_masks(df)[0].to_numpy()], label="y", label_values=[1], facets=[FacetSpec("race", [1])],
        stage="pre_training", methods=["CI"], group_variable="g")


def test_typing_is_resolved_on_the_whole_dataset():
    # 4 race values in 80 rows is 5% distinct: a run on those rows alone would type race as
    # continuous; in a segment it keeps the whole dataset's (categorical) typing and values.
    df = frame(300)
    spec = SegmentSpec((Segmentation("s", "city", "city", (Segment(("A",), "A"),)),))
    req = stage_spec("y", (1,), (FacetSpec("race", [1]),), "pre_training", ("CI",))
    (seg,) = segment_bias(df, [req], spec)
    a = seg.segments[0]
    assert a.num_records == 80
    assert [e.value_or_threshold for e in a.sections[0].facets[0][1]] == ["1"]
    sub = df[df.city.eq("A").to_numpy()]
    alone = bias_section(sub, label="y", label_values=[1], facets=[FacetSpec("race", [1])], stage="pre_training",
                         methods=["CI"])
    assert alone["facets"]["race"][0]["value_or_threshold"] == "(1, 3]"
    n_d = int(sub.race.eq(1).sum())
    assert a.sections[0].facets[0][1][0].metrics[0].value == pytest.approx((80 - 2 * n_d) / 80, abs=1e-15)


def test_whole_dataset_from_the_same_pass_equals_bias_section():
    """The union of every atom is the whole dataset: the same pass gives Clarify's sections exactly."""
    from clarify_engine.bias._grouped import grouped_bias_stages
    from clarify_engine.report._segments_json import bias_dict

    df = frame(3000, 5, missing=True)
    reqs = requests([FacetSpec("race", [1]), FacetSpec("x", [0.5]), FacetSpec("city")])
    keys = segment_keys(df, age_city_spec())
    whole = grouped_bias_stages(df, reqs, keys.keys, keys.n_atoms, [np.ones(keys.n_atoms, bool)])
    for req, (section,) in zip(reqs, whole):
        assert bias_dict(section) == bias_section(
            df, label="y", label_values=[1], facets=list(req.facets), stage=req.stage, methods=list(req.methods),
            predicted_label=req.predicted_label, group_variable="g")


@pytest.mark.parametrize("item, path", [
    ({"segments": [["A"]]}, r"segment_config\[0\].name_or_index"),  # SDK: `name_or_index` cannot be None
    ({"name_or_index": "city", "segments": []}, r"segment_config\[0\].segments"),  # SDK: must be a list of lists
    ({"name_or_index": "city", "segments": ["A"]}, r"segment_config\[0\].segments\[0\]"),
    ({"name_or_index": "city", "segments": [[]]}, r"segment_config\[0\].segments\[0\]"),
    ({"name_or_index": "city", "segments": [[1.5]]}, r"segment_config\[0\].segments\[0\]\[0\]"),  # no floats
])  # fmt: skip
def test_sdk_segment_errors_at_the_config(item, path):
    with pytest.raises(ConfigError, match=path):
        base_config(segment_config=[item])
