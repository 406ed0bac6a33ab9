"""config -> ImageSpec, and the requests refused before any work."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError
from clarify_engine.explain.image import ImageSpec
from clarify_engine.job._plan_image import plan_image

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
IC = json.loads((FIXTURES / "sdk_configs" / "22_image_classification.json").read_text())
OD = json.loads((FIXTURES / "images" / "od_analysis_config.json").read_text())


def test_the_sdk_image_classification_config_resolves():
    assert plan_image(load_config(IC)) == ImageSpec(
        model_type="IMAGE_CLASSIFICATION", num_segments=20, compactness=5.0, num_samples=500, seed=None,
        use_logit=False, baseline=None, label_headers=("bird", "cat", "dog"), probability_threshold=0.5,
        save_local_values=True)


def test_the_object_detection_config_resolves():
    spec = plan_image(load_config(OD))
    assert spec.detection
    assert (spec.max_objects, spec.iou_threshold, spec.context, spec.probability_threshold) == (5, 0.5, 1.0, 0.8)
    assert spec.baseline == "s3://bucket/prefix/noise_rgb.png"
    assert spec.label_headers == ("dog", "elephant", "zebra", "bear")


def test_debug_settings_are_carried():
    config = copy.deepcopy(IC)
    config["methods"]["shap"]["image_config"]["debug"] = {"image_names": ["a.jpg"], "class_ids": [2],
                                                          "sample_from": 0, "sample_to": 4}
    spec = plan_image(load_config(config))
    assert (spec.image_names, spec.class_ids, spec.sample_from, spec.sample_to) == (("a.jpg",), (2,), 0, 4)


def refused(edit):
    config = copy.deepcopy(IC)
    edit(config)
    with pytest.raises(ConfigError) as info:
        plan_image(load_config(config))
    return str(info.value)


def test_bias_methods_are_refused_for_images():
    def edit(c):
        c["methods"]["pre_training_bias"] = {"methods": "all"}
        c["label"] = "x"
        c["facet"] = [{"name_or_index": "y"}]
    message = refused(edit)
    assert message == ("methods.pre_training_bias: not supported for dataset_type application/x-image (images have "
                       "no label or facet columns); remove it and keep methods.shap with image_config")


@pytest.mark.parametrize("key, value", [("excluded_columns", ["a"]), ("predicted_label", "p")])
def test_columns_are_refused_for_images(key, value):
    assert refused(lambda c: c.__setitem__(key, value)) == (
        f"{key}: not supported for dataset_type 'application/x-image' (tabular data only)")


def test_class_ids_outside_label_headers_are_refused():
    def edit(c):
        c["methods"]["shap"]["image_config"]["debug"] = {"class_ids": [1, 7]}
    assert refused(edit) == ("methods.shap.image_config.debug.class_ids: class ids [7] are outside "
                             "predictor.label_headers (ids 0 to 2); list class ids that label_headers names")


def test_inline_baseline_rows_are_refused_for_images():
    def edit(c):
        c["methods"]["shap"]["baseline"] = [[1, 2, 3]]
    assert refused(edit) == ("methods.shap.baseline: for images, the location (S3 URI or path) of one baseline "
                             "image; found tuple: give an image location or leave it out for white noise")


def test_a_missing_image_config_is_refused():
    def edit(c):
        del c["methods"]["shap"]["image_config"]
    assert refused(edit) == ("methods.shap.image_config: required for dataset_type application/x-image: add "
                             "{\"model_type\": \"IMAGE_CLASSIFICATION\"} or {\"model_type\": \"OBJECT_DETECTION\"}")


def test_another_model_type_is_refused_by_the_schema():
    config = copy.deepcopy(IC)
    config["methods"]["shap"]["image_config"]["model_type"] = "SEGMENTATION"
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert "methods.shap.image_config.model_type" in str(info.value)
    assert "IMAGE_CLASSIFICATION" in str(info.value) and "SEGMENTATION" in str(info.value)


def test_missing_label_headers_are_refused():
    config = copy.deepcopy(IC)
    del config["predictor"]["label_headers"]
    with pytest.raises(ConfigError) as info:
        plan_image(load_config(config))
    assert str(info.value).startswith("predictor.label_headers: required for computer-vision models")


def test_features_to_explain_is_refused_with_image_config():
    config = copy.deepcopy(IC)
    config["methods"]["shap"]["features_to_explain"] = ["a"]
    with pytest.raises(ConfigError) as info:
        plan_image(load_config(config))
    assert "features_to_explain" in str(info.value) and "image_config" in str(info.value)
