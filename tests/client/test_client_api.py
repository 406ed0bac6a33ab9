"""The client's public names, ProcessingJob's static request builders, API objects, SDK-shaped sessions."""

from __future__ import annotations

import json

import boto3
import pytest

import clarify_engine.client as client
from clarify_engine.client import (
    AthenaDatasetDefinition,
    BiasConfig,
    DataConfig,
    DatasetDefinition,
    FeatureStoreOutput,
    LocalSession,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
    SageMakerClarifyProcessor,
    ScriptProcessor,
)
from tests.helpers import moto_server_url

PINNED = [
    "AthenaDatasetDefinition", "BiasConfig", "DataConfig", "DatasetDefinition", "DatasetType", "ExplainabilityConfig",
    "FeatureStoreOutput", "FrameworkProcessor", "ImageConfig", "IsolationUnavailable", "LocalSession", "ModelConfig",
    "ModelPredictedLabelConfig", "NetworkConfig", "PDPConfig", "PipelineSession", "ProcessingInput", "ProcessingJob", "ProcessingOutput",
    "ProcessingOutputHandler", "Processor", "RedshiftDatasetDefinition", "RunArgs", "S3AccessError", "S3Input",
    "SHAPConfig", "SageMakerClarifyProcessor", "ScriptProcessor", "SegmentationConfig", "Session", "TextConfig",
    "UnexpectedStatusException",
]


def test_all_is_pinned_and_exports_no_private_name():
    assert client.__all__ == PINNED
    assert all(hasattr(client, name) for name in client.__all__)
    assert not [n for n in vars(client) if n.startswith("_") and not n.startswith("__") and n[1:2].isupper()]
    from clarify_engine.client import spark

    assert spark.__all__ == ["FileType", "PySparkProcessor", "SparkConfigUtils", "SparkJarProcessor"]


def test_prepare_helpers_build_the_request_pieces():
    assert ProcessingJob.prepare_app_specification(None, None, "img") == {"ImageUri": "img"}
    assert ProcessingJob.prepare_app_specification(["a"], ["python3", "x.py"], "img") == {
        "ImageUri": "img", "ContainerArguments": ["a"], "ContainerEntrypoint": ["python3", "x.py"]}
    assert ProcessingJob.prepare_output_config(None, [{"OutputName": "o"}]) == {"Outputs": [{"OutputName": "o"}]}
    assert ProcessingJob.prepare_output_config("kms", []) == {"Outputs": [], "KmsKeyId": "kms"}
    assert ProcessingJob.prepare_processing_resources(2, "ml.m5.xlarge", None, 30) == {
        "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}}
    assert ProcessingJob.prepare_processing_resources(1, "ml.m5.xlarge", "vk", 50)["ClusterConfig"]["VolumeKmsKeyId"] == "vk"
    assert ProcessingJob.prepare_stopping_condition(3600) == {"MaxRuntimeInSeconds": 3600}


def test_feature_store_output_and_dataset_definition_convert_both_ways():
    output = ProcessingOutput(output_name="feature_store_output", app_managed=True,
                              feature_store_output=FeatureStoreOutput(feature_group_name="fg"))
    assert output._to_request_dict() == {"OutputName": "feature_store_output", "AppManaged": True,
                                         "FeatureStoreOutput": {"FeatureGroupName": "fg"}}
    assert FeatureStoreOutput.from_boto({"FeatureGroupName": "fg"}) == FeatureStoreOutput(feature_group_name="fg")
    definition = DatasetDefinition(local_path="/opt/ml/processing/input/q",
                                   athena_dataset_definition=AthenaDatasetDefinition(database="db", query_string="q"))
    boto = DatasetDefinition.to_boto(definition)
    assert boto == {"DataDistributionType": "ShardedByS3Key", "InputMode": "File", "LocalPath": "/opt/ml/processing/input/q",
                    "AthenaDatasetDefinition": {"Database": "db", "QueryString": "q"}}
    back = DatasetDefinition.from_boto(boto)
    assert back == definition and isinstance(back.athena_dataset_definition, AthenaDatasetDefinition)


def test_local_jobs_refuse_dataset_definitions_with_the_reason(tmp_path):
    session = LocalSession(jobs_root=tmp_path)
    processor = Processor(sagemaker_session=session)
    with pytest.raises(ValueError, match=r"^ProcessingInput 'athena': dataset_definition \(an Athena or Redshift "
                                         r"query\) cannot run in a local job: .*pass its result as source="):
        processor.run(inputs=[ProcessingInput(input_name="athena", dataset_definition=DatasetDefinition(
            local_path="/opt/ml/processing/input/a", athena_dataset_definition=AthenaDatasetDefinition(query_string="q")))])
    assert processor.jobs == [] and list(tmp_path.iterdir()) == []


class SdkShapedSession:
    """What a ``sagemaker.Session`` offers processors (2.199): ``upload_data``, no ``upload_file``.

    Its S3 calls are real ones, against moto in server mode.
    """

    local_mode = False
    default_bucket_prefix = "team-a"

    def __init__(self, s3, sent):
        self.s3 = s3
        self.sent = sent
        self.boto_region_name = "us-west-2"

    def default_bucket(self):
        return "sdk-shaped"

    def upload_data(self, path, bucket, key_prefix="data", extra_args=None, callback=None):
        key = f"{key_prefix}/{path.rsplit('/', 1)[-1]}"
        self.s3.upload_file(path, bucket, key, ExtraArgs=extra_args)
        return f"s3://{bucket}/{key}"

    def upload_string_as_file_body(self, body, bucket, key, kms_key=None):
        self.s3.put_object(Body=body, Bucket=bucket, Key=key)
        return f"s3://{bucket}/{key}"

    def expand_role(self, role):
        return role

    def process(self, **request):
        self.sent.append(request)


@pytest.fixture
def sdk_shaped_s3(moto_s3):
    """An S3 client on a moto server with the bucket ``sdk-shaped`` (for the SDK-shaped sessions)."""
    s3, _ = moto_s3
    s3.create_bucket(Bucket="sdk-shaped")
    return s3


def test_a_sagemaker_sdk_session_is_used_through_the_methods_it_has(tmp_path, sdk_shaped_s3):
    s3 = sdk_shaped_s3
    sent: list = []
    script = tmp_path / "prep.py"
    script.write_text("print('hi')\n")
    processor = ScriptProcessor(role="arn:aws:iam::1:role/r", image_uri="img", command=["python3"],
                                instance_type="ml.m5.large", sagemaker_session=SdkShapedSession(s3, sent))
    processor.run(str(script), job_name="sdk-session", wait=False, logs=False,
                  outputs=[ProcessingOutput(source="/opt/ml/processing/output")])
    [request] = sent
    assert request["inputs"][0]["S3Input"]["S3Uri"] == "s3://sdk-shaped/team-a/sdk-session/input/code/prep.py"
    assert request["output_config"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        "s3://sdk-shaped/team-a/sdk-session/output/output-1"
    body = s3.get_object(Bucket="sdk-shaped", Key="team-a/sdk-session/input/code/prep.py")["Body"].read()
    assert body == b"print('hi')\n"
    assert json.loads(json.dumps(request["app_specification"])) == {
        "ImageUri": "img", "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prep.py"]}
    # The Clarify processor uploads its analysis config through the same method.
    data = DataConfig(s3_data_input_path="s3://sdk-shaped/data.csv", s3_output_path="s3://sdk-shaped/out",
                      label="y", headers=["y", "a"], dataset_type="text/csv")
    bias = BiasConfig(label_values_or_threshold=[1], facet_name="a", facet_values_or_threshold=[0])
    SageMakerClarifyProcessor(role="arn:aws:iam::1:role/r", instance_count=1, instance_type="ml.c5.xlarge",
                              image_uri="img", sagemaker_session=SdkShapedSession(s3, sent)).run_pre_training_bias(
        data, bias, wait=False, logs=False, job_name="clarify-sdk-session")
    config = json.loads(s3.get_object(Bucket="sdk-shaped", Key="out/analysis_config.json")["Body"].read())
    assert config["label"] == "y" and sent[-1]["job_name"] == "clarify-sdk-session"


class SdkSessionWithMore(SdkShapedSession):
    """An SDK-shaped session that also answers ``upload_file`` and ``is_pipeline_session`` (as a stand-in
    object answering every attribute would): neither may change what a processor does."""

    is_pipeline_session = True

    def __init__(self, s3, sent):
        super().__init__(s3, sent)
        self.upload_file_calls: list = []

    def upload_file(self, *args, **kwargs):
        self.upload_file_calls.append(args)
        return "s3://wrong/place"


def test_an_sdk_session_uploads_through_upload_data_and_only_a_pipeline_session_defers(tmp_path, sdk_shaped_s3):
    s3 = sdk_shaped_s3
    sent: list = []
    session = SdkSessionWithMore(s3, sent)
    script = tmp_path / "prep.py"
    script.write_text("print('hi')\n")
    processor = ScriptProcessor(role="arn:aws:iam::1:role/r", image_uri="img", command=["python3"],
                                instance_type="ml.m5.large", sagemaker_session=session)
    assert processor.run(str(script), job_name="not-deferred", wait=False, logs=False) is None
    [request] = sent  # the job was sent, not deferred
    assert request["inputs"][0]["S3Input"]["S3Uri"] == "s3://sdk-shaped/team-a/not-deferred/input/code/prep.py"
    assert session.upload_file_calls == []


def test_a_job_with_a_feature_store_output_and_a_dataset_definition_is_rebuilt_from_its_description(monkeypatch):
    from clarify_engine.client import Session

    server = moto_server_url()
    url = next(server)
    try:
        for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-west-2"}.items():
            monkeypatch.setenv(key, value)
        session = Session(boto_session=boto3.Session(region_name="us-west-2"), default_bucket="rebuild")
        definition = DatasetDefinition(local_path="/opt/ml/processing/input/q", data_distribution_type="FullyReplicated",
                                       athena_dataset_definition=AthenaDatasetDefinition(
                                           catalog="c", database="db", query_string="SELECT 1",
                                           output_s3_uri="s3://rebuild/athena/", output_format="PARQUET"))
        Processor(role="arn:aws:iam::123456789012:role/r", image_uri="img", instance_type="ml.m5.large",
                  sagemaker_session=session).run(
            inputs=[ProcessingInput(input_name="athena", dataset_definition=definition)],
            outputs=[ProcessingOutput(output_name="fs", app_managed=True,
                                      feature_store_output=FeatureStoreOutput(feature_group_name="fg"))],
            job_name="rebuild-me", wait=False, logs=False)
        job = ProcessingJob.from_processing_name(session, "rebuild-me")
        assert job.inputs[0].dataset_definition == definition
        assert job.outputs[0].feature_store_output == FeatureStoreOutput(feature_group_name="fg")
    finally:
        server.close()
