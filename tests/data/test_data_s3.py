"""s3:// datasets read through fsspec/s3fs against a real moto S3 server on loopback."""

from __future__ import annotations

import gzip
import io
import socket

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.data._spec import load_dataset
from clarify_engine.errors import DataError
from tests.data.conftest import sdk_config

import moto.server as moto_server  # noqa: E402
import boto3  # noqa: E402

BUCKET = "clarify-data"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """Start moto's S3 server, fill a bucket, yield (endpoint URL, fsspec storage options)."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    objects = {
        "csv/data.csv": b"Target,Age,Gender,Income,Occupation,RecordId\n1,30,0,2500,3,7\n0,41,1,2600,4,8\n",
        "parts/part-0.csv.gz": gzip.compress(b"1,30,0,2500,3,7\n"),
        "parts/part-1.csv": b"0,41,1,2600,4,8\n",
        "parts/_SUCCESS": b"",
        "predictions/part-0.csv": b"8,1\n7,0\n",
        "jsonl/d.jsonl": b'{"Features": [30, 0, 2500, 3], "Label": 1}\n{"Features": [41, 1, 2600, 4], "Label": 0}\n',
    }
    buffer = io.BytesIO()
    pq.write_table(pa.table({"Target": [1, 0], "Age": [30, 41], "Gender": [0, 1], "Income": [2.5, 3.5],
                             "Occupation": ["a", "b"]}), buffer)
    objects["parquet/part-0.parquet"] = buffer.getvalue()
    for key, body in objects.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
    options = {"key": "testing", "secret": "testing",
               "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
    yield endpoint, options
    server.stop()


def test_s3_csv_file(s3):
    _, options = s3
    ds = load_dataset(sdk_config("18"), f"s3://{BUCKET}/csv/data.csv", storage_options=options)
    assert ds.frame["Age"].tolist() == [30, 41]
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]
    assert ds.source_files == [f"s3://{BUCKET}/csv/data.csv"]


def test_s3_prefix_of_parts_with_predicted_label_dataset(s3):
    _, options = s3
    config = {**sdk_config("07"), "dataset_uri": f"s3://{BUCKET}/parts/",
              "predicted_label_dataset_uri": f"s3://{BUCKET}/predictions"}
    ds = load_dataset(config, storage_options=options)
    assert ds.source_files == [f"s3://{BUCKET}/parts/part-0.csv.gz", f"s3://{BUCKET}/parts/part-1.csv",
                               f"s3://{BUCKET}/predictions/part-0.csv"]
    assert ds.frame["PredictedTarget"].tolist() == [0, 1]


def test_s3_relative_side_dataset_against_s3_base_dir(s3):
    _, options = s3
    config = {**sdk_config("07"), "predicted_label_dataset_uri": "predictions/part-0.csv"}
    ds = load_dataset(config, f"s3://{BUCKET}/csv/data.csv", base_dir=f"s3://{BUCKET}/", storage_options=options)
    assert ds.frame["PredictedTarget"].tolist() == [0, 1]


def test_s3_parquet_and_jsonlines(s3):
    _, options = s3
    ds = load_dataset(sdk_config("14"), f"s3://{BUCKET}/parquet", storage_options=options)
    assert ds.frame["Occupation"].tolist() == ["a", "b"]
    ds = load_dataset(sdk_config("10"), f"s3://{BUCKET}/jsonl/d.jsonl", storage_options=options)
    assert ds.label == "Target" and ds.frame["Target"].tolist() == [1, 0]


def test_s3_endpoint_from_environment(s3, monkeypatch):
    import s3fs

    endpoint, _ = s3
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        ds = load_dataset({"dataset_type": "text/csv", "label": "Target"}, f"s3://{BUCKET}/csv/data.csv")
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert len(ds.frame) == 2


def test_s3_missing_key(s3):
    _, options = s3
    with pytest.raises(DataError, match=rf"^Dataset location s3://{BUCKET}/nothing/here does not exist"):
        load_dataset(sdk_config("18"), f"s3://{BUCKET}/nothing/here", storage_options=options)
