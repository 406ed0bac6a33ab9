"""Text jobs end to end through the job plan: Python API, CLI and container, against a
TF-IDF + logistic regression pipeline served over HTTP by ``python -m clarify_engine.serve``;
the SDK's text config unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

import clarify_engine
from clarify_engine.demo._text import make_reviews, train_text_model
from tests.helpers import ServerProcess, run_cli
from tests.test_entrypoints import _aws_env, _layout

FIXTURES = Path(__file__).parents[2] / "fixtures" / "text"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("textmodel")
    joblib.dump(train_text_model(make_reviews(300, seed=1)), folder / "model.joblib")
    proc = ServerProcess(folder / "model.joblib")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    make_reviews(12, seed=7).to_csv(path, index=False, header=False)
    return path


def _sdk_config() -> dict:
    return json.loads((FIXTURES / "sdk_token_english.json").read_text())


def test_sdk_token_english_config_through_api_cli_and_container(tmp_path, server, data):
    out = tmp_path / "api"
    result = clarify_engine.analyze(_sdk_config(), data=data, model=server.url, output_dir=out)
    analysis = result.to_dict()
    label0 = analysis["explanations"]["kernel_shap"]["label0"]
    assert list(label0["global_top_shap_text"]["Comments"])[0] == "awful"  # the model's heaviest word
    assert list(label0["global_shap_values"]) == ["Rating"]
    assert result.manifest["kernel_shap"]["records_explained"] == 12
    assert result.manifest["methods_run"] == ["shap"] and result.manifest["not_run"] == []
    lines = (out / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert len(lines) == 12 and not (out / "explanations_shap" / "out.csv").exists()
    first = json.loads(lines[0])["explanations"]
    assert [f["feature_name"] for f in first] == ["Rating", "Comments"]
    assert first[1]["data_type"] == "free_text" and first[1]["attributions"][0]["description"]["start_idx"] == 0
    for rec in result.text.records:
        total = sum(f.values.sum(axis=0) for f in rec.features)
        assert total == pytest.approx(rec.fx - rec.reference, abs=1e-9)

    # the same job from the three entry points: seeded so that the sampled coalitions agree
    seeded = _sdk_config()
    seeded["methods"]["shap"]["seed"] = 5
    analysis = clarify_engine.analyze(seeded, data=data, model=server.url, output_dir=out).to_dict()
    lines = (out / "explanations_shap" / "out.jsonl").read_text().splitlines()
    cfg = tmp_path / "analysis_config.json"
    cfg.write_text(json.dumps(seeded))
    proc = run_cli("analyze", "--config", str(cfg), "--data", str(data), "--output", str(tmp_path / "cli"),
                   "--model", server.url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "cli" / "analysis.json").read_text()) == analysis
    assert (tmp_path / "cli" / "explanations_shap" / "out.jsonl").read_text().splitlines() == lines

    config = seeded
    config["predictor"]["endpoint_name"] = "text-endpoint"
    root = _layout(tmp_path / "root", config, {"reviews.csv": data})
    proc = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root), **_aws_env(server)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = root / "opt/ml/processing/output"
    assert json.loads((output / "analysis.json").read_text()) == analysis
    assert (output / "explanations_shap" / "out.jsonl").read_text().splitlines() == lines


def test_sentence_multi_language_default_baseline(tmp_path, server, data):
    config = _sdk_config()
    config["methods"]["shap"]["text_config"] = {"granularity": "sentence", "language": "multi-language",
                                                "max_top_tokens": 3}
    del config["methods"]["shap"]["baseline"]
    config["methods"]["shap"]["save_local_shap_values"] = False
    result = clarify_engine.analyze(config, data=data, model=server.url, output_dir=tmp_path)
    manifest = result.manifest["kernel_shap"]
    assert manifest["records_exact"] == 12 and manifest["baseline"]["source"] == "default"
    top = result.to_dict()["explanations"]["kernel_shap"]["label0"]["global_top_shap_text"]["Comments"]
    assert len(top) == 3 and all(unit.endswith((".", "!")) for unit in top)
    assert not (tmp_path / "explanations_shap" / "out.jsonl").exists()  # save_local_shap_values false


def test_a_dataset_without_text_fails_shap_by_name(tmp_path, server):
    path = tmp_path / "numbers.csv"
    path.write_text("1,5,3\n0,1,4\n1,4,2\n")
    config = _sdk_config()
    with pytest.raises(clarify_engine.DataError, match="no feature column holds free text"):
        clarify_engine.analyze(config, data=path, model=server.url)


def test_pdp_by_top_shap_fails_alone_with_text(tmp_path, server, data):
    config = _sdk_config()
    config["methods"]["shap"]["seed"] = 1
    config["methods"]["pdp"] = {"grid_resolution": 5, "top_k_features": 1}
    with pytest.raises(clarify_engine.PartialFailure) as info:
        clarify_engine.analyze(config, data=data, model=server.url)
    result = info.value.result
    assert [f.method for f in result.failed] == ["pdp"]
    assert "SHAP explained text units (text_config), which do not rank columns" in result.failed[0].reason
    assert "global_top_shap_text" in result.to_dict()["explanations"]["kernel_shap"]["label0"]
