"""The warnings channel end to end: analysis.json's "warnings", the manifest, column_typing, scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import clarify_engine
from clarify_engine import _warnings
from clarify_engine.errors import ConfigError


def config(**extra):
    return {
        "dataset_type": "text/csv",
        "label": "Target",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}],
        "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]}},
        **extra,
    }


@pytest.fixture
def loans_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    g = rng.integers(0, 2, n)
    df = pd.DataFrame({"Target": (rng.random(n) < 0.3 + 0.15 * g).astype(int), "Age": rng.integers(18, 80, n),
                       "Gender": g})
    clean = tmp_path / "clean.csv"
    df.to_csv(clean, index=False)
    broken = tmp_path / "broken.csv"
    missing = df.astype({"Target": object})
    missing.loc[5, "Target"] = None
    missing.to_csv(broken, index=False)
    return clean, broken, df


def read(out):
    return (json.loads((out / "analysis.json").read_text()), json.loads((out / "run_manifest.json").read_text()))


def test_clean_data_writes_no_warnings_key(loans_csv, tmp_path):
    clean, _, _ = loans_csv
    result = clarify_engine.analyze(config(), data=clean, output_dir=tmp_path / "out")
    analysis, manifest = read(tmp_path / "out")
    assert list(analysis) == ["version", "pre_training_bias_metrics"]
    assert manifest["warnings"] == [] and result.warnings == []


def test_warnings_go_to_analysis_json_and_the_manifest(loans_csv, tmp_path):
    _, broken, _ = loans_csv
    result = clarify_engine.analyze(config(), data=broken, output_dir=tmp_path / "out")
    analysis, manifest = read(tmp_path / "out")
    assert [w["code"] for w in analysis["warnings"]] == ["values_became_threshold", "no_positive_label"]
    assert list(analysis["warnings"][0]) == ["code", "where", "message", "fix"]
    assert manifest["warnings"] == analysis["warnings"] == result.warnings
    assert result.to_dict() == analysis  # the file's content, the extension key included
    assert analysis["pre_training_bias_metrics"] == result.to_dict()["pre_training_bias_metrics"]
    assert analysis["pre_training_bias_metrics"]["label_value_or_threshold"] == ""


def test_each_warning_once_though_both_stages_type_the_label(loans_csv, tmp_path):
    _, broken, df = loans_csv
    frame = pd.read_csv(broken).assign(pred=df["Target"].astype(float))
    cfg = config(predicted_label="pred",
                 methods={"pre_training_bias": {"methods": ["CI"]}, "post_training_bias": {"methods": ["DPPL"]}})
    # Post-training fails (smclarify's error); pre-training completed and is kept.
    with pytest.raises(clarify_engine.PartialFailure, match="No Label values are present in the predicted Label Column"):
        clarify_engine.analyze(cfg, data=frame)
    with _warnings.collect() as found:
        with pytest.raises(clarify_engine.PartialFailure) as info:
            clarify_engine.analyze(cfg, data=frame)
    assert [w.code for w in found] == ["values_became_threshold", "no_positive_label"]
    assert [w["code"] for w in info.value.result.warnings] == ["values_became_threshold", "no_positive_label"]


def test_column_typing_intent_from_the_config(loans_csv, tmp_path):
    clean, broken, df = loans_csv
    want = clarify_engine.analyze(config(), data=clean).to_dict()["pre_training_bias_metrics"]
    result = clarify_engine.analyze(config(column_typing="intent"), data=broken, output_dir=tmp_path / "out")
    got = result.to_dict()["pre_training_bias_metrics"]
    assert got["label_value_or_threshold"] == "1"
    dpl = {m["name"]: m["value"] for m in got["facets"]["Gender"][0]["metrics"]}["DPL"]
    kept = df.drop(index=5)
    d = kept["Gender"] == 0
    assert dpl == pytest.approx(kept["Target"][~d].mean() - kept["Target"][d].mean(), abs=1e-12)
    assert dpl == pytest.approx(want["facets"]["Gender"][0]["metrics"][1]["value"], abs=2e-3)
    assert [w["code"] for w in result.warnings] == ["rows_excluded"]


def test_column_typing_rejects_other_values():
    with pytest.raises(ConfigError) as info:
        clarify_engine.analyze(config(column_typing="smart"), data=pd.DataFrame({"Target": [1], "Gender": [0]}))
    assert info.value.path == "column_typing"
    assert "found \"smart\"" in str(info.value)


def test_predicted_label_dataset_of_probabilities_with_probability_threshold(tmp_path):
    """The predicted-label notebook: XGBoost probabilities in a separate dataset, threshold 0.8."""
    rng = np.random.default_rng(4)
    n = 400
    g = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.4).astype(int)
    proba = np.clip(0.5 * y + rng.random(n) * 0.6, 0, 1).round(6)
    pd.DataFrame({"Target": y, "Gender": g, "x": rng.normal(size=n)}).to_csv(tmp_path / "train.csv", index=False,
                                                                             header=False)
    pd.DataFrame({"p": proba}).to_csv(tmp_path / "pred.csv", index=False, header=False)
    cfg = config(headers=["Target", "Gender", "x"], predicted_label_dataset_uri=str(tmp_path / "pred.csv"),
                 predicted_label_headers=["predicted_label"], probability_threshold=0.8,
                 methods={"post_training_bias": {"methods": ["DPPL"]}})
    result = clarify_engine.analyze(cfg, data=tmp_path / "train.csv")
    dppl = result.to_dict()["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"][0]["value"]
    labels = (proba > 0.8).astype(int)
    d = g == 0
    assert dppl == pytest.approx(labels[~d].mean() - labels[d].mean(), abs=1e-12)
    del cfg["probability_threshold"]
    with pytest.raises(clarify_engine.DataError, match="set probability_threshold"):
        clarify_engine.analyze(cfg, data=tmp_path / "train.csv")


def test_collect_nests_and_deduplicates():
    with _warnings.collect() as outer:
        _warnings.warn("a", "m", fix="f", where="w")
        with _warnings.collect() as inner:
            _warnings.warn("a", "m", fix="f", where="w")
            _warnings.warn("b", "m", fix="f", where="w")
    assert [w.code for w in outer] == ["a", "b"]
    assert [w.code for w in inner] == ["a", "b"]
    assert outer[0].to_dict() == {"code": "a", "where": "w", "message": "m", "fix": "f"}
