"""The distinct records of one predict call, encoded and laid end to end.

Distinct records are kept encoded, in order, in one buffer per chunk, each followed by the
codec's ``separator``; a request for distinct records ``a:b`` is the codec's ``wrap`` of the
bytes from record ``a`` to the end of record ``b - 1``. So the body of ``k`` records of total
size ``L`` is ``fixed + L + (k - 1) * sep`` bytes, where ``fixed`` is ``len(wrap(b""))``
(template text; at least the codec's ``overhead()``) and ``sep`` the separator's length.

Which rows are identical is decided before encoding when the rows are numbers (a 2-D numeric
array, or a DataFrame of numpy numeric columns): by their values' raw bits, hashed in numba
(:func:`~clarify_engine.predict._kernels.dedupe_rows`), and only new records are encoded. Such
records are laid out by the codec's ``encode_packed`` when it has one (one buffer, no Python
object per record). Other rows are encoded first and compared by their bytes. Both give the
same requests: equal values always encode to equal bytes (NaNs of different bit patterns are
sent as separate records, which costs a little and changes no answer).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import RequestCodec
from clarify_engine.predict._kernels import EMPTY_SLOT, dedupe_rows, rehash

__all__ = ["Layout", "as_records"]


@dataclass
class Layout:
    """The encoded distinct records of one predict call, and which input row is which record.

    ``stats`` is the call's :class:`~clarify_engine.predict.batching.BatchStats`: its
    ``rows`` and ``unique_rows`` (distinct records encoded so far) are read and kept here.
    """

    cum: np.ndarray  # cum[k]: offset of distinct record k in the layout (record + sep each), (n_rows + 1,)
    codes: np.ndarray  # distinct-record index of every input row, shape (n_rows,)
    first_rows: np.ndarray  # input row of each distinct record's first appearance, (n_rows,)
    fixed: int
    sep: int
    record_limit: int
    stats: Any
    keys: np.ndarray | None = None  # uint64 words per input row (numeric path), or None
    index: dict = field(default_factory=dict)  # encoded record -> distinct-record index (bytes path)
    table: np.ndarray | None = None  # hash slots of the numeric path
    blocks: list = field(default_factory=list)  # encoded distinct records, a buffer per chunk
    block_starts: list = field(default_factory=list)  # layout offset where each buffer begins
    rows_encoded: int = 0
    columns: tuple = (None, None)  # (values per record, column names or None), for messages

    @classmethod
    def start(cls, records: Any, codec: RequestCodec, record_limit: int, stats: Any) -> "Layout":
        """An empty layout for ``records`` (nothing encoded yet)."""
        n_rows = len(records)
        return cls(
            cum=np.zeros(n_rows + 1, dtype=np.int64),
            codes=np.empty(n_rows, dtype=np.intp),
            first_rows=np.empty(n_rows, dtype=np.intp),
            fixed=max(len(codec.wrap(b"")), int(codec.overhead()), 0),
            sep=len(codec.separator),
            record_limit=record_limit,
            stats=stats,
            keys=_row_keys(records),
            columns=_columns(records),
        )

    def expected_unique(self) -> int:
        """Distinct records: exact once every row is encoded, else extrapolated from those that are."""
        unique, encoded = self.stats.unique_rows, self.rows_encoded
        if encoded >= self.stats.rows or encoded == 0:
            return unique
        return max(unique, round(unique * self.stats.rows / encoded))

    def body_size(self, start: int, stop: int) -> int:
        """Bytes of the body holding distinct records ``start:stop`` (from the measured layout)."""
        return int(self.cum[stop] - self.cum[start]) - self.sep + self.fixed

    def records(self, start: int, stop: int) -> bytes:
        """Distinct records ``start:stop`` as laid out, separators between them (not after)."""
        lo, hi = int(self.cum[start]), int(self.cum[stop]) - self.sep
        k = bisect.bisect_right(self.block_starts, lo) - 1
        parts = []
        while lo < hi:
            base, block = self.block_starts[k], self.blocks[k]
            end = min(hi, base + len(block))
            parts.append(block[lo - base : end - base])
            lo, k = end, k + 1
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def first_row(self, unique: int) -> int:
        """Input row index of the first row whose record is distinct record ``unique``."""
        return int(self.first_rows[unique])

    def pack(self, start: int, stop: int, max_bytes: int) -> list[tuple[int, int]]:
        """Greedy ranges of distinct records ``start:stop``, each within ``max_bytes`` and the record limit.

        A range ``a:b`` fits when ``fixed + cum[b] - cum[a] - sep <= max_bytes``, i.e.
        ``cum[b] <= cum[a] + max_bytes - fixed + sep``; each range takes as many records as fit
        (at least one).
        """
        cum = self.cum[: stop + 1]  # entries past the records encoded so far are not filled yet
        budget = max_bytes - self.fixed + self.sep
        ranges = []
        a = start
        while a < stop:
            b = int(np.searchsorted(cum, cum[a] + budget, side="right")) - 1
            b = max(a + 1, min(b, a + self.record_limit, stop))
            ranges.append((a, b))
            a = b
        return ranges

    def add_chunk(self, records: Any, start: int, stop: int, codec: RequestCodec, max_payload_bytes: int) -> int:
        """Encode rows ``start:stop``, add their new distinct records; return how many.

        Raises ModelError naming the first row whose record alone is over the payload limit.
        """
        chunk = _rows_slice(records, start, stop)
        old = self.stats.unique_rows
        found = (self._index_by_value if self.keys is not None else self._index_by_bytes)(chunk, start, stop, codec)
        if found is None:
            return 0
        positions, data, starts = found
        new = len(positions)
        lengths = np.diff(starts) - self.sep
        too_big = np.flatnonzero(lengths + self.fixed > max_payload_bytes)
        if too_big.size:
            u = int(too_big[0])
            raise ModelError(
                f"Row {start + int(positions[u])} alone makes a request of "
                f"{int(lengths[u]) + self.fixed} bytes, more than the {max_payload_bytes}-byte "
                f"payload limit ({too_big.size} distinct record(s) of rows {start} to {stop - 1} "
                "are over it); shorten the record or raise the payload limit if the endpoint "
                "accepts more."
            )
        base = int(self.cum[old])
        self.cum[old + 1 : old + new + 1] = starts[1:] + base
        self.blocks.append(data)
        self.block_starts.append(base)
        self.stats.unique_rows = old + new
        return new

    def _index_by_value(self, chunk: Any, start: int, stop: int, codec: RequestCodec):
        """Numbers: new records found by their values (numba), then only those encoded.

        Returns (positions in the chunk, laid-out data, offsets) of the new records, or None.
        """
        old = self.stats.unique_rows
        codes = np.empty(stop - start, dtype=np.intp)
        _reserve(self, old + stop - start)
        total = dedupe_rows(self.keys, start, stop, self.table, self.first_rows, old, codes)
        self.codes[start:stop] = codes
        if total == old:
            return None
        positions = self.first_rows[old:total] - start
        fresh = chunk if total - old == stop - start else _take_rows(chunk, positions)
        return (positions, *_lay_out(codec, fresh, start, stop, total - old))

    def _index_by_bytes(self, chunk: Any, start: int, stop: int, codec: RequestCodec):
        """Anything else: every row encoded, new records found by their bytes.

        Returns (positions in the chunk, laid-out data, offsets) of the new records, or None.
        """
        n = stop - start
        pieces = _encode(codec, chunk, start, stop, n)
        index = self.index
        old = len(index)
        setdefault = index.setdefault
        codes = np.fromiter((setdefault(p, len(index)) for p in pieces), dtype=np.intp, count=n)
        self.codes[start:stop] = codes
        new = len(index) - old
        if new == 0:
            return None
        if new == n:  # every row of the chunk is new: no search needed
            positions = np.arange(n)
            fresh = pieces
        else:
            # new codes are given in order of first appearance: the first position of each
            codes_new, positions = np.unique(codes, return_index=True)
            positions = positions[codes_new >= old]
            fresh = [pieces[i] for i in positions.tolist()]
        self.first_rows[old : old + new] = positions + start
        return (positions, *_lay_pieces(fresh, codec.separator))


def _encode(codec: RequestCodec, rows: Any, start: int, stop: int, n: int) -> list[bytes]:
    """The codec's pieces for ``n`` rows (input rows ``start:stop`` or the new ones among them)."""
    pieces = codec.encode_records(rows)
    if len(pieces) != n:
        raise ModelError(
            f"The request codec encoded {len(pieces)} records for {n} rows of rows {start} to "
            f"{stop - 1}; expected one encoded record per row."
        )
    return pieces


def _lay_out(codec: RequestCodec, rows: Any, start: int, stop: int, n: int) -> tuple[bytes, np.ndarray]:
    """``n`` rows laid out as records, each followed by the separator, and their offsets."""
    packed = getattr(codec, "encode_packed", None)
    laid = packed(rows) if packed is not None else None
    if laid is None:
        return _lay_pieces(_encode(codec, rows, start, stop, n), codec.separator)
    data, starts = laid
    if len(starts) != n + 1:
        raise ModelError(
            f"The request codec laid out {len(starts) - 1} records for {n} rows of rows "
            f"{start} to {stop - 1}; expected one encoded record per row."
        )
    return data, starts


def _row_keys(records) -> np.ndarray | None:
    """Each row's raw values as uint64 words, shape (n_rows, n_columns), or None for non-numbers.

    Numbers only: a 2-D array of a bool, int, uint or float dtype, or a DataFrame whose columns
    all have such numpy dtypes. Equal words mean equal values, which encode to equal bytes.
    """
    if isinstance(records, np.ndarray):
        if records.ndim != 2 or records.dtype.kind not in "biuf":
            return None
        if records.dtype.itemsize == 8 and records.dtype.kind in "iuf" and records.flags.c_contiguous:
            return records.view(np.uint64)  # no copy
        columns = [records[:, j] for j in range(records.shape[1])]
    elif hasattr(records, "iloc") and hasattr(records, "dtypes"):  # pandas.DataFrame
        dtypes = list(records.dtypes)
        if not all(isinstance(d, np.dtype) and d.kind in "biuf" for d in dtypes):
            return None  # text, categories, nullable extension types: compare the bytes
        columns = [records.iloc[:, j].to_numpy() for j in range(len(dtypes))]
    else:
        return None
    keys = np.empty((len(records), len(columns)), dtype=np.uint64)
    for j, column in enumerate(columns):
        kind = column.dtype.kind
        if kind == "f":
            keys[:, j] = column.astype(np.float64, copy=False).view(np.uint64)
        elif kind == "i":
            keys[:, j] = column.astype(np.int64, copy=False).view(np.uint64)
        else:  # uint, bool
            keys[:, j] = column.astype(np.uint64)
    return keys


def _columns(records) -> tuple[int | None, list[str] | None]:
    """Values per record and, for a DataFrame, the column names (for messages); None when unknown."""
    if hasattr(records, "iloc") and hasattr(records, "columns"):
        names = [str(c) for c in records.columns]
        return len(names), names
    if isinstance(records, np.ndarray):
        return int(records.shape[1]), None
    try:
        return len(records[0]), None
    except (TypeError, IndexError, KeyError):
        return None, None


def _reserve(run: Layout, n_unique: int) -> None:
    """Grow the hash table of the numeric path so that ``n_unique`` records keep it half empty.

    Its size is a power of two, 2 to 4 times the records (16 to 32 bytes per distinct row); it
    doubles as records come, each doubling rehashing the records so far (linear in all).
    """
    size = 1 << max(4, (2 * n_unique).bit_length())
    if run.table is not None and len(run.table) >= size:
        return
    table = np.full(size, EMPTY_SLOT, dtype=np.int64)
    rehash(run.keys, run.first_rows, run.stats.unique_rows, table)
    run.table = table


def _lay_pieces(pieces: Sequence[bytes], separator: bytes) -> tuple[bytes, np.ndarray]:
    """Encoded records end to end, each followed by ``separator``, and the offset of each."""
    starts = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)) + len(separator), out=starts[1:])
    return separator.join(pieces) + separator, starts


def _take_rows(rows, positions: np.ndarray):
    """Rows at ``positions`` of a DataFrame or a 2-D array (the numeric path's inputs)."""
    if hasattr(rows, "iloc"):
        return rows.iloc[positions]
    return rows[positions]


def as_records(rows: Any) -> Any:
    """Rows the request codec can take: a DataFrame as it is (codecs format it column by column),
    a 2-D array, or a sequence of records."""
    if hasattr(rows, "iloc") and hasattr(rows, "columns"):  # pandas.DataFrame
        return rows
    if isinstance(rows, np.ndarray):
        if rows.ndim != 2:
            raise ModelError(
                f"Rows to predict: expected a 2-D array (records x features), "
                f"found {rows.ndim} dimension(s) with shape {rows.shape}."
            )
        return rows
    if not isinstance(rows, Sequence):
        rows = list(rows)
    return rows


def _rows_slice(records, start: int, stop: int):
    """Rows ``start:stop`` of a DataFrame, a 2-D array or a sequence of records."""
    if start == 0 and stop == len(records):
        return records
    if hasattr(records, "iloc"):
        return records.iloc[start:stop]
    return records[start:stop]
