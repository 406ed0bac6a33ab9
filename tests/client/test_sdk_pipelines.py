"""Our pipeline definitions against the real SDK 2.199.0's, byte for byte (``tools/record_sdk_pipelines.py``).

The recorder built each pipeline of ``tests/fixtures/sdk_pipelines/cases.json`` with the SDK's
``PipelineSession``, ``ProcessingStep`` and ``Pipeline`` on moto; here the same cases run,
through the recorder's own ``run_case``, with this package's classes on moto in server mode.
Compared: ``Pipeline.definition()`` (the string), the S3 keys the definition created (the
pipeline layout, code hashes included) with the bodies of ``configuration.json``/``runproc.sh``,
and the ``CreatePipeline``/``StartPipelineExecution`` parameters of ``upsert()``/``start()``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest

from clarify_engine.client import (
    AthenaDatasetDefinition,
    DatasetDefinition,
    FeatureStoreOutput,
    FrameworkProcessor,
    PipelineSession,
    ProcessingInput,
    ProcessingOutput,
    Processor,
    ScriptProcessor,
)
from clarify_engine.client.spark import PySparkProcessor, SparkJarProcessor
from clarify_engine.client.workflow import CacheConfig, Pipeline, ProcessingStep, PropertyFile
from tests.client.sdk_recordings import SKLearn, aws_on_moto, empty_bucket, load_tool
from tests.helpers import moto_server_url

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sdk_pipelines"
CASES = json.loads((FIXTURES / "cases.json").read_text())
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-spark:1.0"


RECORDER = load_tool("record_sdk_pipelines")
CLASSES = {c.__name__: c for c in (AthenaDatasetDefinition, DatasetDefinition, FeatureStoreOutput, FrameworkProcessor,
                                   ProcessingInput, ProcessingOutput, Processor, ScriptProcessor, SKLearn,
                                   PySparkProcessor, SparkJarProcessor, Pipeline, PropertyFile, CacheConfig,
                                   ProcessingStep)}


@pytest.fixture(scope="module")
def moto():
    server = moto_server_url()
    url = next(server)
    mp = pytest.MonkeyPatch()
    aws_on_moto(mp, url, CASES["region"])
    mp.chdir(ROOT)  # the code paths of the cases are relative to the repository, as recorded
    boto_session = boto3.Session(region_name=CASES["region"])
    s3 = boto_session.client("s3")
    for bucket in (CASES["bucket"], "user-bucket"):
        empty_bucket(s3, bucket, CASES["region"])
    sent: dict = {}
    sm = boto_session.client("sagemaker")
    RECORDER.hook_pipeline_calls(sm, sent)
    yield PipelineSession(boto_session=boto_session, sagemaker_client=sm, default_bucket=CASES["bucket"]), sent, s3
    mp.undo()
    server.close()


def test_the_recorded_cases_cover_the_processors():
    assert CASES["recorded_with"]["sagemaker"] == "2.199.0"
    names = [c["name"] for c in CASES["cases"]]
    assert len(names) >= 5 and len(set(names)) == len(list(FIXTURES.glob("*.definition.json")))
    processors = {s["processor"] for c in CASES["cases"] for s in c["steps"]}
    assert processors == {"Processor", "ScriptProcessor", "PySparkProcessor", "SparkJarProcessor", "FrameworkProcessor"}


@pytest.mark.parametrize("spec", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_same_definition_as_sdk_2_199(spec, moto, caplog):
    session, sent, s3 = moto
    jobs_before = session.sagemaker_client.list_processing_jobs()["ProcessingJobSummaries"]
    with pytest.warns(UserWarning, match="No Job being started"), caplog.at_level(logging.WARNING):
        definition, meta = RECORDER.run_case(spec, CLASSES, session, s3, sent)
    assert definition == (FIXTURES / f"{spec['name']}.definition.json").read_text()
    assert RECORDER.dump_meta(meta) == (FIXTURES / f"{spec['name']}.meta.json").read_text()
    assert "Popping out 'ProcessingJobName' from the pipeline definition" in caplog.text
    # a definition starts no job (moto keeps the jobs other tests of this process made)
    assert session.sagemaker_client.list_processing_jobs()["ProcessingJobSummaries"] == jobs_before


def test_moto_keeps_the_pipeline_and_its_execution(moto):
    session, sent, s3 = moto
    processor = ScriptProcessor(role=ROLE, image_uri=IMAGE, command=["python3"], instance_type="ml.m5.large",
                                sagemaker_session=session)
    with pytest.warns(UserWarning):
        step = ProcessingStep("Only", step_args=processor.run(code="s3://user-bucket/code/only.py"))
    pipeline = Pipeline("kept-pipeline", steps=[step], sagemaker_session=session)
    definition = pipeline.definition()
    assert pipeline.upsert(role_arn=ROLE, description="first")["PipelineArn"].endswith("/kept-pipeline")
    assert pipeline.describe()["PipelineDefinition"] == definition
    pipeline.upsert(role_arn=ROLE, description="second")  # exists: updated
    assert pipeline.describe()["PipelineDescription"] == "second"
    execution = pipeline.start(execution_display_name="run-1")
    assert execution.describe()["PipelineExecutionDisplayName"] == "run-1"
    pipeline.delete()
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="Could not find pipeline with PipelineName kept-pipeline"):
        pipeline.describe()


def test_a_large_definition_goes_to_s3(moto, monkeypatch):
    import clarify_engine.client.workflow as workflow

    session, sent, s3 = moto
    processor = Processor(role=ROLE, image_uri=IMAGE, instance_type="ml.m5.large", sagemaker_session=session)
    with pytest.warns(UserWarning):
        step = ProcessingStep("Big", step_args=processor.run(inputs=[ProcessingInput(
            source="s3://user-bucket/in/", destination="/opt/ml/processing/input/data")]))
    pipeline = Pipeline("big-pipeline", steps=[step], sagemaker_session=session)
    monkeypatch.setattr(workflow, "INLINE_DEFINITION_LIMIT", 10)
    sent.clear()
    pipeline.upsert(role_arn=ROLE)
    location = sent["CreatePipeline"]["PipelineDefinitionS3Location"]
    assert location == {"Bucket": CASES["bucket"], "ObjectKey": "big-pipeline"}
    body = s3.get_object(Bucket=location["Bucket"], Key=location["ObjectKey"])["Body"].read().decode()
    assert json.loads(body)["Steps"][0]["Name"] == "Big" and "PipelineDefinition" not in sent["CreatePipeline"]


def test_step_and_pipeline_errors_are_the_sdks(moto):
    session, _, _ = moto
    processor = Processor(role=ROLE, image_uri=IMAGE, instance_type="ml.m5.large", sagemaker_session=session)
    with pytest.raises(ValueError, match=r"^either step_args or processor need to be given, but not both\.$"):
        ProcessingStep("A")
    with pytest.raises(TypeError, match=r"^The step_args of ProcessingStep must be obtained from processor\.run\(\)\.$"):
        ProcessingStep("A", step_args={"not": "step args"})
    with pytest.raises(NotImplementedError, match=r"pass step_args=processor\.run\(\.\.\.\)"):
        ProcessingStep("A", processor=processor)
    with pytest.warns(UserWarning):
        args = processor.run()
    steps = [ProcessingStep("A", step_args=args), ProcessingStep("A", step_args=args)]
    with pytest.raises(ValueError, match=r"^Pipeline steps cannot have duplicate names\."):
        Pipeline("dup", steps=steps, sagemaker_session=session).definition()
    lonely = ProcessingStep("B", step_args=args, depends_on=["Nope"])
    with pytest.raises(ValueError, match=r"^The input steps do not contain the step of name: Nope$"):
        Pipeline("lonely", steps=[lonely], sagemaker_session=session).definition()
    with pytest.raises(ValueError, match=r"^An AWS IAM role is required to create a Pipeline\.$"):
        Pipeline("norole", steps=[ProcessingStep("C", step_args=args)], sagemaker_session=session).create()


def test_a_step_named_only_in_depends_on_is_built_after_the_listed_ones(moto):
    session, _, _ = moto
    processor = Processor(role=ROLE, image_uri=IMAGE, instance_type="ml.m5.large", sagemaker_session=session)
    with pytest.warns(UserWarning):
        first = ProcessingStep("First", step_args=processor.run())
        second = ProcessingStep("Second", step_args=processor.run(), depends_on=[first])
    steps = json.loads(Pipeline("chain", steps=[second], sagemaker_session=session).definition())["Steps"]
    assert [(s["Name"], s.get("DependsOn")) for s in steps] == [("Second", ["First"]), ("First", None)]
