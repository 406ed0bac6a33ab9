"""What the tests replaying SDK recordings share: the recording tools as modules, and AWS on moto.

``tests/client/test_sdk_requests.py``, ``test_sdk_pipelines.py`` and ``test_sdk_unit_tests.py``
run the cases of the committed tools (``tools/record_sdk_*.py``, ``tools/run_sdk_unit_tests.py``)
with this package's classes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` as a module (the tools folder on the path while it loads: they import each other)."""
    sys.path.insert(0, str(TOOLS))
    try:
        spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(TOOLS))
    return module


class SKLearn:
    """The estimator class a FrameworkProcessor names; the recorded cases use it for the image and job name."""

    _framework_name = "sklearn"


def aws_on_moto(mp: pytest.MonkeyPatch, url: str, region: str) -> None:
    """Point boto3 at the moto server ``url`` with fake credentials, none of the caller's AWS settings."""
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": region}.items():
        mp.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "CLARIFY_ENGINE_IMAGE_URI"):
        mp.delenv(key, raising=False)


def empty_bucket(s3, bucket: str, region: str) -> None:
    """A bucket with nothing in it (moto keeps its state for the whole test process)."""
    try:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
