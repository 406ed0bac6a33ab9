"""The SDK's Clarify notebooks, replayed locally: their client calls, unchanged, on data made here.

Each test makes the calls of one public notebook (``from clarify_engine import client as
clarify`` in place of ``from sagemaker import clarify``, ``instance_type="local"``) against a
model served on this machine (``clarify_engine.serve``, reached as a SageMaker endpoint
through ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), and checks what the notebook then reads:
``analysis.json`` sections and the SHAP files. The jobs run through the local session's
private ``/opt/ml`` like any other job.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clarify_engine import client as clarify
from tests.client.test_local import DEMO
from tests.helpers import ServerProcess

HEADERS = ["Target", "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"]
FEATURES = HEADERS[1:]


@pytest.fixture(scope="module")
def endpoint():
    server = ServerProcess(DEMO / "loans_model.joblib")
    yield server.url
    server.stop()


@pytest.fixture
def aws_env(endpoint, monkeypatch):
    for key, value in (("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint), ("AWS_DEFAULT_REGION", "us-west-2"),
                       ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(key, value)


@pytest.fixture
def processor(tmp_path, aws_env):
    session = clarify.LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
    return clarify.SageMakerClarifyProcessor(role=None, instance_count=1, instance_type="local",
                                             sagemaker_session=session)


def _sample(rows: int = 120) -> pd.DataFrame:
    return pd.read_csv(DEMO / "loans.csv").head(rows)


def test_fairness_and_explainability_jsonlines(tmp_path, processor):
    # "Fairness and Explainability with SageMaker Clarify - JSON Lines Format"
    frame = _sample()
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"features": row[FEATURES].tolist(), "label": int(row["Target"])}) + "\n"
                            for _, row in frame.iterrows()))
    bias_report_output_path = str(tmp_path / "bias")
    bias_data_config = clarify.DataConfig(s3_data_input_path=str(data), s3_output_path=bias_report_output_path,
                                          features="features", label="label", headers=FEATURES + ["Target"],
                                          dataset_type="application/jsonlines")
    model_config = clarify.ModelConfig(endpoint_name="loans", instance_type=None, instance_count=None,
                                       accept_type="application/jsonlines", content_type="application/jsonlines",
                                       content_template='{"features":$features}')
    predictions_config = clarify.ModelPredictedLabelConfig(label="predicted_label", probability="probability",
                                                           probability_threshold=0.5)
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0],
                                     group_name="Age")
    processor.run_bias(data_config=bias_data_config, bias_config=bias_config, model_config=model_config,
                       model_predicted_label_config=predictions_config, pre_training_methods="all",
                       post_training_methods="all", logs=False)
    analysis = json.loads((tmp_path / "bias" / "analysis.json").read_text())
    pre = {m["name"] for m in analysis["pre_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]}
    post = {m["name"]: m for m in analysis["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]}
    assert {"CI", "DPL", "KL"} <= pre and {"DPPL", "DI", "AD"} <= set(post)
    assert all("error" not in post[name] for name in ("DPPL", "DI", "AD")), post

    explainability_output_path = str(tmp_path / "explain")
    explainability_data_config = clarify.DataConfig(s3_data_input_path=str(data),
                                                    s3_output_path=explainability_output_path, features="features",
                                                    headers=FEATURES, dataset_type="application/jsonlines")
    shap_config = clarify.SHAPConfig(baseline=[{"features": frame[FEATURES].mean().round(2).tolist()}],
                                     num_samples=16, agg_method="mean_abs", save_local_shap_values=True)
    processor.run_explainability(data_config=explainability_data_config, model_config=model_config,
                                 explainability_config=shap_config,
                                 model_scores=clarify.ModelPredictedLabelConfig(probability="probability"),
                                 logs=False)
    analysis = json.loads((tmp_path / "explain" / "analysis.json").read_text())
    (label,) = analysis["explanations"]["kernel_shap"]
    assert sorted(analysis["explanations"]["kernel_shap"][label]["global_shap_values"]) == sorted(FEATURES)
    local = pd.read_csv(tmp_path / "explain" / "explanations_shap" / "out.csv")
    assert len(local) == len(frame)


def test_explainability_with_shap_and_pdp(tmp_path, processor):
    # "Explainability with SageMaker Clarify - Partial Dependence Plots (PDP)"
    frame = _sample()
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False, header=False)
    data_config = clarify.DataConfig(s3_data_input_path=str(data), s3_output_path=str(tmp_path / "out"),
                                     label="Target", headers=HEADERS, dataset_type="text/csv")
    model_config = clarify.ModelConfig(endpoint_name="loans", accept_type="text/csv", content_type="text/csv")
    shap_config = clarify.SHAPConfig(baseline=[frame[FEATURES].mean().round(2).tolist()], num_samples=16,
                                     agg_method="mean_abs")
    pdp_config = clarify.PDPConfig(features=["Age", "Income"], grid_resolution=5)
    processor.run_explainability(data_config=data_config, model_config=model_config,
                                 explainability_config=[shap_config, pdp_config], logs=False)
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    pdp = {entry["feature_name"]: entry for entry in analysis["explanations"]["pdp"]}
    assert sorted(pdp) == ["Age", "Income"]
    assert all(len(entry["model_predictions"][0]) == len(entry["feature_values"]) for entry in pdp.values())
    assert "kernel_shap" in analysis["explanations"]
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"


def test_bias_with_predicted_label_and_facet_datasets(tmp_path, processor):
    # "Bias detection with separate facet and predicted-label datasets" (no model call)
    frame = _sample()
    predicted = (frame["CreditScore"] > frame["CreditScore"].median()).astype(int)
    main = tmp_path / "main.csv"
    frame.drop(columns=["Gender"]).to_csv(main, index=False, header=False)
    facet = tmp_path / "facet.csv"
    frame[["Gender"]].to_csv(facet, index=False, header=False)
    labels = tmp_path / "predicted.csv"
    predicted.to_frame("Predicted").to_csv(labels, index=False, header=False)
    data_config = clarify.DataConfig(
        s3_data_input_path=str(main), s3_output_path=str(tmp_path / "out"), label="Target",
        headers=[h for h in HEADERS if h != "Gender"], dataset_type="text/csv",
        facet_dataset_uri=str(facet), facet_headers=["Gender"],
        predicted_label_dataset_uri=str(labels), predicted_label_headers=["Predicted"])
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])
    processor.run_post_training_bias(data_config, bias_config, methods=["DPPL", "DI"], logs=False)
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    metrics = {m["name"]: m["value"] for m in analysis["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]}
    women = predicted[frame["Gender"] == 0].mean()
    men = predicted[frame["Gender"] != 0].mean()
    assert metrics["DPPL"] == pytest.approx(men - women)
    assert metrics["DI"] == pytest.approx(women / men)
