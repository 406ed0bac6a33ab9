"""The SDK-compatible client's TextConfig job runs locally end to end (LocalSession, a served model)."""

from __future__ import annotations

import json

import joblib

from clarify_engine.client import (DataConfig, LocalSession, ModelConfig, SageMakerClarifyProcessor, SHAPConfig,
                                   TextConfig)
from clarify_engine.demo._text import make_reviews, train_text_model
from tests.helpers import ServerProcess


def test_text_config_job_runs_locally(tmp_path):
    joblib.dump(train_text_model(make_reviews(300, seed=1)), tmp_path / "model.joblib")
    make_reviews(12, seed=7).to_csv(tmp_path / "reviews.csv", index=False, header=False)
    server = ServerProcess(tmp_path / "model.joblib")
    try:
        session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
        processor = SageMakerClarifyProcessor(
            instance_count=1, instance_type="local", sagemaker_session=session,
            env={"AWS_DEFAULT_REGION": "us-west-2", "AWS_ACCESS_KEY_ID": "testing",
                 "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url})
        data_config = DataConfig(s3_data_input_path=str(tmp_path / "reviews.csv"), s3_output_path=str(tmp_path / "out"),
                                 label="Target", headers=["Target", "Rating", "Comments"], dataset_type="text/csv")
        model_config = ModelConfig(endpoint_name="text-endpoint", content_type="text/csv", accept_type="text/csv")
        shap_config = SHAPConfig(baseline=[[4, "<UNK>"]], num_samples=50, seed=1,
                                 text_config=TextConfig(granularity="token", language="english"))
        processor.run_explainability(data_config, model_config, shap_config, logs=False)
    finally:
        server.stop()
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    top = analysis["explanations"]["kernel_shap"]["label0"]["global_top_shap_text"]["Comments"]
    assert list(top)[0] == "awful"
    lines = (tmp_path / "out" / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert len(lines) == 12
