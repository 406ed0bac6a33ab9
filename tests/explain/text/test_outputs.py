"""out.jsonl in Clarify's shape, and the global_top_shap_text section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clarify_engine.explain.text import TextSpec, explain_text
from clarify_engine.report._text_outputs import text_sections, write_text_outputs


def model(frame):
    text = frame["Comments"].astype(str)
    s = 2.0 * text.str.count("awful") - 0.5 * text.str.count("fine") + 0.1 * frame["Rating"]
    p = 1 / (1 + np.exp(-s.to_numpy(dtype=float)))
    return np.c_[1 - p, p]


FRAME = pd.DataFrame({"Rating": [1, 5, 3], "Comments": ["awful, awful fit", "fine fit", "awful! Fine."]})


@pytest.fixture(scope="module")
def result():
    spec = TextSpec(granularity="token", language="en", features=("Rating", "Comments"),
                    text_columns=("Comments",), baseline=((3, "[MASK]"),), baseline_weights=(1.0,),
                    max_record_bytes=10_000)
    return explain_text(FRAME, spec, model)


def test_out_jsonl_has_clarify_shape(tmp_path, result):
    paths = write_text_outputs(tmp_path, result, joinsource=["a", "b", "c"])
    assert [p.name for p in paths] == ["out.jsonl", "out_standard_errors.jsonl"]
    lines = [json.loads(x) for x in (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and [x["join_source_value"] for x in lines] == ["a", "b", "c"]
    rating, comments = lines[0]["explanations"]
    assert rating == {"feature_name": "Rating", "data_type": "numerical",
                      "attributions": [{"attribution": pytest.approx(result.records[0].features[0].values[0].tolist())}]}
    assert comments["feature_name"] == "Comments" and comments["data_type"] == "free_text"
    assert [a["description"] for a in comments["attributions"]] == [
        {"partial_text": "awful", "start_idx": 0}, {"partial_text": ",", "start_idx": 5},
        {"partial_text": "awful", "start_idx": 7}, {"partial_text": "fit", "start_idx": 13}]
    assert all(len(a["attribution"]) == 2 for a in comments["attributions"])
    errors = [json.loads(x) for x in (tmp_path / "explanations_shap" / "out_standard_errors.jsonl").read_text()
              .splitlines()]
    assert errors[0]["explanations"][1]["attributions"][0]["attribution"] == [0.0, 0.0]  # exact: no error


def test_a_failed_record_keeps_its_line(tmp_path):
    frame = FRAME.assign(Comments=["awful", "fine " * 100, "ok fine"])
    spec = TextSpec(granularity="token", language="en", features=("Rating", "Comments"),
                    text_columns=("Comments",), baseline=((3, ""),), baseline_weights=(1.0,), max_record_bytes=100)
    write_text_outputs(tmp_path, explain_text(frame, spec, model))
    lines = [json.loads(x) for x in (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()]
    assert lines[1]["explanations"] == [] and "payload limit" in lines[1]["error"]
    assert len(lines[0]["explanations"]) == 2 and "error" not in lines[0]


def test_global_top_shap_text_ranks_the_heavy_word_first(result):
    section, se = text_sections(result, ["label0", "label1"], "mean_abs", 2)
    top = section["label1"]["global_top_shap_text"]["Comments"]
    assert list(top) == ["awful", "fine"]
    values = [v for rec in result.records for u, v in zip(rec.features[1].units, rec.features[1].values[:, 1])
              if u == "awful"]
    assert top["awful"] == pytest.approx(np.mean(np.abs(values)))
    assert set(section["label0"]) == {"global_shap_values", "expected_value", "global_top_shap_text"}
    assert list(section["label0"]["global_shap_values"]) == ["Rating"]
    assert section["label1"]["expected_value"] == pytest.approx(float(result.expected_value[1]))
    assert se["label1"]["global_top_shap_text"]["Comments"] == {"awful": 0.0, "fine": 0.0}
    full, _ = text_sections(result, ["label0", "label1"], "mean_abs", 50)
    assert len(full["label1"]["global_top_shap_text"]["Comments"]) == 7  # awful , fit fine ! Fine .
    assert "Fine" in full["label1"]["global_top_shap_text"]["Comments"]  # case is kept


def test_median_ranks_by_absolute_value(result):
    section, _ = text_sections(result, ["l0", "l1"], "median", 1)
    assert list(section["l0"]["global_top_shap_text"]["Comments"]) == ["awful"]
    assert section["l0"]["global_top_shap_text"]["Comments"]["awful"] < 0
