"""The role columns of a streamed dataset reduced to their distinct rows and counts.

Every bias metric but FT reads only the label, predicted-label, facet and group columns, and
the report depends on a row only through its values there. So chunk by chunk those columns
are reduced to their distinct rows, in order of first appearance, each with the number of
rows it stands for; the report of that small frame with these weights
(:func:`~clarify_engine.bias._report.weighted_report`) is the report of the whole data:
typing (distinct values and the count of non-missing rows), binarisation (first value,
order of first appearance, maximum), the count tables and the warnings all read the same
numbers.

A float column that holds a value with a fractional part, used only as a continuous column
(a threshold label, facet or predicted label), would keep nearly one distinct value per
row. Clarify's rules read it only through ``value > threshold``, its maximum, its minimum
(scores in ``[0, 1]``), its missing cells and whether it holds whole numbers; so once such a
value is seen, the column is reduced to *bins* between the thresholds the job uses, each
bin keeping its minimum, maximum and one fractional value (rows with weight 0 carry the
values no counted row carries). The result is the same report.

What needs more (``docs/scale.md``, "Bias at scale"): more than ``max_rows`` distinct rows
(for instance an integer facet with millions of distinct values, whose typing needs the
exact count of its distinct values) is refused with :class:`NotSupportedError`, never
approximated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from clarify_engine import _column_types as T
from clarify_engine.bias import _kernels
from clarify_engine.bias._columns import SMALL_RANGE, code_column
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.errors import NotSupportedError

__all__ = ["Compressed", "Compressor", "compress_part", "reducible_cuts"]

#: Distinct rows of the role columns kept at most (about 100 bytes each).
MAX_DISTINCT_ROWS = 1 << 22
_WEIGHT = "\0weight"


def _threshold(values) -> float | None:
    """The single numeric threshold ``values`` give, or None."""
    if values is None or len(values) != 1 or isinstance(values[0], bool):
        return None
    try:
        return float(values[0])
    except (TypeError, ValueError):
        return None


def reducible_cuts(specs: Sequence[BiasSpec]) -> dict[str, tuple[float, ...]]:
    """Columns that may be reduced to bins (used only as continuous columns), with their cut points.

    A label with one numeric value cuts at it; a predicted label at the label's threshold (and
    at the integer boundaries around it, for a prediction cast to an integer label) and at
    ``probability_threshold``; a facet with at most one value at it. A column used in any other
    way (several values, the group variable) is not reduced.
    """
    cuts: dict[str, set[float]] = {}
    fixed: set[str] = set()

    def use(column: str | None, points: Sequence[float] | None) -> None:
        if column is None:
            return
        if points is None:
            fixed.add(column)
        else:
            cuts.setdefault(column, set()).update(p for p in points if not math.isnan(p))

    for spec in specs:
        t = _threshold(spec.label_values)
        use(spec.label, None if t is None else [t])
        if spec.post_training:
            points: list[float] = []
            if t is not None:
                points += [t, math.floor(t), float(np.nextafter(math.floor(t) + 1.0, -np.inf))]
            if spec.probability_threshold is not None:
                points.append(float(spec.probability_threshold))
            use(spec.predicted_label, points if points else None)
        for facet in spec.facets:
            if facet.values and len(facet.values) > 1:
                use(facet.name, None)
            else:
                ft = _threshold(facet.values)
                use(facet.name, [] if ft is None else [ft])
        use(spec.group_variable, None)
    return {c: tuple(sorted(p)) for c, p in cuts.items() if c not in fixed}


@dataclass
class _Bins:
    """A reduced column: per bin between the cut points, its min, max and one fractional value."""

    cuts: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    fraction: np.ndarray

    @classmethod
    def new(cls, cuts: tuple[float, ...]) -> _Bins:
        n = len(cuts) + 1
        return cls(np.asarray(cuts, dtype=np.float64), np.full(n, np.inf), np.full(n, -np.inf), np.full(n, np.nan))

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Bin of each value (values equal to a cut point fall below it), -1 for a missing value;
        the bins' statistics take the values in (one pass, :func:`~clarify_engine.bias._kernels._bin_codes`)."""
        return _kernels._bin_codes(np.ascontiguousarray(values, dtype=np.float64), self.cuts, self.lo, self.hi,
                                   self.fraction)

    def extra_values(self, b: int) -> list[float]:
        """Values of bin ``b`` that rows with weight 0 carry (its min; a fractional value if min
        and max are whole)."""
        out = []
        if self.lo[b] != self.hi[b]:
            out.append(float(self.lo[b]))
        whole = all(math.isfinite(x) and x == round(x) for x in (self.lo[b], self.hi[b]))
        if whole and not np.isnan(self.fraction[b]):
            out.append(float(self.fraction[b]))
        return out


def _has_fraction(series: pd.Series) -> bool:
    if not T.is_float(series.dtype):
        return False
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    return bool((finite != np.round(finite)).any())


def _distinct_rows(keys: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Distinct rows of ``keys`` in order of first appearance, with their counts in ``_WEIGHT``.

    Each column is coded (missing values one code of their own), the codes combined into one
    integer per row and that integer coded again, which gives each distinct row's first row
    and count; ``groupby(sort=False, dropna=False).size()`` gives the same, three times slower.
    """
    def coded(column: str) -> tuple[np.ndarray, int]:
        found = code_column(keys[column])
        return found.codes, len(found.uniques) + 1

    distinct = _first_rows(len(keys), (coded(c) for c in columns))
    if distinct is None:
        return keys.groupby(columns, sort=False, dropna=False).size().rename(_WEIGHT).reset_index()
    firsts, counts = distinct
    rows = keys.iloc[firsts].reset_index(drop=True)
    rows[_WEIGHT] = counts
    return rows


def _first_rows(n: int, columns) -> tuple[np.ndarray, np.ndarray] | None:
    """First row and count of each distinct row, in order of first appearance, from each column's
    ``(codes, radix)`` (codes from -1, radix = number of codes + 1); None when the combined code
    would not fit 62 bits."""
    combined = np.zeros(n, dtype=np.int64)
    radix = 1
    for codes, size in columns:
        if radix * size >= 1 << 62:
            return None
        combined = combined * size + (codes + 1)
        radix *= size
    if n and int(combined.max()) < SMALL_RANGE:
        codes, firsts = _kernels._code_small_ints(combined, 0, int(combined.max()) + 1)
    else:
        codes, _ = pd.factorize(combined, sort=False)
        codes = np.asarray(codes, dtype=np.int64)
        codes, firsts = _kernels._code_small_ints(codes, 0, int(codes.max()) + 1 if n else 1)
    return firsts, np.bincount(codes, minlength=len(firsts)).astype(np.int64)


def _arrow_codable(kind) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
                or pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _arrow_numeric(kind) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _arrow_floats(values) -> np.ndarray:
    """A numeric Arrow column as float64, missing cells NaN."""
    import pyarrow as pa

    return np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _arrow_has_fraction(values) -> bool:
    """Whether a float Arrow column holds a finite value with a fractional part (:func:`_has_fraction`)."""
    import pyarrow as pa

    if not pa.types.is_floating(values.type):
        return False
    floats = _arrow_floats(values)
    finite = floats[np.isfinite(floats)]
    return bool((finite != np.round(finite)).any())


def _arrow_codes(values) -> tuple[np.ndarray, int]:
    """Codes of an Arrow column (equal values, equal codes; missing -1) and the number of codes
    plus one (the radix of ``code + 1``).

    Integers and booleans without missing cells in a small range: the numba kernel; anything
    else: Arrow's hash (``dictionary_encode``). A float NaN and a null get different codes: the
    rows merge again in :meth:`Compressor._merge`, where pandas reads both as missing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == 0 and (pa.types.is_integer(values.type) or pa.types.is_boolean(values.type)):
        numbers = np.asarray(values.to_numpy(zero_copy_only=False))
        if numbers.dtype == np.bool_:
            numbers = numbers.view(np.uint8)
        if len(numbers):
            lo, hi = int(numbers.min()), int(numbers.max())
            if hi - lo < SMALL_RANGE:
                codes, firsts = _kernels._code_small_ints(numbers.astype(np.int64, copy=False), lo, hi - lo + 1)
                return codes, len(firsts) + 1
    encoded = pc.dictionary_encode(values)
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return np.asarray(indices, dtype=np.int64), len(encoded.dictionary) + 1


@dataclass(frozen=True)
class Compressed:
    """Distinct rows of the role columns and the rows each stands for.

    Attributes
    ----------
    frame : pandas.DataFrame
        The role columns; rows in order of first appearance, then the rows of weight 0 that
        carry reduced columns' extra values.
    weights : numpy.ndarray of int64
        Rows each row of ``frame`` stands for.
    rows : int
        Rows read.
    """

    frame: pd.DataFrame
    weights: np.ndarray
    rows: int


class Compressor:
    """Reduce chunks to :class:`Compressed`, one chunk at a time.

    Parameters
    ----------
    columns : sequence of str
        The role columns (label, predicted label, facets, group variable), each once.
    cuts : dict
        :func:`reducible_cuts` of the job's specs.
    max_rows : int
        Distinct rows kept at most.
    """

    def __init__(self, columns: Sequence[str], cuts: dict[str, tuple[float, ...]],
                 max_rows: int = MAX_DISTINCT_ROWS):
        self.columns = list(dict.fromkeys(columns))
        self.cuts = {c: p for c, p in cuts.items() if c in self.columns}
        self.max_rows = max_rows
        self.bins: dict[str, _Bins] = {}
        self.combos: pd.DataFrame | None = None
        self.rows = 0

    def _keys(self, chunk: pd.DataFrame) -> pd.DataFrame:
        keys = chunk.loc[:, self.columns].reset_index(drop=True)
        for column, bins in self.bins.items():
            series = keys[column]
            if not (T.is_float(series.dtype) or T.is_int(series.dtype)):
                raise NotSupportedError(
                    f"Streamed bias: column {column!r} held numbers with a fractional part and then "
                    f"{series.dtype} values; such a column cannot be reduced while it is read. Give the column "
                    "one type in every file, or run the job with the dataset in memory (no --chunk-rows)."
                )
            keys[column] = bins.codes(series.to_numpy(dtype=np.float64, na_value=np.nan))
        return keys

    def add(self, chunk: pd.DataFrame) -> None:
        """Count one chunk's rows in."""
        self.rows += len(chunk)
        for column, cuts in self.cuts.items():
            if column not in self.bins and _has_fraction(chunk[column]):
                self.bins[column] = _Bins.new(cuts)
                if self.combos is not None:  # rows kept so far: their values go into bins too
                    values = self.combos[column].to_numpy(dtype=np.float64, na_value=np.nan)
                    self.combos[column] = self.bins[column].codes(values)
                    self.combos = self._merge([self.combos])
        keys = self._keys(chunk)
        counted = _distinct_rows(keys, self.columns)
        self.combos = self._merge([counted] if self.combos is None else [self.combos, counted])
        self._check_size()

    def _check_size(self) -> None:
        assert self.combos is not None
        if len(self.combos) > self.max_rows:
            distinct = {c: int(self.combos[c].nunique(dropna=False)) for c in self.columns}
            raise NotSupportedError(
                f"Streamed bias: the label, facet and group columns hold more than {self.max_rows} distinct rows "
                f"(distinct values per column: {distinct}); Clarify's typing of such columns needs their exact "
                "distinct values, which the streamed job keeps only up to that bound. Run the job with the dataset "
                "in memory (no --chunk-rows), or bin the column with many values before the job."
            )

    def add_piece(self, piece) -> None:
        """Count in one piece of a pass: a pandas frame (:meth:`add`) or a pyarrow Table or
        RecordBatch, whose role columns are coded from the Arrow arrays; only its distinct rows
        become a pandas frame (the rows the frame of the whole piece would give)."""
        if isinstance(piece, pd.DataFrame):
            self.add(piece)
            return
        import pyarrow as pa

        table = piece.select(self.columns)
        columns = [table.column(i) for i in range(len(self.columns))]
        columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
        if not all(_arrow_codable(c.type) for c in columns) or any(
                c in self.bins and not _arrow_numeric(col.type) for c, col in zip(self.columns, columns)):
            self.add(table.to_pandas())  # other types, or a reduced column that changed type: the frame's rules
            return
        self.rows += table.num_rows
        arrays = {}
        for column, values in zip(self.columns, columns):
            if column in self.cuts and column not in self.bins and _arrow_has_fraction(values):
                self.bins[column] = _Bins.new(self.cuts[column])
                if self.combos is not None:  # rows kept so far: their values go into bins too
                    kept = self.combos[column].to_numpy(dtype=np.float64, na_value=np.nan)
                    self.combos[column] = self.bins[column].codes(kept)
                    self.combos = self._merge([self.combos])
        coded = []
        for column, values in zip(self.columns, columns):
            if column in self.bins:
                arrays[column] = self.bins[column].codes(_arrow_floats(values))
                coded.append((arrays[column], len(self.bins[column].lo) + 1))
            else:
                coded.append(_arrow_codes(values))
        distinct = _first_rows(table.num_rows, coded)
        if distinct is None:  # pragma: no cover - billions of combinations: the frame's fallback
            self.rows -= table.num_rows
            self.add(table.to_pandas())
            return
        firsts, counts = distinct
        rows = table.take(firsts).to_pandas()
        for column, codes in arrays.items():
            rows[column] = codes[firsts]
        rows[_WEIGHT] = counts
        self.combos = self._merge([rows] if self.combos is None else [self.combos, rows])
        self._check_size()

    def merge(self, other: Compressor) -> None:
        """Count in the rows ``other`` counted, as if they had been added after this one's rows
        (``other`` has the same columns and cuts; it is left unchanged)."""
        if other.combos is None:
            return
        for column in other.bins:
            if column not in self.bins:  # as when add() first meets a fraction: rows kept so far go into bins
                self.bins[column] = _Bins.new(self.cuts[column])
                if self.combos is not None:
                    kept = self.combos[column].to_numpy(dtype=np.float64, na_value=np.nan)
                    self.combos[column] = self.bins[column].codes(kept)
                    self.combos = self._merge([self.combos])
        theirs = other.combos.copy()
        for column, bins in self.bins.items():
            if column in other.bins:
                found = other.bins[column]
                bins.lo, bins.hi = np.minimum(bins.lo, found.lo), np.maximum(bins.hi, found.hi)
                bins.fraction = np.where(np.isnan(bins.fraction), found.fraction, bins.fraction)
            else:
                theirs[column] = bins.codes(theirs[column].to_numpy(dtype=np.float64, na_value=np.nan))
        self.rows += other.rows
        self.combos = self._merge([theirs] if self.combos is None else [self.combos, theirs])
        self._check_size()

    def _merge(self, parts: list[pd.DataFrame]) -> pd.DataFrame:
        whole = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        merged = whole.groupby(self.columns, sort=False, dropna=False)[_WEIGHT].sum().reset_index()
        return merged

    def result(self) -> Compressed:
        """The distinct rows, reduced columns given back as values, and their weights."""
        if self.combos is None:
            raise ValueError("no chunk was added")
        combos = self.combos
        frame = combos.loc[:, self.columns].copy()
        weights = combos[_WEIGHT].to_numpy(dtype=np.int64)
        extra_rows = []
        for column, bins in self.bins.items():
            codes = combos[column].to_numpy(dtype=np.int64)
            frame[column] = np.where(codes < 0, np.nan, bins.hi[np.maximum(codes, 0)])
            for b in np.unique(codes[codes >= 0]):
                for value in bins.extra_values(int(b)):
                    extra_rows.append((int(np.flatnonzero(codes == b)[0]), column, value))
        if extra_rows:
            rows = frame.iloc[[i for i, _, _ in extra_rows]].copy()
            for j, (_, column, value) in enumerate(extra_rows):
                rows.iloc[j, rows.columns.get_loc(column)] = value
            frame = pd.concat([frame, rows], ignore_index=True)
            weights = np.concatenate([weights, np.zeros(len(rows), dtype=np.int64)])
        return Compressed(frame.reset_index(drop=True), weights, self.rows)

    def positions(self, chunk: pd.DataFrame) -> np.ndarray:
        """Row of :meth:`result`'s frame that each row of ``chunk`` counts in (after every chunk was added)."""
        if self.combos is None:
            raise ValueError("no chunk was added")
        keys = self._keys_for_lookup(chunk)
        index = self.combos.loc[:, self.columns].assign(**{_WEIGHT: np.arange(len(self.combos))})
        found = keys.merge(index, how="left", on=self.columns, sort=False)[_WEIGHT]
        if found.isna().any():  # pragma: no cover - every row was counted
            raise ValueError("a row of the chunk is not among the counted rows; was it added?")
        return found.to_numpy(dtype=np.int64)

    def _keys_for_lookup(self, chunk: pd.DataFrame) -> pd.DataFrame:
        keys = chunk.loc[:, self.columns].reset_index(drop=True)
        for column, bins in self.bins.items():
            values = keys[column].to_numpy(dtype=np.float64, na_value=np.nan)
            codes = np.searchsorted(bins.cuts, values, side="left").astype(np.int64)
            codes[np.isnan(values)] = -1
            keys[column] = codes
        return keys


def compress_part(frame: pd.DataFrame, columns: Sequence[str], cuts: dict[str, tuple[float, ...]],
                  max_rows: int = MAX_DISTINCT_ROWS) -> Compressor:
    """A :class:`Compressor` of ``columns`` that has counted ``frame`` (a task of the Dask executor:
    each partition's compressor is merged on the client in row order, :meth:`Compressor.merge`)."""
    compressor = Compressor(columns, cuts, max_rows)
    compressor.add(frame)
    return compressor
