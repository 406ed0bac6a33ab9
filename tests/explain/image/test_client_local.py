"""The client's ImageConfig jobs run locally end to end (SDK classes -> local processing job ->
the engine -> heat maps in s3_output_path), against an image classifier and a detector served
over HTTP behind the SageMaker runtime protocol."""

from __future__ import annotations

import json
import shutil

import pytest

from clarify_engine.client import (
    DataConfig,
    ImageConfig,
    LocalSession,
    ModelConfig,
    ModelPredictedLabelConfig,
    SageMakerClarifyProcessor,
    SHAPConfig,
)

from .conftest import IMAGES


@pytest.fixture()
def aws(monkeypatch):
    def point_at(url: str) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
        for key, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing"),
                           ("AWS_SECRET_ACCESS_KEY", "testing")):
            monkeypatch.setenv(key, value)
    return point_at


def _data(tmp_path, *names):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in names:
        shutil.copy(IMAGES / "scenes" / name, folder / name)
    return folder


@pytest.mark.parametrize("model_type, server, content_type", [
    ("IMAGE_CLASSIFICATION", "region_server", "image/jpeg"),
    ("OBJECT_DETECTION", "detector_server", "application/x-npy"),
])
def test_an_image_config_job_runs_locally(model_type, server, content_type, tmp_path, aws, request):
    aws(request.getfixturevalue(server).url)
    out = tmp_path / "results"
    processor = SageMakerClarifyProcessor(sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
    data_config = DataConfig(s3_data_input_path=str(_data(tmp_path, "c_both.png")), s3_output_path=str(out),
                             dataset_type="application/x-image")
    model_config = ModelConfig(endpoint_name="cv-endpoint", content_type=content_type)
    shap_config = SHAPConfig(num_samples=40, seed=2,
                             image_config=ImageConfig(model_type, num_segments=12, max_objects=2))
    processor.run_explainability(data_config, model_config, shap_config,
                                 model_scores=ModelPredictedLabelConfig(label_headers=["red", "green", "scene"]),
                                 logs=False, job_name=f"cv-{model_type.lower().replace('_', '-')}")
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    section = json.loads((out / "analysis.json").read_text())["explanations"]["image_shap"]
    [entry] = section["images"]
    assert section["model_type"] == model_type and entry["image"] == "c_both.png"
    targets = entry["objects"] if model_type == "OBJECT_DETECTION" else entry["classes"]
    assert targets
    for t in targets:
        assert (out / t["heatmap"]).is_file()
