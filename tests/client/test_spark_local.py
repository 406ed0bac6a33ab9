"""Real Spark jobs in local mode: ``spark-submit --master local[*]`` from the pyspark wheel, a real JVM.

Each test starts one JVM (tens of seconds on a loaded machine), hence ``slow``. The apps:
a PySpark word count over a text file shipped with ``submit_files`` (its helper module with
``submit_py_files``), a DataFrame aggregation reading ``/opt/ml/processing/input`` with a
``configuration`` (spark-defaults and a spark-env export) and event logs sent to S3 (moto
server), and a Java app compiled here against the wheel's jars, run by ``SparkJarProcessor``.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from clarify_engine.client import LocalSession, ProcessingInput, ProcessingOutput, UnexpectedStatusException
from clarify_engine.client.spark import PySparkProcessor, SparkJarProcessor
from clarify_engine.client.spark._submit import java_path, spark_submit_path

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_requests" / "files"
SPARK = Path(__file__).resolve().parents[1] / "fixtures" / "spark"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(java_path() is None, reason="no Java runtime (CI installs default-jdk-headless)")]


def test_pyspark_word_count_over_a_shipped_file_reaches_the_output_destination(tmp_path):
    session = LocalSession(jobs_root=tmp_path / "jobs")
    processor = PySparkProcessor(sagemaker_session=session, framework_version="3.3")
    processor.run(submit_app=str(FILES / "wordcount.py"), submit_py_files=[str(FILES / "helpers.py")],
                  submit_files=[str(FILES / "words.txt")],
                  arguments=["/opt/ml/processing/input/files/words.txt", "/opt/ml/processing/output"],
                  outputs=[ProcessingOutput(source="/opt/ml/processing/output", destination=str(tmp_path / "out"))],
                  logs=False)
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    counts = dict(line.split("\t") for line in (tmp_path / "out" / "counts.tsv").read_text().splitlines())
    assert counts == {"the": "4", "dog": "2", "fox": "2", "quick": "1", "brown": "1", "jumps": "1", "over": "1",
                      "lazy": "1", "sleeps": "1", "runs": "1"}
    assert desc["AppSpecification"]["ContainerEntrypoint"] == [
        "smspark-submit", "--py-files", "/opt/ml/processing/input/py-files", "--files",
        "/opt/ml/processing/input/files", "/opt/ml/processing/input/code/wordcount.py"]


def test_pyspark_dataframe_aggregation_with_configuration_and_event_logs(tmp_path, moto_s3):
    moto_s3, bucket = moto_s3
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SPARK / "sales.csv", data)
    session = LocalSession(jobs_root=tmp_path / "jobs", s3_client=moto_s3)
    processor = PySparkProcessor(sagemaker_session=session)
    processor.run(submit_app=str(SPARK / "aggregate.py"),
                  inputs=[ProcessingInput(source=str(data), destination="/opt/ml/processing/input/data")],
                  outputs=[ProcessingOutput(source="/opt/ml/processing/output", destination=str(tmp_path / "out"))],
                  configuration=[{"Classification": "spark-defaults", "Properties": {"spark.sql.shuffle.partitions": "3"}},
                                 {"Classification": "spark-env", "Properties": {},
                                  "Configurations": [{"Classification": "export", "Properties": {"AGG_LABEL": "q4"}}]}],
                  spark_event_logs_s3_uri=f"s3://{bucket}/spark", logs=False)
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    [part] = list((tmp_path / "out" / "totals").glob("part-*.csv"))
    with part.open() as fh:
        assert [(r["region"], r["total"]) for r in csv.DictReader(fh)] == [("north", "8"), ("south", "4"), ("west", "1")]
    assert json.loads((tmp_path / "out" / "settings.json").read_text()) == {"shuffle_partitions": "3", "label": "q4"}
    # The Spark event log went to the event-log URI through the Continuous output.
    keys = [o["Key"] for o in moto_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    # Spark 4 writes a rolling log folder (eventlog_v2_<app>/events_<n>_<app>[.zstd]).
    assert keys and all(k.startswith("spark/eventlog_v2_local-") for k in keys)
    assert any(k.split("/")[-1].startswith("events_1_local-") for k in keys)


@pytest.fixture(scope="module")
def line_count_jar(tmp_path_factory):
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("no javac to build the Java app (CI installs default-jdk-headless)")
    build = tmp_path_factory.mktemp("jar")
    jars = spark_submit_path().parents[1] / "jars"
    subprocess.run([javac, "-cp", f"{jars}/*", "-d", str(build), str(SPARK / "LineCount.java")], check=True)
    subprocess.run(["jar" if shutil.which("jar") else str(Path(javac).with_name("jar")), "cf",
                    str(build / "linecount.jar"), "-C", str(build), "LineCount.class"], check=True)
    return build / "linecount.jar"


def test_spark_jar_processor_runs_a_java_app(tmp_path, line_count_jar):
    session = LocalSession(jobs_root=tmp_path / "jobs")
    processor = SparkJarProcessor(sagemaker_session=session)
    processor.run(submit_app=str(line_count_jar), submit_class="LineCount", submit_files=[str(FILES / "words.txt")],
                  arguments=["words.txt", "/opt/ml/processing/output"],
                  outputs=[ProcessingOutput(source="/opt/ml/processing/output", destination=str(tmp_path / "out"))],
                  logs=False)
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    assert (tmp_path / "out" / "lines.txt").read_text() == "2\n"
    assert desc["AppSpecification"]["ContainerEntrypoint"][:3] == ["smspark-submit", "--class", "LineCount"]


def test_a_failing_spark_app_fails_the_job_with_the_message_it_left(tmp_path):
    app = tmp_path / "boom.py"
    app.write_text("from pyspark.sql import SparkSession\nSparkSession.builder.getOrCreate()\n"
                   "raise SystemExit('no input rows')\n")
    session = LocalSession(jobs_root=tmp_path / "jobs")
    processor = PySparkProcessor(sagemaker_session=session)
    with pytest.raises(UnexpectedStatusException, match="spark failed with a non-zero exit code 1"):
        processor.run(submit_app=str(app), logs=False)
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("AlgorithmError: spark failed with a non-zero exit code 1")
