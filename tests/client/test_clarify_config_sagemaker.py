"""SageMaker mode against moto in server mode: the config lands in S3, the job request is the SDK's.

boto3 reaches moto through ``AWS_ENDPOINT_URL``; nothing is patched. moto does not run
containers, so what is checked is what the client sends: the uploaded
``analysis_config.json`` bytes and the ``CreateProcessingJob`` request as SageMaker
(moto) describes it back, or, for the parts moto does not keep (resources), as botocore
sent it.
"""

from __future__ import annotations

import json

import pytest

from clarify_engine.client import SageMakerClarifyProcessor, Session
from tests.client.test_clarify_config_fixtures import REQUESTS, ROLE, _cases
from tests.helpers import SDK_CONFIGS, moto_server_url

import boto3  # noqa: E402

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}


@pytest.fixture(scope="module")
def moto_url():
    yield from moto_server_url()


@pytest.fixture
def aws(moto_url, monkeypatch):
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="example-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    yield s3
    for obj in s3.list_objects_v2(Bucket="example-bucket").get("Contents", []):
        s3.delete_object(Bucket="example-bucket", Key=obj["Key"])
    s3.delete_bucket(Bucket="example-bucket")


@pytest.mark.parametrize("stem", ["05_csv_posttraining_model_name_probability_threshold",
                                  "18_csv_shap_features_to_explain_excluded_columns",
                                  "22_image_classification"])
def test_sagemaker_job_gets_the_sdk_config_and_request(aws, stem):
    count, method, kwargs = _cases()[stem]
    image = REQUESTS[stem]["app_specification"]["ImageUri"]
    sent = []
    client = boto3.client("sagemaker")
    client.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                                lambda params, **_: sent.append(dict(params)))
    session = Session(sagemaker_client=client, poll_seconds=0.1)
    processor = SageMakerClarifyProcessor(role=ROLE, instance_count=count, instance_type="ml.c5.xlarge",
                                          sagemaker_session=session, image_uri=image)
    getattr(processor, method)(**kwargs, wait=False, logs=False, job_name=f"clarify-{stem[:2]}")

    body = aws.get_object(Bucket="example-bucket", Key="clarify/output/analysis_config.json")["Body"].read()
    assert body == (SDK_CONFIGS / f"{stem}.json").read_bytes()

    desc = processor.latest_job.describe()
    expected = REQUESTS[stem]
    assert desc["ProcessingInputs"] == expected["inputs"]
    assert desc["ProcessingOutputConfig"] == expected["output_config"]
    assert desc["AppSpecification"] == expected["app_specification"]
    assert desc["RoleArn"] == ROLE
    (request,) = sent
    assert request["ProcessingResources"] == expected["resources"]
    assert request["ProcessingInputs"] == expected["inputs"]
    assert "Environment" not in request and "StoppingCondition" not in request


def test_stop_a_sagemaker_job(aws):
    _, method, kwargs = _cases()["01_csv_pretraining_all"]
    processor = SageMakerClarifyProcessor(role=ROLE, instance_type="ml.c5.xlarge",
                                          sagemaker_session=Session(poll_seconds=0.1), image_uri="img:1")
    getattr(processor, method)(**kwargs, wait=False, logs=False)
    name = processor.latest_job.job_name
    assert name.startswith("Clarify-Pretraining-Bias-")
    processor.latest_job.stop()
    assert processor.latest_job.describe()["ProcessingJobStatus"] in ("Stopping", "Stopped")
    assert json.loads(aws.get_object(Bucket="example-bucket", Key="clarify/output/analysis_config.json")["Body"]
                      .read())["methods"]["pre_training_bias"] == {"methods": "all"}
