"""SageMaker mode against moto in server mode (S3, SageMaker, CloudWatch Logs, STS) through boto3.

moto 5 records processing jobs but runs nothing: a job is ``Completed`` as soon as it is
created and ``StopProcessingJob`` turns it ``Stopped``; ``DescribeProcessingJob`` does not
return ``ProcessingResources`` or ``Environment``. So the request itself is also captured as
botocore sends it (an event hook), and a failed job is shown with botocore's Stubber. Local
jobs with ``s3://`` inputs and outputs run against the same moto server.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.stub import Stubber

from clarify_engine.client import (
    LocalSession,
    NetworkConfig,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
    Session,
    UnexpectedStatusException,
)
from tests.client.test_local import CONFIG_DIR, DATA_DIR, DEMO, OUTPUT_DIR, clarify_io, demo_config
from tests.helpers import moto_server_url

REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's default account
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/clarify-engine:0.1.0"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ClarifyRole"


@pytest.fixture(scope="module")
def moto_url():
    yield from moto_server_url()


@pytest.fixture
def aws(moto_url, monkeypatch):
    for key, value in {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "CLARIFY_ENGINE_IMAGE_URI"):
        monkeypatch.delenv(key, raising=False)
    return boto3.Session(region_name=REGION)


@pytest.fixture
def session(aws):
    requests = []
    sm = aws.client("sagemaker")
    sm.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                            lambda params, **kw: requests.append(json.loads(json.dumps(params))))
    s = Session(boto_session=aws, sagemaker_client=sm, poll_seconds=0.01)
    s.sent = requests
    return s


def test_run_uploads_inputs_and_sends_the_full_create_processing_job_request(session, aws, tmp_path, monkeypatch):
    monkeypatch.setenv("CLARIFY_ENGINE_IMAGE_URI", IMAGE)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_file(str(DEMO / "loans.csv"), "data-bucket", "clarify/data/loans.csv")
    config = demo_config(tmp_path)
    # The analysis config goes up the way the Clarify processor sends it: into the output prefix.
    config_uri = session.upload_file(config, "s3://data-bucket/clarify/output")
    assert config_uri == "s3://data-bucket/clarify/output/analysis_config.json"
    inputs = [ProcessingInput(source="s3://data-bucket/clarify/data/loans.csv", destination=DATA_DIR, input_name="dataset"),
              ProcessingInput(source=config_uri, destination=CONFIG_DIR, input_name="analysis_config"),
              ProcessingInput(source=str(DEMO / "loans.csv"), destination="/opt/ml/processing/input/extra")]
    outputs = [ProcessingOutput(source=OUTPUT_DIR, destination="s3://data-bucket/clarify/output",
                                output_name="analysis_result"),
               ProcessingOutput(source="/opt/ml/processing/other", s3_upload_mode="Continuous")]
    processor = Processor(role=ROLE, instance_count=2, instance_type="ml.c5.xlarge", volume_size_in_gb=50,
                          volume_kms_key="vol-key", output_kms_key="out-key", max_runtime_in_seconds=3600,
                          base_job_name="clarify-test", sagemaker_session=session, env={"A": "1"},
                          tags=[{"Key": "team", "Value": "fairness"}],
                          network_config=NetworkConfig(enable_network_isolation=True, security_group_ids=["sg-1"],
                                                       subnets=["subnet-1"]))
    processor.run(inputs=inputs, outputs=outputs, wait=False, logs=False)
    job = processor.latest_job
    bucket = f"sagemaker-{REGION}-{ACCOUNT}"

    # The config landed in S3 byte for byte; the local input went to the default bucket.
    body = s3.get_object(Bucket="data-bucket", Key="clarify/output/analysis_config.json")["Body"].read()
    assert body == config.read_bytes()
    extra_uri = f"s3://{bucket}/{job.job_name}/input/input-3/loans.csv"
    assert s3.get_object(Bucket=bucket, Key=extra_uri.split(bucket + "/")[1])["Body"].read() == (DEMO / "loans.csv").read_bytes()

    (request,) = session.sent
    assert request["ProcessingJobName"] == job.job_name and job.job_name.startswith("clarify-test-")
    assert request["ProcessingResources"] == {"ClusterConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2,
                                                                "VolumeSizeInGB": 50, "VolumeKmsKeyId": "vol-key"}}
    assert request["AppSpecification"] == {"ImageUri": IMAGE}
    assert request["Environment"] == {"A": "1"}
    assert request["RoleArn"] == ROLE
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert request["NetworkConfig"] == {"EnableNetworkIsolation": True,
                                        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}}
    assert request["Tags"] == [{"Key": "team", "Value": "fairness"}]
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == "out-key"
    assert list(request) == ["ProcessingJobName", "ProcessingResources", "AppSpecification", "RoleArn",
                             "ProcessingInputs", "ProcessingOutputConfig", "Environment", "NetworkConfig",
                             "StoppingCondition", "Tags"]

    # What SageMaker (moto) recorded, read back with DescribeProcessingJob.
    desc = job.describe()
    assert desc["ProcessingJobName"] == job.job_name
    assert desc["ProcessingJobArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{job.job_name}"
    assert [(i["InputName"], i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"]) for i in desc["ProcessingInputs"]] == [
        ("dataset", "s3://data-bucket/clarify/data/loans.csv", DATA_DIR),
        ("analysis_config", config_uri, CONFIG_DIR),
        ("input-3", extra_uri, "/opt/ml/processing/input/extra")]
    outs = desc["ProcessingOutputConfig"]["Outputs"]
    assert [(o["OutputName"], o["S3Output"]["S3Uri"], o["S3Output"]["S3UploadMode"]) for o in outs] == [
        ("analysis_result", "s3://data-bucket/clarify/output", "EndOfJob"),
        ("output-2", f"s3://{bucket}/{job.job_name}/output/output-2", "Continuous")]
    assert desc["AppSpecification"]["ImageUri"] == IMAGE and desc["RoleArn"] == ROLE
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}

    again = ProcessingJob.from_processing_name(session, job.job_name)
    assert [i.source for i in again.inputs] == [i.source for i in inputs]
    assert [o.s3_upload_mode for o in again.outputs] == ["EndOfJob", "Continuous"]
    assert again.output_kms_key == "out-key"


def test_wait_streams_cloudwatch_logs_and_stop_marks_the_job_stopped(session, aws, capsys):
    processor = Processor(role=ROLE, image_uri=IMAGE, instance_type="ml.m5.large", sagemaker_session=session)
    processor.run(wait=False, logs=False, job_name="logged-job")
    logs = aws.client("logs")
    now = int(time.time() * 1000)  # CloudWatch (and moto) drop events older than 14 days
    group = "/aws/sagemaker/ProcessingJobs"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName="logged-job/algo-1-1700000000")
    logs.put_log_events(logGroupName=group, logStreamName="logged-job/algo-1-1700000000",
                        logEvents=[{"timestamp": now + i, "message": f"engine line {i}"} for i in range(3)])
    logs.create_log_stream(logGroupName=group, logStreamName="other-job/algo-1-1700000000")
    logs.put_log_events(logGroupName=group, logStreamName="other-job/algo-1-1700000000",
                        logEvents=[{"timestamp": now, "message": "not ours"}])
    capsys.readouterr()
    processor.latest_job.wait(logs=True)  # moto's job is already Completed
    printed = capsys.readouterr().out
    assert printed.splitlines() == ["engine line 0", "engine line 1", "engine line 2"]
    processor.latest_job.wait(logs=False)

    processor.latest_job.stop()
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Stopped"
    processor.latest_job.wait(logs=False)  # Stopped: a warning, not an error


def test_wait_raises_with_the_failure_reason_when_the_job_failed(aws):
    client = aws.client("sagemaker")
    stub = Stubber(client)
    for status in ("InProgress", "Failed"):
        desc = {"ProcessingJobName": "j", "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/j",
                "ProcessingJobStatus": status, "ProcessingResources": {"ClusterConfig": {
                    "InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}},
                "AppSpecification": {"ImageUri": IMAGE}, "CreationTime": "2024-01-01T00:00:00Z"}
        if status == "Failed":
            desc["FailureReason"] = "AlgorithmError: label: column 'Nope' not found"
        stub.add_response("describe_processing_job", desc, {"ProcessingJobName": "j"})
    with stub:
        session = Session(boto_session=aws, sagemaker_client=client, poll_seconds=0)
        with pytest.raises(UnexpectedStatusException) as info:
            session.wait_for_processing_job("j")
    assert str(info.value) == "Error for Processing job j: Failed. Reason: AlgorithmError: label: column 'Nope' not found"
    stub.assert_no_pending_responses()


def test_sagemaker_mode_requires_an_image_and_a_role(session):
    with pytest.raises(ValueError, match="image_uri is required.*CLARIFY_ENGINE_IMAGE_URI"):
        Processor(role=ROLE, instance_type="ml.m5.large", sagemaker_session=session).run(wait=False, logs=False)
    # The SDK refuses a missing role when the processor is made, not when the job starts.
    with pytest.raises(ValueError, match="^An AWS IAM role is required to create a Processing job.$"):
        Processor(image_uri=IMAGE, instance_type="ml.m5.large", sagemaker_session=session)
    assert session.sent == []


def test_default_session_follows_instance_type_and_credentials(aws, monkeypatch):
    assert isinstance(Processor().sagemaker_session, LocalSession)
    assert isinstance(Processor(role=ROLE, instance_type="ml.m5.large").sagemaker_session, Session)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert isinstance(Processor(instance_type="ml.m5.large").sagemaker_session, LocalSession)


def test_local_job_reads_s3_inputs_and_writes_s3_outputs(aws, tmp_path):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="local-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_file(str(DEMO / "loans.csv"), "local-bucket", "in/data/part-1.csv")
    local = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
    config_uri = local.upload_file(demo_config(tmp_path), "s3://local-bucket/in/config")
    inputs, outputs = clarify_io(config_uri, "s3://local-bucket/in/data", "s3://local-bucket/results/run-1")
    processor = Processor(sagemaker_session=local)
    processor.run(inputs=inputs, outputs=outputs, logs=False)
    root = local.jobs_root / processor.latest_job.job_name / "root"
    assert (root / "opt/ml/processing/input/data/part-1.csv").is_file()
    assert (root / "opt/ml/processing/input/config/analysis_config.json").is_file()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="local-bucket", Prefix="results/run-1/")["Contents"]}
    assert keys == {"results/run-1/analysis.json", "results/run-1/run_manifest.json"}
    analysis = json.loads(s3.get_object(Bucket="local-bucket", Key="results/run-1/analysis.json")["Body"].read())
    assert set(analysis["pre_training_bias_metrics"]["facets"]) == {"Gender", "Occupation"}


def test_clarify_processor_puts_the_config_in_s3_and_starts_the_job(session, aws):
    from clarify_engine.client import BiasConfig, DataConfig, SageMakerClarifyProcessor

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="clarify-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    data_config = DataConfig(s3_data_input_path="s3://clarify-bucket/data/train.csv",
                             s3_output_path="s3://clarify-bucket/output", label="Target",
                             headers=["Target", "Age", "Gender"], dataset_type="text/csv")
    bias_config = BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])
    processor = SageMakerClarifyProcessor(role=ROLE, image_uri=IMAGE, instance_count=1,
                                          instance_type="ml.c5.xlarge", sagemaker_session=session)
    processor.run_pre_training_bias(data_config, bias_config, wait=False, logs=False)
    config = json.loads(s3.get_object(Bucket="clarify-bucket", Key="output/analysis_config.json")["Body"].read())
    assert config["label"] == "Target" and config["methods"]["pre_training_bias"] == {"methods": "all"}
    (request,) = session.sent
    assert [(i["InputName"], i["S3Input"]["S3Uri"]) for i in request["ProcessingInputs"]] == [
        ("dataset", "s3://clarify-bucket/data/train.csv"),
        ("analysis_config", "s3://clarify-bucket/output/analysis_config.json")]
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == "s3://clarify-bucket/output"
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"  # moto completes at once


def _no_credentials(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_real_instance_type_without_credentials_warns_that_it_runs_locally(aws, monkeypatch, tmp_path, caplog):
    _no_credentials(monkeypatch, tmp_path)
    with caplog.at_level("WARNING", logger="clarify_engine.client"):
        processor = Processor(instance_type="ml.c5.xlarge")
    assert isinstance(processor.sagemaker_session, LocalSession)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [(
        "WARNING",
        "No AWS credentials found: instance_type='ml.c5.xlarge' runs as a LOCAL job on this machine, not on "
        "SageMaker (role, network_config, volume and KMS settings are not applied). Pass instance_type='local' to "
        "say so and silence this warning, or configure AWS credentials to run on SageMaker.")]
    caplog.clear()
    with caplog.at_level("WARNING", logger="clarify_engine.client"):
        Processor(instance_type="local")
    assert caplog.records == []


def test_an_s3_output_without_credentials_names_the_uri_and_the_fix(aws, monkeypatch, tmp_path):
    from clarify_engine.client import BiasConfig, DataConfig, S3AccessError, SageMakerClarifyProcessor

    _no_credentials(monkeypatch, tmp_path)
    local = LocalSession(jobs_root=tmp_path / "jobs")
    data_config = DataConfig(s3_data_input_path=str(DEMO / "loans.csv"), s3_output_path="s3://my-bucket/clarify/run-1",
                             label="Target", headers=["Target", "Age", "Gender", "Income", "Occupation",
                                                      "YearsEmployed", "CreditScore"], dataset_type="text/csv")
    bias_config = BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])
    processor = SageMakerClarifyProcessor(instance_type="local", sagemaker_session=local)
    with pytest.raises(S3AccessError) as info:
        processor.run_pre_training_bias(data_config, bias_config, logs=False)
    assert str(info.value) == (
        "cannot read or write s3://my-bucket/clarify/run-1: no AWS credentials found (Unable to locate "
        "credentials). Configure credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws, "
        "or SSO), or use a local path instead of the s3:// URI")
    assert info.value.__cause__ is None and info.value.__context__ is None  # no botocore traceback
    assert processor.latest_job is None and list((tmp_path / "jobs").iterdir()) == []
    # An S3 client of the user's own skips the up-front check; botocore's refusal is then translated.
    own = LocalSession(jobs_root=tmp_path / "jobs", s3_client=boto3.Session(region_name=REGION).client("s3"))
    processor = SageMakerClarifyProcessor(instance_type="local", sagemaker_session=own)
    with pytest.raises(S3AccessError) as info:
        processor.run_pre_training_bias(data_config, bias_config, logs=False)
    assert str(info.value).startswith("cannot upload to s3://my-bucket/clarify/run-1/analysis_config.json: no AWS "
                                      "credentials found (Unable to locate credentials). Configure credentials")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    # A plain job with an s3:// input is refused the same way, before it starts.
    with pytest.raises(S3AccessError, match="^cannot read or write s3://my-bucket/in: no AWS credentials found"):
        Processor(sagemaker_session=local).run(inputs=[ProcessingInput("s3://my-bucket/in", DATA_DIR)], logs=False)
    assert list((tmp_path / "jobs").iterdir()) == []


def test_a_missing_bucket_fails_the_local_job_with_the_uri(aws, tmp_path):
    local = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
    processor = Processor(sagemaker_session=local)
    processor.run(inputs=[ProcessingInput("s3://no-such-bucket/data", DATA_DIR)], wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException) as info:
        processor.latest_job.wait(logs=False)
    assert str(info.value).endswith(
        "Reason: ClientError: cannot list s3://no-such-bucket/data: NoSuchBucket: The specified bucket does not "
        "exist. Check that the bucket exists and that your AWS identity is allowed to access it")


def test_s3_keys_cannot_write_outside_the_input_folder(aws, tmp_path):
    from clarify_engine.client._session import download_prefix

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="keys-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    target = tmp_path / "job" / "input"
    s3.put_object(Bucket="keys-bucket", Key="data/ok.csv", Body=b"1")
    s3.put_object(Bucket="keys-bucket", Key="data//abs/dir/doubled.csv", Body=b"2")
    assert sorted(p.relative_to(target).as_posix() for p in download_prefix(s3, "s3://keys-bucket/data", target)) == [
        "abs/dir/doubled.csv", "ok.csv"]  # empty segments dropped, as a container path join would
    for key in ("data/../../escape.csv", "data/sub/../../../escape.csv", "data/.."):
        s3.put_object(Bucket="keys-bucket", Key=key, Body=b"3")
        assert key in {o["Key"] for o in s3.list_objects_v2(Bucket="keys-bucket")["Contents"]}, "moto renamed the key"
        with pytest.raises(ValueError) as info:
            download_prefix(s3, "s3://keys-bucket/data", target)
        assert str(info.value).startswith(f"S3 object s3://keys-bucket/{key}: ")
        assert str(info.value).endswith(f", outside {str(target)!r}; refusing writing there. Use a name without "
                                        "'..' segments or symlinks that leave the folder")
        s3.delete_object(Bucket="keys-bucket", Key=key)
    assert sorted(p.name for p in tmp_path.rglob("*escape*")) == []
    assert not (tmp_path / "job" / "escape.csv").exists() and not (tmp_path / "escape.csv").exists()


def test_a_sagemaker_clarify_job_refuses_a_local_output_path_before_any_upload(session, aws):
    from clarify_engine.client import BiasConfig, DataConfig, SageMakerClarifyProcessor

    data_config = DataConfig(s3_data_input_path="s3://clarify-bucket/data/train.csv", s3_output_path="results/",
                             label="Target", headers=["Target", "Age", "Gender"], dataset_type="text/csv")
    bias_config = BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])
    processor = SageMakerClarifyProcessor(role=ROLE, image_uri=IMAGE, instance_type="ml.c5.xlarge",
                                          sagemaker_session=session)
    s3 = aws.client("s3")

    def stored():
        return {(b["Name"], o["Key"]) for b in s3.list_buckets()["Buckets"]
                for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])} | {
                    b["Name"] for b in s3.list_buckets()["Buckets"]}

    before = stored()
    with pytest.raises(ValueError) as info:
        processor.run_pre_training_bias(data_config, bias_config, wait=False, logs=False)
    assert str(info.value) == (
        "DataConfig.s3_output_path 'results/': a SageMaker job writes its results to S3, not to a local path; "
        "give an s3:// URI (e.g. 's3://<bucket>/<prefix>'), or run the job on this machine with "
        "instance_type='local'")
    assert session.sent == [] and processor.latest_job is None
    assert stored() == before  # nothing uploaded, no bucket made


def test_a_sagemaker_processor_output_with_a_local_destination_warns_where_it_goes(session, caplog):
    processor = Processor(role=ROLE, image_uri=IMAGE, instance_type="ml.m5.large", sagemaker_session=session)
    with caplog.at_level("WARNING", logger="clarify_engine.client"):
        processor.run(outputs=[ProcessingOutput(OUTPUT_DIR, "results/", "analysis_result")], job_name="warn-1",
                      wait=False, logs=False)
    bucket = session.default_bucket()
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "ProcessingOutput 'analysis_result': destination 'results/' is not an s3:// URI; a SageMaker job writes "
        f"its outputs to S3, so they go to s3://{bucket}/warn-1/output/analysis_result. Give an s3:// "
        "destination, or run the job on this machine with instance_type='local'"]
    assert processor.latest_job.outputs[0].destination == f"s3://{bucket}/warn-1/output/analysis_result"
