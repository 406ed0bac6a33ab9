"""Under a PipelineSession, run() returns step arguments and starts nothing; replaying them gives the request.

On a moto server: no processing job may exist after ``run()``, and the replayed request is the
one a plain run sends (the recorded SDK request of the same case, byte for byte, except the
pipeline layout the SDK's ProcessingStep would add, which this client does not build).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from clarify_engine.client import PipelineSession, ProcessingOutput
from clarify_engine.client._pipeline import PIPELINE_WARNING, execute_job_functions
from clarify_engine.client._step_args import _StepArguments
from clarify_engine.client.spark import PySparkProcessor
from tests.helpers import moto_server_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_requests"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-spark:1.0"


@pytest.fixture
def pipeline_session(monkeypatch):
    server = moto_server_url()
    url = next(server)
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-west-2"}.items():
        monkeypatch.setenv(key, value)
    boto_session = boto3.Session(region_name="us-west-2")
    s3 = boto_session.client("s3")
    try:  # moto keeps its state for the whole test process
        s3.create_bucket(Bucket="sdk-requests-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    yield PipelineSession(boto_session=boto_session, default_bucket="sdk-requests-bucket"), boto_session
    for item in s3.list_objects_v2(Bucket="sdk-requests-bucket").get("Contents", []):
        s3.delete_object(Bucket="sdk-requests-bucket", Key=item["Key"])
    server.close()


def test_run_returns_step_arguments_and_the_replay_gives_the_request(pipeline_session):
    session, boto_session = pipeline_session
    processor = PySparkProcessor(role=ROLE, image_uri=IMAGE, instance_type="ml.c5.xlarge", sagemaker_session=session)
    with pytest.warns(UserWarning, match=f"^{PIPELINE_WARNING}$"):
        step_args = processor.run(submit_app=str(FILES / "wordcount.py"), submit_py_files=[str(FILES / "helpers.py")],
                                  job_name="pyspark-py-files", wait=True, logs=True)
    assert isinstance(step_args, _StepArguments) and step_args.caller_name == "process"
    assert step_args.func_kwargs["wait"] is False and step_args.func_kwargs["logs"] is False
    s3 = boto_session.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sdk-requests-bucket").get("Contents", [])]
    assert not [k for k in keys if k.startswith("pyspark-py-files/")]  # nothing uploaded yet
    sagemaker = boto_session.client("sagemaker")
    jobs_before = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    with pytest.warns(UserWarning):
        request = execute_job_functions(step_args)
    # no job started (moto keeps the jobs other tests of this process made, e.g. the recorded cases)
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == jobs_before
    assert json.dumps(request, indent=2) + "\n" == (FIXTURES / "pyspark-py-files-local.request.json").read_text()


def test_plain_processors_defer_too(pipeline_session, tmp_path):
    from clarify_engine.client import ScriptProcessor

    session, _ = pipeline_session
    script = tmp_path / "prep.py"
    script.write_text("print(1)\n")
    processor = ScriptProcessor(role=ROLE, image_uri=IMAGE, command=["python3"], instance_type="ml.m5.large",
                                sagemaker_session=session)
    with pytest.warns(UserWarning, match="No Job being started"):
        # wait and logs given by position (True) are turned off as the SDK does
        step_args = processor.run(str(script), None, [ProcessingOutput(source="/opt/ml/processing/output")], None,
                                  True, True, "deferred")
    assert step_args.func_args[5:8] == (False, False, "deferred") and processor.latest_job is None
    request = execute_job_functions(step_args)
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/prep.py"]
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        "s3://sdk-requests-bucket/deferred/output/output-1"


FILES = FIXTURES / "files"
