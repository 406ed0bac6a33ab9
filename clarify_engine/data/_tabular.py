"""Readers for tabular datasets: CSV files, Parquet files and in-memory tables.

Values keep the dtypes their reader infers (``pandas.read_csv`` for CSV, Arrow's
``to_pandas`` for Parquet: int64, float64, bool, object or str); the bias metrics type
columns from those dtypes, so nothing is cast afterwards.
"""

from __future__ import annotations

import csv
import io
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.errors import DataError
from clarify_engine.data._readlog import ReadLog
from clarify_engine.data._roles import describe_columns
from clarify_engine.data._sources import open_binary

__all__ = ["csv_layout", "default_names", "first_rows", "frame_from_table", "read_csv_files", "read_parquet_files",
           "short_row_message"]

HEADER_MISMATCH = "Headers in config do not match with the number of columns in the dataset."

#: Whether pandas copies a column only when it is written (always from pandas 3): then a
#: shallow copy of a caller's frame is as safe as a deep one and costs nothing.
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3 or pd.get_option("mode.copy_on_write") is True

#: Rows after the first that the header-row check looks at.
SAMPLE_ROWS = 50

#: Cells ``pandas.read_csv`` reads as missing by default (never a sign of a header row).
MISSING_MARKERS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})


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


def first_rows(stream, location: str) -> list[list[str]] | None:
    """The first row and up to :data:`SAMPLE_ROWS` more, as text (None for an empty file)."""
    try:
        head = pd.read_csv(stream, header=None, nrows=SAMPLE_ROWS + 1, dtype=str, keep_default_na=False,
                           index_col=False)
    except pd.errors.EmptyDataError:
        return None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot parse CSV file {location}: {exc}") from exc
    return [[str(cell) for cell in row] for row in head.itertuples(index=False)]


def _header_like(rows: list[list[str]], headers: Sequence[str]) -> str | None:
    """Why a first row that differs from ``headers`` looks like a header row (None if it does not).

    It does when it equals ``headers`` but for case, or when a column holds numbers in every
    sampled row after the first but text in the first.
    """
    first, rest = rows[0], rows[1:]
    if [c.strip().lower() for c in first] == [str(h).strip().lower() for h in headers]:
        return "it equals headers except for upper/lower case"
    for j, cell in enumerate(first):
        below = [row[j].strip() for row in rest if j < len(row) and row[j].strip() not in MISSING_MARKERS]
        if cell.strip() not in MISSING_MARKERS and not _is_number(cell) and below and all(_is_number(v) for v in below):
            return f"column {str(headers[j])!r} holds numbers below it, but the first row has {cell.strip()!r}"
    return None


def _check_quotes(frame: pd.DataFrame, data: bytes, has_header: bool, location: str) -> None:
    """Refuse a file whose rows were swallowed by an unclosed quote.

    Fewer rows than non-blank lines means that some quoted cells span lines. A cell that spans
    lines *and* holds, after a line break, at least as many commas as separate the cells of a
    row holds whole rows: an unclosed quote. (Text with fewer commas may span lines.)
    """
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if len(frame) + int(has_header) >= lines:
        return
    for column in frame.columns:
        series = frame[column]
        if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            continue
        spans = series.astype(str).str.contains("[\r\n]", regex=True, na=False).to_numpy()
        for row in spans.nonzero()[0]:
            cell = str(series.iloc[row])
            after = cell.replace("\r", "\n").split("\n", 1)[1]
            if after.count(",") >= max(frame.shape[1] - 1, 1):
                line = _record_lines(data)[row + int(has_header)]
                raise DataError(
                    f"Cannot parse CSV file {location}: line {line} opens a quote that is never closed before the "
                    f"line ends, so the cell of column {column!r} swallows {cell.count(chr(10))} more line(s) "
                    f"(it begins {cell.split(chr(10), 1)[0][:40]!r}); {len(frame)} rows were read from "
                    f"{lines - int(has_header)} lines. Close the quote on line {line}, or write a quote inside a "
                    "cell as two quotes (\"\")."
                )


def _check_short_rows(frame: pd.DataFrame, data: bytes, has_header: bool, location: str) -> None:
    """Refuse a row with fewer cells than columns: its values would sit in the wrong columns.

    ``pandas.read_csv`` fills the cells a short row lacks with NaN, so only rows whose last
    column is missing are checked, record by record with the ``csv`` module.
    """
    if frame.shape[1] < 2 or not len(frame):
        return
    candidates = frame.iloc[:, -1].isna().to_numpy().nonzero()[0]
    if not candidates.size:
        return
    records = candidates + int(has_header)
    if b'"' not in data:
        found = _short_lines_unquoted(data, records, frame.shape[1])
    else:
        found = _short_lines_quoted(data, records, frame.shape[1])
    if found is not None:
        raise DataError(short_row_message(location, *found, list(frame.columns)))


def short_row_message(location: str, line: int, cells: int, columns: Sequence[str]) -> str:
    """The refusal of a row with fewer cells than columns (``line`` is 1-based)."""
    return (
        f"Cannot parse CSV file {location}: line {line} has {cells} cells, but the dataset "
        f"has {len(columns)} columns ({', '.join(map(str, columns))}), so its values would sit in "
        "the wrong columns. Add the missing cells (an empty cell is nothing between two commas, as in "
        "'1,,0')."
    )


def _short_lines_unquoted(data: bytes, records: np.ndarray, width: int) -> tuple[int, int] | None:
    """(line, cells) of the first of ``records`` with fewer than ``width`` cells, in a file without quotes.

    Vectorised: cells per line = commas + 1; records are the non-blank lines in order.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(raw == 10) + 1])
    starts = starts[starts < raw.size]
    ends = np.append(starts[1:], raw.size)  # each line with its line break
    body = ends - starts - (raw[ends - 1] == 10) - ((ends - starts >= 2) & (raw[np.maximum(ends - 2, 0)] == 13))
    lines = np.flatnonzero(body > 0)  # record i is on line lines[i]
    records = records[records < lines.size]
    at = lines[records]
    commas = np.flatnonzero(raw == 44)
    cells = np.searchsorted(commas, ends[at]) - np.searchsorted(commas, starts[at]) + 1
    short = np.flatnonzero(cells < width)
    if not short.size:
        return None
    return int(lines[records[short[0]]]) + 1, int(cells[short[0]])


def _short_lines_quoted(data: bytes, records: np.ndarray, width: int) -> tuple[int, int] | None:
    """Like :func:`_short_lines_unquoted`, record by record with the ``csv`` module."""
    wanted = set(records.tolist())
    last, record = max(wanted), -1
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig", "replace")))
    for cells in reader:
        if not cells:
            continue  # a blank line: read_csv skips it too
        record += 1
        if record in wanted and len(cells) < width:
            return reader.line_num, len(cells)
        if record >= last:
            return None
    return None


def _record_lines(data: bytes) -> list[int]:
    """The 1-based line on which each CSV record starts (blank lines outside quotes skipped)."""
    starts, in_quote = [], False
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not in_quote and line.strip():
            starts.append(number)
        if line.count('"') % 2:
            in_quote = not in_quote
    return starts


def _read_csv(stream, location: str, **options) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(stream, index_col=False, **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"Cannot parse CSV file {location}: {exc}") from exc


def csv_layout(rows: list[list[str]], headers: Sequence[str] | None, location: str,
               what: str = "Dataset") -> tuple[list[str] | None, bool]:
    """Decide a CSV file's column names and whether its first row is a header row.

    Parameters
    ----------
    rows : list of list of str
        The first row and up to :data:`SAMPLE_ROWS` more, as text (:func:`first_rows`).
    headers : sequence of str, optional
        Column names from the config.
    location : str
        The file, for messages.
    what : str
        How messages name this dataset.

    Returns
    -------
    (names, has_header) : (list of str or None, bool)
        ``names`` is None when the header row names the columns (no ``headers``, text row).

    Raises
    ------
    DataError
        The first row's cell count differs from ``headers`` (:data:`HEADER_MISMATCH`), or it
        looks like a header row that differs from ``headers``.
    """
    first = rows[0]
    if headers is not None:
        if len(first) != len(headers):
            raise DataError(
                f"{HEADER_MISMATCH} File {location}: {len(headers)} headers in config, "
                f"{len(first)} columns in the first row."
            )
        has_header = [c.strip() for c in first] == [str(h).strip() for h in headers]
        if not has_header:
            reason = _header_like(rows, headers)
            if reason is not None:
                raise DataError(
                    f"{what} file {location}: the first row looks like a header row ({reason}) but differs from "
                    f"headers in the config, so it would be read as a row of data. First row: {first}; headers: "
                    f"{list(headers)}. Make headers equal the file's header row (same spelling and case), or "
                    "remove the header row from the file."
                )
        return list(headers), has_header
    if _looks_like_data(first):
        return default_names(len(first)), False
    return None, True


def _read_csv_file(location: str, headers: Sequence[str] | None, storage_options,
                   what: str = "Dataset") -> pd.DataFrame | None:
    with open_binary(location, storage_options) as raw:
        data = raw.read()
    stream = io.BytesIO(data)
    rows = first_rows(stream, location)
    if rows is None:
        return None
    stream.seek(0)
    names, has_header = csv_layout(rows, headers, location, what)
    if names is None:
        frame = _read_csv(stream, location, header=0)
    else:
        frame = _read_csv(stream, location, header=0 if has_header else None, names=names)
    _check_quotes(frame, data, has_header, location)
    _check_short_rows(frame, data, has_header, location)
    return frame


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
    files: Sequence[str], headers: Sequence[str] | None, storage_options=None, what: str = "Dataset",
    log: ReadLog | None = None,
) -> pd.DataFrame:
    """Read CSV files into one frame, deciding per file whether it has a header row.

    Parameters
    ----------
    files : sequence of str
        Files in read order (see :func:`~clarify_engine.data._sources.list_files`).
    headers : sequence of str, optional
        Column names from the config. The first row is a header row when it equals them
        (cells compared after stripping spaces), data otherwise; a first row that differs
        but looks like a header row (equal but for case, or text above a column of numbers)
        is an error. Without ``headers`` the first row is a header row unless any cell is
        empty or numeric; then the columns are named ``column_0``, ``column_1``, ...
    storage_options : dict, optional
        fsspec options for URLs.
    what : str
        How messages name this dataset ("Dataset", "Facet dataset", ...).
    log : ReadLog, optional
        Receives the rows read per file and the empty files skipped.

    Returns
    -------
    pandas.DataFrame
        Shape ``(total rows, n_columns)``, dtypes as ``pandas.read_csv`` infers them per
        file, then combined by ``pandas.concat``. Empty files are skipped.

    Raises
    ------
    DataError
        A file cannot be parsed, a header-like first row differs from ``headers``, or an
        unclosed quote swallows rows (the message names the file and line).
    """
    log = log if log is not None else ReadLog(what.lower())
    frames, read = [], []
    with Progress(f"Reading {what.lower()}", len(files), "files") as progress:
        for location in files:
            _stop.check()
            frame = _read_csv_file(location, headers, storage_options, what)
            if frame is None:
                log.skip(location, "empty file")
            else:
                log.read(location, len(frame))
                frames.append(frame)
                read.append(location)
            progress.update()
    if not frames:
        if headers is not None:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in headers})
        raise DataError(f"{what} is empty: no rows in {', '.join(files)}.")
    return _concat(frames, read, what)


def read_parquet_files(
    files: Sequence[str], headers: Sequence[str] | None, storage_options=None, what: str = "Dataset",
    log: ReadLog | None = None,
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
    with Progress(f"Reading {what.lower()}", len(files), "files") as progress:
        for location in files:
            _stop.check()
            with open_binary(location, storage_options) as stream:
                try:
                    tables.append(pq.read_table(stream))
                except (pa.ArrowException, OSError, ValueError) as exc:
                    raise DataError(f"Cannot read Parquet file {location}: {exc}") from exc
            if log is not None:
                log.read(location, tables[-1].num_rows)
            progress.update()
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


def frame_from_table(table, headers: Sequence[str] | None, what: str = "Dataset", *,
                     by_name: bool = False) -> pd.DataFrame:
    """Turn an in-memory ``pandas.DataFrame`` or ``pyarrow.Table`` into the dataset frame.

    Columns keep their dtypes. Names: with ``headers`` the columns are renamed to them by
    position (counts must match); without, non-string names (e.g. the integer labels of a
    frame built from a list of lists) become ``column_0``, ``column_1``, ...

    With ``by_name`` (in-memory tables), a table whose column names include any of
    ``headers`` is matched by name instead: it must have every header and no other column
    (the error names those missing and those extra), and its columns are put in the order
    of ``headers``, so a reordered DataFrame is never renamed by position.
    """
    if isinstance(table, pd.DataFrame):
        # a new frame over the caller's columns (no data copied): our renames never touch the
        # caller's frame, and under copy-on-write (pandas 3) nothing written to it either
        frame = table.copy(deep=not _COPY_ON_WRITE)
    else:
        frame = table.to_pandas()
    frame = frame.reset_index(drop=True)
    named = [c for c in frame.columns if isinstance(c, str)]
    if by_name and headers is not None and set(named) & set(headers):
        missing = [h for h in headers if h not in frame.columns]
        extra = [c for c in frame.columns if c not in set(headers)]
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"lacks column(s) {missing} named in headers")
            if extra:
                problems.append(f"has column(s) {extra} that headers does not name")
            raise DataError(
                f"{HEADER_MISMATCH} {what}: the table {' and '.join(problems)}; its columns are "
                f"{describe_columns(list(frame.columns))}. "
                "Add the missing columns to the table (a label column is needed for bias metrics), or make headers "
                "list exactly the table's columns."
            )
        if list(frame.columns) != list(headers):  # reordering copies every column: only when needed
            frame = frame.loc[:, list(headers)]
    elif headers is not None:
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
