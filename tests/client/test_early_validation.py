"""The client's early validation: what a job would refuse is refused before any upload or job.

``early_validation`` is the single hook ``SageMakerClarifyProcessor`` calls before it writes
``analysis_config.json``; these tests give it the configs an SDK user would build and check
the refusal, its words and that nothing was started.
"""

from __future__ import annotations

import copy
import json

import pytest

from clarify_engine.client import (
    DataConfig,
    ModelConfig,
    SHAPConfig,
    TextConfig,
)
from clarify_engine.client._clarify import early_validation
from clarify_engine.errors import ConfigError, NotSupportedError
from tests.helpers import SDK_CONFIGS

HEADERS = ["Target", "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"]
POST = json.loads((SDK_CONFIGS / "05_csv_posttraining_model_name_probability_threshold.json").read_text())


def test_text_explanations_pass_early_validation():
    data_config = DataConfig(s3_data_input_path="s3://bucket/reviews.csv", s3_output_path="s3://bucket/out",
                             label="Target", headers=["Target", "Rating", "Comments"], dataset_type="text/csv")
    model_config = ModelConfig(endpoint_name="text-endpoint", content_type="text/csv", accept_type="text/csv")
    shap_config = SHAPConfig(baseline=[[4, "[MASK]"]], num_samples=10,
                             text_config=TextConfig(granularity="sentence", language="multi-language"))
    from clarify_engine.client._clarify_generator import _AnalysisConfigGenerator

    config = _AnalysisConfigGenerator.explainability(data_config, model_config, None, shap_config)
    early_validation(config)  # no NotSupportedError: text SHAP runs (docs/text.md)
    assert config["methods"]["shap"]["text_config"] == {"granularity": "sentence", "language": "multi-language"}


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "application/x-npy"])
def test_image_and_numpy_model_requests_are_refused_for_tabular_data(content_type):
    config = copy.deepcopy(POST)
    config["predictor"]["content_type"] = content_type
    with pytest.raises(NotSupportedError) as info:
        early_validation(config)
    assert str(info.value) == (
        f"predictor.content_type {content_type!r}: image and NumPy requests are for computer-vision models "
        "(dataset_type application/x-image); tabular models take text/csv, application/jsonlines or "
        "application/json")


def test_model_monitor_capture_data_is_refused():
    config = copy.deepcopy(POST)
    config["dataset_type"] = "application/sagemakercapturejson"
    with pytest.raises(NotSupportedError) as info:
        early_validation(config)
    assert str(info.value) == ("dataset_type 'application/sagemakercapturejson': Model Monitor capture data is not "
                               "supported (the SageMaker SDK refuses it too); convert the capture to JSON Lines or CSV")


def test_a_method_that_needs_a_model_without_one_is_refused():
    config = copy.deepcopy(POST)
    del config["predictor"]
    with pytest.raises(ConfigError) as info:
        early_validation(config)
    assert str(info.value) == ("predictor: required by methods.post_training_bias: give endpoint_name, or model_name "
                               "with instance_type and initial_instance_count; or give predicted_label / "
                               "predicted_label_dataset_uri")


def test_a_runnable_config_passes():
    early_validation(copy.deepcopy(POST))
