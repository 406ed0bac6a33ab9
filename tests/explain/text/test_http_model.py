"""End to end against a real model server: a TF-IDF + logistic regression pipeline served over
HTTP by ``python -m clarify_engine.serve``, the SDK's text config unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

from clarify_engine.config import load_config
from clarify_engine.data import load_dataset
from clarify_engine.explain.text import run_text_shap
from clarify_engine.job._plan_text import plan_text
from clarify_engine.predict import ClientOptions, make_predictor
from clarify_engine.report._text_outputs import write_text_outputs
from clarify_engine.demo._text import make_reviews as reviews, train_text_model as train
from tests.helpers import ServerProcess

FIXTURES = Path(__file__).parents[2] / "fixtures" / "text"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("textmodel")
    joblib.dump(train(reviews(300, seed=1)), folder / "model.joblib")
    proc = ServerProcess(folder / "model.joblib")
    yield proc
    proc.stop()


def _run(tmp_path, server, raw, n=12):
    reviews(n, seed=7).to_csv(tmp_path / "data.csv", index=False, header=False)
    config = load_config(raw)
    dataset = load_dataset(config, str(tmp_path / "data.csv"))
    options = ClientOptions()
    spec = plan_text(config, dataset, max_record_bytes=options.max_payload_bytes)
    with make_predictor(config, list(dataset.features), model=server.url, options=options) as predictor:
        job = run_text_shap(spec, dataset, predictor)
    write_text_outputs(tmp_path, job.result, job.joinsource)
    return job


def test_sdk_token_english_config_unchanged(tmp_path, server):
    raw = json.loads((FIXTURES / "sdk_token_english.json").read_text())
    job = _run(tmp_path, server, raw)
    assert job.labels == ("label0",)
    top = job.section["label0"]["global_top_shap_text"]["Comments"]
    assert list(top)[0] == "awful"  # the model's heaviest word (coefficient about -7)
    assert len(top) <= 50 and list(job.section["label0"]["global_shap_values"]) == ["Rating"]
    lines = (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert len(lines) == 12
    first = json.loads(lines[0])["explanations"]
    assert [f["feature_name"] for f in first] == ["Rating", "Comments"]
    assert first[1]["attributions"][0]["description"]["start_idx"] == 0
    for rec in job.result.records:
        total = sum(f.values.sum(axis=0) for f in rec.features)
        assert total == pytest.approx(rec.fx - rec.reference, abs=1e-9)
    assert job.manifest["records_explained"] == 12 and job.manifest["model_calls"] >= 1


def test_sentence_multi_language_config(tmp_path, server):
    raw = json.loads((FIXTURES / "sdk_token_english.json").read_text())
    raw["methods"]["shap"]["text_config"] = {"granularity": "sentence", "language": "multi-language"}
    raw["methods"]["shap"]["baseline"] = [[4, ""]]
    job = _run(tmp_path, server, raw, n=6)
    # two sentences + Rating: 3 features, every record exact
    assert job.manifest["records_exact"] == 6
    rec = job.result.records[0]
    assert len(rec.features[1].units) == 2 and rec.features[1].units[0].endswith(".")
