"""The SageMaker SDK's config files give processors their defaults (role, KMS keys, network, env, tags, bucket).

The request is captured as botocore sends it to a moto server (``test_sagemaker.py``'s fixtures).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clarify_engine.client import NetworkConfig, ScriptProcessor, Session
from tests.client.test_sagemaker import IMAGE, aws, moto_url  # noqa: F401 - pytest fixtures

ADMIN = """
SchemaVersion: '1.0'
SageMaker:
  ProcessingJob:
    RoleArn: arn:aws:iam::123456789012:role/AdminRole
    Tags:
      - Key: cost-center
        Value: admin
      - Key: team
        Value: admin
"""
USER = """
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      Session:
        DefaultS3Bucket: config-bucket
        DefaultS3ObjectKeyPrefix: team-b
  ProcessingJob:
    RoleArn: arn:aws:iam::123456789012:role/UserRole
    Environment:
      FROM_CONFIG: "1"
    NetworkConfig:
      EnableNetworkIsolation: true
      VpcConfig:
        Subnets: [subnet-9]
        SecurityGroupIds: [sg-9]
    ProcessingOutputConfig:
      KmsKeyId: out-from-config
    ProcessingResources:
      ClusterConfig:
        VolumeKmsKeyId: vol-from-config
"""


@pytest.fixture
def configured(tmp_path, monkeypatch, aws):  # noqa: F811 - the imported fixture
    (tmp_path / "admin.yaml").write_text(ADMIN)
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "config.yaml").write_text(USER)
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(tmp_path / "admin.yaml"))
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(tmp_path / "user"))
    sent: list = []
    sm = aws.client("sagemaker")
    sm.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                            lambda params, **kw: sent.append(params))
    return Session(boto_session=aws, sagemaker_client=sm), sent


def test_unset_arguments_come_from_the_config_files(configured, tmp_path):
    session, sent = configured
    script = tmp_path / "prep.py"
    script.write_text("print(1)\n")
    processor = ScriptProcessor(image_uri=IMAGE, command=["python3"], instance_type="ml.m5.large",
                                sagemaker_session=session, tags=[{"Key": "team", "Value": "mine"}])
    processor.run(str(script), job_name="from-config", wait=False, logs=False)
    [request] = sent
    assert request["RoleArn"] == "arn:aws:iam::123456789012:role/UserRole"  # the user file wins over the admin one
    assert request["Environment"] == {"FROM_CONFIG": "1"}
    assert request["NetworkConfig"] == {"EnableNetworkIsolation": True,
                                        "VpcConfig": {"SecurityGroupIds": ["sg-9"], "Subnets": ["subnet-9"]}}
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "vol-from-config"
    assert request["Tags"] == [{"Key": "team", "Value": "mine"}, {"Key": "cost-center", "Value": "admin"}]
    assert request["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://config-bucket/team-b/from-config/input/code/prep.py"


def test_arguments_win_over_the_config(configured):
    session, _ = configured
    processor = ScriptProcessor(role="arn:aws:iam::1:role/Mine", image_uri=IMAGE, command=["python3"],
                                instance_type="ml.m5.large", sagemaker_session=session, env={},
                                output_kms_key="mine", network_config=NetworkConfig(subnets=["s"], security_group_ids=["g"]))
    assert (processor.role, processor.env, processor.output_kms_key) == ("arn:aws:iam::1:role/Mine", {}, "mine")
    assert (processor.network_config.subnets, processor.network_config.enable_network_isolation) == (["s"], False)


def test_a_bad_override_names_the_variable_and_the_fix(tmp_path, monkeypatch, aws):  # noqa: F811
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(tmp_path / "none.yaml"))
    with pytest.raises(ValueError, match=r"^SAGEMAKER_USER_CONFIG_OVERRIDE=.*none\.yaml: no such configuration file"):
        ScriptProcessor(role="r", image_uri=IMAGE, command=["python3"], instance_type="ml.m5.large",
                        sagemaker_session=Session(boto_session=aws))
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", "s3://bucket/config.yaml")
    with pytest.raises(ValueError, match=r"configuration files in S3 are not read by clarify_engine.client; download"):
        Session(boto_session=aws)
    (tmp_path / "list.yaml").write_text("- a\n")
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(tmp_path / "list.yaml"))
    with pytest.raises(ValueError, match=r"expected a mapping at the top \(SchemaVersion, SageMaker\), found list"):
        Session(boto_session=aws)


def test_without_pyyaml_a_config_file_is_refused_with_the_fix(tmp_path):
    (tmp_path / "config.yaml").write_text(USER)
    code = ("import sys\nsys.modules['yaml'] = None\nfrom clarify_engine.client import _sdk_config\n"
            "try:\n    _sdk_config.load()\nexcept ValueError as e:\n    print(e)\n")
    env = {**os.environ, "SAGEMAKER_USER_CONFIG_OVERRIDE": str(tmp_path), "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == (f"SageMaker SDK config {tmp_path / 'config.yaml'}: reading it needs PyYAML "
                                   "(pip install pyyaml), which the SageMaker SDK itself installs; install it, or "
                                   "unset the config")
