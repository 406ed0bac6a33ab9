"""The report's per-segment section: one block per segment under "Segment: <alias>"."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.bias._extensions import bias_extensions
from clarify_engine.bias._segments import Segment, Segmentation, SegmentSpec, parse_interval
from clarify_engine.report._build import Report
from clarify_engine.report._segments_json import extensions_dict
from tests.bias.segment_helpers import stage_spec


def analysis():
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "sex": rng.choice(["F", "M"], n),
                       "age": rng.uniform(18, 80, n)})
    facets = [FacetSpec("sex", ["F"])]
    reqs = [stage_spec("y", (1,), tuple(facets), "pre_training", ("CI", "DPL")),
            stage_spec("y", (1,), tuple(facets), "post_training", ("DPPL",), predicted_label="p")]
    spec = SegmentSpec((Segmentation("ages", "age", "age", (
        Segment(("[18, 40)",), "young", (parse_interval("[18, 40)", "t"),)),), "older"),))
    doc = {"version": "1.0",
           "pre_training_bias_metrics": bias_section(df, label="y", label_values=[1], facets=facets,
                                                     stage="pre_training", methods=["CI", "DPL"])}
    doc.update(extensions_dict(bias_extensions(df, reqs, segments=spec)))
    return doc


def test_one_block_per_segment():
    doc = analysis()
    report = Report(doc)
    assert report.section_keys() == ["summary", "pre_training_bias_metrics", "segment_analysis"]
    html = report.section("segment_analysis").html
    assert "Bias Metrics per Segment" in html and "Segmentation ages (column <code>age</code>)" in html
    assert [m for m in re.findall(r"<h3>Segment: ([^<]+)</h3>", html)] == ["young", "older"]
    young = doc["segment_analysis"][0]["segments"][0]
    ci = young["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"][0]["value"]
    assert f"{young['num_records']:,} rows" in html
    assert f"{ci:.6g}"[:6] in html
    assert html.count("Segment: young \u2014 Pre-training Bias Metrics") == 1
    assert html.count("Segment: older \u2014 Post-training Bias Metrics") == 1
    # the whole-dataset section is the same with or without segments
    plain = {k: v for k, v in doc.items() if k != "segment_analysis"}
    assert Report(plain).section("pre_training_bias_metrics").html == report.section("pre_training_bias_metrics").html
    assert "segment_analysis" in Report(doc).html()
