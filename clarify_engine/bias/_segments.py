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
from clarify_engine.errors import DataError

__all__ = ["DEFAULT_SEGMENT", "Segment", "SegmentInterval", "Segmentation", "SegmentSpec", "SegmentKeys",
           "parse_interval", "segment_keys"]

log = logging.getLogger("clarify_engine")

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

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask of the values inside the interval (NaN is never inside)."""
        with np.errstate(invalid="ignore"):
            lo = values >= self.left if self.left_closed else values > self.left
            hi = values <= self.right if self.right_closed else values < self.right
        return lo & hi


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


def _segment_masks(series: pd.Series, seg: Segmentation) -> np.ndarray:
    """Bool matrix (n, n_listed): row in listed segment ``s``."""
    n = len(series)
    out = np.zeros((n, len(seg.segments)), dtype=bool)
    if seg.is_numeric:
        try:
            values = C.numeric(series).astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"{seg.where}: segments are intervals but the segment column {seg.column!r} holds non-numeric values "
                f"(e.g. {series.dropna().iloc[0]!r}); list category values instead of intervals, or segment a "
                "numeric column") from None
        for s, segment in enumerate(seg.segments):
            for interval in segment.intervals:
                out[:, s] |= interval.mask(values)
        return out
    if n == 0:
        return out
    coded = C.code_column(series)
    for s, segment in enumerate(seg.segments):
        what = f"{seg.where}.segments[{s}] on column {seg.column!r}"
        hits = C.categorical_hits(series, coded, list(segment.items), what) if coded.uniques else np.zeros(0, bool)
        out[:, s] = C.rows_of(coded, hits).astype(bool)
    return out


def segment_keys(frame: pd.DataFrame, spec: SegmentSpec) -> SegmentKeys:
    """The atom of every row for every segmentation of ``spec``, in one key.

    Raises
    ------
    DataError
        A segment column is not in ``frame``, or interval segments on a non-numeric column.
    """
    n = len(frame)
    patterns = []
    for seg in spec.segmentations:
        if seg.column not in frame.columns:
            raise DataError(f"Unable to locate the segment column {seg.name_or_index!r} ({seg.where}.name_or_index); "
                            f"the dataset's columns are {list(frame.columns)[:20]}. Give a column name from the "
                            "headers or a 0-based index")
        masks = _segment_masks(frame[seg.column], seg)
        overlap = int((masks.sum(axis=1) > 1).sum())
        if overlap:
            log.warning("%s: %d row(s) fall in more than one segment of column %r; each segment is counted "
                        "independently, so these rows count in every segment they match", seg.where, overlap,
                        seg.column)
        default = ~masks.any(axis=1)
        patterns.append(np.column_stack([masks, default]))
    bits = np.concatenate(patterns, axis=1) if patterns else np.zeros((n, 0), bool)
    if bits.shape[1] <= 62:
        packed = (bits.astype(np.int64) << np.arange(bits.shape[1], dtype=np.int64)).sum(axis=1)
        uniq, keys = np.unique(packed, return_inverse=True)
        atom_bits = ((uniq[:, None] >> np.arange(bits.shape[1], dtype=np.int64)) & 1).astype(bool)
    else:
        atom_bits, keys = np.unique(bits, axis=0, return_inverse=True)
    members, start = [], 0
    for seg in spec.segmentations:
        members.append(tuple(atom_bits[:, start + s] for s in range(seg.n_segments)))
        start += seg.n_segments
    return SegmentKeys(np.asarray(keys, dtype=np.int64).reshape(-1), int(atom_bits.shape[0]), tuple(members))
