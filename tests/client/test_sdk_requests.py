"""Our requests against the real SDK 2.199.0's, byte for byte (``tools/record_sdk_requests.py``).

The recorder ran each case of ``tests/fixtures/sdk_requests/cases.json`` with the SDK's classes
and a ``sagemaker.Session`` on moto; here the same cases run, through the recorder's own
``run_case``, with this package's classes and :class:`~clarify_engine.client.Session` on moto
in server mode. Compared: the ``CreateProcessingJob`` parameters as botocore received them
(``json.dumps(params, indent=2)``, bytes), the S3 keys each call created, the generated
``configuration.json``/``runproc.sh`` bodies, and for the SDK's errors the type and the text.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from clarify_engine.client import (
    AthenaDatasetDefinition,
    DatasetDefinition,
    FeatureStoreOutput,
    NetworkConfig,
    ProcessingInput,
    ProcessingOutput,
    Processor,
    ScriptProcessor,
    Session,
)
from clarify_engine.client._framework import FrameworkProcessor
from clarify_engine.client.spark import PySparkProcessor, SparkJarProcessor
from tests.client.sdk_recordings import SKLearn, aws_on_moto, empty_bucket, load_tool
from tests.helpers import moto_server_url

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sdk_requests"
CASES = json.loads((FIXTURES / "cases.json").read_text())

#: Where this client differs from the SDK on purpose (docs/client.md, "Differences").
DELIBERATE = {
    # The SDK's docstring allows local directories in submit_py_files/jars/files and its check
    # refuses them (aws/sagemaker-python-sdk#2447); here the files directly inside join the channel.
    "error-py-files-directory",
}


RECORDER = load_tool("record_sdk_requests")
CLASSES = {c.__name__: c for c in (AthenaDatasetDefinition, DatasetDefinition, FeatureStoreOutput, FrameworkProcessor,
                                   NetworkConfig, ProcessingInput, ProcessingOutput, Processor, ScriptProcessor,
                                   SKLearn, PySparkProcessor, SparkJarProcessor)}


@pytest.fixture(scope="module")
def moto():
    server = moto_server_url()
    url = next(server)
    mp = pytest.MonkeyPatch()
    aws_on_moto(mp, url, CASES["region"])
    boto_session = boto3.Session(region_name=CASES["region"])
    s3 = boto_session.client("s3")
    for bucket in (CASES["bucket"], "user-bucket"):
        empty_bucket(s3, bucket, CASES["region"])
    sent: list = []
    sm = boto_session.client("sagemaker")
    sm.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob",
                            lambda params, **kw: sent.append(json.loads(json.dumps(params))))
    yield Session(boto_session=boto_session, sagemaker_client=sm, default_bucket=CASES["bucket"]), sent, s3
    mp.undo()
    server.close()


def test_the_recorded_cases_cover_the_classes_and_the_variants():
    names = [c["name"] for c in CASES["cases"]]
    requests = [n for n in names if (FIXTURES / f"{n}.request.json").exists()]
    assert CASES["recorded_with"]["sagemaker"] == "2.199.0"
    assert len(requests) >= 20
    assert {c["processor"] for c in CASES["cases"]} >= {"PySparkProcessor", "SparkJarProcessor", "FrameworkProcessor",
                                                        "Processor", "ScriptProcessor"}
    assert len(names) == len(set(names)) == len(list(FIXTURES.glob("*.meta.json")))


@pytest.mark.parametrize("spec", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_same_request_as_sdk_2_199(spec, moto):
    session, sent, s3 = moto
    recorded = json.loads((FIXTURES / f"{spec['name']}.meta.json").read_text())
    ours = RECORDER.run_case(spec, CLASSES, session, FIXTURES, sent, s3)
    if spec["name"] in DELIBERATE:
        assert recorded["error"] is not None and ours["meta"]["error"] is None
        assert ours["request"] is not None
        return
    assert ours["meta"]["error"] == recorded["error"]
    request_file = FIXTURES / f"{spec['name']}.request.json"
    if recorded["error"] is None:
        assert RECORDER.dump_request(ours["request"]) == request_file.read_text()
    else:
        assert ours["request"] is None and not request_file.exists()
    assert ours["meta"]["s3_keys"] == recorded["s3_keys"]
    assert ours["meta"]["s3_bodies"] == recorded["s3_bodies"]
