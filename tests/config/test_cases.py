"""Valid and invalid configs as small named records (Expect / ExpectFail)."""

from __future__ import annotations

import copy

import pytest

from clarify_engine.config import (
    BIAS_POSTTRAINING_METHODS,
    BIAS_PRETRAINING_METHODS,
    check_model_source,
    load_config,
)
from clarify_engine.errors import ConfigError
from tests.config._cases import BIAS, DROP, SHAP, TS, Expect, ExpectFail, edit, fixture

EXPECT = [
    Expect(BIAS, lambda c: c.methods.pre_training_bias.resolved_methods(), BIAS_PRETRAINING_METHODS,
           "all-pretraining-expanded"),
    Expect(edit(BIAS, methods={"post_training_bias": {"methods": "all"}}, predicted_label="p",
                headers=["y", "age", "sex", "p"]),
           lambda c: c.methods.post_training_bias.resolved_methods(), BIAS_POSTTRAINING_METHODS,
           "all-posttraining-expanded-predicted-label-in-data"),
    Expect(edit(BIAS, methods={"pre_training_bias": {"methods": ["TVD", "CI", "KL"]}}),
           lambda c: c.methods.pre_training_bias.resolved_methods(), ("CI", "KL", "TVD"),
           "subset-in-canonical-order"),
    Expect(BIAS, lambda c: c.probability_threshold_or_default, 0.5, "probability-threshold-default"),
    Expect(edit(BIAS, probability_threshold=1), lambda c: c.probability_threshold_or_default, 1,
           "probability-threshold-int-accepted"),
    Expect(SHAP, lambda c: (c.methods.shap.agg_method_or_default, c.methods.shap.use_logit_or_default,
                            c.methods.shap.save_local_shap_values_or_default),
           ("mean_abs", False, True), "shap-defaults-follow-sdk"),
    Expect(edit(SHAP, methods__shap={"agg_method": "Mean_SQ"}),
           lambda c: (c.methods.shap.agg_method, c.to_dict()["methods"]["shap"]["agg_method"]),
           ("mean_sq", "Mean_SQ"), "agg-method-lowercased-but-written-as-spelled"),
    Expect(edit(SHAP, dataset_type="TEXT/CSV"), lambda c: c.dataset_type, "text/csv",
           "dataset-type-case-insensitive"),
    Expect(edit(SHAP, methods={"shap": {}, "pdp": {"grid_resolution": 10}}),
           lambda c: c.methods.pdp.top_k_features_or_default, 10, "pdp-top-k-default-with-shap"),
    Expect(SHAP, lambda c: c.predictor.endpoint_name_prefix_or_default, "sm-clarify", "prefix-default"),
    Expect(SHAP, lambda c: c.predictor.content_type_or_default(c.dataset_type), "text/csv",
           "content-type-defaults-to-dataset-type"),
    Expect(fixture("22"), lambda c: (c.predictor.accept_type_or_default(
        c.dataset_type, c.methods.shap.image_config.model_type),
        c.methods.shap.image_config.max_objects_or_default), ("application/json", 3),
        "image-defaults"),
    Expect(fixture("20"), lambda c: (c.methods.shap.text_config.language,
                                      c.methods.shap.text_config.max_top_tokens_or_default),
           ("english", 50), "text-config"),
    Expect(edit(SHAP, methods__shap={"text_config": {"granularity": "Sentence", "language": "Norwegian Bokmål"}}),
           lambda c: c.methods.shap.text_config.language, "norwegian bokmål", "language-lowercased"),
    Expect(edit(SHAP, methods__shap={"baseline": [[1, None]]}), lambda c: c.methods.shap.baseline,
           ((1, None),), "baseline-row-with-null"),
    Expect(edit(SHAP, methods__shap={"baseline": "s3://bucket/baseline.csv"}),
           lambda c: c.methods.shap.baseline, "s3://bucket/baseline.csv", "baseline-uri"),
    Expect(TS, lambda c: (c.is_time_series, c.methods.asymmetric_shapley_value.granularity_or_default),
           (True, "timewise"), "time-series"),
    Expect(edit(BIAS, segment_config=[{"name_or_index": "age", "segments": [["[1, 4]"], ["(4, 9]"]],
                                       "display_aliases": ["young", "old", "rest"]}]),
           lambda c: c.segment_config[0].display_aliases, ("young", "old", "rest"),
           "segment-aliases-plus-default"),
    Expect(edit(SHAP, predictor={"endpoint_name": "e", "model_name": "m"}),
           lambda c: c.predictor.endpoint_name, "e", "endpoint-name-wins-over-model-name-dg"),
]


@pytest.mark.parametrize("case", EXPECT, ids=lambda c: c.id)
def test_expect(case):
    original = copy.deepcopy(case.input)
    cfg = load_config(case.input)
    assert case.output(cfg) == case.expected
    assert cfg.to_dict() == original
    assert case.input == original  # input not mutated


FAIL = [
    ExpectFail(edit(SHAP, methods__shap={"num_clusters": "five"}), ConfigError, "methods.shap.num_clusters",
               'expected an integer in [1, 10000], found "five" (str)', "template-example"),
    ExpectFail(edit(SHAP, methods__shap={"num_clusters": True}), ConfigError, "methods.shap.num_clusters",
               "found true (bool)", "bool-is-not-int"),
    ExpectFail(edit(SHAP, methods__shap={"foo": 1}), ConfigError, "methods.shap.foo",
               "unknown key; expected one of baseline, num_clusters", "unknown-nested-key"),
    ExpectFail(edit(BIAS, labels="y"), ConfigError, "labels", "unknown key", "unknown-top-key"),
    ExpectFail(edit(BIAS, dataset_type=DROP), ConfigError, "dataset_type", "required key is missing",
               "dataset-type-required"),
    ExpectFail(edit(BIAS, dataset_type="text/tsv"), ConfigError, "dataset_type",
               'expected one of "text/csv"', "dataset-type-enum"),
    ExpectFail(edit(BIAS, probability_threshold=float("nan")), ConfigError, "probability_threshold",
               "found NaN (float)", "nan-rejected"),
    ExpectFail(edit(BIAS, methods={"report": {"name": "report"}}), ConfigError, "methods",
               "expected at least one analysis method", "report-alone-is-no-method"),
    ExpectFail(edit(BIAS, methods={"pre_training_bias": {"methods": ["CI", "XX"]}}), ConfigError,
               "methods.pre_training_bias.methods[1]", 'found "XX" (str)', "unknown-metric"),
    ExpectFail(edit(BIAS, methods={"pre_training_bias": {"methods": ["DI"]}}), ConfigError,
               "methods.pre_training_bias.methods[0]", 'expected one of "CDDL"', "posttraining-name-in-pre"),
    ExpectFail(edit(BIAS, methods={"pre_training_bias": {"methods": ["CI", "CI"]}}), ConfigError,
               "methods.pre_training_bias.methods[1]", "listed twice", "duplicate-metric"),
    ExpectFail(edit(BIAS, label=DROP), ConfigError, "label", "required by methods.pre_training_bias",
               "bias-needs-label"),
    ExpectFail(edit(BIAS, facet=DROP), ConfigError, "facet", "required by methods.pre_training_bias",
               "bias-needs-facet"),
    ExpectFail(edit(BIAS, facet=[]), ConfigError, "facet", "expected a non-empty list", "facet-empty"),
    ExpectFail(edit(BIAS, label_values_or_threshold=DROP), ConfigError, "label_values_or_threshold",
               "required by methods.pre_training_bias", "bias-needs-label-values"),
    ExpectFail(edit(SHAP, methods__shap={"baseline": [[1, 2]], "num_clusters": 2}), ConfigError,
               "methods.shap.num_clusters", "cannot be given together with baseline", "baseline-vs-clusters"),
    ExpectFail(edit(SHAP, dataset_type="application/json", headers=DROP, label=DROP), ConfigError,
               "features", "required for dataset_type application/json", "json-needs-features"),
    ExpectFail(edit(BIAS, dataset_type="application/x-parquet", facet_dataset_uri="s3://b/f"), ConfigError,
               "facet_dataset_uri", "only supported for dataset_type text/csv", "facet-dataset-csv-only"),
    ExpectFail(edit(fixture("22"), predicted_label="p"), ConfigError, "predicted_label",
               "not supported for dataset_type 'application/x-image'", "predicted-label-not-for-images"),
    ExpectFail(edit(SHAP, methods__shap={"features_to_explain": ["age"],
                                         "text_config": {"granularity": "token", "language": "en"}}),
               ConfigError, "methods.shap.features_to_explain", "not supported with text_config",
               "features-to-explain-vs-text"),
    ExpectFail(edit(SHAP, methods={"pdp": {"grid_resolution": 10}}), ConfigError, "methods.pdp.features",
               "required when methods.shap is not requested", "pdp-without-features-and-shap"),
    ExpectFail(edit(fixture("10"), predictor__content_template="{\"x\": 1}"), ConfigError,
               "predictor.content_template", "placeholder $features", "jsonlines-template-needs-features"),
    ExpectFail(edit(fixture("10"), predictor__content_template=DROP), ConfigError,
               "predictor.content_template", "required for content_type application/jsonlines",
               "jsonlines-needs-template"),
    ExpectFail(edit(fixture("12"), predictor__content_template="{\"x\": $features}"), ConfigError,
               "predictor.content_template", "$records or $record", "json-template-needs-records"),
    ExpectFail(edit(fixture("12"), predictor__record_template=DROP), ConfigError,
               "predictor.record_template", "required for content_type application/json",
               "json-needs-record-template"),
    ExpectFail(edit(fixture("05"), predictor__instance_type=DROP), ConfigError, "predictor.instance_type",
               "required with model_name", "model-name-needs-instance-type"),
    ExpectFail(edit(SHAP, predictor__endpoint_name_prefix="pre"), ConfigError,
               "predictor.endpoint_name_prefix", "cannot be given with endpoint_name", "prefix-vs-endpoint"),
    ExpectFail(edit(fixture("05"), predictor__endpoint_name_prefix="bad_prefix"), ConfigError,
               "predictor.endpoint_name_prefix", "matching [a-zA-Z0-9](-*[a-zA-Z0-9])*", "prefix-regex"),
    ExpectFail(edit(fixture("05"), predictor__endpoint_name_prefix="a" * 24), ConfigError,
               "predictor.endpoint_name_prefix", "of at most 23 characters", "prefix-length"),
    ExpectFail(edit(BIAS, segment_config=[{"name_or_index": "age", "segments": [["a"]],
                                           "display_aliases": ["x", "y", "z"]}]), ConfigError,
               "segment_config[0].display_aliases", "expected 1 or 2 display aliases", "segment-aliases"),
    ExpectFail(edit(SHAP, methods__shap={"image_config": {"model_type": "IMAGE_CLASSIFICATION"}}),
               ConfigError, "methods.shap.image_config", "only for dataset_type application/x-image",
               "image-config-needs-images"),
    ExpectFail(edit(fixture("22"), methods__shap__image_config__model_type="SEGMENTATION"), ConfigError,
               "methods.shap.image_config.model_type", '"IMAGE_CLASSIFICATION", "OBJECT_DETECTION"',
               "image-model-type-enum"),
    ExpectFail(edit(fixture("22"), predictor__label_headers=DROP), ConfigError, "predictor.label_headers",
               "required for computer-vision models", "cv-needs-label-headers"),
    ExpectFail(edit(fixture("20"), methods__shap__text_config__language="klingon"), ConfigError,
               "methods.shap.text_config.language", '(case-insensitive), found "klingon"', "language-enum"),
    ExpectFail(edit(fixture("20"), methods__shap__text_config__granularity="word"), ConfigError,
               "methods.shap.text_config.granularity", '"token", "sentence", "paragraph"', "granularity-enum"),
    ExpectFail(edit(BIAS, label="target"), ConfigError, "label", "column 'target' is not in headers",
               "headers-must-contain-label"),
    ExpectFail(edit(BIAS, headers=["y", "y", "sex"]), ConfigError, "headers[1]", "appears twice",
               "headers-unique"),
    ExpectFail(edit(TS, dataset_type="text/csv"), ConfigError, "time_series_data_config",
               "only supported for dataset_type application/json", "ts-json-only"),
    ExpectFail(edit(TS, methods={"pre_training_bias": {"methods": "all"}}, label="[].y",
                    label_values_or_threshold=[1], facet=[{"name_or_index": "[].f"}]), ConfigError,
               "methods.pre_training_bias", "not supported for time series", "ts-rejects-bias"),
    ExpectFail(edit(TS, predictor__time_series_predictor_config=DROP), ConfigError,
               "predictor.time_series_predictor_config", "required for time series", "ts-needs-forecast"),
    ExpectFail(edit(TS, time_series_data_config__dataset_format=DROP), ConfigError,
               "time_series_data_config.dataset_format", "required when the fields are JMESPath strings",
               "ts-format-required-for-strings"),
    ExpectFail(edit(TS, time_series_data_config__item_id=1), ConfigError, "time_series_data_config.item_id",
               "like target_time_series", "ts-same-types"),
    ExpectFail(edit(TS, methods__asymmetric_shapley_value__granularity="fine_grained"), ConfigError,
               "methods.asymmetric_shapley_value.num_samples", "required when granularity is fine_grained",
               "asv-fine-grained-needs-samples"),
    ExpectFail(edit(TS, methods__asymmetric_shapley_value__num_samples=5), ConfigError,
               "methods.asymmetric_shapley_value.num_samples", "only allowed when granularity is fine_grained",
               "asv-samples-only-fine-grained"),
    ExpectFail(edit(TS, methods__asymmetric_shapley_value={"granularity": "fine_grained", "num_samples": 5,
                                                           "direction": "bidirectional"}), ConfigError,
               "methods.asymmetric_shapley_value.direction", "only supports direction 'chronological'",
               "asv-fine-grained-chronological"),
    ExpectFail(edit(TS, methods__asymmetric_shapley_value__baseline={"static_covariates": {"item1": [1, 2]}}),
               ConfigError, "methods.asymmetric_shapley_value.baseline.static_covariates.item1",
               "expected 1 values", "asv-baseline-static-covariates-count"),
    ExpectFail(edit(SHAP, methods={"asymmetric_shapley_value": {}}), ConfigError,
               "methods.asymmetric_shapley_value", "only for time series", "asv-needs-ts"),
]


@pytest.mark.parametrize("case", FAIL, ids=lambda c: c.id)
def test_expect_fail(case):
    with pytest.raises(case.error) as info:
        load_config(case.input)
    assert info.value.path == case.path
    assert case.message in info.value.message
    assert str(info.value) == f"{case.path}: {info.value.message}"


MODEL_SOURCE_FAIL = [
    ExpectFail(edit(BIAS, methods={"post_training_bias": {"methods": "all"}}), ConfigError, "predictor",
               "required by methods.post_training_bias", "posttraining-needs-model-or-predictions"),
    ExpectFail(edit(SHAP, predictor=DROP), ConfigError, "predictor", "required by methods.shap",
               "shap-needs-predictor"),
    ExpectFail(edit(SHAP, predictor={"label": 0}), ConfigError, "predictor.endpoint_name",
               "methods.shap needs a model", "predictor-without-model"),
]


@pytest.mark.parametrize("case", MODEL_SOURCE_FAIL, ids=lambda c: c.id)
def test_model_source_needed_when_no_model_is_supplied(case):
    cfg = load_config(case.input)  # complete as a config: a model may come from the caller
    with pytest.raises(case.error) as info:
        check_model_source(cfg)
    assert info.value.path == case.path
    assert case.message in info.value.message


def test_ids_unique():
    ids = [c.id for c in EXPECT] + [c.id for c in FAIL] + [c.id for c in MODEL_SOURCE_FAIL]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("source", ["/nonexistent/analysis_config.json", "{not json", "[1, 2"],
                         ids=["missing-file", "bad-json-text", "truncated-json"])
def test_unreadable_config_message(source):
    with pytest.raises(ConfigError) as info:
        load_config(source)
    assert str(info.value).startswith("Unable to load analysis configuration as JSON.")
    assert info.value.path == ""


def test_invalid_json_file(tmp_path):
    bad = tmp_path / "analysis_config.json"
    bad.write_text('{"dataset_type": "text/csv",}')
    with pytest.raises(ConfigError, match=r"^Unable to load analysis configuration as JSON\. .*analysis_config"):
        load_config(bad)
    bad.write_text('{"probability_threshold": NaN}')
    with pytest.raises(ConfigError, match="NaN is not valid JSON"):
        load_config(bad)


def test_document_not_an_object():
    with pytest.raises(ConfigError, match=r"expected a JSON object, found \[1\] \(list\)"):
        load_config("[1]")


def test_frozen_and_equal():
    a, b = load_config(BIAS), load_config(copy.deepcopy(BIAS))
    assert a == b and hash(a.facet) == hash(b.facet)
    with pytest.raises(AttributeError):
        a.label = "other"  # type: ignore[misc]


def test_replace_drops_spelling_of_changed_value():
    import dataclasses

    cfg = load_config(edit(SHAP, dataset_type="TEXT/CSV"))
    assert cfg.to_dict()["dataset_type"] == "TEXT/CSV"
    changed = dataclasses.replace(cfg, dataset_type="application/x-parquet")
    assert changed.to_dict()["dataset_type"] == "application/x-parquet"
    assert list(changed.to_dict()) == list(cfg.to_dict())
