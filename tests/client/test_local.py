"""Local mode end to end: real subprocess jobs over a private processing layout.

Each test runs ``clarify-engine container`` (or a script) through ``Processor.run`` on a
:class:`LocalSession` and checks what a user sees: the output folder, ``describe()``, the log
lines, ``Failed`` with the reason, ``stop()``.
"""

from __future__ import annotations

import json
import re
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from clarify_engine.client import (
    LocalSession,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
    ScriptProcessor,
    UnexpectedStatusException,
)
from tests.helpers import REPO, ServerProcess

DEMO = REPO / "clarify_engine" / "demo"
DATA_DIR = "/opt/ml/processing/input/data"
CONFIG_DIR = "/opt/ml/processing/input/config"
OUTPUT_DIR = "/opt/ml/processing/output"
AWS_ENV = {"AWS_DEFAULT_REGION": "us-west-2", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def demo_config(tmp_path: Path, pre: bool = True, post: bool = False, **predictor) -> Path:
    config = json.loads((DEMO / "analysis_config.json").read_text())
    methods = {}
    if pre:
        methods["pre_training_bias"] = {"methods": "all"}
    if post:
        methods["post_training_bias"] = {"methods": "all"}
    config["methods"] = methods
    if predictor:
        config["predictor"].update(predictor)
    else:
        config.pop("predictor")
    path = tmp_path / "config" / "analysis_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


def clarify_io(config: Path, data: Path | str, destination: Path | str):
    inputs = [ProcessingInput(source=str(data), destination=DATA_DIR, input_name="dataset"),
              ProcessingInput(source=str(config), destination=CONFIG_DIR, input_name="analysis_config")]
    outputs = [ProcessingOutput(source=OUTPUT_DIR, destination=str(destination), output_name="analysis_result")]
    return inputs, outputs


@pytest.fixture
def session(tmp_path):
    return LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05, stop_grace_seconds=20)


def test_pre_training_bias_job_writes_to_the_destination_and_describes_itself(tmp_path, session, capsys, caplog):
    caplog.set_level(logging.DEBUG, logger="clarify_engine.client")
    inputs, outputs = clarify_io(demo_config(tmp_path), DEMO / "loans.csv", tmp_path / "results")
    processor = Processor(instance_count=1, instance_type="local", sagemaker_session=session,
                          env={"MY_FLAG": "1"}, max_runtime_in_seconds=600, base_job_name="bias-job")
    processor.run(inputs=inputs, outputs=outputs)

    analysis = json.loads((tmp_path / "results" / "analysis.json").read_text())
    assert set(analysis["pre_training_bias_metrics"]["facets"]) == {"Gender", "Occupation"}
    job = processor.latest_job
    assert job.job_name.startswith("bias-job-") and len(job.job_name) <= 63
    desc = job.describe()
    assert desc["ProcessingJobStatus"] == "Completed"
    assert desc["ProcessingJobName"] == job.job_name
    assert desc["ProcessingJobArn"].endswith(f":processing-job/{job.job_name}")
    assert desc["ProcessingResources"] == {"ClusterConfig": {"InstanceType": "local", "InstanceCount": 1,
                                                             "VolumeSizeInGB": 30}}
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert desc["Environment"] == {"MY_FLAG": "1"}
    assert [i["InputName"] for i in desc["ProcessingInputs"]] == ["dataset", "analysis_config"]
    assert desc["ProcessingOutputConfig"]["Outputs"][0]["S3Output"] == {
        "S3Uri": str(tmp_path / "results"), "LocalPath": OUTPUT_DIR, "S3UploadMode": "EndOfJob"}
    assert desc["CreationTime"] <= desc["ProcessingStartTime"] <= desc["ProcessingEndTime"] <= desc["LastModifiedTime"]
    assert "FailureReason" not in desc and "ExitMessage" not in desc
    # wait(logs=True) streamed the engine's own log lines.
    printed = capsys.readouterr().out
    # The request's summary is logged (DEBUG, as SDK 2.199 does), not printed.
    assert "Job Name: " + job.job_name in caplog.messages and "Job Name:" not in printed
    assert re.search(r"clarify_engine[\w.]*: Job completed", printed), printed
    # The layout SageMaker would have built, including its config files.
    root = session.jobs_root / job.job_name / "root"
    assert (root / "opt/ml/processing/input/data/loans.csv").is_file()
    resource = json.loads((root / "opt/ml/config/resourceconfig.json").read_text())
    assert resource == {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
    job_config = json.loads((root / "opt/ml/config/processingjobconfig.json").read_text())
    assert job_config["ProcessingJobName"] == job.job_name
    assert job_config["ProcessingResources"] == desc["ProcessingResources"]
    # The same job can be found again by name and ARN.
    again = ProcessingJob.from_processing_arn(session, desc["ProcessingJobArn"])
    assert again.job_name == job.job_name and [o.destination for o in again.outputs] == [str(tmp_path / "results")]


def test_post_training_bias_against_a_served_model(tmp_path, session):
    server = ServerProcess(DEMO / "loans_model.joblib")
    try:
        config = demo_config(tmp_path, pre=False, post=True, endpoint_name="loans-endpoint")
        inputs, outputs = clarify_io(config, DEMO / "loans.csv", tmp_path / "results")
        processor = Processor(sagemaker_session=session,
                              env={**AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url})
        processor.run(inputs=inputs, outputs=outputs, logs=False)
    finally:
        server.stop()
    analysis = json.loads((tmp_path / "results" / "analysis.json").read_text())
    gender = analysis["post_training_bias_metrics"]["facets"]["Gender"][0]
    names = {m["name"] for m in gender["metrics"]}
    assert {"DPPL", "DI", "AD", "RD", "FT"} <= names
    assert all("error" not in m for m in gender["metrics"] if m["name"] in ("DPPL", "DI", "AD")), gender["metrics"]
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"


def test_a_failing_job_is_failed_with_the_engine_reason(tmp_path, session, capsys):
    config = json.loads((DEMO / "analysis_config.json").read_text())
    config["label"] = "NoSuchColumn"
    config["methods"] = {"pre_training_bias": {"methods": "all"}}
    config.pop("predictor")
    path = tmp_path / "bad" / "analysis_config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config))
    inputs, outputs = clarify_io(path, DEMO / "loans.csv", tmp_path / "results")
    processor = Processor(sagemaker_session=session)
    with pytest.raises(UnexpectedStatusException) as info:
        processor.run(inputs=inputs, outputs=outputs, job_name="failing-job")
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Failed"
    message = (session.jobs_root / "failing-job/root/opt/ml/output/message").read_text()
    assert "NoSuchColumn" in message
    assert desc["FailureReason"] == message == desc["ExitMessage"]
    assert str(info.value) == f"Error for Processing job failing-job: Failed. Reason: {message}"
    assert info.value.actual_status == "Failed" and info.value.allowed_statuses == ["Completed", "Stopped"]
    assert not (tmp_path / "results" / "analysis.json").exists()  # EndOfJob outputs only on success
    assert "Job failed" in capsys.readouterr().out


class _SlowEndpoint(BaseHTTPRequestHandler):
    """Answers SageMaker runtime invocations only after ``release`` is set (or 120 s)."""

    arrived = threading.Event()
    release = threading.Event()

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        rows = self.rfile.read(length).decode().strip().splitlines()
        type(self).arrived.set()
        type(self).release.wait(120)
        body = "\n".join("0.5" for _ in rows).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_stop_ends_a_long_job_with_status_stopped(tmp_path):
    # The engine waits for in-flight model requests before it exits on SIGTERM (its batcher
    # shuts its thread pool down with wait=True), so a job stuck on a slow endpoint is ended
    # by the session's SIGKILL after the grace period: still Stopped, within a bounded time.
    session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05, stop_grace_seconds=3)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowEndpoint)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = demo_config(tmp_path, pre=False, post=True, endpoint_name="slow-endpoint")
        inputs, outputs = clarify_io(config, DEMO / "loans.csv", tmp_path / "results")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        processor = Processor(sagemaker_session=session, env={**AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url})
        processor.run(inputs=inputs, outputs=outputs, wait=False, logs=False)
        job = processor.latest_job
        assert _SlowEndpoint.arrived.wait(120), job.describe()
        assert job.describe()["ProcessingJobStatus"] == "InProgress"
        started = time.monotonic()
        job.stop()
        assert job.describe()["ProcessingJobStatus"] in ("Stopping", "Stopped")
        job.wait(logs=False)  # a stopped job does not raise
        elapsed = time.monotonic() - started
    finally:
        _SlowEndpoint.release.set()
        server.shutdown()
        server.server_close()
    desc = job.describe()
    assert desc["ProcessingJobStatus"] == "Stopped"
    assert elapsed < 3 + 10, f"the job took {elapsed:.1f} s to stop"
    assert "FailureReason" not in desc
    assert any("Signal 15 received" in line for line in session._job(job.job_name).log_lines())
    assert not (tmp_path / "results" / "analysis.json").exists()


def test_a_job_that_handles_sigterm_is_stopped_with_its_exit_message(tmp_path, session):
    script = tmp_path / "long.py"
    script.write_text(
        "import os, pathlib, signal, sys, time\n"
        "def bye(signum, frame):\n"
        "    msg = pathlib.Path(os.environ['CLARIFY_PROCESSING_ROOT'], 'opt/ml/output/message')\n"
        "    msg.write_text('stopped by signal %d' % signum)\n"
        "    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('working', flush=True)\n"
        "time.sleep(300)\n")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=str(script), wait=False, logs=False)
    job = processor.latest_job
    local = session._job(job.job_name)
    deadline = time.monotonic() + 60
    while "working" not in local.log_lines() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    job.stop()
    job.wait(logs=True)
    assert time.monotonic() - started < 10
    desc = job.describe()
    assert desc["ProcessingJobStatus"] == "Stopped"
    assert desc["ExitMessage"] == "stopped by signal 15"


def test_script_processor_runs_code_with_arguments_and_streams_continuous_outputs(tmp_path, session, capsys):
    script = tmp_path / "job.py"
    script.write_text(
        "import os, sys, time, pathlib\n"
        "out = pathlib.Path(os.environ['CLARIFY_PROCESSING_ROOT'], 'opt/ml/processing/output')\n"
        "(out / 'early.txt').write_text('written while running')\n"
        "target = pathlib.Path(sys.argv[1]) / 'early.txt'\n"
        "for _ in range(400):\n"
        "    if target.exists():\n"
        "        print('saw my output at the destination while running', flush=True)\n"
        "        (out / 'late.txt').write_text('at the end')\n"
        "        sys.exit(0)\n"
        "    time.sleep(0.05)\n"
        "sys.exit('Continuous output never arrived')\n")
    destination = tmp_path / "live"
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    run_args = processor.get_run_args(str(script), arguments=[str(destination)],
                                      outputs=[ProcessingOutput(source=OUTPUT_DIR, destination=str(destination),
                                                                s3_upload_mode="Continuous")])
    processor.run(code=run_args.code, outputs=run_args.outputs, arguments=run_args.arguments)
    assert (destination / "early.txt").read_text() == "written while running"
    assert (destination / "late.txt").read_text() == "at the end"
    assert "saw my output at the destination while running" in capsys.readouterr().out
    desc = processor.latest_job.describe()
    assert desc["AppSpecification"]["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/job.py"]
    assert desc["AppSpecification"]["ContainerArguments"] == [str(destination)]
    assert [i["InputName"] for i in desc["ProcessingInputs"]] == ["code"]
    assert desc["ProcessingOutputConfig"]["Outputs"][0]["OutputName"] == "output-1"


def test_a_script_exit_without_message_fails_with_the_exit_code(tmp_path, session):
    script = tmp_path / "boom.py"
    script.write_text("import sys\nprint('about to fail')\nsys.exit(3)\n")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=str(script), wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException, match="exited with code 3"):
        processor.latest_job.wait(logs=False)
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Failed"
    assert "ExitMessage" not in processor.latest_job.describe()


def test_a_missing_input_fails_the_job_before_anything_runs(tmp_path, session):
    inputs = [ProcessingInput(source=str(tmp_path / "nowhere.csv"), destination=DATA_DIR)]
    processor = Processor(sagemaker_session=session)
    processor.run(inputs=inputs, wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException) as info:
        processor.latest_job.wait(logs=False)
    assert "input 'input-1': no such file or folder" in str(info.value)
    assert "ProcessingStartTime" not in processor.latest_job.describe()


def test_clarify_processor_runs_pre_training_bias_locally(tmp_path, session):
    import clarify_engine.client._clarify as clarify
    import clarify_engine.client._clarify_config as config
    headers = ["Target", "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"]
    data_config = config.DataConfig(s3_data_input_path=str(DEMO / "loans.csv"), s3_output_path=str(tmp_path / "out"),
                                    label="Target", headers=headers, dataset_type="text/csv")
    bias_config = config.BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])
    processor = clarify.SageMakerClarifyProcessor(instance_count=1, instance_type="local", sagemaker_session=session)
    processor.run_pre_training_bias(data_config, bias_config, logs=False)
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Completed"
    assert desc["ProcessingJobName"].startswith("Clarify-Pretraining-Bias-")
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert list(analysis["pre_training_bias_metrics"]["facets"]) == ["Gender"]
    written = json.loads((tmp_path / "out" / "analysis_config.json").read_text())
    assert written["methods"]["pre_training_bias"] == {"methods": "all"}


def test_clarify_processor_streams_a_job_through_its_env(tmp_path, session):
    """The SDK's way to set a container variable (``env=``) turns streaming on for a Clarify job:
    same analysis as the loaded job, and the run manifest says it streamed."""
    import clarify_engine.client._clarify as clarify
    import clarify_engine.client._clarify_config as config
    headers = ["Target", "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"]
    bias_config = config.BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])
    for name, env in (("loaded", None), ("streamed", {"CLARIFY_CHUNK_ROWS": "4000"})):
        data_config = config.DataConfig(s3_data_input_path=str(DEMO / "loans.csv"),
                                        s3_output_path=str(tmp_path / name), label="Target", headers=headers,
                                        dataset_type="text/csv")
        processor = clarify.SageMakerClarifyProcessor(instance_count=1, instance_type="local",
                                                      sagemaker_session=session, env=env)
        processor.run_pre_training_bias(data_config, bias_config, logs=False)
        assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    assert (tmp_path / "streamed" / "analysis.json").read_text() == (tmp_path / "loaded" / "analysis.json").read_text()
    manifest = json.loads((tmp_path / "streamed" / "run_manifest.json").read_text())
    assert manifest["streaming"]["chunk_rows"] == 4000 and manifest["streaming"]["chunks"] > 1
    # the SDK asks every job for a report, which reads every row: the streamed job says it left it out
    assert (tmp_path / "loaded" / "report.html").is_file() and not (tmp_path / "streamed" / "report.html").exists()
    log = "\n".join(session._job(processor.latest_job.job_name).log_lines())
    assert "CLARIFY_CHUNK_ROWS is set: the report (methods.report) is not written" in log
