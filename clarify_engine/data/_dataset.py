"""Load the dataset of a Clarify job into one frame with resolved column roles."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from clarify_engine import _warnings
from clarify_engine.errors import ConfigError, DataError
from clarify_engine.data._spec import DataSpec
from clarify_engine.data._join import join_columns
from clarify_engine.data._json import JsonColumns, read_json_files, read_jsonlines_files
from clarify_engine.data._readlog import ReadLog
from clarify_engine.data._roles import describe_columns, resolve_column
from clarify_engine.data._sources import resolve_location, scan_files
from clarify_engine.data._tabular import frame_from_table, read_csv_files, read_parquet_files

__all__ = ["Dataset", "load_dataset", "read_table"]

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
PARQUET = "application/x-parquet"
#: The dataset types this loader reads into a table (the planner refuses the others).
TABLE_TYPES = (CSV, JSONLINES, JSON, PARQUET)
#: Images: the dataset is the list of image files (``data/_images.py``).
IMAGE = "application/x-image"

#: Name of the predicted-label column when ``predicted_label`` is absent (§2.1).
DEFAULT_PREDICTED_LABEL = "predicted_label"


@dataclass(frozen=True)
class Dataset:
    """The dataset of a Clarify job with every column role resolved to a column name.

    Attributes
    ----------
    frame : pandas.DataFrame
        Shape ``(n_rows, n_columns)``: every column of the main dataset (named by
        ``headers``), then the facet-dataset columns, then the predicted-label column
        when it comes from a separate dataset.
    label, predicted_label : str or None
        Column names of the label and of the predicted label.
    features : list of str
        Model-input columns in order: main-dataset columns minus label, predicted label,
        join key and ``excluded_columns``.
    facets : list of (str, list or None)
        Resolved facet column and its ``value_or_threshold`` (None when absent).
    group_variable, joinsource : str or None
        Column names of the subgroup variable and of the join key.
    source_files : list of str
        Files read, in order: main dataset, facet dataset, predicted-label dataset.
    read_report : dict
        Per dataset read (``"dataset"``, ``"facet_dataset"``, ``"predicted_label_dataset"``):
        ``{"rows_read", "files_read", "files": [{"file", "rows"}], "files_skipped":
        [{"file", "reason"}]}`` (:class:`~clarify_engine.data._readlog.ReadLog`); written to
        the run manifest.
    warnings : tuple of JobWarning
        Problems found while loading that did not stop it (e.g. rows an inner join dropped).
    """

    frame: pd.DataFrame
    label: str | None = None
    predicted_label: str | None = None
    features: list[str] = field(default_factory=list)
    facets: list[tuple[str, list | None]] = field(default_factory=list)
    group_variable: str | None = None
    joinsource: str | None = None
    source_files: list[str] = field(default_factory=list)
    read_report: dict = field(default_factory=dict)
    warnings: tuple = ()


def _is_table(source: Any) -> bool:
    if isinstance(source, pd.DataFrame):
        return True
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return False
    return isinstance(source, pa.Table)


def _list(location: str, storage_options, log: ReadLog) -> list[str]:
    files, skipped = scan_files(location, storage_options)
    for entry in skipped:
        log.skip(entry["file"], entry["reason"])
    return files


def _read_main(keys, dataset_type, source, base_dir, storage_options, log: ReadLog):
    """Return (frame, files, json_roles); json_roles maps label/predicted_label to columns."""
    headers = keys.headers
    if _is_table(source):
        frame = frame_from_table(source, headers, by_name=True)
        log.read(f"<{type(source).__name__}>", len(frame))
        return frame, [], None
    if source is not None:
        if not isinstance(source, (str, os.PathLike)):
            raise DataError(
                f"Cannot load a dataset from {type(source).__name__}; expected a path, URL, "
                "pandas.DataFrame or pyarrow.Table."
            )
        location = os.fspath(source)
    elif keys.dataset_uri is not None:
        location = resolve_location(keys.dataset_uri, base_dir)
    else:
        raise ConfigError("dataset_uri", "expected a dataset location, found none (no source passed and no dataset_uri)")
    files = _list(location, storage_options, log)
    if dataset_type == CSV:
        return read_csv_files(files, headers, storage_options, log=log), files, None
    if dataset_type == PARQUET:
        return read_parquet_files(files, headers, storage_options, log=log), files, None
    # With a predicted-label dataset, predicted_label addresses that CSV, not the JSON records.
    in_records = keys.predicted_label if keys.predicted_label_dataset_uri is None else None
    columns = JsonColumns(keys.features, keys.label, in_records)
    reader = read_jsonlines_files if dataset_type == JSONLINES else read_json_files
    frame = reader(files, columns, headers, storage_options, log=log)
    roles = [k for k in ("label", "predicted_label") if k in columns.compiled]
    n_features = frame.shape[1] - len(roles)
    return frame, files, {key: frame.columns[n_features + i] for i, key in enumerate(roles)}


def _read_side(uri, headers, base_dir, storage_options, what, log: ReadLog):
    files = _list(resolve_location(uri, base_dir), storage_options, log)
    frame = read_csv_files(files, headers, storage_options, what=what.capitalize(),
                           log=log)
    return frame, files


def _side_key(keys: DataSpec, main_key: str | None, frame: pd.DataFrame, what: str) -> str | None:
    """The join-key column of a facet/predicted-label dataset (same name, or same index)."""
    if main_key is None:
        return None
    address = keys.joinsource_name_or_index
    return resolve_column("joinsource_name_or_index", main_key if isinstance(address, str) else address,
                          list(frame.columns), what)


def _predicted_label_column(keys: DataSpec, frame: pd.DataFrame, side_key: str | None) -> tuple[str, pd.DataFrame]:
    if keys.predicted_label is not None:
        return resolve_column("predicted_label", keys.predicted_label, list(frame.columns), "predicted label dataset"), frame
    if DEFAULT_PREDICTED_LABEL in frame.columns:
        return DEFAULT_PREDICTED_LABEL, frame
    others = [c for c in frame.columns if c != side_key]
    if len(others) == 1:
        return DEFAULT_PREDICTED_LABEL, frame.rename(columns={others[0]: DEFAULT_PREDICTED_LABEL})
    raise DataError(
        f"predicted_label: not set, and the predicted label dataset has no column {DEFAULT_PREDICTED_LABEL!r} "
        f"nor a single non-key column; columns are: {describe_columns(list(frame.columns))}. "
        "Set predicted_label or predicted_label_headers."
    )


def load_dataset(spec: DataSpec, source: Any = None, *, base_dir: Any = None,
                 storage_options: dict | None = None) -> Dataset:
    """Load the dataset a job's :class:`DataSpec` describes.

    Parameters
    ----------
    spec : DataSpec
        The dataset keys of the job, resolved from the config by
        :func:`clarify_engine.job.plan_data` (``clarify_engine.load_dataset`` takes a config).
    source : str, path-like, pandas.DataFrame or pyarrow.Table, optional
        The main dataset: a file, a folder of part files, a URL (``s3://`` via fsspec),
        or an in-memory table. Absent → ``spec.dataset_uri``. In-memory tables are
        tabular whatever the ``dataset_type``: ``label``, ``predicted_label`` and facets
        address their columns by name or index, and ``features`` is not used.
    base_dir : str or path-like, optional
        Folder (or URL) that relative ``dataset_uri``, ``facet_dataset_uri`` and
        ``predicted_label_dataset_uri`` are taken from.
    storage_options : dict, optional
        fsspec options for URLs, e.g. ``{"client_kwargs": {"endpoint_url": ...}}``.

    Returns
    -------
    Dataset

    Raises
    ------
    ConfigError
        No dataset location.
    DataError
        A file cannot be read or parsed, header count mismatch, a header-like first row
        that differs from ``headers``, an unclosed quote, a JSON record without features or
        label, a column named in the config does not exist, or the facet/predicted-label
        datasets cannot be joined.

    Notes
    -----
    Read rules (header rows, default names, joins) are in ``docs/datasets.md``; key
    meanings follow the Clarify analysis configuration reference (contract §2.1). Rows and
    files read and skipped are logged at INFO and kept in ``Dataset.read_report``.
    """
    if not isinstance(spec, DataSpec):
        raise TypeError(f"load_dataset expects a DataSpec (clarify_engine.job.plan_data(config)), found "
                        f"{type(spec).__name__}; clarify_engine.load_dataset(config, source) takes a config")
    if spec.dataset_type == IMAGE:  # one row per image file; the job reads the images one by one
        from clarify_engine.data._images import load_image_dataset

        return load_image_dataset(spec.dataset_uri, source, base_dir=base_dir, storage_options=storage_options)
    if spec.dataset_type not in TABLE_TYPES:
        raise ValueError(f"DataSpec.dataset_type: expected one of {', '.join(TABLE_TYPES)}, found {spec.dataset_type!r}")
    with _warnings.collect() as found:
        dataset = _load(spec, source, base_dir, storage_options)
    return dataclasses.replace(dataset, warnings=tuple(found))


def read_table(location: str, dataset_type: str, headers: list[str], *, features: str | None = None,
               base_dir: Any = None, storage_options: dict | None = None) -> pd.DataFrame:
    """Read one table (e.g. a SHAP baseline file) with the job's format and column names.

    Parameters
    ----------
    location : str
        File, folder or URL; relative to ``base_dir``.
    dataset_type : str
        One of the table types (``text/csv``, ``application/jsonlines``, ``application/json``,
        ``application/x-parquet``).
    headers : list of str
        The column names (for JSON data: the names of the values ``features`` yields).
    features : str, optional
        JMESPath of the feature values in JSON Lines / JSON records.

    Returns
    -------
    pandas.DataFrame
        Columns ``headers``, in file order.
    """
    json_type = dataset_type in (JSON, JSONLINES)
    spec = DataSpec(dataset_type=dataset_type, dataset_uri=location, headers=tuple(headers),
                    features=features if json_type else None)
    return load_dataset(spec, base_dir=base_dir, storage_options=storage_options).frame.loc[:, list(headers)]


def _load(keys: DataSpec, source, base_dir, storage_options) -> Dataset:
    dataset_type = keys.dataset_type
    logs = {"dataset": ReadLog("dataset")}

    frame, files, json_roles = _read_main(keys, dataset_type, source, base_dir, storage_options, logs["dataset"])
    main_columns = list(frame.columns)
    source_files = list(files)

    label, joinsource = main_roles(keys, main_columns, json_roles)

    facet_columns: list[str] = []
    facet_frame_columns = None
    if keys.facet_dataset_uri is not None:
        what = "facet dataset"
        logs["facet_dataset"] = ReadLog(what)
        side, side_files = _read_side(keys.facet_dataset_uri, keys.facet_headers, base_dir,
                                      storage_options, what, logs["facet_dataset"])
        side_key = _side_key(keys, joinsource, side, what)
        facet_frame_columns = list(side.columns)
        facet_columns = [c for c in side.columns if c != side_key]
        frame = join_columns(frame, side, facet_columns, main_key=joinsource, other_key=side_key, what=what)
        source_files += side_files

    predicted_label = None
    if keys.predicted_label_dataset_uri is not None:
        what = "predicted label dataset"
        logs["predicted_label_dataset"] = ReadLog(what)
        side, side_files = _read_side(keys.predicted_label_dataset_uri, keys.predicted_label_headers, base_dir, storage_options, what,
                                      logs["predicted_label_dataset"])
        side_key = _side_key(keys, joinsource, side, what)
        predicted_label, side = _predicted_label_column(keys, side, side_key)
        if predicted_label == side_key:
            raise DataError(f"predicted_label: column {predicted_label!r} is the join key of the {what}.")
        frame = join_columns(frame, side, [predicted_label], main_key=joinsource, other_key=side_key, what=what)
        source_files += side_files
    else:
        predicted_label = main_predicted_label(keys, main_columns, json_roles)

    for log in logs.values():
        log.log_summary()
    roles = other_roles(keys, main_columns, list(frame.columns), facet_frame_columns, label, predicted_label, joinsource)
    return Dataset(frame=frame, label=label, predicted_label=predicted_label, joinsource=joinsource,
                   source_files=source_files, read_report={name: log.to_dict() for name, log in logs.items()},
                   **roles)


def main_roles(keys: DataSpec, main_columns: list[str], json_roles: dict | None) -> tuple[str | None, str | None]:
    """``(label, joinsource)`` column names, resolved on the main dataset's columns."""
    if json_roles is not None:
        label = json_roles.get("label")
    else:
        label = None if keys.label is None else resolve_column("label", keys.label, main_columns)
    joinsource = None
    if keys.joinsource_name_or_index is not None:
        joinsource = resolve_column("joinsource_name_or_index", keys.joinsource_name_or_index, main_columns)
    return label, joinsource


def main_predicted_label(keys: DataSpec, main_columns: list[str], json_roles: dict | None) -> str | None:
    """The predicted-label column when it lives in the main dataset (no predicted-label dataset)."""
    if json_roles is not None:
        return json_roles.get("predicted_label")
    if keys.predicted_label is not None:
        return resolve_column("predicted_label", keys.predicted_label, main_columns)
    return None


def other_roles(keys: DataSpec, main_columns: list[str], all_columns: list[str], facet_frame_columns: list[str] | None,
                label: str | None, predicted_label: str | None, joinsource: str | None) -> dict:
    """``facets``, ``group_variable`` and ``features`` of :class:`Dataset`, resolved on the columns.

    ``all_columns`` are the main dataset's columns followed by the joined ones;
    ``facet_frame_columns`` those of a facet dataset (None without one).
    """
    facets = []
    for i, facet in enumerate(keys.facet):
        path = f"facet[{i}].name_or_index"
        if facet_frame_columns is not None:
            name = resolve_column(path, facet.name_or_index, facet_frame_columns, "facet dataset")
        else:
            name = resolve_column(path, facet.name_or_index, main_columns)
        values = None if facet.value_or_threshold is None else list(facet.value_or_threshold)
        facets.append((name, values))

    group_variable = None
    if keys.group_variable is not None:
        # A name may live in the facet dataset; an index counts main-dataset columns.
        columns = all_columns if isinstance(keys.group_variable, str) else main_columns
        group_variable = resolve_column("group_variable", keys.group_variable, columns)

    excluded = set()
    for i, column in enumerate(keys.excluded_columns or ()):
        excluded.add(resolve_column(f"excluded_columns[{i}]", column, main_columns))

    not_features = {label, predicted_label, joinsource, *excluded} - {None}
    features = [c for c in main_columns if c not in not_features]
    return {"facets": facets, "group_variable": group_variable, "features": features}
