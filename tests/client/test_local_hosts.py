"""Local jobs with instance_count > 1: one host process per instance, on loopback, as one job."""

from __future__ import annotations

import json

import pytest

import clarify_engine
import clarify_engine.client._clarify as clarify
import clarify_engine.client._clarify_config as clarify_config
from clarify_engine.client import LocalSession
from tests.helpers import REPO

DEMO = REPO / "clarify_engine" / "demo"
HEADERS = ["Target", "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"]


@pytest.fixture
def session(tmp_path):
    return LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05, stop_grace_seconds=20)


def _run(tmp_path, session, instances: int, out: str) -> dict:
    data_config = clarify_config.DataConfig(s3_data_input_path=str(DEMO / "loans.csv"),
                                            s3_output_path=str(tmp_path / out), label="Target", headers=HEADERS,
                                            dataset_type="text/csv")
    bias_config = clarify_config.BiasConfig(label_values_or_threshold=[1], facet_name="Gender",
                                            facet_values_or_threshold=[0])
    processor = clarify.SageMakerClarifyProcessor(instance_count=instances, instance_type="local",
                                                  sagemaker_session=session)
    processor.run_pre_training_bias(data_config, bias_config, logs=False)
    return processor.latest_job.describe()


def test_two_instances_run_as_two_hosts_and_complete_as_one_job(tmp_path, session):
    desc = _run(tmp_path, session, 2, "two")
    name = desc["ProcessingJobName"]
    assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    log = (session.jobs_root / name / "job.log").read_text()
    assert "Local mode runs 2 instances as processes on this machine: algo-1, algo-2" in log
    for line in ("algo-1: ", "This host is the leader.", "Number of hosts in the cluster is 2."):
        assert line in log
    assert "algo-2: " in log and "This host is a worker; the leader is algo-1." in log
    assert "The leader algo-1 reports the job completed" in log
    worker_root = session.jobs_root / name / "hosts" / "algo-2" / "root"
    assert json.loads((worker_root / "opt/ml/config/resourceconfig.json").read_text())["current_host"] == "algo-2"
    assert not any((worker_root / "opt/ml/processing/output").iterdir()), "only the leader writes outputs"
    config = json.loads((tmp_path / "two" / "analysis_config.json").read_text())
    del config["methods"]["report"]
    expected = clarify_engine.analyze(config, data=DEMO / "loans.csv").to_dict()
    assert json.loads((tmp_path / "two" / "analysis.json").read_text()) == expected


def test_a_failed_multi_instance_job_reports_every_hosts_message(tmp_path, session):
    from clarify_engine.client import ProcessingInput, ProcessingOutput, Processor, UnexpectedStatusException

    config = json.loads((DEMO / "analysis_config.json").read_text())
    config["no_such_key"] = 1
    path = tmp_path / "config" / "analysis_config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config))
    inputs = [ProcessingInput(source=str(DEMO / "loans.csv"), destination="/opt/ml/processing/input/data"),
              ProcessingInput(source=str(path), destination="/opt/ml/processing/input/config")]
    outputs = [ProcessingOutput(source="/opt/ml/processing/output", destination=str(tmp_path / "out"))]
    processor = Processor(instance_count=2, instance_type="local", sagemaker_session=session)
    with pytest.raises(UnexpectedStatusException):
        processor.run(inputs=inputs, outputs=outputs, job_name="failing-hosts")
    desc = processor.latest_job.describe()
    assert desc["ProcessingJobStatus"] == "Failed"
    leader, worker = desc["FailureReason"].split("\n", 1)
    assert leader.startswith("Analysis configuration schema validation error.") and "no_such_key" in leader
    assert worker.startswith("The job failed on the leader algo-1; this host (algo-2) wrote nothing.")
    assert desc["ExitMessage"] == desc["FailureReason"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
