"""Read a dataset as a sequence of chunks, without holding it: :func:`iter_chunks`.

The same files, folders, URLs and gzip files as :func:`~clarify_engine.data.load_dataset`,
read by pyarrow's streaming readers: CSV blocks (``pyarrow.csv.open_csv``), Parquet row
groups (``ParquetFile.read_row_group``), JSON Lines lines in blocks; a JSON document is one
piece per file. The pieces are cut into chunks of ``chunk_rows`` rows (the last one shorter),
in file order; a dataset of at most ``chunk_rows`` rows is one chunk. Column roles are
resolved on the schema (the header row, the Parquet schema, the first JSON record) by the
loader's own functions, and the loader's refusals apply: header count, header-like first
rows, short rows (file and line named), files with other columns.

What differs from the loader, and why (``docs/scale.md``, "Streaming"):

* A CSV column's type is inferred by pyarrow from the file's first block and kept; when a
  later block holds a value that type cannot hold (a ``1.5`` below integers, text below
  numbers), the column is widened (integer → float → text) and the file is read again from
  its start, the rows already given skipped, so each row is still given once. The chunks
  before the change keep the narrower type (integers, where pandas would read the whole
  column as floats): :func:`concat_like_loader` puts them together the way the loader reads
  the whole file.
* A facet or predicted-label dataset is joined by key, which needs both sides at hand: such
  a dataset is loaded whole (:func:`~clarify_engine.data.load_dataset`) and then cut.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

import pandas as pd

from clarify_engine import _stop
from clarify_engine.data._dataset import (
    CSV, IMAGE, JSON, JSONLINES, PARQUET, TABLE_TYPES, Dataset, _is_table, load_dataset, main_predicted_label,
    main_roles, other_roles,
)
from clarify_engine.data._json import JsonColumns, build_frame, iter_jsonlines_blocks, read_json_files
from clarify_engine.data._readlog import ReadLog
from clarify_engine.data._sources import open_binary, resolve_location, scan_files
from clarify_engine.data._spec import DataSpec
from clarify_engine.data._tabular import (
    MISSING_MARKERS, csv_layout, first_rows, frame_from_table, short_row_message,
)
from clarify_engine.errors import ConfigError, DataError, NotSupportedError

__all__ = ["ChunkedDataset", "iter_chunks"]

#: Bytes of CSV text pyarrow parses per block.
CSV_BLOCK_BYTES = 1 << 24
#: Cells pandas reads as True / False (pyarrow's defaults also take 1 / 0).
_TRUE = ["True", "TRUE", "true"]
_FALSE = ["False", "FALSE", "false"]


@dataclass
class ReadStats:
    """What the last complete pass over a :class:`ChunkedDataset` read."""

    chunks: int = 0
    rows: int = 0
    passes: int = 0
    read_report: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ChunkedDataset:
    """A dataset read chunk by chunk, with the column roles of :class:`~clarify_engine.data.Dataset`.

    Iterating yields pandas DataFrames with the columns ``Dataset.frame`` would have, rows in
    file order, each row once; every iteration reads the source again (a *pass*).

    Attributes
    ----------
    columns : tuple of str
        The columns of every chunk.
    label, predicted_label, features, facets, group_variable, joinsource, source_files
        As :class:`~clarify_engine.data.Dataset`.
    chunk_rows : int
        Rows per chunk (the last chunk may be shorter).
    stats : ReadStats
        Chunks and rows of the last complete pass, the number of passes, and the read report
        (as ``Dataset.read_report``).
    """

    columns: tuple[str, ...]
    label: str | None
    predicted_label: str | None
    features: list[str]
    facets: list[tuple[str, list | None]]
    group_variable: str | None
    joinsource: str | None
    source_files: list[str]
    chunk_rows: int
    pieces: Callable[[dict, tuple[str, ...]], Iterator[pd.DataFrame]] = field(repr=False, compare=False)
    stats: ReadStats = field(default_factory=ReadStats, compare=False)
    tables: Callable[[dict, tuple[str, ...]], Iterator[Any]] | None = field(default=None, repr=False, compare=False)

    def schema_dataset(self) -> Dataset:
        """A :class:`~clarify_engine.data.Dataset` with these roles and an empty frame of these
        columns (what the job planner reads)."""
        frame = pd.DataFrame({name: pd.Series(dtype=object) for name in self.columns})
        return Dataset(frame=frame, label=self.label, predicted_label=self.predicted_label,
                       features=list(self.features), facets=list(self.facets), group_variable=self.group_variable,
                       joinsource=self.joinsource, source_files=list(self.source_files))

    def select(self, columns: Sequence[str]) -> ChunkedDataset:
        """The same chunks with only ``columns`` (in that order); readers that can skip the other
        columns (Parquet, CSV) do not convert them."""
        return replace(self, columns=tuple(columns), stats=self.stats)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        report: dict = {}
        chunks = rows = 0
        names = list(self.columns)
        pieces = (p.loc[:, names] for p in self.pieces(report, self.columns))
        for chunk in _rechunk(pieces, self.chunk_rows, self.columns):
            chunks += 1
            rows += len(chunk)
            yield chunk
        self.stats.chunks, self.stats.rows, self.stats.read_report = chunks, rows, report
        self.stats.passes += 1

    def arrow_pieces(self) -> Iterator[Any]:
        """One pass over the rows without pandas: pyarrow Tables of at least ``chunk_rows`` rows
        (but the last, and where a CSV column was widened) with the columns ``columns`` (in that
        order), rows in file order, made of the reader's pieces (CSV record batches, Parquet row
        groups) without copying. For readers that do not read Arrow (JSON, in-memory tables), and for a dataset
        without rows, the pass gives pandas frames (the chunks of iterating). The stats count
        the chunks of ``chunk_rows`` rows the pass stands for.
        """
        if self.tables is None:
            yield from self
            return
        import pyarrow as pa

        report: dict = {}
        rows = held_rows = 0
        names = list(self.columns)
        held: list = []
        for piece in self.tables(report, self.columns):
            table = pa.Table.from_batches([piece]) if isinstance(piece, pa.RecordBatch) else piece
            table = table.select(names)
            if held and table.schema != held[0].schema:  # a column widened: pieces of one type at a time
                yield pa.concat_tables(held)
                held, held_rows = [], 0
            held.append(table)
            held_rows += table.num_rows
            rows += table.num_rows
            if held_rows >= self.chunk_rows:  # at least a chunk per piece: fewer, larger pieces to code
                yield pa.concat_tables(held)
                held, held_rows = [], 0
            _stop.check()
        if held:
            yield pa.concat_tables(held)
        if rows == 0:
            yield pd.DataFrame({name: pd.Series(dtype=object) for name in names})
        self.stats.chunks, self.stats.rows, self.stats.read_report = max(1, -(-rows // self.chunk_rows)), rows, report
        self.stats.passes += 1


def iter_chunks(spec: DataSpec, source: Any = None, *, chunk_rows: int, base_dir: Any = None,
                storage_options: dict | None = None) -> ChunkedDataset:
    """The dataset a :class:`DataSpec` describes, as chunks of ``chunk_rows`` rows.

    Parameters
    ----------
    spec : DataSpec
        As for :func:`~clarify_engine.data.load_dataset`.
    source : str, path-like, pandas.DataFrame or pyarrow.Table, optional
        As for :func:`~clarify_engine.data.load_dataset`; an in-memory table is cut into chunks.
    chunk_rows : int
        Rows per chunk (>= 1).
    base_dir, storage_options
        As for :func:`~clarify_engine.data.load_dataset`.

    Returns
    -------
    ChunkedDataset
        Roles resolved; nothing but the schema read yet.

    Raises
    ------
    DataError, ConfigError
        As the loader, when the schema is read (header count, header-like first row, a column
        named in the config that is absent) or while iterating (short rows, unparsable
        values, files with other columns).
    NotSupportedError
        Image datasets (each image is read by the job, one by one).
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer; found {chunk_rows!r}")
    if spec.dataset_type == IMAGE:
        raise NotSupportedError("Image datasets are not streamed: the job reads each image as it explains it.")
    if spec.dataset_type not in TABLE_TYPES:
        raise ValueError(f"DataSpec.dataset_type: expected one of {', '.join(TABLE_TYPES)}, found {spec.dataset_type!r}")
    if spec.facet_dataset_uri is not None or spec.predicted_label_dataset_uri is not None or _is_table(source):
        return _from_dataset(spec, source, chunk_rows, base_dir, storage_options)
    location = _location(spec, source, base_dir)
    files, skipped = scan_files(location, storage_options)
    reader = _READERS[spec.dataset_type](spec, files, storage_options, chunk_rows)
    columns, json_roles = reader.schema()
    label, joinsource = main_roles(spec, columns, json_roles)
    predicted_label = main_predicted_label(spec, columns, json_roles)
    roles = other_roles(spec, columns, columns, None, label, predicted_label, joinsource)

    def read(method: Callable[[ReadLog, tuple[str, ...]], Iterator[Any]]):
        def pieces(report: dict, wanted: tuple[str, ...]) -> Iterator[Any]:
            log = ReadLog("dataset")
            for entry in skipped:
                log.skip(entry["file"], entry["reason"])
            yield from method(log, wanted)
            report["dataset"] = log.to_dict()

        return pieces

    tables = getattr(reader, "tables", None)
    return ChunkedDataset(tuple(columns), label, predicted_label, roles["features"], roles["facets"],
                          roles["group_variable"], joinsource, list(files), chunk_rows, read(reader.pieces),
                          tables=None if tables is None else read(tables))


def _location(spec: DataSpec, source, base_dir) -> str:
    if source is not None:
        if not isinstance(source, (str, bytes)) and not hasattr(source, "__fspath__"):
            raise DataError(f"Cannot load a dataset from {type(source).__name__}; expected a path, URL, "
                            "pandas.DataFrame or pyarrow.Table.")
        import os

        return os.fspath(source)  # type: ignore[arg-type]
    if spec.dataset_uri is None:
        raise ConfigError("dataset_uri", "expected a dataset location, found none (no source passed and no dataset_uri)")
    return resolve_location(spec.dataset_uri, base_dir)


def _from_dataset(spec, source, chunk_rows, base_dir, storage_options) -> ChunkedDataset:
    """An in-memory table, or a dataset with joins: loaded whole, then cut into chunks."""
    dataset = load_dataset(spec, source, base_dir=base_dir, storage_options=storage_options)
    frame = dataset.frame

    def pieces(report: dict, wanted: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        report.update(dataset.read_report)
        yield frame

    return ChunkedDataset(tuple(frame.columns), dataset.label, dataset.predicted_label, dataset.features,
                          dataset.facets, dataset.group_variable, dataset.joinsource, dataset.source_files,
                          chunk_rows, pieces)


def _rechunk(pieces: Iterable[pd.DataFrame], chunk_rows: int, columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
    """Frames of exactly ``chunk_rows`` rows (the last one shorter) from pieces of any size.

    A dataset without rows gives one empty frame (the loader's empty frame).
    """
    held: list[pd.DataFrame] = []
    count = 0
    given = False
    for piece in pieces:
        start = 0
        while len(piece) - start >= chunk_rows - count:
            take = chunk_rows - count
            held.append(piece.iloc[start:start + take])
            start += take
            yield concat_like_loader(held)
            given = True
            held, count = [], 0
            _stop.check()
        if start < len(piece):
            held.append(piece.iloc[start:])
            count += len(piece) - start
    if held:
        yield concat_like_loader(held)
    elif not given:
        yield pd.DataFrame({name: pd.Series(dtype=object) for name in columns})


def concat_like_loader(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames stacked with a fresh 0-based index (as ``pandas.concat`` types the loader's files)."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


def _same_columns(what: str, location: str, found: list, first_file: str, columns: list) -> None:
    if list(found) != list(columns):
        raise DataError(f"{what} file {location} has columns {list(found)}, but {first_file} has "
                        f"{list(columns)}; every file of a dataset must have the same columns.")


# ---------------------------------------------------------------------- CSV


def _mangle(names: list[str]) -> list[str]:
    """Header-row names as pandas gives them: a repeated name becomes ``name.1``, ``name.2``..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


_EXPECTED = re.compile(r"Expected (\d+) columns, got (\d+)")
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'", re.S)


class _CsvReader:
    """CSV files through ``pyarrow.csv.open_csv``, one file's layout decided by the loader's rules."""

    what = "Dataset"

    def __init__(self, spec: DataSpec, files: list[str], storage_options, chunk_rows: int):
        self.headers = None if spec.headers is None else list(spec.headers)
        self.files, self.storage_options = files, storage_options
        # a block of about one chunk of text (pyarrow parses a block at a time), grown when a row is longer
        self.block_bytes = min(CSV_BLOCK_BYTES, max(1 << 12, 64 * chunk_rows))
        self._layouts: dict[str, tuple[list[str], bool] | None] = {}

    def _layout(self, location: str) -> tuple[list[str], bool] | None:
        if location not in self._layouts:
            with open_binary(location, self.storage_options, seekable=False) as stream:
                rows = first_rows(stream, location)
            if rows is None:
                self._layouts[location] = None
            else:
                names, has_header = csv_layout(rows, self.headers, location, self.what)
                self._layouts[location] = (_mangle(rows[0]) if names is None else names, has_header)
        return self._layouts[location]

    def schema(self) -> tuple[list[str], None]:
        for location in self.files:
            layout = self._layout(location)
            if layout is not None:
                return layout[0], None
        if self.headers is not None:
            return list(self.headers), None
        raise DataError(f"{self.what} is empty: no rows in {', '.join(self.files)}.")

    def pieces(self, log: ReadLog, wanted: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        return self.tables(log, wanted, lambda batch: batch.to_pandas())

    def tables(self, log: ReadLog, wanted: tuple[str, ...], convert: Callable = lambda batch: batch) -> Iterator[Any]:
        """The files' record batches (only the columns in ``wanted``), each through ``convert``."""
        columns: list | None = None
        first_file = ""
        for location in self.files:
            _stop.check()
            layout = self._layout(location)
            if layout is None:
                log.skip(location, "empty file")
                continue
            names, has_header = layout
            if columns is None:
                columns, first_file = names, location
            else:
                _same_columns(self.what, location, names, first_file, columns)
            rows = 0
            for batch in self._file(location, names, has_header, [n for n in names if n in set(wanted)], convert):
                rows += len(batch)
                yield batch
            log.read(location, rows)

    def _open(self, stream, names, has_header, types, include):
        import pyarrow.csv as pc

        return pc.open_csv(
            stream,
            read_options=pc.ReadOptions(column_names=names, skip_rows=int(has_header), block_size=self.block_bytes),
            parse_options=pc.ParseOptions(newlines_in_values=True),
            convert_options=pc.ConvertOptions(column_types=types, include_columns=include,
                                              null_values=sorted(MISSING_MARKERS),
                                              strings_can_be_null=True, true_values=_TRUE, false_values=_FALSE),
        )

    def _file(self, location: str, names: list[str], has_header: bool, include: list[str],
              convert: Callable) -> Iterator[Any]:
        """One file's rows as record batches; a column widened on a conversion error restarts the file,
        skipping the rows already given."""
        import pyarrow as pa

        types: dict | None = None
        given = 0
        while True:
            try:
                with open_binary(location, self.storage_options, seekable=False) as stream:
                    reader = self._open(stream, names, has_header, types, include)
                    if types is None:
                        inferred = {f.name: f.type for f in reader.schema}
                        types = {name: _loader_type(kind) for name, kind in inferred.items()}
                        if types != inferred:
                            continue  # dates and times stay text, as pandas reads them: open again
                    done = 0
                    for batch in reader:
                        skip = min(batch.num_rows, max(given - done, 0))
                        done += batch.num_rows
                        if skip < batch.num_rows:
                            given += batch.num_rows - skip
                            yield convert(batch.slice(skip) if skip else batch)
                return
            except pa.ArrowInvalid as exc:
                if "straddle" in str(exc) and self.block_bytes < 1 << 30:
                    self.block_bytes *= 4  # a row longer than a block: larger blocks, same rows
                    continue
                widened = self._widen(exc, names, types)
                if widened is None:
                    raise self._parse_error(exc, location, names, has_header) from exc
                types = widened

    @staticmethod
    def _widen(exc, names, types) -> dict | None:
        """``types`` with the column a conversion error names widened (None for other errors)."""
        found = _CONVERSION.search(str(exc))
        if found is None or types is None:
            return None
        import pyarrow as pa

        name = names[int(found.group(1))]
        value = found.group(3)
        current = types[name]
        if pa.types.is_integer(current) or pa.types.is_null(current):
            try:
                float(value)
                wider = pa.float64()
            except ValueError:
                wider = pa.string()
        else:
            wider = pa.string()
        if wider == current:
            return None
        return {**types, name: wider}

    def _parse_error(self, exc, location, names, has_header) -> DataError:
        found = _EXPECTED.search(str(exc))
        if found is not None:
            line, cells = self._bad_line(location, len(names), has_header)
            if line is not None and cells < len(names):
                return DataError(short_row_message(location, line, cells, names))
            if line is not None:
                return DataError(f"Cannot parse CSV file {location}: line {line} has {cells} cells, but the dataset "
                                 f"has {len(names)} columns ({', '.join(map(str, names))}). Remove the extra cells, "
                                 "or quote a cell that holds a comma.")
        return DataError(f"Cannot parse CSV file {location}: {exc}")

    def _bad_line(self, location: str, width: int, has_header: bool) -> tuple[int | None, int]:
        """The first record (1-based line) whose cell count is not ``width``, read with the ``csv`` module."""
        with open_binary(location, self.storage_options, seekable=False) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text)
            first = True
            for cells in reader:
                if not cells:
                    continue
                if first and has_header:
                    first = False
                    continue
                first = False
                if len(cells) != width:
                    return reader.line_num, len(cells)
        return None, 0


def _loader_type(arrow_type):
    """The type a CSV column keeps in later blocks: the inferred one, or text for dates and times
    (which pandas leaves as text), or float for a column empty in the first block."""
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return pa.float64()
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type):
        return arrow_type
    return pa.string()


# ---------------------------------------------------------------------- Parquet


class _ParquetReader:
    """Parquet files row group by row group (``ParquetFile.read_row_group``, only the columns asked for)."""

    what = "Dataset"

    def __init__(self, spec: DataSpec, files: list[str], storage_options, chunk_rows: int):
        self.headers = None if spec.headers is None else list(spec.headers)
        self.files, self.storage_options, self.chunk_rows = files, storage_options, chunk_rows

    def _names(self, location: str) -> list[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with open_binary(location, self.storage_options) as stream:
            try:
                return list(pq.ParquetFile(stream).schema_arrow.names)
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise DataError(f"Cannot read Parquet file {location}: {exc}") from exc

    def schema(self) -> tuple[list[str], None]:
        names = self._names(self.files[0])
        empty = pd.DataFrame({name: pd.Series(dtype=object) for name in names})
        return list(frame_from_table(empty, self.headers, self.what).columns), None

    def pieces(self, log: ReadLog, wanted: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        return self.tables(log, wanted, lambda table: table.to_pandas())

    def tables(self, log: ReadLog, wanted: tuple[str, ...], convert: Callable = lambda table: table) -> Iterator[Any]:
        """The files' row groups as tables of at most ``chunk_rows`` rows (only the columns in
        ``wanted``), each through ``convert``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        first_names = None
        final = self.schema()[0]
        keep = [i for i, name in enumerate(final) if name in set(wanted)]
        for location in self.files:
            _stop.check()
            rows = 0
            with open_binary(location, self.storage_options) as stream:
                try:
                    parquet = pq.ParquetFile(stream)
                    names = list(parquet.schema_arrow.names)
                    if first_names is None:
                        first_names = names
                    else:
                        _same_columns(self.what, location, names, self.files[0], first_names)
                    for group in range(parquet.num_row_groups):  # one row group at a time, its columns in parallel
                        _stop.check()
                        table = parquet.read_row_group(group, columns=[names[i] for i in keep])
                        rows += table.num_rows
                        table = table.rename_columns([final[i] for i in keep])
                        for start in range(0, max(table.num_rows, 1), self.chunk_rows):
                            yield convert(table.slice(start, self.chunk_rows))
                except (pa.ArrowException, OSError) as exc:
                    raise DataError(f"Cannot read Parquet file {location}: {exc}") from exc
            log.read(location, rows)


# ---------------------------------------------------------------------- JSON


class _JsonLinesReader:
    """JSON Lines files in blocks of lines, each line checked as the loader checks it."""

    def __init__(self, spec: DataSpec, files: list[str], storage_options, chunk_rows: int):
        self.block_rows = min(chunk_rows, 1 << 14)
        self.headers = None if spec.headers is None else list(spec.headers)
        self.files, self.storage_options = files, storage_options
        self.columns = JsonColumns(spec.features, spec.label, spec.predicted_label)

    def _roles(self, columns: list[str]) -> dict:
        roles = [k for k in ("label", "predicted_label") if k in self.columns.compiled]
        n_features = len(columns) - len(roles)
        return {key: columns[n_features + i] for i, key in enumerate(roles)}

    def _blocks(self, location: str, block_rows: int | None):
        return iter_jsonlines_blocks(location, self.columns, self.storage_options, block_rows, seekable=False)

    def schema(self) -> tuple[list[str], dict]:
        for location in self.files:
            features, extras = next(self._blocks(location, 1))
            if features:
                frame = build_frame(features, extras, self.columns, self.headers, location)
                return list(frame.columns), self._roles(list(frame.columns))
        raise DataError(f"Dataset is empty: no JSON Lines records in {', '.join(self.files)}.")

    def _frames(self, location: str) -> Iterator[pd.DataFrame]:
        for features, extras in self._blocks(location, self.block_rows):
            if features:
                yield build_frame(features, extras, self.columns, self.headers, location)

    def pieces(self, log: ReadLog, wanted: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        width = first_file = None
        for location in self.files:
            _stop.check()
            rows = 0
            for frame in self._frames(location):
                n_features = frame.shape[1] - len(self._roles(list(frame.columns)))
                if width is None:
                    width, first_file = n_features, location
                elif n_features != width:
                    raise DataError(
                        f"{location} has {n_features} features per record, but {first_file} has "
                        f"{width}; every file of a dataset must have the same columns."
                    )
                rows += len(frame)
                yield frame
            log.read(location, rows)


class _JsonReader(_JsonLinesReader):
    """``application/json``: one document per file, so one piece per file (a document is parsed whole)."""

    def _frames(self, location: str) -> Iterator[pd.DataFrame]:
        yield read_json_files([location], self.columns, self.headers, self.storage_options)

    def schema(self) -> tuple[list[str], dict]:
        frame = next(self._frames(self.files[0]))
        return list(frame.columns), self._roles(list(frame.columns))


_READERS: dict[str, Any] = {CSV: _CsvReader, PARQUET: _ParquetReader, JSONLINES: _JsonLinesReader, JSON: _JsonReader}
