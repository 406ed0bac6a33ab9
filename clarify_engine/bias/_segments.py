"""Segment rules (``segment_config``) → one segment key per row.

A segmentation names a column and lists segments: numeric intervals such as ``"[18, 30)"``
(bracket = closed bound, parenthesis = open, ``inf``/``-inf`` allowed) or category values
matched as facet values are (same type coercion). The rows matching no listed segment form
the ``__default__`` segment, missing cells included. Segments of one segmentation may
overlap (a row then belongs to both; a warning is logged).

:func:`segment_keys` turns every segmentation of a :class:`SegmentSpec` into one integer key
per row (an *atom*: the set of segments the row belongs to, over all segmentations), so the
bias count kernel counts every segment of every segmentation in the one pass it already
makes, with the key as one more grouping axis. A segment's counts are the sum over the atoms
that contain it.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C
from clarify_engine.bias import _kernels, _segment_kernels
from clarify_engine.errors import DataError

__all__ = ["DEFAULT_SEGMENT", "Segment", "SegmentInterval", "Segmentation", "SegmentSpec", "SegmentKeys",
           "parse_interval", "segment_keys"]

log = logging.getLogger(__name__)

#: Name of the segment holding the rows that match no listed segment.
DEFAULT_SEGMENT = "__default__"

_NUMBER = r"[-+]?(?:inf|[0-9.eE+-]+)"
INTERVAL_RE = re.compile(rf"^\s*([\[(])\s*({_NUMBER})\s*,\s*({_NUMBER})\s*([\])])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SegmentInterval:
    """A numeric interval with open or closed bounds.

    Parameters
    ----------
    left, right : float
        Bounds (may be ``-inf`` / ``inf``).
    left_closed, right_closed : bool
        Whether the bound itself is inside (``[`` / ``]``) or not (``(`` / ``)``).
    """

    left: float
    right: float
    left_closed: bool
    right_closed: bool


def parse_interval(text: str, where: str) -> SegmentInterval | None:
    """The interval written as ``text`` (``"[1, 4]"``, ``"(2, inf)"``), or None when it is not one.

    Raises
    ------
    DataError
        A string shaped like an interval whose bounds are not numbers or are reversed.
    """
    if not isinstance(text, str):
        return None
    m = INTERVAL_RE.match(text)
    if m is None:
        return None
    opening, lo, hi, closing = m.groups()
    try:
        left, right = float(lo), float(hi)
    except ValueError:
        raise DataError(f"{where}: {text!r} looks like an interval but its bounds are not numbers; "
                        "write it as \"[1, 4]\" or \"(2.5, inf)\"") from None
    if math.isnan(left) or math.isnan(right) or left > right or (left == right and not (opening == "[" and closing == "]")):
        raise DataError(f"{where}: the interval {text!r} contains no value (its left bound must be below its right "
                        "bound, or equal with both bounds closed as in \"[3, 3]\")")
    return SegmentInterval(left, right, opening == "[", closing == "]")


@dataclass(frozen=True)
class Segment:
    """One listed segment: a union of intervals or a list of category values.

    Parameters
    ----------
    items : tuple
        The segment as written in the config (interval strings or values).
    alias : str
        Display name (``display_aliases[i]``, or the items joined with ``","``).
    intervals : tuple of SegmentInterval, optional
        Set for a numeric segment; None for a categorical one.
    """

    items: tuple
    alias: str
    intervals: tuple[SegmentInterval, ...] | None = None


@dataclass(frozen=True)
class Segmentation:
    """One ``segment_config`` item, resolved.

    Parameters
    ----------
    config_name : str
        ``config_name``, or ``"segment_config_<index>"``.
    name_or_index : str or int
        The column as the config wrote it (reported back).
    column : str
        The column name in the frame.
    segments : tuple of Segment
    default_alias : str
        Display name of ``__default__``.
    where : str
        Config path for messages, e.g. ``"segment_config[1]"``.
    """

    config_name: str
    name_or_index: str | int
    column: str
    segments: tuple[Segment, ...]
    default_alias: str = DEFAULT_SEGMENT
    where: str = "segment_config"

    @property
    def is_numeric(self) -> bool:
        return bool(self.segments) and self.segments[0].intervals is not None

    @property
    def n_segments(self) -> int:
        """Listed segments plus ``__default__``."""
        return len(self.segments) + 1


@dataclass(frozen=True)
class SegmentSpec:
    """Every segmentation of a job, in config order."""

    segmentations: tuple[Segmentation, ...]


@dataclass(frozen=True)
class SegmentKeys:
    """Rows keyed by atom (the set of segments a row belongs to).

    Attributes
    ----------
    keys : numpy.ndarray of int64, shape (n,)
        Atom of each row in ``[0, n_atoms)``.
    n_atoms : int
    members : tuple of tuple of numpy.ndarray
        ``members[k][s]``: bool per atom, True when the atom is in segment ``s`` of
        segmentation ``k`` (``s = len(segments)`` is ``__default__``).
    """

    keys: np.ndarray
    n_atoms: int
    members: tuple[tuple[np.ndarray, ...], ...]


def _segment_bits(series: pd.Series, seg: Segmentation) -> np.ndarray:
    """int64 per row: bit ``s`` set when the row is in listed segment ``s``, bit ``len(segments)``
    (``__default__``) when it is in none."""
    n_listed = len(seg.segments)
    if seg.is_numeric:
        try:
            values = np.ascontiguousarray(C.numeric(series), dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"{seg.where}: segments are intervals but the segment column {seg.column!r} holds non-numeric values "
                f"(e.g. {series.dropna().iloc[0]!r}); list category values instead of intervals, or segment a "
                "numeric column") from None
        parts = [(iv, s) for s, segment in enumerate(seg.segments) for iv in segment.intervals]
        bounds = np.array([_segment_kernels.closed_bounds(iv.left, iv.right, iv.left_closed, iv.right_closed)
                           for iv, _ in parts], dtype=np.float64).reshape(-1, 2)
        return _segment_kernels._interval_bits(values, np.ascontiguousarray(bounds[:, 0]),
                                               np.ascontiguousarray(bounds[:, 1]),
                                               np.array([s for _, s in parts], dtype=np.int64), n_listed)
    default = np.int64(1) << n_listed
    if len(series) == 0:
        return np.zeros(0, dtype=np.int64)
    coded = C.code_column(series)
    table = np.zeros(len(coded.uniques) + 1, dtype=np.int64)  # slot 0: missing value
    for s, segment in enumerate(seg.segments):
        what = f"{seg.where}.segments[{s}] on column {seg.column!r}"
        if coded.uniques:
            hits = C.categorical_hits(series, coded, list(segment.items), what)
            table[1:][hits] |= np.int64(1) << s
    table[table == 0] = default
    return table[coded.codes + 1]


def _compact(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``< size`` renumbered in order of first appearance, and the original code of each."""
    if size <= C.SMALL_RANGE:
        new, firsts = _kernels._code_small_ints(codes, 0, size)
        return new, codes[firsts]
    uniq, new = np.unique(codes, return_inverse=True)
    return np.asarray(new, dtype=np.int64).reshape(-1), uniq


def segment_keys(frame: pd.DataFrame, spec: SegmentSpec) -> SegmentKeys:
    """The atom of every row for every segmentation of ``spec``, in one key.

    Raises
    ------
    DataError
        A segment column is not in ``frame``, or interval segments on a non-numeric column.
    """
    n = len(frame)
    keys = np.zeros(n, dtype=np.int64)
    patterns: list[np.ndarray] = []  # per segmentation: bits of each of its distinct patterns
    radix = 1
    for seg in spec.segmentations:
        if seg.column not in frame.columns:
            raise DataError(f"Unable to locate the segment column {seg.name_or_index!r} ({seg.where}.name_or_index); "
                            f"the dataset's columns are {list(frame.columns)[:20]}. Give a column name from the "
                            "headers or a 0-based index")
        bits = _segment_bits(frame[seg.column], seg)
        if seg.n_segments <= 20:
            codes, distinct = _compact(bits, 1 << seg.n_segments)
        else:
            distinct, codes = np.unique(bits, return_inverse=True)
            codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        counts = np.bincount(codes, minlength=len(distinct))
        several = np.array([bin(int(b)).count("1") > 1 for b in distinct], dtype=bool)
        overlap = int(counts[several].sum()) if several.size else 0
        if overlap:
            log.warning("%s: %d row(s) fall in more than one segment of column %r; each segment is counted "
                        "independently, so these rows count in every segment they match", seg.where, overlap,
                        seg.column)
        keys += codes * radix
        radix *= max(len(distinct), 1)
        patterns.append(distinct)
    if len(spec.segmentations) > 1:
        keys, combos = _compact(keys, radix)
    else:
        combos = np.arange(radix, dtype=np.int64)
    members, rest = [], combos.copy()
    for seg, distinct in zip(spec.segmentations, patterns):
        k = max(len(distinct), 1)
        atom_bits = distinct[rest % k] if len(distinct) else np.zeros(len(rest), np.int64)
        rest = rest // k
        members.append(tuple(((atom_bits >> s) & 1).astype(bool) for s in range(seg.n_segments)))
    return SegmentKeys(keys, int(len(combos)), tuple(members))
