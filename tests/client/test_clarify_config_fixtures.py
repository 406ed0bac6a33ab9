"""Every SDK fixture: the same call on our classes writes the same bytes and the same job request.

Each case rebuilds the SDK 2.199.0 call that wrote ``fixtures/sdk_configs/NN_*.json``
(from the fixture README, the file itself and ``_processing_requests.json``) and runs
it through :class:`SageMakerClarifyProcessor` with a recording session: the session
keeps the bytes it is asked to upload and the ``process`` request it is asked to
start, and starts nothing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from clarify_engine.client._clarify import SageMakerClarifyProcessor
from clarify_engine.client._clarify_config import (
    BiasConfig,
    DataConfig,
    ImageConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SHAPConfig,
    TextConfig,
)
from tests.helpers import SDK_CONFIGS, sdk_config_files

REQUESTS = json.loads((SDK_CONFIGS / "_processing_requests.json").read_text())
DATA = "s3://example-bucket/clarify/data/"
OUT = "s3://example-bucket/clarify/output"
ROLE = "arn:aws:iam::111122223333:role/ClarifyRole"
H5 = ["Target", "Age", "Gender", "Income", "Occupation"]


class RecordingSession:
    """A SageMaker-mode session that records uploads and job requests instead of sending them."""

    local_mode = False

    def __init__(self):
        self.uploads: dict[str, bytes] = {}
        self.requests: list[dict] = []

    def upload_file(self, local_path, destination, kms_key=None):
        uri = destination.rstrip("/") + "/" + os.path.basename(local_path)
        self.uploads[uri] = Path(local_path).read_bytes()
        return uri

    def process(self, **request):
        self.requests.append(request)

    def expand_role(self, role):
        return role

    def default_bucket(self):  # pragma: no cover - every fixture gives S3 URIs
        return "example-bucket"


def _model(name="my-xgb-model", instance_type="ml.m5.large", **kw):
    return ModelConfig(model_name=name, instance_count=1, instance_type=instance_type,
                       accept_type=kw.pop("accept_type", "text/csv"), content_type=kw.pop("content_type", "text/csv"),
                       **kw)


def _csv(path="train.csv", headers=H5, **kw):
    return DataConfig(s3_data_input_path=DATA + path, s3_output_path=OUT, label="Target", headers=headers,
                      dataset_type="text/csv", **kw)


def _gender():
    return BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])


# fixture stem -> (processor instance_count, run_* method name, kwargs)
def _cases():
    return {
        "01_csv_pretraining_all": (1, "run_pre_training_bias", dict(
            data_config=_csv(), data_bias_config=_gender())),
        "02_csv_pretraining_multi_facet_subset_methods": (1, "run_pre_training_bias", dict(
            data_config=_csv(),
            data_bias_config=BiasConfig([1], ["Gender", "Age", "Occupation"], [[0], [40], [1, 2]]),
            methods=["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"])),
        "04_csv_pretraining_index_facets_no_values": (1, "run_pre_training_bias", dict(
            data_config=DataConfig(DATA + "noheader.csv", OUT, label=0, dataset_type="text/csv"),
            data_bias_config=BiasConfig(["yes"], [2, 4]))),
        "05_csv_posttraining_model_name_probability_threshold": (1, "run_post_training_bias", dict(
            data_config=_csv(), data_bias_config=_gender(),
            model_config=_model(endpoint_name_prefix="my-clarify"),
            model_predicted_label_config=ModelPredictedLabelConfig(probability=0, probability_threshold=0.8))),
        "07_csv_posttraining_predicted_label_dataset": (2, "run_post_training_bias", dict(
            data_config=_csv(headers=H5 + ["RecordId"], joinsource="RecordId",
                             predicted_label_dataset_uri=DATA + "predictions/",
                             predicted_label_headers=["RecordId", "PredictedTarget"],
                             predicted_label="PredictedTarget"),
            data_bias_config=_gender())),
        "10_jsonlines_bias_content_template": (1, "run_bias", dict(
            data_config=DataConfig(DATA + "train.jsonl", OUT, label="Label", features="Features",
                                   headers=["Age", "Gender", "Income", "Occupation", "Target"],
                                   dataset_type="application/jsonlines"),
            bias_config=_gender(),
            model_config=ModelConfig(endpoint_name="my-jsonl-endpoint", accept_type="application/jsonlines",
                                     content_type="application/jsonlines",
                                     content_template='{"Features":$features}'),
            model_predicted_label_config=ModelPredictedLabelConfig(label="predicted_label",
                                                                   probability="probability"))),
        "12_json_dataset_records_template_features_kvp": (1, "run_bias_and_explainability", dict(
            data_config=DataConfig(DATA + "train.json", OUT, label="data[*].label", features="data[*].features",
                                   headers=["Age", "Gender", "Income", "Occupation"],
                                   dataset_type="application/json"),
            model_config=_model("my-json-model", "ml.m5.xlarge", accept_type="application/json",
                                content_type="application/json", content_template='{"instances":$records}',
                                record_template="$features_kvp"),
            explainability_config=SHAPConfig(seed=42, num_clusters=3),
            bias_config=_gender(),
            model_predicted_label_config=ModelPredictedLabelConfig(
                label="predictions[*].predicted_label", probability="predictions[*].score"))),
        "14_parquet_shap_inline_baseline_seed": (1, "run_explainability", dict(
            data_config=DataConfig(DATA + "parquet/", OUT, label="Target", headers=H5,
                                   dataset_type="application/x-parquet"),
            model_config=_model(),
            explainability_config=SHAPConfig(baseline=[[35, 0, 3000, 1], [50, 1, 6000, 2]], num_samples=100,
                                             agg_method="mean_sq", seed=123),
            model_scores=ModelPredictedLabelConfig(probability=1, label_headers=["approved"]))),
        "16_csv_shap_num_clusters_pdp_top_k": (1, "run_explainability", dict(
            data_config=_csv(), model_config=_model(),
            explainability_config=[SHAPConfig(num_clusters=5), PDPConfig(top_k_features=3)])),
        "18_csv_shap_features_to_explain_excluded_columns": (3, "run_explainability", dict(
            data_config=_csv(headers=H5 + ["RecordId"], joinsource="RecordId", excluded_columns=["RecordId"]),
            model_config=_model(accelerator_type="ml.eia2.medium"),
            explainability_config=SHAPConfig(num_samples=64, features_to_explain=["Age", "Income"]),
            model_scores=0)),
        "20_csv_text_nlp_token_english": (1, "run_explainability", dict(
            data_config=_csv("reviews.csv", headers=["Target", "Rating", "Comments"]),
            model_config=_model("my-nlp-model", "ml.g4dn.xlarge"),
            explainability_config=SHAPConfig(baseline=[[4, "[MASK]"]], num_samples=100,
                                             text_config=TextConfig("token", "english")),
            model_scores=ModelPredictedLabelConfig(probability=0))),
        "22_image_classification": (1, "run_explainability", dict(
            data_config=DataConfig(DATA + "images/", OUT, dataset_type="application/x-image"),
            model_config=ModelConfig(model_name="my-ic-model", instance_count=1, instance_type="ml.p3.2xlarge",
                                     content_type="image/jpeg"),
            explainability_config=SHAPConfig(num_samples=500, image_config=ImageConfig(
                "IMAGE_CLASSIFICATION", num_segments=20, segment_compactness=5)),
            model_scores=ModelPredictedLabelConfig(label_headers=["bird", "cat", "dog"]))),
    }


def test_every_fixture_has_a_case():
    assert sorted(_cases()) == [p.stem for p in sdk_config_files()]
    assert sorted(REQUESTS) == [p.stem for p in sdk_config_files()]


def _run_case(stem, **processor_kw):
    count, method, kwargs = _cases()[stem]
    session = RecordingSession()
    image = REQUESTS[stem]["app_specification"]["ImageUri"]
    processor = SageMakerClarifyProcessor(role=ROLE, instance_count=count, instance_type="ml.c5.xlarge",
                                          sagemaker_session=session, image_uri=image, **processor_kw)
    getattr(processor, method)(**kwargs, wait=False, logs=False, job_name=f"case-{stem[:2]}")
    return processor, session


#: Fixtures this version cannot run: early validation refuses them (skip_early_validation=True writes them).
def _run_runnable(stem):
    """The case with early validation, unless this version refuses it (then without)."""
    return _run_case(stem)  # every SDK fixture runs in this version (text and image jobs included)


@pytest.mark.parametrize("stem", sorted(_cases()))
def test_written_config_is_byte_identical(stem):
    _, session = _run_runnable(stem)
    expected = (SDK_CONFIGS / f"{stem}.json").read_bytes()
    assert session.uploads == {OUT + "/analysis_config.json": expected}


@pytest.mark.parametrize("stem", sorted(_cases()))
def test_processing_request_matches_sdk(stem):
    _, session = _run_runnable(stem)
    (request,) = session.requests
    expected = REQUESTS[stem]
    for key in ("inputs", "output_config", "resources", "app_specification", "environment",
                "stopping_condition"):
        assert request[key] == expected[key], key
    assert request["job_name"] == f"case-{stem[:2]}"
    assert request["role_arn"] == ROLE


@pytest.mark.parametrize("stem", sorted(_cases()))
def test_skipping_validation_writes_the_same_bytes(stem):
    processor, session = _run_case(stem, skip_early_validation=True)
    assert list(session.uploads.values()) == [(SDK_CONFIGS / f"{stem}.json").read_bytes()]
    assert processor._last_analysis_config == json.loads((SDK_CONFIGS / f"{stem}.json").read_text())


@pytest.mark.parametrize("method, prefix", [
    ("run_pre_training_bias", "Clarify-Pretraining-Bias"),
    ("run_post_training_bias", "Clarify-Posttraining-Bias"),
    ("run_bias", "Clarify-Bias"),
    ("run_explainability", "Clarify-Explainability"),
    ("run_bias_and_explainability", "Clarify-Bias-And-Explainability"),
])
@pytest.mark.parametrize("job_name_prefix", [None, "my-team"])
def test_default_job_names(method, prefix, job_name_prefix):
    stem = {"run_pre_training_bias": "01_csv_pretraining_all",
            "run_post_training_bias": "05_csv_posttraining_model_name_probability_threshold",
            "run_bias": "10_jsonlines_bias_content_template",
            "run_explainability": "16_csv_shap_num_clusters_pdp_top_k",
            "run_bias_and_explainability": "12_json_dataset_records_template_features_kvp"}[method]
    _, _, kwargs = _cases()[stem]
    session = RecordingSession()
    processor = SageMakerClarifyProcessor(role=ROLE, instance_type="ml.c5.xlarge", sagemaker_session=session,
                                          image_uri="img:1", job_name_prefix=job_name_prefix)
    # "" counts as no name, as in the SDK
    getattr(processor, method)(**kwargs, wait=False, logs=False, job_name="")
    name = session.requests[0]["job_name"]
    base = job_name_prefix or prefix
    assert re.fullmatch(re.escape(base) + r"-\d{4}(-\d\d){5}-\d{3}", name), name
    assert processor.latest_job.job_name == name


def test_explainability_starts_from_the_data_config_dict_itself():
    data_config = _csv()
    session = RecordingSession()
    processor = SageMakerClarifyProcessor(role=ROLE, instance_type="ml.c5.xlarge", sagemaker_session=session,
                                          image_uri="img:1")
    processor.run_explainability(data_config, _model(), SHAPConfig(num_clusters=2), wait=False, logs=False)
    written = processor._last_analysis_config
    assert written["headers"] is data_config.analysis_config["headers"]
    assert list(data_config.analysis_config) == ["dataset_type", "headers", "label"]
    assert list(written) == ["dataset_type", "headers", "label", "predictor", "methods"]


def test_analysis_config_output_path_and_kms_key_reach_the_upload():
    seen = {}

    class KmsSession(RecordingSession):
        def upload_file(self, local_path, destination, kms_key=None):
            seen["kms_key"] = kms_key
            return super().upload_file(local_path, destination, kms_key)

    session = KmsSession()
    data_config = DataConfig(DATA + "train.csv", OUT, s3_analysis_config_output_path="s3://other/cfg",
                             label="Target", headers=H5, s3_compression_type="None")
    processor = SageMakerClarifyProcessor(role=ROLE, instance_type="ml.c5.xlarge", sagemaker_session=session,
                                          image_uri="img:1")
    processor.run_pre_training_bias(data_config, _gender(), wait=False, logs=False, kms_key="key-1")
    assert list(session.uploads) == ["s3://other/cfg/analysis_config.json"]
    assert seen["kms_key"] == "key-1"
    config_input = session.requests[0]["inputs"][1]
    assert config_input["S3Input"]["S3Uri"] == "s3://other/cfg/analysis_config.json"
    assert session.requests[0]["output_config"]["Outputs"][0]["S3Output"]["S3Uri"] == OUT
