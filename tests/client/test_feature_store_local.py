"""FeatureStoreOutput in local mode: the records a job leaves become Parquet in a local feature group.

End to end through real subprocess jobs (``ScriptProcessor`` on a ``LocalSession``), and the
checks of ``_feature_store.ingest`` one bad input at a time, each with its message.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from clarify_engine.client import (
    FeatureStoreOutput,
    LocalSession,
    ProcessingOutput,
    ScriptProcessor,
    UnexpectedStatusException,
)
from clarify_engine.client import _feature_store

NOW = dt.datetime(2026, 11, 28, 14, 5, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def session(tmp_path):
    return LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05, feature_store_root=tmp_path / "store")


def _fs_output(name="features", group="customers", **kw):
    return ProcessingOutput(output_name=name, app_managed=True,
                            feature_store_output=FeatureStoreOutput(feature_group_name=group), **kw)


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "job.py"
    path.write_text("import os, pathlib\n"
                    "root = pathlib.Path(os.environ['CLARIFY_PROCESSING_ROOT'])\n" + body)
    return str(path)


def test_a_job_writes_its_records_into_the_local_feature_group_partitioned_by_event_hour(tmp_path, session):
    group = session.create_feature_group("customers", record_identifier_feature_name="customer_id",
                                         event_time_feature_name="event_time")
    code = _script(tmp_path, (
        "out = root / 'opt/ml/processing/feature_store/features'\n"
        "(out / 'part-0.csv').write_text('customer_id,age,event_time\\n"
        "c1,31,2026-11-28T09:15:00Z\\nc2,45,2026-11-28T09:59:59Z\\n')\n"
        "import pandas as pd\n"
        "pd.DataFrame({'customer_id': ['c3'], 'age': [52], 'event_time': ['2026-11-28T10:00:00+01:00']})"
        ".to_parquet(out / 'part-1.parquet')\n"
        "(out / '_SUCCESS').write_text('')\n"))
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=code, outputs=[_fs_output()], job_name="fs-ok", logs=False)
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    files = sorted(group.data_folder.rglob("*.parquet"))
    # c3's 10:00+01:00 is 09:00 UTC: every record falls in the 09 hour of the day
    assert [f.parent.relative_to(group.data_folder).as_posix() for f in files] == \
        ["year=2026/month=11/day=28/hour=09"]
    assert re.fullmatch(r"\d{8}T\d{6}Z_[0-9a-f]{16}\.parquet", files[0].name)
    records = pd.read_parquet(files[0])
    assert list(records.columns) == ["customer_id", "age", "event_time", "api_invocation_time", "write_time",
                                     "is_deleted"]
    assert records["customer_id"].tolist() == ["c1", "c2", "c3"]
    assert records["age"].tolist() == [31, 45, 52]
    assert not records["is_deleted"].any()
    assert "Feature store output features: 1 Parquet file(s)" in (tmp_path / "jobs" / "fs-ok" / "job.log").read_text()


def test_records_in_the_output_source_folder_are_ingested_and_copied(tmp_path, session):
    group = session.create_feature_group("sales", "id", "ts")
    code = _script(tmp_path, (
        "(root / 'opt/ml/processing/output/s.csv').write_text('id,ts,amount\\n1,1764320400,9.5\\n2,1764324000,1\\n')\n"))
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=code, outputs=[_fs_output(group="sales", source="/opt/ml/processing/output",
                                                 destination=str(tmp_path / "copy"))], job_name="fs-source", logs=False)
    assert (tmp_path / "copy" / "s.csv").exists()
    hours = sorted(f.parent.name for f in group.data_folder.rglob("*.parquet"))
    assert hours == ["hour=09", "hour=10"]  # 1764320400 is 2025-11-28T09:00:00Z


def test_a_missing_feature_group_is_refused_before_the_job_starts(tmp_path, session):
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    with pytest.raises(ValueError, match=re.escape(
            "ProcessingOutput 'features': feature group 'customers' does not exist in the local feature store") +
            r".*create it first with LocalSession.create_feature_group\('customers', "):
        processor.run(code=_script(tmp_path, ""), outputs=[_fs_output()], job_name="fs-missing")
    assert processor.jobs == []


def test_a_bad_record_fails_the_job_naming_the_file_and_leaves_the_store_empty(tmp_path, session):
    group = session.create_feature_group("customers", "customer_id", "event_time")
    code = _script(tmp_path, (
        "out = root / 'opt/ml/processing/feature_store/features'\n"
        "(out / 'a.csv').write_text('customer_id,event_time\\nc1,2026-11-28T09:00:00Z\\n')\n"
        "(out / 'b.csv').write_text('id,event_time\\nc2,2026-11-28T09:00:00Z\\n')\n"))
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    with pytest.raises(UnexpectedStatusException) as info:
        processor.run(code=code, outputs=[_fs_output()], job_name="fs-bad", logs=False)
    reason = processor.latest_job.describe()["FailureReason"]
    assert reason == ("ClientError: feature store output 'features' (feature group 'customers'): b.csv: no record "
                      "identifier column 'customer_id' (columns: id, event_time); write that column, or create the "
                      "feature group with record_identifier_feature_name set to the column that holds it")
    assert reason in str(info.value)
    assert list(group.data_folder.rglob("*.parquet")) == []


# -- the checks, one bad input at a time ------------------------------------------------------------------


@pytest.fixture
def group(tmp_path):
    return _feature_store.create_feature_group(tmp_path / "store", "fg", "id", "ts")


def _ingest(tmp_path, group, files: dict):
    folder = tmp_path / "records"
    folder.mkdir()
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            content.to_parquet(folder / name)
        else:
            (folder / name).write_text(content)
    return _feature_store.ingest(folder, group, "out", now=NOW)


WHERE = "feature store output 'out' (feature group 'fg'): "


@pytest.mark.parametrize(("files", "message"), [
    ({"r.json": '{"id": 1}'},
     WHERE + "r.json: file 'r.json' is neither CSV (.csv, with a header row) nor Parquet (.parquet); write the records "
             "in one of these formats"),
    ({"r.csv": "id,x\n1,2\n"},
     WHERE + "r.csv: no event time column 'ts' (columns: id, x); write that column, or create the feature group with "
             "event_time_feature_name set to the column that holds it"),
    ({"r.parquet": pd.DataFrame({"key": [1], "ts": [1.5e9]})},
     WHERE + "r.parquet: no record identifier column 'id' (columns: key, ts); write that column, or create the feature "
             "group with record_identifier_feature_name set to the column that holds it"),
    ({"r.csv": "id,ts\n1,2026-11-28T09:00:00Z\n,2026-11-28T09:00:00Z\n"},
     WHERE + "r.csv, record 2: record identifier 'id' is empty; every record needs one"),
    ({"r.csv": "id,ts\n1,2026-11-28T09:00:00Z\n2,yesterday\n"},
     WHERE + "r.csv, record 2: event time 'ts' is 'yesterday', neither seconds since the epoch nor an ISO-8601 time "
             "(e.g. 2026-11-28T13:56:31Z); write every event time in one of these forms"),
    ({"r.csv": "id,ts,is_deleted\n1,1.5e9,false\n"},
     WHERE + "r.csv: column 'is_deleted' is one Feature Store adds to every record itself; rename or drop it"),
], ids=["not-csv-or-parquet", "no-event-time", "no-record-id", "empty-record-id", "bad-event-time", "added-column"])
def test_bad_records_are_refused_naming_the_file_and_the_fix(tmp_path, group, files, message):
    with pytest.raises(ValueError) as info:
        _ingest(tmp_path, group, files)
    assert str(info.value) == message
    assert not group.data_folder.exists()


def test_ingest_keeps_values_and_adds_feature_store_columns(tmp_path, group):
    written = _ingest(tmp_path, group, {"a.csv": "id,ts,v\n7,2026-01-02T03:04:05,x\n",
                                        "b.parquet": pd.DataFrame({"id": [8], "ts": ["2026-01-02T03:59:00Z"],
                                                                   "v": ["y"]})})
    assert len(written) == 1 and written[0].name.startswith("20261128T140500Z_")
    records = pd.read_parquet(written[0])
    assert records["ts"].tolist() == ["2026-01-02T03:04:05", "2026-01-02T03:59:00Z"]
    assert (records["write_time"] == pd.Timestamp(NOW)).all()
    assert (records["api_invocation_time"] == pd.Timestamp(NOW)).all()


def test_feature_group_names_and_features_follow_sagemaker_rules(tmp_path):
    with pytest.raises(ValueError, match=r"^feature_group_name '\.\./x': a feature group name is 1 to 64 letters"):
        _feature_store.create_feature_group(tmp_path, "../x", "id", "ts")
    with pytest.raises(ValueError, match=r"^event_time_feature_name 'write_time': Feature Store adds this column"):
        _feature_store.create_feature_group(tmp_path, "fg", "id", "write_time")
    _feature_store.create_feature_group(tmp_path, "fg", "id", "ts")
    with pytest.raises(ValueError, match=r"^feature group 'fg' already exists in the local feature store"):
        _feature_store.create_feature_group(tmp_path, "fg", "id", "ts")
