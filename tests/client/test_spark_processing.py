"""Spark processors without a JVM: FileType, image URIs, local staging, early errors.

The SageMaker requests and the SDK's argument errors are compared with the SDK's own in
``test_sdk_requests.py``; this file covers what only this client does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clarify_engine.client import LocalSession, RunArgs
from clarify_engine.client.spark import FileType, PySparkProcessor, SparkConfigUtils, SparkJarProcessor
from clarify_engine.client.spark import _images, _submit

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_requests" / "files"


def test_file_type_values_are_the_sdks():
    assert [(t.name, t.value) for t in FileType] == [("JAR", 1), ("PYTHON", 2), ("FILE", 3)]


def test_spark_config_utils_accepts_every_classification_and_nested_configurations():
    SparkConfigUtils.validate_configuration([
        {"Classification": c, "Properties": {}} for c in SparkConfigUtils._valid_configuration_classifications])
    SparkConfigUtils.validate_configuration({"Classification": "spark-env", "Properties": {},
                                             "Configurations": [{"Classification": "export", "Properties": {"A": "1"}}]})
    SparkConfigUtils.validate_s3_uri("s3://bucket/events")


@pytest.mark.parametrize("region, version, instance, py, container, expected", [
    ("us-west-2", "3.3", "ml.m5.xlarge", None, None,
     "153931337802.dkr.ecr.us-west-2.amazonaws.com/sagemaker-spark-processing:3.3-cpu"),
    ("eu-west-1", "3.1", "ml.c5.xlarge", "py37", "v1",
     "571004829621.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-spark-processing:3.1-cpu-py37-v1"),
    ("cn-north-1", "2.4", "local", None, None,
     "671472414489.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-spark-processing:2.4-cpu"),
])
def test_image_uris_follow_the_sdks_table(region, version, instance, py, container, expected):
    assert _images.retrieve(region, version, instance, py, container) == expected


def test_image_errors_are_the_sdks():
    with pytest.raises(ValueError, match=r"^Unsupported region: mars-1\. You may need to upgrade"):
        _images.retrieve("mars-1", "3.3", "ml.m5.xlarge")
    with pytest.raises(ValueError, match=r"^Invalid SageMaker instance type: m5\.xlarge\. For options"):
        _images.retrieve("us-west-2", "3.3", "m5.xlarge")
    with pytest.raises(ValueError, match=r"^Unsupported processor: gpu\. "):
        _images.retrieve("us-west-2", "3.3", "ml.p3.2xlarge")


@pytest.fixture
def session(tmp_path):
    return LocalSession(jobs_root=tmp_path / "jobs")


def test_local_mode_stages_dependencies_folders_and_configuration_in_the_session(session):
    processor = PySparkProcessor(sagemaker_session=session)
    args = processor.get_run_args(str(FILES / "wordcount.py"), job_name="stage-1",
                                  submit_py_files=[str(FILES / "deps"), "s3://b/lib.zip"],
                                  submit_files=[str(FILES / "words.txt")],
                                  configuration={"Classification": "spark-defaults", "Properties": {"a": "1"}})
    assert isinstance(args, RunArgs) and args.code == str(FILES / "wordcount.py")
    staged = session.jobs_root / ".staging" / "stage-1" / "input"
    assert [(i.input_name, i.source, i.destination) for i in args.inputs] == [
        ("py-files", str(staged / "py-files"), "/opt/ml/processing/input/py-files"),
        ("files", str(staged / "files"), "/opt/ml/processing/input/files"),
        ("conf", str(staged / "conf" / "configuration.json"), "/opt/ml/processing/input/conf")]
    # A folder in submit_py_files gives the files directly inside it (smspark-submit's expansion).
    assert sorted(p.name for p in (staged / "py-files").iterdir()) == ["util.py"]
    assert json.loads((staged / "conf" / "configuration.json").read_text()) == {
        "Classification": "spark-defaults", "Properties": {"a": "1"}}
    assert processor.command == ["smspark-submit", "--py-files", "s3://b/lib.zip,/opt/ml/processing/input/py-files",
                                 "--files", "/opt/ml/processing/input/files"]


def test_a_local_folder_without_files_and_a_bare_string_are_refused(session, tmp_path):
    (tmp_path / "empty").mkdir()
    processor = PySparkProcessor(sagemaker_session=session)
    with pytest.raises(ValueError, match=r"^submit_deps path .*empty is an empty directory\. Please specify a list"):
        processor.get_run_args(str(FILES / "wordcount.py"), submit_py_files=[str(tmp_path / "empty")])
    with pytest.raises(ValueError, match=r"^submit_deps must be a list of paths or S3 URIs, found the string "
                                         r"'s3://b/lib.zip'; wrap it in a list: \['s3://b/lib.zip'\]"):
        processor.get_run_args(str(FILES / "wordcount.py"), submit_py_files="s3://b/lib.zip")


def test_a_local_job_without_java_is_refused_before_it_starts(session, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    processor = SparkJarProcessor(sagemaker_session=session)
    with pytest.raises(RuntimeError) as info:
        processor.run(str(FILES / "extra.jar"), submit_class="A", job_name="no-java", logs=False)
    assert str(info.value) == _submit.NO_JAVA
    assert processor.latest_job is None and not (session.jobs_root / "no-java").exists()


def test_local_spark_processor_needs_no_image_and_names_one_when_a_region_is_known(session, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    assert PySparkProcessor(sagemaker_session=session, framework_version="3.3").image_uri is None
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert PySparkProcessor(sagemaker_session=session, framework_version="3.3").image_uri == (
        "173754725891.dkr.ecr.us-east-1.amazonaws.com/sagemaker-spark-processing:3.3-cpu")
