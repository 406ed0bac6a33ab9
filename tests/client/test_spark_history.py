"""``start_history_server`` / ``terminate_history_server``: Spark's history server from the pyspark wheel.

A tiny PySpark app runs locally with its event logs sent to a moto S3 server; the history
server then lists that application over HTTP, and stops (port closed) when terminated. The
error cases need no JVM.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from clarify_engine.client import LocalSession
from clarify_engine.client.spark import PySparkProcessor
from clarify_engine.client.spark import _history
from clarify_engine.client.spark._submit import NO_JAVA, java_path

APP = """from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("history-probe").getOrCreate()
assert spark.range(10).count() == 10
spark.stop()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def applications(port: int) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/applications", timeout=10) as response:
        return json.load(response)


@pytest.mark.skipif(java_path() is None, reason="needs a Java runtime")
def test_history_server_lists_the_app_of_the_last_run_then_stops(tmp_path, moto_s3, monkeypatch, caplog):
    s3, bucket = moto_s3
    port = free_port()
    monkeypatch.setenv(_history.PORT_ENV, str(port))
    app = tmp_path / "probe.py"
    app.write_text(APP)
    processor = PySparkProcessor(sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs", s3_client=s3))
    processor.run(submit_app=str(app), spark_event_logs_s3_uri=f"s3://{bucket}/events", logs=False)
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"

    with caplog.at_level(logging.INFO, logger="clarify_engine.client.spark"):
        processor.start_history_server()  # the URI of the last run
    try:
        assert f"History server is up on http://localhost:{port}" in caplog.text
        assert f"Copied the Spark event logs of s3://{bucket}/events" in caplog.text
        names: list[str] = []
        for _ in range(120):  # the first scan of the log folder may follow the first HTTP answer
            names = [a["name"] for a in applications(port)]
            if names:
                break
            time.sleep(0.5)
        assert names == ["history-probe"]
    finally:
        processor.terminate_history_server()
    assert processor.history_server is None
    assert not port_open(port)
    processor.terminate_history_server()  # idempotent


@pytest.fixture
def processor(tmp_path, moto_s3):
    s3, bucket = moto_s3
    return PySparkProcessor(sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs", s3_client=s3)), bucket


def test_no_uri_and_no_previous_run_is_refused_with_the_sdk_message(processor):
    processor, _ = processor
    with pytest.raises(ValueError, match="SPARK_EVENT_LOGS_S3_URI not present. You can specify "
                                         r"spark_event_logs_s3_uri either in run\(\) or start_history_server\(\)"):
        processor.start_history_server()
    assert processor.history_server is None


def test_a_uri_without_event_logs_is_refused_with_the_fix(processor, tmp_path):
    processor, bucket = processor
    with pytest.raises(ValueError, match=f"no Spark event logs at s3://{bucket}/nothing: run the job with "
                                         "spark_event_logs_s3_uri=<that URI> first"):
        processor.start_history_server(f"s3://{bucket}/nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no Spark event logs at file://"):
        processor.start_history_server((tmp_path / "empty").as_uri())
    with pytest.raises(ValueError, match="unsupported scheme 'hdfs'; give an s3:// URI, a file:// URI or a local"):
        processor.start_history_server("hdfs://nn/events")
    assert processor.history_server is None


def test_a_missing_java_runtime_is_named_with_its_package(processor, tmp_path, monkeypatch):
    processor, _ = processor
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "app").write_text("{}")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(RuntimeError, match="default-jre-headless") as info:
        processor.start_history_server(str(tmp_path / "events"))
    assert str(info.value) == NO_JAVA


def test_a_busy_port_or_a_bad_port_variable_is_refused(processor, tmp_path, monkeypatch):
    processor, _ = processor
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "app").write_text("{}")
    monkeypatch.setenv(_history.PORT_ENV, "http")
    with pytest.raises(ValueError, match=f"{_history.PORT_ENV}='http' is not a TCP port: set it to a number"):
        processor.start_history_server(str(tmp_path / "events"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv(_history.PORT_ENV, str(port))
        if java_path() is not None:
            with pytest.raises(RuntimeError, match=f"port {port} is in use .*set {_history.PORT_ENV} to a free port"):
                processor.start_history_server(str(tmp_path / "events"))
    assert processor.history_server is None


def test_on_a_notebook_instance_the_url_is_the_notebook_proxy(tmp_path):
    metadata = tmp_path / "resource-metadata.json"
    assert _history.notebook_proxy_url(15050, "eu-west-1", str(metadata)) is None
    metadata.write_text(json.dumps({"ResourceName": "my-notebook"}))
    assert _history.notebook_proxy_url(15050, "eu-west-1", str(metadata)) == \
        "https://my-notebook.notebook.eu-west-1.sagemaker.aws/proxy/15050"


EXITING = """import sys
from clarify_engine.client import LocalSession
from clarify_engine.client.spark import PySparkProcessor
processor = PySparkProcessor(sagemaker_session=LocalSession(jobs_root=sys.argv[1]))
processor.start_history_server(sys.argv[2])
print(processor.history_server._proc.pid, flush=True)
"""  # exits without terminate_history_server()


@pytest.mark.skipif(java_path() is None, reason="needs a Java runtime")
def test_a_server_left_running_is_stopped_when_the_interpreter_exits(tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv(_history.PORT_ENV, str(port))
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "app").write_text("{}")
    done = subprocess.run([sys.executable, "-c", EXITING, str(tmp_path / "jobs"), str(tmp_path / "events")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    assert not port_open(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.skipif(java_path() is None, reason="needs a Java runtime")
def test_a_server_that_exits_at_start_is_reported_with_its_log(processor, tmp_path, monkeypatch):
    processor, _ = processor
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "app").write_text("{}")
    monkeypatch.setenv(_history.PORT_ENV, str(free_port()))
    monkeypatch.setenv("SPARK_DAEMON_MEMORY", "1k")  # the history server's -Xmx: too small for any JVM
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where its private folder goes
    with pytest.raises(RuntimeError, match=r"History server failed to start: it exited with code \d+\. "
                                           r"Its log ends with:\n(?s:.*)Too small maximum heap"):
        processor.start_history_server(str(tmp_path / "events"))
    assert processor.history_server is None
    assert not list((tmp_path / "tmp").iterdir())  # its private folder is removed
