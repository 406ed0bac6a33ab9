"""Shadow endpoint lifecycle against moto's SageMaker control plane in server mode.

boto3 reaches moto through ``AWS_ENDPOINT_URL``; nothing in boto3 is patched. Failure modes
moto cannot produce (an endpoint that goes ``Failed``, never leaves ``Creating``, or cannot be
deleted) use a small client object passed as ``sagemaker_client``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import boto3
import pytest

from clarify_engine.container import JobStopped
from clarify_engine.errors import ModelError
from clarify_engine.predict.transports._shadow import MAX_NAME, ShadowEndpoint, shadow_endpoint_name
from tests.helpers import REPO, moto_server_url


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_url():
    yield from moto_server_url()


@pytest.fixture
def sagemaker(moto_url, monkeypatch):
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    client = boto3.client("sagemaker")
    if not client.list_models(NameContains="loans-model")["Models"]:
        client.create_model(
            ModelName="loans-model",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"},
        )
    yield client
    assert _leftovers(client) == ([], []), "a test left endpoints behind"


def _leftovers(client):
    endpoints = [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]]
    configs = [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]]
    return endpoints, configs


def test_lifecycle_creates_waits_yields_and_deletes(sagemaker):
    shadow = ShadowEndpoint("loans-model", "ml.m5.large", 2, accelerator_type="ml.eia2.medium",
                            endpoint_name_prefix="my-clarify", poll_interval=0)
    with shadow as name:
        assert name == shadow.endpoint_name and name.startswith("my-clarify-")
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        variant = sagemaker.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"][0]
        assert variant["ModelName"] == "loans-model"
        assert variant["InstanceType"] == "ml.m5.large"
        assert variant["InitialInstanceCount"] == 2
        assert variant["AcceleratorType"] == "ml.eia2.medium"
        assert _leftovers(sagemaker) == ([name], [name])
    assert _leftovers(sagemaker) == ([], [])
    assert shadow.cleanup_errors == []


def test_deleted_after_an_exception(sagemaker):
    with pytest.raises(RuntimeError, match="analysis failed"):
        with ShadowEndpoint("loans-model", "ml.m5.large", 1, poll_interval=0) as name:
            assert name.startswith("sm-clarify-")
            raise RuntimeError("analysis failed")
    assert _leftovers(sagemaker) == ([], [])


@pytest.mark.parametrize("stop", [JobStopped, KeyboardInterrupt], ids=["JobStopped", "KeyboardInterrupt"])
def test_deleted_after_a_base_exception(sagemaker, stop):
    with pytest.raises(stop):
        with ShadowEndpoint("loans-model", "ml.m5.large", 1, poll_interval=0):
            raise stop()
    assert _leftovers(sagemaker) == ([], [])


def test_unknown_model_fails_clearly_and_leaves_nothing(sagemaker):
    with pytest.raises(ModelError, match=r"model no-such-model: CreateEndpointConfig failed: .*Could not find model"):
        with ShadowEndpoint("no-such-model", "ml.m5.large", 1, poll_interval=0):
            pytest.fail("must not be entered")  # pragma: no cover
    assert _leftovers(sagemaker) == ([], [])


def test_sigterm_in_a_real_process_deletes_the_endpoint(sagemaker, moto_url):
    """SIGTERM sets the stop flag; the loop's check raises JobStopped; the endpoint is deleted before exit."""
    script = textwrap.dedent(
        """
        import os
        from clarify_engine import _stop
        from clarify_engine.predict.transports._shadow import ShadowEndpoint
        _stop.install_sigterm(on_deadline=lambda: os._exit(99))
        with ShadowEndpoint("loans-model", "ml.m5.large", 1, poll_interval=0) as name:
            print(name, flush=True)
            _stop.sleep(60)
        """
    )
    env = {**os.environ, **AWS, "AWS_ENDPOINT_URL": moto_url}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        name = proc.stdout.readline().strip()
        assert name.startswith("sm-clarify-"), proc.stderr.read() if proc.poll() is not None else name
        assert _leftovers(sagemaker) == ([name], [name])
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode != 0
    assert _leftovers(sagemaker) == ([], [])


# -- failure modes moto cannot produce ------------------------------------------------------
class ScriptedClient:
    """A SageMaker client stand-in that answers DescribeEndpoint from a script of statuses."""

    def __init__(self, statuses, failure_reason=None, fail_delete_endpoint=False):
        self.statuses = list(statuses)
        self.failure_reason = failure_reason
        self.fail_delete_endpoint = fail_delete_endpoint
        self.calls: list[str] = []

    def create_endpoint_config(self, **kw):
        self.calls.append("CreateEndpointConfig")

    def create_endpoint(self, **kw):
        self.calls.append("CreateEndpoint")

    def describe_endpoint(self, **kw):
        self.calls.append("DescribeEndpoint")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        reply = {"EndpointStatus": status}
        if self.failure_reason:
            reply["FailureReason"] = self.failure_reason
        return reply

    def delete_endpoint(self, **kw):
        self.calls.append("DeleteEndpoint")
        if self.fail_delete_endpoint:
            raise RuntimeError("AccessDenied")

    def delete_endpoint_config(self, **kw):
        self.calls.append("DeleteEndpointConfig")


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_polls_until_in_service():
    client, clock = ScriptedClient(["Creating", "Creating", "InService"]), FakeClock()
    with ShadowEndpoint("m", "ml.m5.large", 1, sagemaker_client=client, poll_interval=30,
                        sleep=clock.sleep, clock=clock):
        assert clock.sleeps == [30, 30]
    assert client.calls[-2:] == ["DeleteEndpoint", "DeleteEndpointConfig"]


def test_failed_endpoint_reports_the_failure_reason_and_is_deleted():
    client = ScriptedClient(["Creating", "Failed"], failure_reason="The image could not be pulled.")
    clock = FakeClock()
    with pytest.raises(ModelError, match=r"is Failed, expected InService: The image could not be pulled\."):
        with ShadowEndpoint("m", "ml.m5.large", 1, sagemaker_client=client, sleep=clock.sleep, clock=clock):
            pytest.fail("must not be entered")  # pragma: no cover
    assert client.calls[-2:] == ["DeleteEndpoint", "DeleteEndpointConfig"]


def test_wait_times_out_and_deletes():
    client, clock = ScriptedClient(["Creating"]), FakeClock()
    with pytest.raises(ModelError, match=r"still Creating after 100 s; expected InService"):
        with ShadowEndpoint("m", "ml.m5.large", 1, sagemaker_client=client, timeout=100, poll_interval=30,
                            sleep=clock.sleep, clock=clock):
            pytest.fail("must not be entered")  # pragma: no cover
    assert client.calls.count("DescribeEndpoint") == 5
    assert client.calls[-2:] == ["DeleteEndpoint", "DeleteEndpointConfig"]


def test_stop_while_waiting_deletes():
    client = ScriptedClient(["Creating"])

    def stopped(_):
        raise JobStopped()

    with pytest.raises(JobStopped):
        with ShadowEndpoint("m", "ml.m5.large", 1, sagemaker_client=client, sleep=stopped):
            pytest.fail("must not be entered")  # pragma: no cover
    assert client.calls[-2:] == ["DeleteEndpoint", "DeleteEndpointConfig"]


def test_failed_deletion_is_recorded_and_the_config_still_deleted(caplog):
    client = ScriptedClient(["InService"], fail_delete_endpoint=True)
    shadow = ShadowEndpoint("m", "ml.m5.large", 1, sagemaker_client=client)
    with shadow as name:
        pass
    assert client.calls[-2:] == ["DeleteEndpoint", "DeleteEndpointConfig"]
    assert len(shadow.cleanup_errors) == 1
    assert f"DeleteEndpoint {name} failed: AccessDenied" in shadow.cleanup_errors[0]
    assert "aws sagemaker delete-endpoint" in shadow.cleanup_errors[0]
    assert "Shadow endpoint cleanup" in caplog.text


# -- names ----------------------------------------------------------------------------------
def test_names_are_unique_and_within_limits():
    names = {shadow_endpoint_name("a" * 23) for _ in range(100)}
    assert len(names) == 100
    assert all(len(n) <= MAX_NAME for n in names)
    assert shadow_endpoint_name("sm-clarify", token="abc") == "sm-clarify-abc"


@pytest.mark.parametrize("prefix", ["a" * 24, "-lead", "trail-", "under_score", ""])
def test_bad_prefixes(prefix):
    with pytest.raises(ValueError, match="endpoint_name_prefix: expected 1 to 23 letters or digits"):
        shadow_endpoint_name(prefix)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"model_name": ""}, "model_name"),
    ({"initial_instance_count": 0}, "initial_instance_count"),
])
def test_constructor_checks(kwargs, fragment):
    args = {"model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1, **kwargs}
    with pytest.raises(ValueError, match=fragment):
        ShadowEndpoint(**args)
