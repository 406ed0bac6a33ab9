"""``clarify_engine.validate`` and ``clarify-engine validate``: the report, the errors analyze
would raise, the model checks (file loaded, server pinged), and what gets imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import clarify_engine
from clarify_engine import ConfigError, ModelError, ValidationReport
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.helpers import ServerProcess, run_cli

HEAVY = ("numpy", "pandas", "numba", "sklearn", "scipy", "pyarrow", "boto3", "botocore", "joblib", "fsspec")


def _demo() -> dict:
    return json.loads(DEMO_CONFIG.read_text())


def _imported_after(code: str) -> list[str]:
    """Top-level heavy packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (f"import sys\n{code}\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_version_imports_nothing_heavy():
    code = ("from clarify_engine.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit as exc:\n"
            "    assert exc.code == 0")
    assert _imported_after(code) == []


def test_validate_without_data_imports_nothing_heavy(tmp_path):
    config = _demo()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    code = f"from clarify_engine.cli import main\nassert main(['validate', {str(path)!r}]) == 0"
    assert _imported_after(code) == []
    assert _imported_after(f"import clarify_engine\nclarify_engine.validate({str(path)!r})") == []


def test_report_with_data_and_model_file():
    report = clarify_engine.validate(DEMO_CONFIG, data=DEMO_DATA, model=DEMO_MODEL)
    assert isinstance(report, ValidationReport)
    assert report.would_run == ("pre_training_bias", "post_training_bias", "shap", "pdp")
    assert report.not_run == ()
    assert report.dataset.rows == 5000
    assert report.dataset.label == "Target" and report.dataset.facets == ("Gender", "Occupation")
    assert report.dataset.features == ("Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore")
    assert report.model_needed
    assert report.model == f"model file {DEMO_MODEL}: loaded (sklearn.pipeline.Pipeline)"
    assert report.checked == ("config", "dataset", "plan", "model")
    assert report.to_dict()["dataset"]["rows"] == 5000


def test_without_data_only_the_config_is_checked():
    config = _demo()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    report = clarify_engine.validate(config)
    assert report.dataset is None and report.checked == ("config",)
    assert report.would_run == ("pre_training_bias", "post_training_bias", "shap", "pdp")
    assert report.model == "SageMaker endpoint loans-endpoint"
    assert report.warnings == (
        "no dataset given (data or dataset_uri): columns, feature lists and the baseline are checked when the "
        "job runs",
        "the SageMaker endpoint 'loans-endpoint' is not called by validate; that it exists and answers is "
        "checked when the job starts",
    )


def test_model_needed_but_not_given_is_the_error_analyze_raises():
    config = _demo()  # predictor without endpoint_name or model_name
    with pytest.raises(ConfigError) as validated:
        clarify_engine.validate(config, data=DEMO_DATA)
    with pytest.raises(ConfigError) as analyzed:
        clarify_engine.analyze(config, data=DEMO_DATA)
    assert str(validated.value) == str(analyzed.value)
    assert validated.value.path == "predictor.endpoint_name"
    with pytest.raises(ConfigError) as without_data:
        clarify_engine.validate(config)
    assert str(without_data.value) == str(analyzed.value)


def test_no_model_needed_when_labels_and_predictions_are_in_the_data():
    frame = pd.read_csv(DEMO_DATA).assign(Pred=lambda f: f["Target"])
    config = _demo()
    config.update(methods={"post_training_bias": {"methods": ["DPPL"]}}, predicted_label="Pred")
    config.pop("headers")
    del config["predictor"]
    report = clarify_engine.validate(config, data=frame)
    assert report.would_run == ("post_training_bias",) and not report.model_needed
    assert report.model is None
    assert "model: not needed" in report.lines()


def test_text_config_runs_as_shap(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the endpoint's client is built, never called
    config = _demo()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    config["methods"]["shap"] = {"text_config": {"granularity": "token", "language": "english"}}
    del config["methods"]["pdp"]
    config["methods"] = {"shap": config["methods"]["shap"]}
    report = clarify_engine.validate(config)
    assert report.not_run == () and report.would_run == ("shap",)


def test_an_image_dataset_validates_and_its_images_are_listed(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = {"dataset_type": "application/x-image", "methods": {"shap": {"image_config": {
        "model_type": "IMAGE_CLASSIFICATION"}}}, "predictor": {"endpoint_name": "e", "label_headers": ["cat"]}}
    assert clarify_engine.validate(config).would_run == ("shap",)
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff")  # listed by name; decoded when the job reads it
    report = clarify_engine.validate(config, data=str(tmp_path))
    assert report.dataset.files == (str(tmp_path / "a.jpg"),) and report.would_run == ("shap",)


def test_small_shap_budget_is_a_warning_not_an_error():
    # Every budget runs (a minimum-norm estimate below the determining one); validate warns with
    # the note the job itself logs, word for word.
    config = _demo()
    config["methods"]["shap"]["num_samples"] = 3
    report = clarify_engine.validate(config, data=DEMO_DATA, model=DEMO_MODEL)
    assert report.warnings == (
        "num_samples=3 is below the 9 coalitions that determine every value for 6 features; values are a "
        "minimum-norm estimate (features the drawn coalitions cannot tell apart share equally what those "
        "coalitions leave unexplained), they still add up to the model output, and their standard errors are inf "
        "where the coalitions cannot bound the error; set num_samples to at least 9 to determine every value",)
    config["methods"]["shap"]["num_samples"] = 9
    assert clarify_engine.validate(config, data=DEMO_DATA, model=DEMO_MODEL).warnings == ()


def test_missing_model_file_is_the_error_analyze_raises(tmp_path):
    missing = tmp_path / "nope.joblib"
    with pytest.raises(ModelError) as validated:
        clarify_engine.validate(DEMO_CONFIG, data=DEMO_DATA, model=missing)
    # analyze still computes what needs no model (pre-training bias), then fails with the same error
    with pytest.raises(clarify_engine.PartialFailure) as analyzed:
        clarify_engine.analyze(DEMO_CONFIG, data=DEMO_DATA, model=missing)
    assert isinstance(analyzed.value.__cause__, ModelError)
    assert str(validated.value) == str(analyzed.value.__cause__)
    assert analyzed.value.result.manifest["methods_run"] == ["pre_training_bias"]
    with pytest.raises(ModelError):
        clarify_engine.validate(DEMO_CONFIG, model=missing)


def test_cli_validate_model_server_ping(tmp_path):
    server = ServerProcess(DEMO_MODEL, "--csv-output", "probability")
    try:
        ok = run_cli("validate", str(DEMO_CONFIG), "--data", str(DEMO_DATA), "--model", server.url)
        without_data = run_cli("validate", str(DEMO_CONFIG), "--model", server.url)
    finally:
        server.stop()
    assert ok.returncode == 0, ok.stderr
    assert f"model: model server {server.url}: answered GET /ping; request/response formats built" in ok.stdout
    assert ok.stdout.splitlines()[-1] == f"{DEMO_CONFIG}: configuration and dataset valid"
    assert without_data.returncode == 0, without_data.stderr
    assert f"model: model server {server.url}: answered GET /ping" in without_data.stdout
    assert without_data.stdout.splitlines()[-1] == f"{DEMO_CONFIG}: configuration valid"
    # the server is gone: the same command now fails, and says nothing is valid
    down = run_cli("validate", str(DEMO_CONFIG), "--model", server.url)
    assert down.returncode == 1
    assert "valid" not in down.stdout
    assert down.stderr.startswith(f"clarify-engine validate: error: model server {server.url} did not answer "
                                  "GET /ping (")
    assert down.stderr.rstrip().endswith("; start the server or correct the model URL (--model, "
                                         "analyze(model=...))")


def test_cli_validate_prints_nothing_before_a_failure(tmp_path):
    config = _demo()
    config["facet"][0]["name_or_index"] = "Nope"
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    proc = run_cli("validate", str(path), "--data", str(DEMO_DATA), "--model", str(DEMO_MODEL))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "facet[0].name_or_index" in proc.stderr and "Nope" in proc.stderr


def test_endpoint_client_that_cannot_be_built_fails_validate_as_it_fails_analyze(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    config = _demo()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    with pytest.raises(ModelError) as validated:
        clarify_engine.validate(config, data=DEMO_DATA)
    with pytest.raises(clarify_engine.PartialFailure) as analyzed:  # pre-training bias still computed
        clarify_engine.analyze(config, data=DEMO_DATA)
    assert str(validated.value) == str(analyzed.value.__cause__)
    assert "set AWS_REGION" in str(validated.value)
