"""A local feature store: what a local job's ``FeatureStoreOutput`` writes (SageMaker Feature Store's offline store).

On SageMaker an output with ``feature_store_output=FeatureStoreOutput(feature_group_name=...)``
is app-managed: the job's application puts the records into the feature group, whose offline
store keeps them as Parquet in S3, partitioned by the hour of each record's event time, with
three columns Feature Store adds (``api_invocation_time``, ``write_time``, ``is_deleted``).

A local job has no Feature Store to talk to, so the session does the ingestion itself: the job
writes its records as CSV (with a header row) or Parquet files into the output's folder (its
``source``, or ``/opt/ml/processing/feature_store/<output_name>`` when it has none), and when the
job succeeds every record is checked against the feature group's definition and written to

``<feature store root>/<feature group>/data/year=YYYY/month=MM/day=DD/hour=HH/<write time>_<random>.parquet``

(the offline store's Glue layout below its ``ResolvedOutputS3Uri``). The feature group must
exist first (:func:`create_feature_group`: ``<root>/<name>/feature-group.json``, the
``DescribeFeatureGroup`` fields a job needs), as on SageMaker.

Notes
-----
Checked, as Feature Store does at ``PutRecord``: the record identifier column is present and
never empty; the event time column is present and each value is seconds since the epoch
(``Fractional``) or an ISO-8601 time (``String``; without a zone it is taken as UTC); no column
takes a name Feature Store adds itself. Files whose name starts with ``_`` or ``.`` (Spark's
``_SUCCESS`` and ``.crc`` files) are skipped. Feature definitions (types per column) are not
kept: the Parquet files keep the types the job wrote.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clarify_engine._io import atomic_write

#: Where a local job writes the records of a feature store output that has no ``source``.
FEATURE_STORE_PATH = "/opt/ml/processing/feature_store"
#: The columns Feature Store adds to every record of the offline store.
ADDED_COLUMNS = ("api_invocation_time", "write_time", "is_deleted")
#: SageMaker's rule for feature group names (it also keeps them safe as folder names).
GROUP_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}$")
DEFINITION_FILE = "feature-group.json"


@dataclass(frozen=True)
class LocalFeatureGroup:
    """A feature group of the local feature store.

    Attributes
    ----------
    name : str
        ``FeatureGroupName``.
    record_identifier_feature_name : str
        The column that names each record (``RecordIdentifierFeatureName``).
    event_time_feature_name : str
        The column that dates each record (``EventTimeFeatureName``).
    folder : Path
        ``<root>/<name>``; records go under its ``data/``.
    """

    name: str
    record_identifier_feature_name: str
    event_time_feature_name: str
    folder: Path

    @property
    def data_folder(self) -> Path:
        """The offline store's folder (``ResolvedOutputS3Uri``)."""
        return self.folder / "data"


def check_group_name(name: object) -> str:
    """``name`` if it is a valid feature group name, else ``ValueError`` with SageMaker's rule."""
    if not isinstance(name, str) or not GROUP_NAME_PATTERN.match(name):
        raise ValueError(f"feature_group_name {name!r}: a feature group name is 1 to 64 letters, digits, '-' and "
                         "'_', starting and ending with a letter or digit")
    return name


def create_feature_group(root: Path, feature_group_name: str, record_identifier_feature_name: str,
                         event_time_feature_name: str) -> LocalFeatureGroup:
    """Create a feature group in the local store ``root`` (``<root>/<name>/feature-group.json``).

    Raises
    ------
    ValueError
        A bad name, a feature name that is empty or one Feature Store adds itself, or a group
        that already exists.
    """
    check_group_name(feature_group_name)
    for key, value in (("record_identifier_feature_name", record_identifier_feature_name),
                       ("event_time_feature_name", event_time_feature_name)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be the name of a column of the records, got {value!r}")
        if value in ADDED_COLUMNS:
            raise ValueError(f"{key} {value!r}: Feature Store adds this column to every record itself; "
                             "name another column")
    folder = Path(root) / feature_group_name
    if (folder / DEFINITION_FILE).exists():
        raise ValueError(f"feature group {feature_group_name!r} already exists in the local feature store "
                         f"{str(root)!r}; pick another name or use the existing group")
    folder.mkdir(parents=True, exist_ok=True)
    group = LocalFeatureGroup(feature_group_name, record_identifier_feature_name, event_time_feature_name, folder)
    atomic_write(folder / DEFINITION_FILE, json.dumps({
        "FeatureGroupName": feature_group_name,
        "RecordIdentifierFeatureName": record_identifier_feature_name,
        "EventTimeFeatureName": event_time_feature_name,
        "OfflineStoreConfig": {"S3StorageConfig": {"ResolvedOutputS3Uri": str(group.data_folder)}},
    }, indent=2))
    return group


def load_feature_group(root: Path, feature_group_name: str, output_name: str | None) -> LocalFeatureGroup:
    """The feature group ``feature_group_name`` of the local store ``root``.

    Raises
    ------
    ValueError
        It does not exist (the message says how to create it).
    """
    check_group_name(feature_group_name)
    path = Path(root) / feature_group_name / DEFINITION_FILE
    if not path.is_file():
        raise ValueError(
            f"ProcessingOutput {output_name!r}: feature group {feature_group_name!r} does not exist in the local "
            f"feature store {str(root)!r}; create it first with LocalSession.create_feature_group("
            f"{feature_group_name!r}, record_identifier_feature_name=..., event_time_feature_name=...)")
    definition = json.loads(path.read_text())
    return LocalFeatureGroup(feature_group_name, definition["RecordIdentifierFeatureName"],
                             definition["EventTimeFeatureName"], path.parent)


def _read_records(path: Path, where: str) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith(".csv"):
        return pd.read_csv(path)
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    raise ValueError(f"{where}: file {path.name!r} is neither CSV (.csv, with a header row) nor Parquet (.parquet); "
                     "write the records in one of these formats")


def _iso_time(value: object) -> _dt.datetime | None:
    """An ISO-8601 time as UTC (no zone: UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=_dt.timezone.utc) if parsed.tzinfo is None else parsed.astimezone(_dt.timezone.utc)


def _event_times(values: pd.Series, column: str, where: str) -> pd.Series:
    """Each event time as a UTC timestamp: seconds since the epoch (``Fractional``) or ISO-8601 (``String``)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        parsed = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(pd.Series([_iso_time(v) for v in values], index=values.index, dtype=object),
                                utc=True)
    bad = parsed.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{where}, record {row + 1}: event time {column!r} is {values.iloc[row]!r}, neither seconds "
                         "since the epoch nor an ISO-8601 time (e.g. 2026-11-28T13:56:31Z); write every event time "
                         "in one of these forms")
    return parsed


def _check_records(frame: pd.DataFrame, group: LocalFeatureGroup, where: str) -> pd.Series:
    """Check one file's records against ``group``; their event times (UTC)."""
    columns = [str(c) for c in frame.columns]
    for added in ADDED_COLUMNS:
        if added in columns:
            raise ValueError(f"{where}: column {added!r} is one Feature Store adds to every record itself; "
                             "rename or drop it")
    for what, column, key in (("record identifier", group.record_identifier_feature_name,
                               "record_identifier_feature_name"),
                              ("event time", group.event_time_feature_name, "event_time_feature_name")):
        if column not in columns:
            raise ValueError(f"{where}: no {what} column {column!r} (columns: {', '.join(columns)}); write that column, "
                             f"or create the feature group with {key} set to the column that holds it")
    ids = frame[group.record_identifier_feature_name]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        row = int(empty.to_numpy().nonzero()[0][0])
        raise ValueError(f"{where}, record {row + 1}: record identifier {group.record_identifier_feature_name!r} is "
                         "empty; every record needs one")
    return _event_times(frame[group.event_time_feature_name], group.event_time_feature_name, where)


def ingest(folder: Path, group: LocalFeatureGroup, output_name: str, now: _dt.datetime | None = None) -> list[Path]:
    """Put the records the job left in ``folder`` into ``group``'s offline store; the Parquet files written.

    Every file is checked before anything is written, so a bad file leaves the store unchanged.

    Raises
    ------
    ValueError
        A file that is not CSV/Parquet, a missing record identifier or event time column, an
        empty record identifier, an event time that is no time, a column Feature Store adds.
    """
    where_base = f"feature store output {output_name!r} (feature group {group.name!r})"
    frames = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.startswith(("_", ".")):
            continue
        where = f"{where_base}: {path.relative_to(folder).as_posix()}"
        frame = _read_records(path, where)
        times = _check_records(frame, group, where)
        frames.append(frame.assign(_event_hour=times.dt.floor("h").to_numpy()))
    if not frames:
        return []
    records = pd.concat(frames, ignore_index=True)
    write_time = pd.Timestamp(now or _dt.datetime.now(_dt.timezone.utc))
    records["api_invocation_time"] = write_time
    records["write_time"] = write_time
    records["is_deleted"] = False
    stamp = write_time.strftime("%Y%m%dT%H%M%SZ")
    written = []
    for hour, part in records.groupby("_event_hour", sort=True):
        hour = pd.Timestamp(hour)
        target = group.data_folder / f"year={hour:%Y}" / f"month={hour:%m}" / f"day={hour:%d}" / f"hour={hour:%H}"
        target.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        part.drop(columns="_event_hour").reset_index(drop=True).to_parquet(buffer, index=False)
        written.append(atomic_write(target / f"{stamp}_{secrets.token_hex(8)}.parquet", buffer.getvalue()))
    return written


__all__ = ["ADDED_COLUMNS", "FEATURE_STORE_PATH", "LocalFeatureGroup", "create_feature_group", "ingest",
           "load_feature_group"]
