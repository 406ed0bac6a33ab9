"""The typed BiasReport and its one renderer to Clarify's bias section."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from clarify_engine.bias import BiasReport, FacetEntry, FacetReport, FacetSpec, MetricError, MetricResult
from clarify_engine.bias import BiasSpec, bias_report, bias_section
from clarify_engine.report._bias_json import bias_json


def frame(n=120, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n),
                         "sex": rng.choice(["F", "M"], n), "x": rng.normal(size=n)})


KW = dict(label="y", label_values=[1], stage="post_training", predicted_label="p")


def test_report_is_typed_and_renders_to_bias_section():
    df = frame()
    report = bias_report(df, BiasSpec.resolve(facets=[FacetSpec("sex", ["F"]), FacetSpec("sex", None)], **KW))
    assert isinstance(report, BiasReport)
    assert (report.stage, report.label, report.label_value_or_threshold) == ("post_training", "y", "1")
    # a facet configured twice: one report holding the entries of both, in order
    (sex,) = report.facets
    assert [e.value_or_threshold for e in sex.entries] == ["F", df.sex.iloc[0], ({"F", "M"} - {df.sex.iloc[0]}).pop()]
    assert report.to_clarify_dict() == bias_json(report)
    assert bias_section(df, facets=[FacetSpec("sex", ["F"]), FacetSpec("sex", None)], **KW) == bias_json(report)
    entry = report.facet("sex").entry("F")
    assert entry["DPPL"] == pytest.approx(df.p[df.sex != "F"].mean() - df.p[df.sex == "F"].mean())
    assert entry.errors() == {"CDDPL": "Group variable is empty or not provided"}
    with pytest.raises(MetricError, match=r"^CDDPL of 'F': Group variable is empty or not provided$"):
        entry["CDDPL"]


def test_lookups_name_what_exists():
    report = bias_report(frame(), BiasSpec.resolve(facets=[FacetSpec("sex", None)], **KW))
    with pytest.raises(KeyError, match=r"no facet 'age' in the bias report; facets are \['sex'\]"):
        report.facet("age")
    sex = report.facet("sex")
    with pytest.raises(KeyError, match=r"facet 'sex' has 2 entries \[.*\]; name one: \.entry\(value_or_threshold\)"):
        sex["DPPL"]
    with pytest.raises(KeyError, match=r"facet 'sex' has no entry 'Z'; entries are \["):
        sex.entry("Z")
    with pytest.raises(KeyError, match=r"metric 'CI' was not computed for 'F'; computed: \['AD', "):
        sex.entry("F")["CI"]


def test_renderer_shape_infinity_and_errors():
    report = BiasReport("post_training", "y", "1", (
        FacetReport("sex", (FacetEntry("F", (
            MetricResult("DI", "Disparate Impact (DI)", math.inf),
            MetricResult("DPPL", "DPPL text", -math.inf),
            MetricResult("TE", "Treatment Equality (TE)", None, "Facet set is empty"),
            MetricResult("SD", "Specificity Difference (SD)", 0.25),
        )),)),
        FacetReport("age", (FacetEntry("(40, 80]", ()),)),
    ))
    out = bias_json(report)
    assert json.dumps(out, allow_nan=False) == json.dumps({
        "label": "y",
        "facets": {
            "sex": [{"value_or_threshold": "F", "metrics": [
                {"name": "DI", "description": "Disparate Impact (DI)", "value": "Infinity"},
                {"name": "DPPL", "description": "DPPL text", "value": "-Infinity"},
                {"name": "TE", "description": "Treatment Equality (TE)", "value": None, "error": "Facet set is empty"},
                {"name": "SD", "description": "Specificity Difference (SD)", "value": 0.25},
            ]}],
            "age": [{"value_or_threshold": "(40, 80]", "metrics": []}],
        },
        "label_value_or_threshold": "1",
    })
