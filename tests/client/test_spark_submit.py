"""The local ``smspark-submit``: options, directory expansion, configuration → spark-submit (no JVM started)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clarify_engine.client.spark import _submit
from clarify_engine.client.spark._submit import InputError, build_command, configuration_options, parse_args


def _layout(root: Path, conf=None) -> None:
    for channel, names in {"py-files": ["a.py", "b.zip"], "jars": ["x.jar"], "files": ["words.txt"]}.items():
        folder = root / "opt/ml/processing/input" / channel
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text(name)
    (root / "opt/ml/processing/input/code").mkdir(parents=True)
    (root / "opt/ml/processing/input/code/app.py").write_text("print(1)")
    if conf is not None:
        (root / "opt/ml/processing/input/conf").mkdir(parents=True)
        (root / "opt/ml/processing/input/conf/configuration.json").write_text(json.dumps(conf))


def test_the_sdk_entrypoint_becomes_a_local_spark_submit(tmp_path):
    _layout(tmp_path, conf=[{"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "1g"}},
                            {"Classification": "core-site", "Properties": {"fs.s3a.connection.maximum": "50"}},
                            {"Classification": "hadoop-env", "Properties": {}, "Configurations": [
                                {"Classification": "export", "Properties": {"HADOOP_OPTS": "-Xmx1g"}}]}])
    env: dict = {}
    command = build_command(["--class", "org.example.App", "--py-files", "/opt/ml/processing/input/py-files",
                             "--jars", "/opt/ml/processing/input/jars,/opt/ml/processing/input/files/words.txt",
                             "--local-spark-event-logs-dir", "/opt/ml/processing/spark-events/", "-v",
                             "/opt/ml/processing/input/code/app.py", "--rows", "10"], tmp_path, env, tmp_path / "dl")
    inp = tmp_path / "opt/ml/processing/input"
    events = tmp_path / "opt/ml/processing/spark-events"
    assert command == [
        str(_submit.spark_submit_path()), "--master", "local[*]", "--class", "org.example.App",
        "--jars", f"{inp}/jars/x.jar,{inp}/files/words.txt",
        "--py-files", f"{inp}/py-files/a.py,{inp}/py-files/b.zip",
        "--conf", "spark.executor.memory=1g", "--conf", "spark.hadoop.fs.s3a.connection.maximum=50",
        "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events.as_uri()}",
        "--verbose", f"{inp}/code/app.py", "--rows", "10"]
    assert env == {"HADOOP_OPTS": "-Xmx1g"}
    assert events.is_dir()


@pytest.mark.parametrize("argv, message", [
    (["--py-files", "relative/dir", "/app.py"], "--py-files relative/dir: must be an absolute path"),
    (["--files", "/opt/ml/processing/input/empty", "/app.py"], "--files: Found zero files in /opt/ml/processing/input/empty"),
    (["--jars", "/opt/ml/processing/input/none.jar", "/app.py"], "--jars /opt/ml/processing/input/none.jar: no such file"),
    (["--master", "yarn", "/app.py"], "smspark-submit: unknown option '--master'"),
    (["--class"], "smspark-submit: option --class needs a value"),
    (["-v"], "smspark-submit: the app to run is missing"),
])
def test_bad_options_name_the_option_and_the_fix(tmp_path, argv, message):
    (tmp_path / "opt/ml/processing/input/empty").mkdir(parents=True)
    with pytest.raises(InputError) as info:
        build_command(argv, tmp_path, {}, tmp_path / "dl")
    assert str(info.value).startswith(message)


def test_env_classifications_need_nested_exports_and_log4j_is_skipped(caplog):
    with pytest.raises(InputError, match=r"^configuration spark-env: an -env classification sets environment "
                                         r"variables through nested Configurations of Classification 'export'"):
        configuration_options({"Classification": "spark-env", "Properties": {"A": "1"}}, {})
    with pytest.raises(InputError, match=r"^configuration yarn-env: nested Classification 'spark-defaults' is not 'export'"):
        configuration_options({"Classification": "yarn-env", "Properties": {},
                               "Configurations": [{"Classification": "spark-defaults", "Properties": {}}]}, {})
    assert configuration_options([{"Classification": "spark-log4j", "Properties": {"x": "y"}},
                                  {"Classification": "spark-hive-site", "Properties": {"h": "1"}}], {}) == [
        "--conf", "spark.hadoop.h=1"]
    assert "configuration spark-log4j: not applied by a local Spark" in caplog.text


def test_parse_args_keeps_the_apps_own_options():
    options, app, args = parse_args(["--files=/f", "app.py", "--files", "mine", "-v"])
    assert options == {"verbose": False, "--files": "/f"}
    assert (app, args) == ("app.py", ["--files", "mine", "-v"])


def test_a_bad_option_ends_the_job_with_a_message(tmp_path):
    (tmp_path / "opt/ml/output").mkdir(parents=True)
    env = {**os.environ, "CLARIFY_PROCESSING_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "clarify_engine.client.spark._submit", "--py-files", "rel", "/a.py"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert (tmp_path / "opt/ml/output/message").read_text() == "ClientError: --py-files rel: must be an absolute path"


def test_without_java_or_pyspark_the_message_names_the_package(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java here
    code = ("from clarify_engine.client.spark._submit import check_local_spark\n"
            "try:\n    check_local_spark()\nexcept RuntimeError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == _submit.NO_JAVA
    assert "apt-get install -y default-jre-headless" in _submit.NO_JAVA
    # pyspark not importable (blocked the way Python blocks a missing module).
    code = "import sys\nsys.modules['pyspark'] = None\n" + code
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == _submit.NO_PYSPARK
    assert "pip install 'clarify-engine[spark]'" in _submit.NO_PYSPARK


def test_an_old_java_is_refused_naming_its_version(tmp_path, monkeypatch):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.21" 2023-10-17\' >&2\n')
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert _submit.java_major(str(java)) == 11
    with pytest.raises(RuntimeError) as info:
        _submit.check_local_spark()
    assert str(info.value) == (f"local Spark jobs need Java 17 or newer (Spark 4 from the pyspark wheel); {java} is "
                               "Java 11. Install a newer one, e.g. apt-get install -y default-jre-headless (Debian 12: "
                               "Java 17), and put it first on PATH or set JAVA_HOME")
    java.write_text('#!/bin/sh\necho \'java version "1.8.0_392"\' >&2\n')
    assert _submit.java_major(str(java)) == 8
    assert _submit.java_major("/nonexistent/java") is None
