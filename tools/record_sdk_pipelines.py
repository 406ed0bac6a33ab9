"""Record the pipeline definitions the real SageMaker SDK 2.199.0 builds for processing steps.

Run it in the venv of ``tools/record_sdk_requests.py`` (pinned by
``tools/record_sdk_requests.requirements.txt``), never the project's:

    /tmp/sdk-venv/bin/python tools/record_sdk_pipelines.py

For every case of ``CASES`` it makes the steps' processors with a
``sagemaker.workflow.pipeline_context.PipelineSession`` on a moto server (S3, SageMaker), builds
``ProcessingStep(name, step_args=processor.run(...), ...)`` and a ``Pipeline``, and writes, under
``tests/fixtures/sdk_pipelines/``:

* ``cases.json`` — the cases, in the language of ``tools/record_sdk_requests.py`` plus
  ``{"$rel": "files/x"}``: that fixture file's path relative to the repository root. The SDK
  hashes the code paths *as given* into the S3 keys (``<pipeline>/code/<hash>/``), so the cases
  run from the repository root with relative paths, and the keys are the same on every machine;
* ``<case>.definition.json`` — ``Pipeline.definition()``, the string as the SDK returns it;
* ``<case>.meta.json`` — the S3 keys the definition created and the bodies of its
  ``.json``/``.sh`` objects, and the ``CreatePipeline`` / ``StartPipelineExecution`` parameters of
  ``pipeline.upsert(role_arn=...)`` and ``pipeline.start()`` (moto implements both).

``tests/client/test_sdk_pipelines.py`` builds the same pipelines with ``clarify_engine.client``
and compares the bytes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record_sdk_requests import BUCKET, IMAGE, REGION, ROLE, obj, start_moto  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "fixtures" / "sdk_pipelines"
FILES = "tests/fixtures/sdk_requests/files"
BASE = {"role": ROLE, "instance_type": "ml.c5.xlarge", "instance_count": 1, "image_uri": IMAGE}


def rel(path: str) -> dict:
    return {"$rel": path}


def step(name, processor, call, init=None, base=True, **options):
    return {"name": name, "processor": processor, "init": {**(BASE if base else {}), **(init or {})}, "call": call,
            "options": options}


def case(name, pipeline, steps):
    return {"name": name, "pipeline": pipeline, "steps": steps}


CASES = [
    case("script-local-code-inputs-outputs", "clarify-prep", [
        step("Prep", "ScriptProcessor", init={"command": ["python3"], "base_job_name": "prep"},
             call={"code": rel("files/src/job.py"), "arguments": ["--rows", "10"],
                   "inputs": [obj("ProcessingInput", source=rel("files/data"), destination="/opt/ml/processing/input/data",
                                  input_name="raw")],
                   "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output/train", output_name="train"),
                               obj("ProcessingOutput", source="/opt/ml/processing/output/test",
                                   destination="s3://user-bucket/test")]}),
    ]),
    case("pyspark-deps-configuration-events", "spark-pipeline", [
        step("WordCount", "PySparkProcessor",
             call={"submit_app": rel("files/wordcount.py"), "submit_py_files": [rel("files/helpers.py")],
                   "submit_jars": [rel("files/extra.jar")], "submit_files": [rel("files/words.txt")],
                   "configuration": [{"Classification": "spark-defaults",
                                      "Properties": {"spark.sql.shuffle.partitions": "4"}}],
                   "spark_event_logs_s3_uri": "s3://user-bucket/spark-events",
                   "arguments": ["/opt/ml/processing/input/files/words.txt", "/opt/ml/processing/output"],
                   "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", output_name="counts")]}),
    ]),
    case("jar-app-class-configuration", "jar-pipeline", [
        step("JarApp", "SparkJarProcessor",
             call={"submit_app": rel("files/extra.jar"), "submit_class": "org.example.WordCount",
                   "submit_jars": ["s3://user-bucket/jars/dep.jar"],
                   "configuration": {"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "2g"}},
                   "arguments": ["--limit", "5"]}),
    ]),
    case("two-steps-depends-cache-property-files", "two-steps", [
        step("Extract", "Processor", init={"entrypoint": ["python3", "/opt/ml/processing/input/code/extract.py"]},
             call={"inputs": [obj("ProcessingInput", source="s3://user-bucket/in/", destination="/opt/ml/processing/input/data")],
                   "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", destination="s3://user-bucket/out")]},
             display_name="Extract data", description="Reads the raw data",
             cache_config=obj("CacheConfig", enable_caching=True, expire_after="P30D")),
        step("Evaluate", "ScriptProcessor", init={"command": ["python3"]},
             call={"code": "s3://user-bucket/code/evaluate.py",
                   "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/evaluation", output_name="evaluation")]},
             depends_on=["Extract"],
             property_files=[obj("PropertyFile", name="EvaluationReport", output_name="evaluation",
                                 path="evaluation.json")]),
    ]),
    case("framework-source-dir-dependencies", "framework-pipeline", [
        step("Train", "FrameworkProcessor",
             init={"estimator_cls": {"$estimator": "SKLearn"}, "framework_version": "1.2-1", "base_job_name": "fw"},
             call={"code": "job.py", "source_dir": rel("files/src"), "dependencies": [rel("files/deps")],
                   "arguments": ["hello_world"],
                   "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", output_name="result")]}),
    ]),
    case("feature-store-and-dataset-definition", "features-pipeline", [
        step("Ingest", "Processor",
             call={"inputs": [obj("ProcessingInput", input_name="athena", dataset_definition=obj(
                       "DatasetDefinition", local_path="/opt/ml/processing/input/athena",
                       data_distribution_type="FullyReplicated",
                       athena_dataset_definition=obj("AthenaDatasetDefinition", catalog="AwsDataCatalog", database="db",
                                                     query_string="SELECT 1", output_s3_uri="s3://user-bucket/athena/",
                                                     work_group="primary", output_format="PARQUET")))],
                   "outputs": [obj("ProcessingOutput", output_name="features", app_managed=True,
                                   feature_store_output=obj("FeatureStoreOutput", feature_group_name="customers"))]}),
    ]),
    case("pyspark-s3-app-locations-job-name", "spark-locations", [
        step("Located", "PySparkProcessor",
             init={"configuration_location": "s3://user-bucket/conf-here/", "dependency_location": "s3://user-bucket/deps"},
             call={"submit_app": "s3://user-bucket/code/app.py", "submit_py_files": [rel("files/helpers.py")],
                   "job_name": "located-job",
                   "configuration": {"Classification": "spark-defaults", "Properties": {"spark.driver.memory": "1g"}}}),
    ]),
]


def decode(value, classes: dict):
    """A case value with its ``$rel``/``$obj``/``$estimator`` parts made real (paths relative to the repo)."""
    if isinstance(value, list):
        return [decode(v, classes) for v in value]
    if isinstance(value, dict):
        if "$rel" in value:
            return f"{FILES}/{value['$rel'].removeprefix('files/')}"
        if "$estimator" in value:
            return classes[value["$estimator"]]
        if "$obj" in value:
            return classes[value["$obj"]](**decode(value["kw"], classes))
        return {k: decode(v, classes) for k, v in value.items()}
    return value


def build_pipeline(spec: dict, classes: dict, session):
    """The ``Pipeline`` of ``spec``, its steps made from deferred ``run()`` calls."""
    steps = []
    for item in spec["steps"]:
        processor = classes[item["processor"]](sagemaker_session=session, **decode(item["init"], classes))
        step_args = processor.run(**decode(item["call"], classes))
        steps.append(classes["ProcessingStep"](name=item["name"], step_args=step_args,
                                               **decode(item["options"], classes)))
    return classes["Pipeline"](name=spec["pipeline"], steps=steps, sagemaker_session=session)


def run_case(spec: dict, classes: dict, session, s3, sent: dict) -> tuple[str, dict]:
    """Build the case's pipeline: its definition, and what S3 and the SageMaker client received.

    ``sent`` is filled by the caller's hooks on the session's SageMaker client with the
    parameters of ``CreatePipeline`` and ``StartPipelineExecution``.
    """
    buckets = (BUCKET, "user-bucket")
    before = {(b, o["Key"]) for b in buckets for o in s3.list_objects_v2(Bucket=b).get("Contents", [])}
    pipeline = build_pipeline(spec, classes, session)
    definition = pipeline.definition()
    keys, bodies = [], {}
    for bucket in buckets:
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            if (bucket, item["Key"]) in before:
                continue
            uri = f"s3://{bucket}/{item['Key']}"
            keys.append(uri)
            if item["Key"].endswith((".json", ".sh")):
                bodies[uri] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
    sent.clear()
    pipeline.upsert(role_arn=ROLE)
    pipeline.start()
    return definition, {"s3_keys": sorted(keys), "s3_bodies": bodies, "create_pipeline": sent.get("CreatePipeline"),
                        "start_pipeline_execution": sent.get("StartPipelineExecution")}


def dump_meta(meta: dict) -> str:
    """The bytes a case's meta is stored and compared as."""
    return json.dumps(meta, indent=2, sort_keys=True) + "\n"


def hook_pipeline_calls(sagemaker_client, sent: dict) -> None:
    """Keep the parameters of ``CreatePipeline``/``StartPipelineExecution`` in ``sent`` (by operation)."""
    for operation in ("CreatePipeline", "StartPipelineExecution"):
        sagemaker_client.meta.events.register(
            f"provide-client-params.sagemaker.{operation}",
            lambda params, _op=operation, **kw: sent.__setitem__(_op, json.loads(json.dumps(params))))


def main() -> int:
    import boto3

    server = start_moto()
    os.chdir(REPO)  # the SDK hashes code paths as given: relative ones are the same on every machine
    try:
        from sagemaker.dataset_definition.inputs import AthenaDatasetDefinition, DatasetDefinition
        from sagemaker.processing import (FeatureStoreOutput, FrameworkProcessor, ProcessingInput, ProcessingOutput,
                                          Processor, ScriptProcessor)
        from sagemaker.sklearn.estimator import SKLearn
        from sagemaker.spark.processing import PySparkProcessor, SparkJarProcessor
        from sagemaker.workflow.pipeline import Pipeline
        from sagemaker.workflow.pipeline_context import PipelineSession
        from sagemaker.workflow.properties import PropertyFile
        from sagemaker.workflow.steps import CacheConfig, ProcessingStep

        classes = {c.__name__: c for c in (AthenaDatasetDefinition, DatasetDefinition, FeatureStoreOutput,
                                           FrameworkProcessor, ProcessingInput, ProcessingOutput, Processor,
                                           ScriptProcessor, SKLearn, PySparkProcessor, SparkJarProcessor, Pipeline,
                                           PropertyFile, CacheConfig, ProcessingStep)}
        boto_session = boto3.Session(region_name=REGION)
        s3 = boto_session.client("s3")
        for bucket in (BUCKET, "user-bucket"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        sent: dict = {}
        sm = boto_session.client("sagemaker")
        hook_pipeline_calls(sm, sent)
        session = PipelineSession(boto_session=boto_session, sagemaker_client=sm, default_bucket=BUCKET)
        OUT.mkdir(parents=True, exist_ok=True)
        for old in list(OUT.glob("*.definition.json")) + list(OUT.glob("*.meta.json")):
            old.unlink()
        for spec in CASES:
            definition, meta = run_case(spec, classes, session, s3, sent)
            (OUT / f"{spec['name']}.definition.json").write_text(definition)
            (OUT / f"{spec['name']}.meta.json").write_text(dump_meta(meta))
            print(spec["name"], len(meta["s3_keys"]), "objects", file=sys.stderr)
        versions = {name: importlib.metadata.version(name) for name in ("sagemaker", "boto3", "botocore", "moto")}
        (OUT / "cases.json").write_text(json.dumps({"recorded_with": versions, "region": REGION, "bucket": BUCKET,
                                                    "files": FILES, "cases": CASES}, indent=1) + "\n")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
