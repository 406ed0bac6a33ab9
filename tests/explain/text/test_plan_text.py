"""Config -> TextSpec: the SDK's text config unchanged, defaults, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from clarify_engine import load_dataset
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError
from clarify_engine.explain.text import resolve_baseline
from clarify_engine.job._plan_text import plan_text

FIXTURES = Path(__file__).parents[2] / "fixtures" / "text"


def _dataset(tmp_path, config):
    frame = pd.DataFrame({"Target": [1, 0, 1], "Rating": [5, 1, 4],
                          "Comments": ["Love it, great fit.", "Bad. Awful colour.", "Nice dress"]})
    frame.to_csv(tmp_path / "data.csv", index=False, header=False)
    return load_dataset(config, str(tmp_path / "data.csv"))


def test_sdk_token_english_config(tmp_path):
    raw = json.loads((FIXTURES / "sdk_token_english.json").read_text())
    config = load_config(raw)
    dataset = _dataset(tmp_path, config)
    spec = plan_text(config, dataset, max_record_bytes=1000)
    assert spec.features == ("Rating", "Comments") and spec.text_columns == ("Comments",)
    assert spec.granularity == "token" and spec.language == "en"
    # the planner says where the baseline comes from; the engine reads it when the job runs
    assert spec.baseline == () and spec.baseline_source == "config"
    assert resolve_baseline(spec, dataset.frame).baseline == ((4, "[MASK]"),)
    assert spec.num_samples == 100 and spec.max_top_tokens == 50 and spec.max_record_bytes == 1000


def test_default_baseline_drops_units(tmp_path):
    raw = json.loads((FIXTURES / "sdk_token_english.json").read_text())
    shap = raw["methods"]["shap"]
    del shap["baseline"]
    shap["text_config"] = {"granularity": "Sentence", "language": "Multi-Language", "max_top_tokens": 7}
    config = load_config(raw)
    dataset = _dataset(tmp_path, config)
    spec = plan_text(config, dataset)
    assert spec.granularity == "sentence" and spec.language == "xx" and spec.max_top_tokens == 7
    assert spec.baseline_source == "default" and spec.baseline == ()  # no clustering in the planner
    resolved = resolve_baseline(spec, dataset.frame)
    assert all(row[1] == "" for row in resolved.baseline)
    assert sum(resolved.baseline_weights) == 3
    assert resolved.baseline_spec is None and resolve_baseline(resolved, dataset.frame) is resolved


def test_without_text_config_is_refused(tmp_path):
    raw = json.loads((FIXTURES / "sdk_token_english.json").read_text())
    del raw["methods"]["shap"]["text_config"]
    config = load_config(raw)
    with pytest.raises(ConfigError, match="methods.shap.text_config: expected a text_config section"):
        plan_text(config, _dataset(tmp_path, config))


def test_baseline_file_is_read_when_the_job_runs(tmp_path):
    (tmp_path / "baseline.csv").write_text("3,<UNK>\n")
    raw = json.loads((FIXTURES / "sdk_token_english.json").read_text())
    raw["methods"]["shap"]["baseline"] = "baseline.csv"
    config = load_config(raw)
    dataset = _dataset(tmp_path, config)
    spec = plan_text(config, dataset)
    assert spec.baseline == () and spec.baseline_source == "file"
    resolved = resolve_baseline(spec, dataset.frame, base_dir=tmp_path)
    assert resolved.baseline == ((3, "<UNK>"),) and resolved.baseline_weights == (1.0,)
