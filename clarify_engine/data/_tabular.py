"""Readers for tabular datasets: CSV files, Parquet files and in-memory tables.

Values keep the dtypes their reader infers (``pandas.read_csv`` for CSV, Arrow's
``to_pandas`` for Parquet: int64, float64, bool, object or str); the bias metrics type
columns from those dtypes, so nothing is cast afterwards.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import pandas as pd

from clarify_engine import _stop
from clarify_engine.errors import DataError
from clarify_engine.data._sources import open_binary

__all__ = ["default_names", "frame_from_table", "read_csv_files", "read_parquet_files"]

HEADER_MISMATCH = "Headers in config do not match with the number of columns in the dataset."


def default_names(count: int) -> list[str]:
    """Column names for data without a header: ``column_0``, ``column_1``, ..."""
    return [f"column_{i}" for i in range(count)]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _looks_like_data(row: Sequence[str]) -> bool:
    """A first row is data (not a header) when any cell is empty or parses as a number."""
    return any(cell.strip() == "" or _is_number(cell) for cell in row)


def _first_row(stream, location: str) -> list[str] | None:
    try:
        head = pd.read_csv(stream, header=None, nrows=1, dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.EmptyDataError:
        return None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot parse CSV file {location}: {exc}") from exc
    return [str(cell) for cell in head.iloc[0].tolist()]


def _read_csv(stream, location: str, **options) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(stream, index_col=False, **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"Cannot parse CSV file {location}: {exc}") from exc


def _read_csv_file(location: str, headers: Sequence[str] | None, storage_options) -> pd.DataFrame | None:
    with open_binary(location, storage_options) as stream:
        first = _first_row(stream, location)
        if first is None:
            return None
        stream.seek(0)
        if headers is not None:
            if len(first) != len(headers):
                raise DataError(
                    f"{HEADER_MISMATCH} File {location}: {len(headers)} headers in config, "
                    f"{len(first)} columns in the first row."
                )
            has_header = [c.strip() for c in first] == [str(h).strip() for h in headers]
            return _read_csv(stream, location, header=0 if has_header else None, names=list(headers))
        if _looks_like_data(first):
            return _read_csv(stream, location, header=None, names=default_names(len(first)))
        return _read_csv(stream, location, header=0)


def _concat(frames: list[pd.DataFrame], files: list[str], what: str) -> pd.DataFrame:
    columns = list(frames[0].columns)
    for frame, location in zip(frames[1:], files[1:]):
        if list(frame.columns) != columns:
            raise DataError(
                f"{what} file {location} has columns {list(frame.columns)}, but {files[0]} has "
                f"{columns}; every file of a dataset must have the same columns."
            )
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def read_csv_files(
    files: Sequence[str], headers: Sequence[str] | None, storage_options=None, what: str = "Dataset"
) -> pd.DataFrame:
    """Read CSV files into one frame, deciding per file whether it has a header row.

    Parameters
    ----------
    files : sequence of str
        Files in read order (see :func:`~clarify_engine.data._sources.list_files`).
    headers : sequence of str, optional
        Column names from the config. The first row is a header row when it equals them
        (cells compared after stripping spaces), data otherwise. Without ``headers`` the
        first row is a header row unless any cell is empty or numeric; then the columns
        are named ``column_0``, ``column_1``, ...
    storage_options : dict, optional
        fsspec options for URLs.
    what : str
        How messages name this dataset ("Dataset", "Facet dataset", ...).

    Returns
    -------
    pandas.DataFrame
        Shape ``(total rows, n_columns)``, dtypes as ``pandas.read_csv`` infers them per
        file, then combined by ``pandas.concat``. Empty files are skipped.
    """
    frames, read = [], []
    for location in files:
        _stop.check()
        frame = _read_csv_file(location, headers, storage_options)
        if frame is not None:
            frames.append(frame)
            read.append(location)
    if not frames:
        if headers is not None:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in headers})
        raise DataError(f"{what} is empty: no rows in {', '.join(files)}.")
    return _concat(frames, read, what)


def read_parquet_files(
    files: Sequence[str], headers: Sequence[str] | None, storage_options=None, what: str = "Dataset"
) -> pd.DataFrame:
    """Read Parquet files (a file or the part files of a folder) into one frame.

    Arrow tables are concatenated (numeric types promoted) and converted once with
    ``pyarrow.Table.to_pandas``: integers with nulls become float64, strings ``str``.
    With ``headers`` in the config, the columns are renamed to them by position; their
    count must match.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for location in files:
        _stop.check()
        with open_binary(location, storage_options) as stream:
            try:
                tables.append(pq.read_table(stream))
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise DataError(f"Cannot read Parquet file {location}: {exc}") from exc
    names = tables[0].column_names
    for table, location in zip(tables[1:], files[1:]):
        if table.column_names != names:
            raise DataError(
                f"{what} file {location} has columns {table.column_names}, but {files[0]} has "
                f"{names}; every file of a dataset must have the same columns."
            )
    try:
        table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    except pa.ArrowException as exc:
        raise DataError(f"{what} Parquet files have incompatible column types: {exc}") from exc
    return frame_from_table(table, headers, what)


def frame_from_table(table, headers: Sequence[str] | None, what: str = "Dataset") -> pd.DataFrame:
    """Turn an in-memory ``pandas.DataFrame`` or ``pyarrow.Table`` into the dataset frame.

    Columns keep their dtypes. Names: with ``headers`` the columns are renamed to them by
    position (counts must match); without, non-string names (e.g. the integer labels of a
    frame built from a list of lists) become ``column_0``, ``column_1``, ...
    """
    if isinstance(table, pd.DataFrame):
        frame = table.copy()  # copy-on-write: cheap, and our renames never touch the caller's frame
    else:
        frame = table.to_pandas()
    frame = frame.reset_index(drop=True)
    if headers is not None:
        if len(headers) != frame.shape[1]:
            raise DataError(
                f"{HEADER_MISMATCH} {what}: {len(headers)} headers in config, {frame.shape[1]} columns in the data."
            )
        frame.columns = list(headers)
    elif not all(isinstance(c, str) for c in frame.columns):
        frame.columns = default_names(frame.shape[1])
    if frame.columns.has_duplicates:
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"{what} has duplicate column names {duplicated}; column names must be unique.")
    return frame
