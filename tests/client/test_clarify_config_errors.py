"""The SDK's argument checks: same exception types, same messages (contract §2.5).

Each row is a call that SDK 2.199.0 refuses, the exception type it raises and its
message (a regular expression matched from the start). Then the early validation of
``SageMakerClarifyProcessor._run`` through the engine's own config parser.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Callable

import pytest

from clarify_engine.client import (
    BiasConfig,
    DataConfig,
    ImageConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    ProcessingOutputHandler,
    SageMakerClarifyProcessor,
    SegmentationConfig,
    SHAPConfig,
    TextConfig,
)
from clarify_engine.client._clarify_generator import _AnalysisConfigGenerator
from clarify_engine.errors import ConfigError
from tests.client.test_clarify_config_fixtures import ROLE, RecordingSession

S3 = "s3://b/data.csv"
OUT = "s3://b/out"
TABULAR_NOT_IMAGE = "Please check the API documentation for the supported dataset types."


@dataclass
class ExpectFail:
    call: Callable[[], object]
    error: type
    message: str
    id: str


def _csv(**kw):
    return DataConfig(S3, OUT, label="y", headers=["y", "a", "s"], **kw)


def _bias():
    return BiasConfig([1], "s")


def _model(**kw):
    return ModelConfig(model_name="m", instance_count=1, instance_type="ml.m5.large", **kw)


CASES = [
    # DataConfig
    ExpectFail(lambda: DataConfig(S3, OUT, dataset_type="text/tsv"), ValueError,
               "Invalid dataset_type 'text/tsv'. Please check the API documentation for the supported "
               "dataset types.", "data-dataset-type"),
    ExpectFail(lambda: DataConfig(S3, OUT, dataset_type="application/x-image", predicted_label="p"),
               ValueError, "The parameter 'predicted_label' is not supported for dataset_type "
               f"'application/x-image'. {TABULAR_NOT_IMAGE}", "data-predicted-label-image"),
    ExpectFail(lambda: DataConfig(S3, OUT, dataset_type="application/x-image", excluded_columns=["a"]),
               ValueError, "The parameter 'excluded_columns' is not supported for dataset_type "
               f"'application/x-image'. {TABULAR_NOT_IMAGE}", "data-excluded-image"),
    ExpectFail(lambda: DataConfig(S3, OUT, dataset_type="application/jsonlines", facet_headers=["f"]),
               ValueError, "The parameters 'facet_dataset_uri' and 'facet_headers' are not supported for "
               f"dataset_type 'application/jsonlines'. {TABULAR_NOT_IMAGE}", "data-facet-dataset-jsonl"),
    ExpectFail(lambda: DataConfig(S3, OUT, dataset_type="application/x-parquet",
                                  predicted_label_dataset_uri="s3://b/p"),
               ValueError, "The parameters 'predicted_label_dataset_uri' and 'predicted_label_headers' are not "
               f"supported for dataset_type 'application/x-parquet'. {TABULAR_NOT_IMAGE}",
               "data-predicted-dataset-parquet"),
    ExpectFail(lambda: DataConfig(S3, OUT, dataset_type="application/json"), ValueError,
               "features JMESPath is required for application/json dataset_type", "data-json-features"),
    # BiasConfig
    ExpectFail(lambda: BiasConfig([1], ["a", "b"], [[1]]), ValueError,
               "The number of facet names doesn't match the number of facet values", "bias-facet-count"),
    ExpectFail(lambda: BiasConfig([1], []), AssertionError, "Please provide at least one facet",
               "bias-no-facet"),
    # ModelConfig
    ExpectFail(lambda: _model(endpoint_name_prefix="-x"), ValueError,
               re.escape("Invalid endpoint_name_prefix. Please follow pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9])."),
               "model-prefix"),
    ExpectFail(lambda: _model(accept_type="text/plain"), ValueError,
               "Invalid accept_type text/plain. Please choose text/csv or application/jsonlines.",
               "model-accept"),
    ExpectFail(lambda: _model(content_type="text/plain"), ValueError,
               "Invalid content_type text/plain. Please choose text/csv or application/jsonlines.",
               "model-content"),
    ExpectFail(lambda: _model(content_type="application/jsonlines"), ValueError,
               "content_template field is required for content_type application/jsonlines",
               "model-jsonl-no-template"),
    ExpectFail(lambda: _model(content_type="application/jsonlines", content_template='{"x":$feature}'),
               ValueError, re.escape('Invalid content_template {"x":$feature}. Please include a placeholder '
                                     "$features."), "model-jsonl-template"),
    ExpectFail(lambda: _model(content_type="application/json", content_template="$records"), ValueError,
               "content_template and record_template are required for content_type application/json",
               "model-json-no-record-template"),
    ExpectFail(lambda: _model(content_type="application/json", content_template='{"x":$features}',
                              record_template="$features"), ValueError,
               re.escape('Invalid content_template {"x":$features}. Please include either placeholder '
                         "$records or $record."), "model-json-template"),
    ExpectFail(lambda: ModelConfig(), AssertionError, "", "model-nothing"),
    ExpectFail(lambda: ModelConfig(model_name="m", instance_count=1), AssertionError, "", "model-partial"),
    ExpectFail(lambda: ModelConfig(model_name="m", instance_count=1, instance_type="t", endpoint_name="e"),
               AssertionError, "", "model-both"),
    ExpectFail(lambda: ModelConfig(endpoint_name="e", endpoint_name_prefix="p"), AssertionError, "",
               "model-endpoint-and-prefix"),
    # ModelPredictedLabelConfig
    ExpectFail(lambda: ModelPredictedLabelConfig(probability_threshold="high"), TypeError,
               "Invalid probability_threshold high. Please choose one that can be cast to float.",
               "label-threshold"),
    # SHAPConfig, TextConfig, ImageConfig
    ExpectFail(lambda: SHAPConfig(agg_method="max"), ValueError,
               "Invalid agg_method max. Please choose mean_abs, median, or mean_sq.", "shap-agg"),
    ExpectFail(lambda: SHAPConfig(baseline=[[1, 2]], num_clusters=2), ValueError,
               "Baseline and num_clusters cannot be provided together. Please specify one of the two.",
               "shap-baseline-clusters"),
    ExpectFail(lambda: SHAPConfig(text_config=TextConfig("token", "en"), features_to_explain=["a"]),
               ValueError, "`features_to_explain` is not supported for datasets containing text features or "
               "images.", "shap-features-text"),
    ExpectFail(lambda: SHAPConfig(image_config=ImageConfig("IMAGE_CLASSIFICATION"), features_to_explain=[0]),
               ValueError, "`features_to_explain` is not supported", "shap-features-image"),
    ExpectFail(lambda: TextConfig("word", "english"), ValueError,
               re.escape("Invalid granularity word. Please choose among ['token', 'sentence', 'paragraph']"),
               "text-granularity"),
    ExpectFail(lambda: TextConfig("token", "klingon"), ValueError,
               re.escape("Invalid language klingon. Please choose among ['chinese', 'zh', "), "text-language"),
    ExpectFail(lambda: ImageConfig("SEGMENTATION"), ValueError,
               "Clarify SHAP only supports object detection and image classification methods. Please set "
               "model_type to OBJECT_DETECTION or IMAGE_CLASSIFICATION.", "image-model-type"),
    # SegmentationConfig
    ExpectFail(lambda: SegmentationConfig(None, [["a"]]), ValueError, "`name_or_index` cannot be None",
               "segment-name"),
    ExpectFail(lambda: SegmentationConfig("c", ["a"]), ValueError,
               "`segments` must be a list of lists of values or intervals.", "segment-not-nested"),
    ExpectFail(lambda: SegmentationConfig("c", []), ValueError,
               "`segments` must be a list of lists of values or intervals.", "segment-empty"),
    ExpectFail(lambda: SegmentationConfig("c", [["a"]], display_aliases=["x", "y", "z"]), ValueError,
               "Number of `display_aliases` must equal the number of segments specified or with one additional "
               "default segment display alias.", "segment-aliases"),
    # _AnalysisConfigGenerator
    ExpectFail(lambda: _AnalysisConfigGenerator.bias_pre_training(_csv(), _bias(), []), AttributeError,
               "analysis_config must have at least one working method: One of the `pre_training_methods`, "
               "`post_training_methods`, `explainability_config`.", "gen-no-method"),
    ExpectFail(lambda: _AnalysisConfigGenerator.bias_and_explainability(
        _csv(), None, None, SHAPConfig(), _bias()), ValueError,
        "model_config must be provided when explainability methods are selected.", "gen-explain-no-model"),
    ExpectFail(lambda: _AnalysisConfigGenerator.explainability(_csv(), None, None, SHAPConfig()), ValueError,
               "model_config must be provided when explainability methods are selected.",
               "gen-explainability-no-model"),
    ExpectFail(lambda: _AnalysisConfigGenerator.bias_post_training(_csv(), _bias(), None, "all", None),
               ValueError, "model_config must be provided when `predicted_label_dataset_uri` or "
               "`predicted_label` are not provided in data_config.", "gen-post-no-model"),
    ExpectFail(lambda: _AnalysisConfigGenerator.explainability(_csv(), _model(), None,
                                                               [SHAPConfig(), SHAPConfig(seed=1)]),
               ValueError, "Duplicate explainability configs are provided", "gen-duplicate"),
    ExpectFail(lambda: _AnalysisConfigGenerator._merge_explainability_configs([]), ValueError,
               "Please provide at least one explainability config.", "gen-empty-list"),
    ExpectFail(lambda: _AnalysisConfigGenerator.explainability(_csv(), _model(), None, PDPConfig()),
               ValueError, "PDP features must be provided when ShapConfig is not provided", "gen-pdp-alone"),
    ExpectFail(lambda: _AnalysisConfigGenerator.explainability(_csv(), _model(), None, [PDPConfig()]),
               ValueError, "PDP features must be provided when ShapConfig is not provided", "gen-pdp-list"),
    ExpectFail(lambda: _AnalysisConfigGenerator.explainability(_csv(), _model(), None, {"shap": {}}),
               TypeError, "explainability_config must be a SHAPConfig, a PDPConfig or a list of them, found dict",
               "gen-not-a-config"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sdk_errors(case):
    with pytest.raises(case.error) as info:
        case.call()
    assert type(info.value) is case.error
    assert re.match(case.message, str(info.value)), str(info.value)


def _processor(**kw):
    return SageMakerClarifyProcessor(role=ROLE, instance_type="ml.c5.xlarge", sagemaker_session=RecordingSession(),
                                     image_uri="img:1", **kw)


def test_run_is_not_offered():
    with pytest.raises(NotImplementedError, match="Please choose a method of run_pre_training_bias, "
                                                  "run_post_training_bias or run_explainability."):
        _processor().run(inputs=[])


def test_logs_without_wait_is_refused_as_in_the_sdk():
    with pytest.raises(ValueError, match="Logs can only be shown if wait is set to True"):
        _processor().run_pre_training_bias(_csv(), _bias(), wait=False)


def test_empty_excluded_columns_is_valid_as_in_the_sdk():
    processor = _processor()
    processor.run_pre_training_bias(_csv(excluded_columns=[]), _bias(), wait=False, logs=False)
    assert processor._last_analysis_config["excluded_columns"] == []


@pytest.mark.parametrize("data_config, bias_config, path, words", [
    (_csv(), BiasConfig([1], "sex"), "facet[0].name_or_index", "column 'sex' is not in headers"),
    (DataConfig(S3, OUT, headers=["y", "s"]), _bias(), "label", "required by methods.pre_training_bias"),
], ids=["unknown-facet", "no-label"])
def test_early_validation_names_the_key_and_starts_nothing(data_config, bias_config, path, words):
    processor = _processor()
    with pytest.raises(ConfigError) as info:
        processor.run_pre_training_bias(data_config, bias_config, wait=False, logs=False)
    assert info.value.path == path
    assert words in info.value.message
    assert processor.sagemaker_session.uploads == {} and processor.sagemaker_session.requests == []
    assert processor.latest_job is None
    # the config the SDK would have written is still there to inspect
    assert processor._last_analysis_config["methods"]["pre_training_bias"] == {"methods": "all"}


def test_skip_early_validation_starts_the_job_anyway():
    processor = _processor(skip_early_validation=True)
    processor.run_pre_training_bias(_csv(), BiasConfig([1], "sex"), wait=False, logs=False)
    assert len(processor.sagemaker_session.requests) == 1
    assert b'"facet": [{"name_or_index": "sex"}]' in processor.sagemaker_session.uploads[OUT + "/analysis_config.json"]


def test_model_scores_int_or_str_go_to_predictor_label_and_labels_drop_without_a_model():
    config = _AnalysisConfigGenerator.explainability(_csv(), _model(), "score", SHAPConfig(num_clusters=1))
    assert config["predictor"]["label"] == "score" and "probability" not in config["predictor"]
    # post-training on predicted labels in the data: no predictor, the threshold stays
    config = _AnalysisConfigGenerator.bias_post_training(
        _csv(predicted_label="p"), _bias(), ModelPredictedLabelConfig(label=0, probability_threshold=0.7), "all",
        None)
    assert "predictor" not in config and config["probability_threshold"] == 0.7
    assert list(config)[-2:] == ["methods", "probability_threshold"]


def test_values_the_sdk_writes_as_given():
    # empty lists and False are written; None is not
    data = DataConfig(S3, OUT, label=0, headers=[], excluded_columns=[])
    assert data.get_config() == {"dataset_type": "text/csv", "headers": [], "label": 0, "excluded_columns": []}
    shap = SHAPConfig(use_logit=False, save_local_shap_values=False, seed=0).get_explainability_config()
    assert shap == {"shap": {"use_logit": False, "save_local_shap_values": False, "seed": 0}}
    segments = SegmentationConfig("c", [["a"]], config_name="").to_dict()
    assert segments == {"name_or_index": "c", "segments": [["a"]]}
    both = BiasConfig([1], ["a", "b"], [None, [2]], group_name="g").get_config()
    assert both == {"label_values_or_threshold": [1], "facet": [{"name_or_index": "a"},
                    {"name_or_index": "b", "value_or_threshold": [2]}], "group_variable": "g"}


def test_getters_return_copies():
    data = _csv()
    data.get_config()["headers"].append("z")
    assert data.analysis_config["headers"] == ["y", "a", "s"]
    model = _model()
    model.get_predictor_config()["model_name"] = "other"
    assert model.predictor_config["model_name"] == "m"


def test_segment_config_lands_in_the_data_keys():
    data = _csv(segmentation_config=[SegmentationConfig("a", [["[1, 4]", "(5, 6]"]], "ages", ["young", "old"])])
    assert data.get_config()["segment_config"] == [
        {"name_or_index": "a", "segments": [["[1, 4]", "(5, 6]"]], "config_name": "ages",
         "display_aliases": ["young", "old"]}]


@pytest.mark.parametrize("dataset_type, mode", [
    ("application/x-image", "Continuous"), ("text/csv", "EndOfJob"), ("application/jsonlines", "EndOfJob")])
def test_upload_mode(dataset_type, mode):
    assert ProcessingOutputHandler.get_s3_upload_mode({"dataset_type": dataset_type}) == mode


_R = inspect.Parameter.empty  # a required parameter
_RUN_TAIL = [("wait", True), ("logs", True), ("job_name", None), ("kms_key", None), ("experiment_config", None)]
#: SDK 2.199.0 signatures: (name, default) in order. Ours may only add keywords at the end.
SIGNATURES = {
    DataConfig: [("s3_data_input_path", _R), ("s3_output_path", _R), ("s3_analysis_config_output_path", None),
                 ("label", None), ("headers", None), ("features", None), ("dataset_type", "text/csv"),
                 ("s3_compression_type", "None"), ("joinsource", None), ("facet_dataset_uri", None),
                 ("facet_headers", None), ("predicted_label_dataset_uri", None), ("predicted_label_headers", None),
                 ("predicted_label", None), ("excluded_columns", None), ("segmentation_config", None)],
    BiasConfig: [("label_values_or_threshold", _R), ("facet_name", _R), ("facet_values_or_threshold", None),
                 ("group_name", None)],
    ModelConfig: [("model_name", None), ("instance_count", None), ("instance_type", None), ("accept_type", None),
                  ("content_type", None), ("content_template", None), ("record_template", None),
                  ("custom_attributes", None), ("accelerator_type", None), ("endpoint_name_prefix", None),
                  ("target_model", None), ("endpoint_name", None)],
    ModelPredictedLabelConfig: [("label", None), ("probability", None), ("probability_threshold", None),
                                ("label_headers", None)],
    PDPConfig: [("features", None), ("grid_resolution", 15), ("top_k_features", 10)],
    TextConfig: [("granularity", _R), ("language", _R)],
    ImageConfig: [("model_type", _R), ("num_segments", None), ("feature_extraction_method", None),
                  ("segment_compactness", None), ("max_objects", None), ("iou_threshold", None), ("context", None)],
    SHAPConfig: [("baseline", None), ("num_samples", None), ("agg_method", None), ("use_logit", False),
                 ("save_local_shap_values", True), ("seed", None), ("num_clusters", None), ("text_config", None),
                 ("image_config", None), ("features_to_explain", None)],
    SegmentationConfig: [("name_or_index", _R), ("segments", _R), ("config_name", None), ("display_aliases", None)],
    SageMakerClarifyProcessor: [("role", None), ("instance_count", None), ("instance_type", None),
                                ("volume_size_in_gb", 30), ("volume_kms_key", None), ("output_kms_key", None),
                                ("max_runtime_in_seconds", None), ("sagemaker_session", None), ("env", None),
                                ("tags", None), ("network_config", None), ("job_name_prefix", None),
                                ("version", None), ("skip_early_validation", False)],
    SageMakerClarifyProcessor.run_pre_training_bias: [
        ("data_config", _R), ("data_bias_config", _R), ("methods", "all"), *_RUN_TAIL],
    SageMakerClarifyProcessor.run_post_training_bias: [
        ("data_config", _R), ("data_bias_config", _R), ("model_config", None),
        ("model_predicted_label_config", None), ("methods", "all"), *_RUN_TAIL],
    SageMakerClarifyProcessor.run_bias: [
        ("data_config", _R), ("bias_config", _R), ("model_config", None), ("model_predicted_label_config", None),
        ("pre_training_methods", "all"), ("post_training_methods", "all"), *_RUN_TAIL],
    SageMakerClarifyProcessor.run_explainability: [
        ("data_config", _R), ("model_config", _R), ("explainability_config", _R), ("model_scores", None),
        *_RUN_TAIL],
    SageMakerClarifyProcessor.run_bias_and_explainability: [
        ("data_config", _R), ("model_config", _R), ("explainability_config", _R), ("bias_config", _R),
        ("pre_training_methods", "all"), ("post_training_methods", "all"),
        ("model_predicted_label_config", None), *_RUN_TAIL],
}


@pytest.mark.parametrize("target", list(SIGNATURES), ids=lambda t: t.__qualname__)
def test_signatures_match_the_sdk(target):
    params = [p for p in inspect.signature(target).parameters.values() if p.name != "self"]
    ours = [(p.name, p.default) for p in params]
    expected = SIGNATURES[target]
    assert ours[: len(expected)] == expected
    # extensions (image_uri on the processor) come after, keyword-only in spirit, defaulting to None
    assert all(default is None for _, default in ours[len(expected):])
