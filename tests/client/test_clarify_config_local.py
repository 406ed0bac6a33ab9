"""End to end in local mode: ``run_*`` on the shipped demo data runs the engine as a subprocess.

The job reads the config our client wrote and the dataset copied into its processing
layout, and its results arrive in the ``s3_output_path`` folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import clarify_engine.demo
from clarify_engine.client import (
    BiasConfig,
    DataConfig,
    LocalSession,
    ModelConfig,
    ModelPredictedLabelConfig,
    SageMakerClarifyProcessor,
    UnexpectedStatusException,
)
from tests.helpers import ServerProcess

DEMO = Path(clarify_engine.demo.__file__).parent
HEADERS = json.loads((DEMO / "analysis_config.json").read_text())["headers"]


def _data_config(out: Path, **kw) -> DataConfig:
    return DataConfig(s3_data_input_path=str(DEMO / "loans.csv"), s3_output_path=str(out), label="Target",
                      headers=HEADERS, dataset_type="text/csv", **kw)


def test_pre_training_bias_local_job_writes_analysis_json(tmp_path, capsys):
    out = tmp_path / "results"
    processor = SageMakerClarifyProcessor(instance_count=1, instance_type="local",
                                          sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
    processor.run_pre_training_bias(_data_config(out), BiasConfig([1], "Gender", [0]), methods=["CI", "DPL"],
                                    job_name="demo-pretraining")
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    # the config our client wrote sits next to the results, as on S3
    written = (out / "analysis_config.json").read_text()
    assert written == json.dumps(processor._last_analysis_config)
    analysis = json.loads((out / "analysis.json").read_text())
    (facet,) = analysis["pre_training_bias_metrics"]["facets"]["Gender"]
    assert facet["value_or_threshold"] == "0"
    assert [m["name"] for m in facet["metrics"]] == ["CI", "DPL"]
    assert all(isinstance(m["value"], float) for m in facet["metrics"])


def test_failing_local_job_raises_with_the_reason(tmp_path):
    out = tmp_path / "results"
    processor = SageMakerClarifyProcessor(sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"),
                                          skip_early_validation=True)
    # a facet column the data does not have: only the job itself can find out
    with pytest.raises(UnexpectedStatusException, match="Failed") as info:
        processor.run_pre_training_bias(_data_config(out), BiasConfig([1], "Nationality"), logs=False,
                                        job_name="demo-failing")
    assert "Nationality" in str(info.value)
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Failed"


def test_post_training_bias_against_a_served_model(tmp_path, monkeypatch):
    server = ServerProcess(DEMO / "loans_model.joblib")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        out = tmp_path / "results"
        processor = SageMakerClarifyProcessor(sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
        processor.run_post_training_bias(
            _data_config(out), BiasConfig([1], "Gender", [0]),
            ModelConfig(endpoint_name="loans", accept_type="text/csv", content_type="text/csv"),
            ModelPredictedLabelConfig(probability_threshold=0.5), methods=["DPPL", "DI"], logs=False,
            job_name="demo-posttraining")
    finally:
        server.stop()
    analysis = json.loads((out / "analysis.json").read_text())
    (facet,) = analysis["post_training_bias_metrics"]["facets"]["Gender"]
    assert [m["name"] for m in facet["metrics"]] == ["DI", "DPPL"]


def test_explainability_against_a_served_model(tmp_path, monkeypatch):
    from clarify_engine.client import SHAPConfig

    server = ServerProcess(DEMO / "loans_model.joblib")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        for key, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing"),
                           ("AWS_SECRET_ACCESS_KEY", "testing")):
            monkeypatch.setenv(key, value)
        out = tmp_path / "results"
        processor = SageMakerClarifyProcessor(sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
        data_config = DataConfig(s3_data_input_path=str(DEMO / "loans.csv"), s3_output_path=str(out),
                                 label="Target", headers=HEADERS)
        processor.run_explainability(
            data_config, ModelConfig(endpoint_name="loans", accept_type="text/csv", content_type="text/csv"),
            SHAPConfig(num_clusters=2, num_samples=32, seed=7),
            model_scores=ModelPredictedLabelConfig(label_headers=["approved"]), logs=False,
            job_name="demo-explainability")
    finally:
        server.stop()
    analysis = json.loads((out / "analysis.json").read_text())
    shap = analysis["explanations"]["kernel_shap"]["approved"]
    assert sorted(shap["global_shap_values"]) == sorted(h for h in HEADERS if h != "Target")
    assert (out / "explanations_shap" / "out.csv").is_file()
