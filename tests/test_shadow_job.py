"""A whole job with a shadow endpoint: the container subprocess creates an endpoint from
``predictor.model_name`` on a SageMaker control plane (moto in server mode), sends the rows
through the SageMaker runtime (the project's model server, reached by boto3 through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), and deletes the endpoint and its config afterwards,
also when the job fails."""

from __future__ import annotations

import json

import boto3
import pytest

import clarify_engine
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.helpers import ServerProcess, moto_server_url, run_cli
from tests.test_entrypoints import _layout


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def control_plane():
    servers = moto_server_url()
    url = next(servers)
    client = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_model(ModelName="loans-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/loans:1"})
    yield url, client
    servers.close()


@pytest.fixture(scope="module")
def runtime():
    server = ServerProcess(DEMO_MODEL)
    yield server
    server.stop()


def _shadow_config(prefix: str) -> dict:
    config = json.loads(DEMO_CONFIG.read_text())
    config["predictor"].update({"model_name": "loans-model", "instance_type": "ml.m5.large",
                                "initial_instance_count": 1, "endpoint_name_prefix": prefix})
    return config


def _endpoints(client) -> tuple[list, list]:
    return ([e["EndpointName"] for e in client.list_endpoints()["Endpoints"]],
            [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]])


def test_container_job_with_a_shadow_endpoint(tmp_path, control_plane, runtime):
    url, client = control_plane
    root = _layout(tmp_path, _shadow_config("clarify-demo"), {"loans.csv": DEMO_DATA})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER": url,
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url, **AWS}
    proc = run_cli("container", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shadow endpoint clarify-demo-" in proc.stdout
    analysis = json.loads((root / "opt/ml/processing/output/analysis.json").read_text())
    expected = clarify_engine.analyze(json.loads(DEMO_CONFIG.read_text()), data=DEMO_DATA, model=DEMO_MODEL)
    assert analysis == expected.to_dict()
    assert _endpoints(client) == ([], []), "the shadow endpoint must be deleted after the job"


def test_shadow_endpoint_deleted_when_the_job_fails(tmp_path, control_plane):
    url, client = control_plane
    root = _layout(tmp_path, _shadow_config("clarify-fail"), {"loans.csv": DEMO_DATA})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER": url,
           # nothing listens here: every request fails, the job fails
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:9", **AWS}
    proc = run_cli("container", env=env)
    assert proc.returncode == 1
    assert "clarify-fail-" in (root / "opt/ml/output/message").read_text()
    assert _endpoints(client) == ([], [])
