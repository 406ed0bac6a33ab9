"""Fixtures shared by the client's tests."""

from __future__ import annotations

import uuid

import boto3
import pytest

from tests.helpers import moto_server_url


@pytest.fixture
def moto_s3(monkeypatch):
    """A moto S3 server's client and a fresh bucket in it: ``(s3_client, bucket)``."""
    server = moto_server_url()
    url = next(server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    bucket = f"events-{uuid.uuid4().hex[:8]}"  # moto keeps its state for the whole test process
    s3.create_bucket(Bucket=bucket)
    yield s3, bucket
    server.close()
