"""A failed method never throws away the others: Python API, CLI and container.

Kernel SHAP fails here on a baseline file that does not exist (found only when SHAP starts,
after both bias stages have completed); PDP, which picks its features by global SHAP, fails
with it. The bias metrics must be kept, written, and the failure reported honestly.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import clarify_engine
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from clarify_engine.job import PDP_NEEDS_SHAP
from tests.helpers import ServerProcess, run_cli
from tests.test_entrypoints import _layout

EXPECTED_START = ("Partial result: shap, pdp failed; analysis.json holds the methods that completed "
                  "(pre_training_bias, post_training_bias). shap: ")


def _config(baseline="no_such_baseline.csv") -> dict:
    config = json.loads(DEMO_CONFIG.read_text())
    config["methods"]["shap"].pop("num_clusters")
    config["methods"]["shap"]["baseline"] = baseline
    return config


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "loans.csv"
    pd.read_csv(DEMO_DATA).head(300).to_csv(path, index=False)
    return path


def _bias_only(data) -> dict:
    config = json.loads(DEMO_CONFIG.read_text())
    del config["methods"]["shap"], config["methods"]["pdp"]
    return clarify_engine.analyze(config, data=data, model=DEMO_MODEL).to_dict()


def _check_manifest(manifest: dict) -> None:
    assert manifest["status"] == "partial"
    assert manifest["methods_run"] == ["pre_training_bias", "post_training_bias"]
    assert [f["method"] for f in manifest["failed"]] == ["shap", "pdp"]
    assert "no_such_baseline.csv" in manifest["failed"][0]["reason"]
    assert manifest["failed"][1] == {"method": "pdp", "reason": PDP_NEEDS_SHAP, "error": "NotSupportedError"}


def test_python_api_raises_with_the_completed_sections_and_writes_them(tmp_path, small_data):
    out = tmp_path / "out"
    with pytest.raises(clarify_engine.PartialFailure) as info:
        clarify_engine.analyze(_config(), data=small_data, model=DEMO_MODEL, output_dir=out)
    error = info.value
    assert str(error).startswith(EXPECTED_START), str(error)
    assert str(error).endswith(f"pdp: {PDP_NEEDS_SHAP}")
    assert isinstance(error.__cause__, clarify_engine.DataError)
    result = error.result
    assert result.to_dict() == _bias_only(small_data)
    assert [(f.method, f.error) for f in result.failed] == [("shap", "DataError"), ("pdp", "NotSupportedError")]
    assert json.loads((out / "analysis.json").read_text()) == result.to_dict()
    _check_manifest(json.loads((out / "run_manifest.json").read_text()))
    assert not (out / "explanations_shap").exists()


def test_pdp_with_listed_features_still_runs_when_shap_fails(small_data):
    config = _config()
    config["methods"]["pdp"] = {"features": ["CreditScore"], "grid_resolution": 5}
    with pytest.raises(clarify_engine.PartialFailure) as info:
        clarify_engine.analyze(config, data=small_data, model=DEMO_MODEL)
    result = info.value.result
    assert [f.method for f in result.failed] == ["shap"]
    assert [e["feature_name"] for e in result.to_dict()["explanations"]["pdp"]] == ["CreditScore"]
    assert "kernel_shap" not in result.to_dict()["explanations"]


def test_when_nothing_completes_the_first_error_is_raised_as_is(small_data):
    config = _config()
    del config["methods"]["pre_training_bias"], config["methods"]["post_training_bias"], config["methods"]["pdp"]
    with pytest.raises(clarify_engine.DataError, match="no_such_baseline.csv"):
        clarify_engine.analyze(config, data=small_data, model=DEMO_MODEL)


def test_cli_writes_what_completed_and_exits_non_zero(tmp_path, small_data):
    config_file = tmp_path / "analysis_config.json"
    config_file.write_text(json.dumps(_config()))
    out = tmp_path / "out"
    proc = run_cli("analyze", "--config", str(config_file), "--data", str(small_data), "--output", str(out),
                   "--model", str(DEMO_MODEL))
    assert proc.returncode == 1, proc.stderr
    assert f"clarify-engine analyze: error: {EXPECTED_START}" in proc.stderr
    assert json.loads((out / "analysis.json").read_text()) == _bias_only(small_data)
    _check_manifest(json.loads((out / "run_manifest.json").read_text()))


def test_container_writes_what_completed_the_message_and_exits_1(tmp_path, small_data):
    server = ServerProcess(DEMO_MODEL)
    try:
        config = _config()
        config["predictor"]["endpoint_name"] = "loans-endpoint"
        root = _layout(tmp_path, config, {"loans.csv": small_data})
        env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}
        proc = run_cli("container", env=env)
    finally:
        server.stop()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    message = (root / "opt/ml/output/message").read_text()
    assert message.startswith(EXPECTED_START), message
    assert "Failed: shap: " in proc.stdout and "Job failed: Partial result" in proc.stdout
    output = root / "opt/ml/processing/output"
    assert json.loads((output / "analysis.json").read_text()) == _bias_only(small_data)
    _check_manifest(json.loads((output / "run_manifest.json").read_text()))


def test_container_keeps_pre_training_bias_when_the_model_is_down(tmp_path, small_data):
    """The endpoint cannot be reached: every method that needs it fails, pre-training bias is kept."""
    config = json.loads(DEMO_CONFIG.read_text())
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    root = _layout(tmp_path, config, {"loans.csv": small_data})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:9",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}
    proc = run_cli("container", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    message = (root / "opt/ml/output/message").read_text()
    assert message.startswith("Partial result: post_training_bias, shap, pdp failed; analysis.json holds the "
                              "methods that completed (pre_training_bias). post_training_bias: "), message
    assert len(message.encode()) <= 1024
    output = root / "opt/ml/processing/output"
    analysis = json.loads((output / "analysis.json").read_text())
    assert set(analysis) == {"version", "pre_training_bias_metrics"}
    config_no_model = json.loads(DEMO_CONFIG.read_text())
    config_no_model["methods"] = {"pre_training_bias": config_no_model["methods"]["pre_training_bias"]}
    expected = clarify_engine.analyze(config_no_model, data=small_data).to_dict()
    assert analysis == expected
    manifest = json.loads((output / "run_manifest.json").read_text())
    assert [f["method"] for f in manifest["failed"]] == ["post_training_bias", "shap", "pdp"]
