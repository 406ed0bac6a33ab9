"""Record what the real SageMaker SDK 2.199.0 sends for the processing classes of issue 17.

Run it in its own venv, never the project's (the SDK pins its own boto3):

    python3 -m venv /tmp/sdk-venv
    /tmp/sdk-venv/bin/pip install -r tools/record_sdk_requests.requirements.txt
    /tmp/sdk-venv/bin/python tools/record_sdk_requests.py

For every case of ``CASES`` it makes the SDK's processor (``sagemaker.spark.processing``,
``sagemaker.processing``) with a ``sagemaker.Session`` on a moto server (S3, SageMaker) and
calls it. It writes, under ``tests/fixtures/sdk_requests/``:

* ``cases.json`` — the cases, in a small JSON language both sides decode the same way:
  ``{"$path": "files/x"}`` is that fixture file's absolute path, ``{"$obj": "ProcessingInput",
  "kw": {...}}`` an object of that class, ``{"$estimator": "SKLearn"}`` the framework's estimator;
* ``<case>.request.json`` — the ``CreateProcessingJob`` parameters exactly as botocore received
  them (``json.dumps(params, indent=2)``), or none when the SDK raised;
* ``<case>.meta.json`` — the SDK's error (type and text) if it raised, the S3 keys the call
  created, and the bodies of the generated ``.json``/``.sh`` objects it uploaded.

It also copies the Spark image table (``image_uri_config/spark.json``, key ``processing``) to
``clarify_engine/client/spark/_spark_images.json``. ``tests/client/test_sdk_requests.py`` replays
the same cases against ``clarify_engine.client`` and compares the bytes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "fixtures" / "sdk_requests"
REGION = "us-west-2"
BUCKET = "sdk-requests-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-spark:1.0"

BASE = {"role": ROLE, "instance_type": "ml.c5.xlarge", "instance_count": 1, "image_uri": IMAGE}


def path(rel: str) -> dict:
    return {"$path": rel}


def obj(cls: str, **kw) -> dict:
    return {"$obj": cls, "kw": kw}


def case(name, processor, init=None, call=None, base=True):
    init = {**(BASE if base else {}), **(init or {})}
    return {"name": name, "processor": processor, "init": init, "call": call or {}}


APP = path("files/wordcount.py")
OUT_S3 = "s3://user-bucket/results"
CASES = [
    # PySparkProcessor: requests
    case("pyspark-local-app", "PySparkProcessor", call={"submit_app": APP, "job_name": "pyspark-local-app"}),
    case("pyspark-s3-app-arguments", "PySparkProcessor",
         call={"submit_app": "s3://user-bucket/code/app.py", "job_name": "pyspark-s3-app",
               "arguments": ["--input", "s3://user-bucket/in", "--rows", "10"]}),
    case("pyspark-py-files-local", "PySparkProcessor",
         call={"submit_app": APP, "submit_py_files": [path("files/helpers.py")], "job_name": "pyspark-py-files"}),
    case("pyspark-py-files-mixed", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-py-mixed",
               "submit_py_files": ["s3://user-bucket/deps/lib.zip", path("files/helpers.py"), "s3a://user-bucket/deps/b.py"]}),
    case("pyspark-py-files-s3-only", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-py-s3", "submit_py_files": ["s3://user-bucket/deps/lib.zip"]}),
    case("pyspark-jars-and-files", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-jars-files", "submit_jars": [path("files/extra.jar")],
               "submit_files": [path("files/words.txt"), "s3://user-bucket/deps/lookup.csv"]}),
    case("pyspark-all-deps-inputs-outputs", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-all-deps",
               "submit_py_files": [path("files/helpers.py")], "submit_jars": [path("files/extra.jar")],
               "submit_files": [path("files/words.txt")],
               "inputs": [obj("ProcessingInput", source="s3://user-bucket/in/", destination="/opt/ml/processing/input/data")],
               "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", destination=OUT_S3)]}),
    case("pyspark-configuration-dict", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-conf-dict",
               "configuration": {"Classification": "spark-defaults",
                                 "Properties": {"spark.executor.memory": "2g", "spark.executor.cores": "1"}}}),
    case("pyspark-configuration-list", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-conf-list",
               "configuration": [
                   {"Classification": "spark-defaults", "Properties": {"spark.sql.shuffle.partitions": "4"}},
                   {"Classification": "spark-env", "Properties": {},
                    "Configurations": [{"Classification": "export", "Properties": {"WORDCOUNT_MODE": "strict"}}]},
                   {"Classification": "core-site", "Properties": {"fs.s3a.connection.maximum": "50"}}]}),
    case("pyspark-event-logs", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-events", "spark_event_logs_s3_uri": "s3://user-bucket/spark-events"}),
    case("pyspark-event-logs-and-outputs", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-events-out", "spark_event_logs_s3_uri": "s3://user-bucket/ev/",
               "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output")]}),
    case("pyspark-locations", "PySparkProcessor",
         init={"configuration_location": "s3://user-bucket/conf-here/", "dependency_location": "s3://user-bucket/deps-here"},
         call={"submit_app": APP, "job_name": "pyspark-locations", "submit_py_files": [path("files/helpers.py")],
               "configuration": {"Classification": "spark-defaults", "Properties": {"spark.driver.memory": "1g"}}}),
    case("pyspark-image-from-version", "PySparkProcessor", base=False,
         init={"role": ROLE, "instance_type": "ml.m5.xlarge", "instance_count": 2, "framework_version": "3.3"},
         call={"submit_app": APP, "job_name": "pyspark-version"}),
    case("pyspark-image-py-container-version", "PySparkProcessor", base=False,
         init={"role": ROLE, "instance_type": "ml.m5.xlarge", "instance_count": 1, "framework_version": "3.2",
               "py_version": "py39", "container_version": "1"},
         call={"submit_app": APP, "job_name": "pyspark-version-py"}),
    case("pyspark-kms-network-tags-env", "PySparkProcessor",
         init={"volume_kms_key": "vol-kms", "output_kms_key": "out-kms", "max_runtime_in_seconds": 1200,
               "volume_size_in_gb": 50, "env": {"STAGE": "test"}, "tags": [{"Key": "team", "Value": "ml"}],
               "network_config": obj("NetworkConfig", enable_network_isolation=True, security_group_ids=["sg-1"],
                                     subnets=["subnet-1"], encrypt_inter_container_traffic=True)},
         call={"submit_app": APP, "job_name": "pyspark-kms",
               "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", destination=OUT_S3)]}),
    case("pyspark-local-input-folder-default-output", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-local-in",
               "inputs": [obj("ProcessingInput", source=path("files/data"), destination="/opt/ml/processing/input/data",
                              input_name="sales")],
               "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", output_name="counts")]}),
    # SparkJarProcessor
    case("jar-local-app", "SparkJarProcessor",
         call={"submit_app": path("files/extra.jar"), "submit_class": "org.example.WordCount", "job_name": "jar-local"}),
    case("jar-s3-app-deps-conf-events", "SparkJarProcessor",
         call={"submit_app": "s3://user-bucket/jars/app.jar", "submit_class": "org.example.App", "job_name": "jar-s3",
               "submit_jars": ["s3://user-bucket/jars/dep.jar", path("files/extra.jar")],
               "submit_files": [path("files/words.txt")],
               "configuration": [{"Classification": "spark-defaults", "Properties": {"spark.executor.instances": "2"}}],
               "spark_event_logs_s3_uri": "s3://user-bucket/jar-events", "arguments": ["in", "out"]}),
    case("jar-arguments-outputs", "SparkJarProcessor",
         call={"submit_app": path("files/extra.jar"), "submit_class": "org.example.Other", "job_name": "jar-args",
               "arguments": ["--limit", "5"],
               "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", destination=OUT_S3,
                               s3_upload_mode="Continuous")]}),
    # FrameworkProcessor
    case("framework-source-dir", "FrameworkProcessor",
         init={"estimator_cls": {"$estimator": "SKLearn"}, "framework_version": "1.2-1", "base_job_name": "fw"},
         call={"code": "job.py", "source_dir": path("files/src"), "job_name": "framework-src",
               "arguments": ["hello_world"],
               "outputs": [obj("ProcessingOutput", source="/opt/ml/processing/output", destination=OUT_S3)]}),
    case("framework-script-and-dependencies", "FrameworkProcessor",
         init={"estimator_cls": {"$estimator": "SKLearn"}, "framework_version": "1.2-1", "base_job_name": "fw",
               "command": ["python3"]},
         call={"code": path("files/src/job.py"), "dependencies": [path("files/deps")], "job_name": "framework-deps",
               "inputs": [obj("ProcessingInput", source="s3://user-bucket/in", destination="/opt/ml/processing/input/data")]}),
    case("framework-code-location", "FrameworkProcessor",
         init={"estimator_cls": {"$estimator": "SKLearn"}, "framework_version": "1.2-1", "base_job_name": "fw",
               "code_location": "s3://user-bucket/code-here/"},
         call={"code": "job.py", "source_dir": path("files/src"), "job_name": "framework-loc"}),
    case("framework-s3-source-dir", "FrameworkProcessor",
         init={"estimator_cls": {"$estimator": "SKLearn"}, "framework_version": "1.2-1", "base_job_name": "fw"},
         call={"code": "job.py", "source_dir": "s3://user-bucket/code/sourcedir.tar.gz", "job_name": "framework-s3src"}),
    # Feature Store outputs and dataset definitions through the plain processors
    case("processor-feature-store-output", "Processor",
         call={"job_name": "feature-store-out",
               "outputs": [obj("ProcessingOutput", output_name="feature_store_output", app_managed=True,
                               feature_store_output=obj("FeatureStoreOutput", feature_group_name="my-feature-group"))]}),
    case("script-dataset-definition", "ScriptProcessor", init={"command": ["python3"]},
         call={"code": path("files/src/job.py"), "job_name": "athena-input",
               "inputs": [obj("ProcessingInput", input_name="athena", dataset_definition=obj(
                   "DatasetDefinition", local_path="/opt/ml/processing/input/athena", data_distribution_type="FullyReplicated",
                   athena_dataset_definition=obj("AthenaDatasetDefinition", catalog="AwsDataCatalog", database="db",
                                                 query_string="SELECT 1", output_s3_uri="s3://user-bucket/athena/",
                                                 work_group="primary", output_format="PARQUET")))]}),
    # The SDK's errors for bad arguments
    case("error-pyspark-no-app", "PySparkProcessor", call={"submit_app": "", "job_name": "e1"}),
    case("error-jar-no-class", "SparkJarProcessor",
         call={"submit_app": path("files/extra.jar"), "submit_class": None, "job_name": "e2"}),
    case("error-py-version-without-container-version", "PySparkProcessor", base=False,
         init={"role": ROLE, "instance_type": "ml.m5.xlarge", "instance_count": 1, "framework_version": "3.3",
               "py_version": "py39"}),
    case("error-unsupported-spark-version", "PySparkProcessor", base=False,
         init={"role": ROLE, "instance_type": "ml.m5.xlarge", "instance_count": 1, "framework_version": "9.9"}),
    case("error-unsupported-python-version", "PySparkProcessor", base=False,
         init={"role": ROLE, "instance_type": "ml.m5.xlarge", "instance_count": 1, "framework_version": "3.3",
               "py_version": "py27", "container_version": "1"}),
    case("error-bad-classification", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "e3", "configuration": {"Classification": "spark-nope", "Properties": {}}}),
    case("error-configuration-missing-properties", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "e4", "configuration": [{"Classification": "spark-defaults"}]}),
    case("error-configuration-bad-key", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "e5",
               "configuration": {"Classification": "spark-defaults", "Properties": {}, "Extra": 1}}),
    case("error-event-logs-not-s3", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "e6", "spark_event_logs_s3_uri": "/tmp/spark-events"}),
    case("error-py-files-missing-file", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "e7", "submit_py_files": [path("files/missing.py")]}),
    case("error-py-files-bad-scheme", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "e8", "submit_py_files": ["ftp://host/lib.zip"]}),
    case("error-py-files-directory", "PySparkProcessor",
         call={"submit_app": APP, "job_name": "pyspark-py-dir", "submit_py_files": [path("files/deps")]}),
    case("error-script-code-missing", "ScriptProcessor", init={"command": ["python3"]},
         call={"code": path("files/nope.py"), "job_name": "e9"}),
    case("error-script-code-directory", "ScriptProcessor", init={"command": ["python3"]},
         call={"code": path("files/src"), "job_name": "e10"}),
    case("error-no-role", "ScriptProcessor", base=False,
         init={"image_uri": IMAGE, "command": ["python3"], "instance_type": "ml.c5.xlarge", "instance_count": 1}),
]


def decode(value, classes: dict, files: Path):
    """A case value with its ``$path``/``$obj``/``$estimator`` parts made real."""
    if isinstance(value, list):
        return [decode(v, classes, files) for v in value]
    if isinstance(value, dict):
        if "$path" in value:
            return str(files / value["$path"])
        if "$estimator" in value:
            return classes[value["$estimator"]]
        if "$obj" in value:
            return classes[value["$obj"]](**decode(value["kw"], classes, files))
        return {k: decode(v, classes, files) for k, v in value.items()}
    return value


def run_case(spec: dict, classes: dict, session, files: Path, sent: list, s3) -> dict:
    """Make and call the processor of ``spec``; what the SageMaker client and S3 received."""
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])} | \
        {o["Key"] for o in s3.list_objects_v2(Bucket="user-bucket").get("Contents", [])}
    sent.clear()
    error = None
    try:
        processor = classes[spec["processor"]](sagemaker_session=session, **decode(spec["init"], classes, files))
        if spec["call"]:
            processor.run(wait=False, logs=False, **decode(spec["call"], classes, files))
    except Exception as exc:  # noqa: BLE001 - the error is what is recorded
        # The fixture folder's absolute path differs between machines: stored as $FIXTURES.
        error = {"type": type(exc).__name__, "message": str(exc).replace(str(files), "$FIXTURES")}
    keys, bodies = [], {}
    for bucket in (BUCKET, "user-bucket"):
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            if item["Key"] in before:
                continue
            keys.append(f"s3://{bucket}/{item['Key']}")
            if item["Key"].endswith((".json", ".sh")):
                bodies[f"s3://{bucket}/{item['Key']}"] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
    return {"request": sent[0] if sent else None, "meta": {"error": error, "s3_keys": sorted(keys), "s3_bodies": bodies}}


def dump_request(request: dict) -> str:
    """The bytes a request is stored and compared as."""
    return json.dumps(request, indent=2) + "\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto():
    """A moto server on a free port, made this process's AWS endpoint (fake credentials); stop() it when done."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION})
    return server


def main() -> int:
    import boto3

    server = start_moto()
    try:
        import sagemaker
        from sagemaker.dataset_definition.inputs import AthenaDatasetDefinition, DatasetDefinition
        from sagemaker.network import NetworkConfig
        from sagemaker.processing import (FeatureStoreOutput, FrameworkProcessor, ProcessingInput, ProcessingOutput,
                                          Processor, ScriptProcessor)
        from sagemaker.sklearn.estimator import SKLearn
        from sagemaker.spark.processing import PySparkProcessor, SparkJarProcessor

        classes = {c.__name__: c for c in (AthenaDatasetDefinition, DatasetDefinition, NetworkConfig, FeatureStoreOutput,
                                           FrameworkProcessor, ProcessingInput, ProcessingOutput, Processor,
                                           ScriptProcessor, SKLearn, PySparkProcessor, SparkJarProcessor)}
        boto_session = boto3.Session(region_name=REGION)
        s3 = boto_session.client("s3")
        for bucket in (BUCKET, "user-bucket"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        sent: list = []
        sm = boto_session.client("sagemaker")
        sm.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                                lambda params, **kw: sent.append(json.loads(json.dumps(params))))
        session = sagemaker.Session(boto_session=boto_session, sagemaker_client=sm, default_bucket=BUCKET)
        OUT.mkdir(parents=True, exist_ok=True)
        for old in OUT.glob("*.request.json"):
            old.unlink()
        for old in OUT.glob("*.meta.json"):
            old.unlink()
        for spec in CASES:
            result = run_case(spec, classes, session, OUT, sent, s3)
            if result["request"] is not None:
                (OUT / f"{spec['name']}.request.json").write_text(dump_request(result["request"]))
            (OUT / f"{spec['name']}.meta.json").write_text(json.dumps(result["meta"], indent=2, sort_keys=True) + "\n")
            print(spec["name"], "error" if result["meta"]["error"] else "request", file=sys.stderr)
        versions = {name: importlib.metadata.version(name) for name in ("sagemaker", "boto3", "botocore", "moto")}
        (OUT / "cases.json").write_text(json.dumps({"recorded_with": versions, "region": REGION, "bucket": BUCKET,
                                                    "cases": CASES}, indent=1) + "\n")
        table = json.loads((Path(sagemaker.__file__).parent / "image_uri_config" / "spark.json").read_text())["processing"]
        (REPO / "clarify_engine" / "client" / "spark" / "_spark_images.json").write_text(json.dumps(
            {"source": f"sagemaker=={versions['sagemaker']} src/sagemaker/image_uri_config/spark.json "
                       "(Apache-2.0), key 'processing'",
             "processors": table["processors"], "versions": table["versions"]}, indent=1, sort_keys=True) + "\n")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
