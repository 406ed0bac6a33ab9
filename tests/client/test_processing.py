"""Processing classes without running a job: request pieces, names, defaults and SDK errors.

The SDK-built pieces of ``_processing_requests.json`` (sagemaker 2.199.0) are rebuilt from
our classes with the same arguments and compared whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from clarify_engine.client import (
    NetworkConfig,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
    RunArgs,
    ScriptProcessor,
    UnexpectedStatusException,
)
from clarify_engine.client._processing import LOGS_WITHOUT_WAIT, base_name_from_image, name_from_base, s3_path_join
from clarify_engine.client._session import check_job_status
from tests.helpers import SDK_CONFIGS

REQUESTS = json.loads((SDK_CONFIGS / "_processing_requests.json").read_text())


@dataclass
class FakeSageMakerSession:
    """Records ``process`` calls; uploads go nowhere but answer like S3Uploader."""

    local_mode: bool = False
    calls: list = field(default_factory=list)
    uploads: list = field(default_factory=list)

    def default_bucket(self):
        return "default-bucket"

    def upload_file(self, local_path, destination, kms_key=None):
        self.uploads.append((local_path, destination, kms_key))
        return destination + "/" + local_path.rsplit("/", 1)[-1]

    def expand_role(self, role):
        return role if "/" in role else f"arn:aws:iam::111122223333:role/{role}"

    def process(self, **kwargs):
        self.calls.append(kwargs)


@pytest.mark.parametrize("case", sorted(REQUESTS), ids=str)
def test_request_pieces_match_what_the_sdk_built(case):
    want = REQUESTS[case]
    cluster = want["resources"]["ClusterConfig"]
    inputs = [ProcessingInput(source=i["S3Input"]["S3Uri"], destination=i["S3Input"]["LocalPath"],
                              input_name=i["InputName"]) for i in want["inputs"]]
    (out,) = want["output_config"]["Outputs"]
    outputs = [ProcessingOutput(source=out["S3Output"]["LocalPath"], destination=out["S3Output"]["S3Uri"],
                                output_name=out["OutputName"], s3_upload_mode=out["S3Output"]["S3UploadMode"])]
    session = FakeSageMakerSession()
    processor = Processor(role="ClarifyRole", image_uri=want["app_specification"]["ImageUri"],
                          instance_count=cluster["InstanceCount"], instance_type=cluster["InstanceType"],
                          sagemaker_session=session)
    processor.run(inputs=inputs, outputs=outputs, wait=False, logs=False, job_name="job")
    (got,) = session.calls
    for key in ("inputs", "output_config", "resources", "app_specification", "stopping_condition", "environment"):
        assert got[key] == want[key], key
    assert got["role_arn"] == "arn:aws:iam::111122223333:role/ClarifyRole"
    assert got["job_name"] == "job" and got["network_config"] is None and got["tags"] is None
    assert session.uploads == []  # s3:// sources are used as they are


def test_logs_without_wait_is_refused_with_the_sdk_message():
    processor = Processor(sagemaker_session=FakeSageMakerSession(local_mode=True))
    with pytest.raises(ValueError) as info:
        processor.run(wait=False, logs=True)
    assert str(info.value) == LOGS_WITHOUT_WAIT
    assert str(info.value).startswith("Logs can only be shown if wait is set to True.\n")
    assert str(info.value).endswith("Please either set wait to True or set logs to False.")
    with pytest.raises(ValueError, match="Logs can only be shown"):
        ScriptProcessor(command=["python3"], sagemaker_session=FakeSageMakerSession(local_mode=True)).run(
            code=__file__, wait=False)


def test_inputs_and_outputs_must_be_processing_objects():
    processor = Processor(role="r", image_uri="i", sagemaker_session=FakeSageMakerSession())
    with pytest.raises(TypeError, match=r"^Your inputs must be provided as ProcessingInput objects\.$"):
        processor.run(inputs=["s3://b/k"], wait=False, logs=False)
    with pytest.raises(TypeError, match=r"^Your outputs must be provided as ProcessingOutput objects\.$"):
        processor.run(outputs=["s3://b/k"], wait=False, logs=False)


def test_unnamed_inputs_and_outputs_get_positional_names_and_default_places(tmp_path):
    local = tmp_path / "data.csv"
    local.write_text("a\n1\n")
    session = FakeSageMakerSession()
    processor = Processor(role="arn:aws:iam::1:role/r", image_uri="acct.dkr.ecr/engine:1", sagemaker_session=session)
    processor.run(inputs=[ProcessingInput("s3://b/x", "/opt/ml/processing/input/x"),
                          ProcessingInput(str(local), "/opt/ml/processing/input/y")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output")], wait=False, logs=False, kms_key="k")
    (call,) = session.calls
    name = call["job_name"]
    assert re.fullmatch(r"engine-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3}", name)
    assert [i["InputName"] for i in call["inputs"]] == ["input-1", "input-2"]
    assert call["inputs"][1]["S3Input"]["S3Uri"] == f"s3://default-bucket/{name}/input/input-2/data.csv"
    assert session.uploads == [(str(local), f"s3://default-bucket/{name}/input/input-2", "k")]
    assert call["output_config"]["Outputs"][0]["OutputName"] == "output-1"
    assert call["output_config"]["Outputs"][0]["S3Output"]["S3Uri"] == f"s3://default-bucket/{name}/output/output-1"


def test_local_mode_keeps_local_paths_and_needs_no_image_or_role(tmp_path):
    session = FakeSageMakerSession(local_mode=True)
    session.default_output_dir = lambda job, name: f"/jobs/{job}/output/{name}"
    processor = Processor(sagemaker_session=session)
    processor.run(inputs=[ProcessingInput(f"file://{tmp_path}/d.csv", "/opt/ml/processing/input/data")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output")], wait=False, logs=False, job_name="j")
    (call,) = session.calls
    assert call["inputs"][0]["S3Input"]["S3Uri"] == f"{tmp_path}/d.csv"
    assert call["output_config"]["Outputs"][0]["S3Output"]["S3Uri"] == "/jobs/j/output/output-1"
    assert call["app_specification"] == {"ImageUri": None} and call["role_arn"] is None


def test_image_uri_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLARIFY_ENGINE_IMAGE_URI", "acct.dkr.ecr.us-west-2.amazonaws.com/clarify-engine:0.1.0")
    processor = Processor(role="r", sagemaker_session=FakeSageMakerSession())
    assert processor.image_uri == "acct.dkr.ecr.us-west-2.amazonaws.com/clarify-engine:0.1.0"
    assert Processor(role="r", image_uri="mine:1", sagemaker_session=FakeSageMakerSession()).image_uri == "mine:1"


def test_gzip_input_needs_pipe_mode():
    item = ProcessingInput("s3://b/k", "/opt/ml/processing/input", "in", s3_compression_type="Gzip")
    with pytest.raises(ValueError, match=r"^Data can only be gzipped when the input mode is Pipe\.$"):
        item._to_request_dict()
    item.s3_input_mode = "Pipe"
    assert item._to_request_dict()["S3Input"]["S3CompressionType"] == "Gzip"


def test_bad_upload_mode_names_the_output():
    processor = Processor(sagemaker_session=FakeSageMakerSession(local_mode=True))
    with pytest.raises(ValueError, match="ProcessingOutput 'out': s3_upload_mode must be 'EndOfJob' or 'Continuous', "
                                         "found 'Sometimes'"):
        processor.run(outputs=[ProcessingOutput("/opt/ml/processing/output", "/tmp/x", "out", "Sometimes")],
                      wait=False, logs=False)


def test_script_processor_code_errors_and_run_args(tmp_path):
    processor = ScriptProcessor(role="r", image_uri="img", command=["python3"], sagemaker_session=FakeSageMakerSession())
    with pytest.raises(ValueError, match=r"code .*missing\.py wasn't found\. Please make sure that the file exists\."):
        processor.run(code=str(tmp_path / "missing.py"), logs=False, wait=False)
    with pytest.raises(ValueError, match="must be a file, not a directory"):
        processor.run(code=str(tmp_path), logs=False, wait=False)
    with pytest.raises(ValueError, match="url scheme http is not recognized"):
        processor.run(code="http://example.com/x.py", logs=False, wait=False)
    args = processor.get_run_args("s3://b/code/x.py", arguments=["--n", "1"])
    assert args == RunArgs(code="s3://b/code/x.py", inputs=None, outputs=None, arguments=["--n", "1"])
    processor.run(code=args.code, arguments=args.arguments, wait=False, logs=False, job_name="s")
    (call,) = processor.sagemaker_session.calls
    assert call["app_specification"] == {"ImageUri": "img", "ContainerArguments": ["--n", "1"],
                                         "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/x.py"]}
    assert call["inputs"][-1]["InputName"] == "code"
    assert call["inputs"][-1]["S3Input"]["S3Uri"] == "s3://b/code/x.py"


def test_network_config_request():
    assert NetworkConfig()._to_request_dict() == {"EnableNetworkIsolation": False}
    assert NetworkConfig(True, ["sg"], ["sn"], True)._to_request_dict() == {
        "EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg"], "Subnets": ["sn"]}}


def test_names_and_uris():
    name = name_from_base("x" * 80)
    assert len(name) == 63 and name.startswith("x" * 39 + "-")
    assert base_name_from_image("1.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0") == \
        "sagemaker-clarify-processing"
    assert base_name_from_image(None) == "clarify-engine"
    assert s3_path_join("s3://", "bucket", "job/", "/input", "in-1") == "s3://bucket/job/input/in-1"
    assert s3_path_join("s3://bucket/prefix/", "out") == "s3://bucket/prefix/out"


def test_from_processing_arn_checks_the_arn():
    with pytest.raises(ValueError, match="processing_job_arn: expected .* found 'job-1'"):
        ProcessingJob.from_processing_arn(FakeSageMakerSession(), "job-1")


@pytest.mark.parametrize("status, raises", [("Completed", False), ("Stopped", False), ("Failed", True),
                                            ("InProgress", True)])
def test_job_status_check(status, raises):
    desc = {"ProcessingJobStatus": status}
    if raises:
        with pytest.raises(UnexpectedStatusException) as info:
            check_job_status("j", desc)
        assert str(info.value) == f"Error for Processing job j: {status}. Reason: (No reason provided)"
        assert info.value.actual_status == status
    else:
        check_job_status("j", desc)
