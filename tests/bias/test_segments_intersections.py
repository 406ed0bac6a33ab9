"""Intersectional facets equal a one-vs-rest run on a derived column built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.bias._extensions import bias_extensions
from clarify_engine.bias._grouped import resolve_methods
from clarify_engine.bias._intersect import IntersectionSpec, intersectional_bias
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError, DataError
from clarify_engine.job._plan_segments import plan_segments
from clarify_engine.report._segments_json import bias_dict, extensions_dict
from tests.bias.segment_helpers import stage_spec


def frame(n=3000, seed=0, missing=False):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "sex": rng.choice(["F", "M"], n),
                       "race": rng.integers(0, 3, n), "g": rng.integers(0, 4, n), "x": rng.normal(size=n)})
    if missing:
        df["sex"] = df["sex"].where(rng.random(n) > 0.03)
    return df


def by_hand(df, columns):
    name = "|".join(columns)
    return df.assign(**{name: df[list(columns)].apply(lambda s: s.map(str)).agg("|".join, axis=1)}), name


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("stage", ["pre_training", "post_training"])
def test_equals_derived_column_run(stage, missing):
    df = frame(missing=missing)
    methods = "all" if stage == "pre_training" else [m for m in resolve_methods(stage, "all") if m != "FT"]
    req = stage_spec("y", (1,), (), stage, resolve_methods(stage, methods),
                      predicted_label="p" if stage == "post_training" else None, group_variable="g")
    got = bias_dict(intersectional_bias(df, req, IntersectionSpec(("sex", "race"), min_group_size=0)))
    derived, name = by_hand(df, ("sex", "race"))
    want = bias_section(derived.drop(columns=["sex", "race"]), label="y", label_values=[1],
                        facets=[FacetSpec(name)], stage=stage, methods=methods,
                        predicted_label=req.predicted_label, group_variable="g")
    assert got == want
    assert len(got["facets"]["sex|race"]) == (9 if missing else 6)


def test_ft_equals_derived_column_run():
    df = frame(800, 1)
    req = stage_spec("y", (1,), (), "post_training", ("FT",), predicted_label="p")
    got = bias_dict(intersectional_bias(df, req, IntersectionSpec(("sex", "race"), min_group_size=0)))
    derived, name = by_hand(df, ("sex", "race"))
    want = bias_section(derived.drop(columns=["sex", "race"]), label="y", label_values=[1],
                        facets=[FacetSpec(name)], stage="post_training", methods=["FT"], predicted_label="p")
    assert got == want


def test_small_groups_are_listed_without_metrics():
    df = frame(400)
    df.loc[:4, "race"] = 9  # a 5-row race: (F|9) and (M|9) are tiny
    req = stage_spec("y", (1,), (), "pre_training", ("CI", "DPL"))
    result = intersectional_bias(df, req, IntersectionSpec(("sex", "race"), min_group_size=30, name="sex x race"))
    (name, entries), = result.facets
    assert name == "sex x race"
    tiny = [e for e in entries if e.value_or_threshold.endswith("|9")]
    assert tiny and all(m.value is None for e in tiny for m in e.metrics)
    n = int(((df.sex + "|" + df.race.astype(str)) == tiny[0].value_or_threshold).sum())
    assert tiny[0].metrics[0].error == (f"Group has {n} rows, fewer than min_group_size 30; lower min_group_size "
                                        "to compute its metrics")
    assert all(m.value is not None for e in entries if e not in tiny for m in e.metrics)


def test_missing_column():
    req = stage_spec("y", (1,), (), "pre_training", ("CI",))
    with pytest.raises(DataError, match=r"intersectional facet 'sex\|region': column\(s\) \['region'\] are not in "
                                        r"the dataset"):
        intersectional_bias(frame(10), req, IntersectionSpec(("sex", "region")))


@pytest.mark.parametrize("columns, size, message", [
    (("sex",), 30, "an intersectional facet needs two or more distinct columns; found ['sex']"),
    (("sex", "sex"), 30, "an intersectional facet needs two or more distinct columns"),
    (("sex", "race"), -1, "min_group_size must be a non-negative integer; found -1"),
])  # fmt: skip
def test_spec_errors(columns, size, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        IntersectionSpec(columns, size)


def config(**extra):
    return load_config({"dataset_type": "text/csv", "headers": ["y", "p", "sex", "race", "g", "x"], "label": "y",
                        "label_values_or_threshold": [1], "facet": [{"name_or_index": "sex"}],
                        "methods": {"pre_training_bias": {"methods": "all"}}, **extra})


def test_through_the_config():
    cfg = config(intersectional_facets=[{"name_or_index": ["sex", 3], "min_group_size": 10}],
                 bias_confidence_intervals={"n_boot": 30, "seed": 5})
    plan = plan_segments(cfg, ["y", "p", "sex", "race", "g", "x"])
    assert plan.intersections == (IntersectionSpec(("sex", "race"), 10),)
    assert (plan.bootstrap.n_boot, plan.bootstrap.seed, plan.bootstrap.level) == (30, 5, 0.95)
    df = frame(500)
    req = stage_spec("y", (1,), (FacetSpec("sex"),), "pre_training", resolve_methods("pre_training", "all"))
    out = extensions_dict(bias_extensions(df, [req], bootstrap=plan.bootstrap, intersections=plan.intersections))
    inter = out["intersectional_bias_metrics"]
    assert inter["min_group_size"] == {"sex|race": 10}
    assert list(inter["pre_training_bias_metrics"]["facets"]) == ["sex|race"]
    assert inter["bias_confidence_intervals"]["pre_training_bias_metrics"]["facets"]["sex|race"][0]["metrics"]


def test_config_errors():
    with pytest.raises(ConfigError, match=r"intersectional_facets\[0\].name_or_index: expected distinct columns"):
        config(intersectional_facets=[{"name_or_index": ["sex", "sex"]}])
    with pytest.raises(ConfigError, match=r"intersectional_facets\[0\].name_or_index: expected two or more columns, "
                                          r"found \['sex'\]; an intersection combines several facet columns"):
        config(intersectional_facets=[{"name_or_index": ["sex"]}])
    cfg = config(intersectional_facets=[{"name_or_index": ["sex", "region"]}])
    with pytest.raises(ConfigError, match=r"intersectional_facets\[0\].name_or_index\[1\]: Unable to locate the facet "
                                          r"column 'region'"):
        plan_segments(cfg, ["y", "p", "sex", "race", "g", "x"])
    cfg = config(intersectional_facets=[{"name_or_index": ["sex", 2]}])
    with pytest.raises(ConfigError, match=r"names the same column twice \(\['sex', 'sex'\]\)"):
        plan_segments(cfg, ["y", "p", "sex", "race", "g", "x"])


def test_the_extensions_run_with_a_bias_method():
    from clarify_engine._methods import split

    cfg = config(intersectional_facets=[{"name_or_index": ["sex", "race"]}], bias_confidence_intervals={})
    runnable, not_run = split(cfg)
    assert runnable == ["pre_training_bias"] and not_run == []
