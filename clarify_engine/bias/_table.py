"""Count tables: the only thing the bias metrics (all but FT) read.

A :class:`CountTable` holds, for every facet code and every group of the group variable, the
number of rows with each (observed label, predicted label) outcome. It is built in one pass by
a numba kernel and two tables built on different rows with the same codes **merge by
summation**, so chunks, processes and hosts can each count their part.

A :class:`FacetCounts` is the view one metric needs: the table collapsed to the sensitive
group ``d`` (the facet codes selected by one facet value or threshold) and the rest ``a``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clarify_engine.bias import _kernels

__all__ = ["CountTable", "FacetCounts", "Outcomes", "count_outcomes", "count_table", "outcome_codes"]

NEG, POS = 0, 1


@dataclass(frozen=True)
class CountTable:
    """Row counts by facet code, group, observed label and predicted label.

    Parameters
    ----------
    counts : numpy.ndarray of int64, shape (n_facet, n_group, 2, 2)
        ``counts[f, g, y, p]`` = number of rows with facet code ``f``, group code ``g``,
        binarised label ``y`` and binarised predicted label ``p`` (0 = negative, 1 = positive;
        before training every row has ``p = 0``).
    has_groups : bool
        Whether a group variable was given. If so, the last group slot holds the rows whose
        group value is missing (they count for no group); otherwise there is a single group.

    Notes
    -----
    ``a + b`` (or ``a.merge(b)``) adds the counts of two tables built with the same coding.
    """

    counts: np.ndarray
    has_groups: bool = False

    def __post_init__(self):
        if self.counts.ndim != 4 or self.counts.shape[2:] != (2, 2):
            raise ValueError(
                f"counts must have shape (n_facet, n_group, 2, 2); found {self.counts.shape}"
            )

    def merge(self, other: "CountTable") -> "CountTable":
        """Sum of two tables built with the same facet and group coding."""
        if self.counts.shape != other.counts.shape or self.has_groups != other.has_groups:
            raise ValueError(
                "cannot merge count tables with different codings: shapes "
                f"{self.counts.shape} and {other.counts.shape}"
            )
        return CountTable(self.counts + other.counts, self.has_groups)

    __add__ = merge

    @property
    def n_rows(self) -> int:
        """Number of rows counted."""
        return int(self.counts.sum())

    def collapse(self, sensitive_codes) -> "FacetCounts":
        """Collapse the facet axis to ``d`` (codes in ``sensitive_codes``) and ``a`` (the rest).

        Parameters
        ----------
        sensitive_codes : array-like of bool, shape (n_facet,)
            True for every facet code that belongs to the sensitive group.
        """
        sel = np.asarray(sensitive_codes, dtype=bool)
        if sel.shape != (self.counts.shape[0],):
            raise ValueError(f"sensitive_codes must have shape ({self.counts.shape[0]},); found {sel.shape}")
        d = self.counts[sel].sum(axis=0)
        a = self.counts.sum(axis=0) - d
        return FacetCounts(d=d, a=a, has_groups=self.has_groups)


@dataclass(frozen=True)
class FacetCounts:
    """Counts of the sensitive group ``d`` and the rest ``a`` for one facet entry.

    Parameters
    ----------
    d, a : numpy.ndarray of int64, shape (n_group, 2, 2)
        ``[group, label, predicted label]`` counts (see :class:`CountTable`).
    has_groups : bool
        Whether a group variable was given; if so, the last group slot holds rows with a
        missing group value.
    """

    d: np.ndarray
    a: np.ndarray
    has_groups: bool = False

    # --- sizes -----------------------------------------------------------------------------
    @property
    def n_d(self) -> int:
        return int(self.d.sum())

    @property
    def n_a(self) -> int:
        return int(self.a.sum())

    def side(self, name: str) -> np.ndarray:
        """``(2, 2)`` [label, predicted label] counts of side ``"a"`` or ``"d"`` over all groups."""
        return (self.d if name == "d" else self.a).sum(axis=0)

    def confusion(self, name: str) -> tuple[int, int, int, int]:
        """``(TP, FP, FN, TN)`` of side ``"a"`` or ``"d"``."""
        s = self.side(name)
        return int(s[POS, POS]), int(s[NEG, POS]), int(s[POS, NEG]), int(s[NEG, NEG])

    def by_group(self, axis: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-group ``(d, total)`` counts of shape (n_group, 2) by label (``axis="label"``)
        or by predicted label (``axis="pred"``); index 0 = negative, 1 = positive."""
        ax = 2 if axis == "label" else 1
        d = self.d.sum(axis=ax)
        total = d + self.a.sum(axis=ax)
        return d, total


def count_table(facet_codes, n_facet, label_pos, pred_pos=None, group_codes=None, n_group=None, *, check=True,
                weights=None) -> CountTable:
    """Count rows into a :class:`CountTable` in one pass.

    Parameters
    ----------
    facet_codes : array of int, shape (n,)
        Facet code of each row in ``[0, n_facet)``; -1 counts in the last slot (by convention
        the slot of missing facet values).
    n_facet : int
        Number of facet codes.
    label_pos : array of bool, shape (n,)
        Binarised observed label.
    pred_pos : array of bool, shape (n,), optional
        Binarised predicted label; ``None`` before training (all rows counted as 0).
    group_codes : array of int, shape (n,), optional
        Group code of each row in ``[0, n_group)`` (-1 → last slot, kept for missing group
        values); ``None`` without a group variable.
    n_group : int, optional
        Number of group codes (required with ``group_codes``).
    check : bool
        Check that every code is in range (callers that built the codes themselves skip it).
    weights : array of int, shape (n,), optional
        Rows each row stands for (a frame of distinct rows with their counts,
        ``bias/_compress.py``); without, each row counts once.
    """
    facet_codes = _as_codes(facet_codes, n_facet, "facet_codes", check)
    n = facet_codes.shape[0]
    label_pos = _as_flag(label_pos, n, "label_pos")
    pred_pos = np.zeros(n, dtype=np.uint8) if pred_pos is None else _as_flag(pred_pos, n, "pred_pos")
    if group_codes is None:
        has_groups, n_group = False, 1
        group_codes = np.zeros(n, dtype=np.int64)
    else:
        if n_group is None:
            raise ValueError("n_group is required with group_codes")
        has_groups = True
        group_codes = _as_codes(group_codes, n_group, "group_codes", check)
        if group_codes.shape[0] != n:
            raise ValueError(f"group_codes has {group_codes.shape[0]} rows; expected {n}")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.int64)
        if weights.shape != (n,):
            raise ValueError(f"weights must have shape ({n},); found {weights.shape}")
        counts = _kernels._count_table_weighted(facet_codes, int(n_facet), group_codes, int(n_group), label_pos,
                                                pred_pos, weights)
        return CountTable(counts, has_groups)
    # one chunk: no thread pool (its start-up costs more than counting)
    kernel = _kernels._count_table_serial if n <= _kernels.CHUNK_ROWS else _kernels._count_table
    counts = kernel(facet_codes, int(n_facet), group_codes, int(n_group), label_pos, pred_pos)
    return CountTable(counts, has_groups)


@dataclass(frozen=True)
class Outcomes:
    """The group, observed-label and predicted-label axes of a count table, one code per row
    (:func:`outcome_codes`), computed once and counted against each facet (:func:`count_outcomes`).

    Attributes
    ----------
    codes : numpy.ndarray of uint8 or int32, shape (n,)
        ``(group * 2 + label) * 2 + predicted label``.
    n_group : int
        Group slots (1 without a group variable).
    has_groups : bool
        Whether a group variable was given.
    """

    codes: np.ndarray
    n_group: int
    has_groups: bool

    def take(self, keep: np.ndarray) -> "Outcomes":
        """The outcomes of the rows selected by ``keep`` (a mask or positions)."""
        return Outcomes(self.codes[keep], self.n_group, self.has_groups)


def outcome_codes(label_pos, pred_pos=None, group_codes=None, n_group=None) -> Outcomes:
    """:class:`Outcomes` of every row; arguments as for :func:`count_table` (codes are not range-checked)."""
    label_pos = _as_flag(label_pos, len(label_pos), "label_pos")
    n = label_pos.shape[0]
    pred_pos = np.zeros(n, dtype=np.uint8) if pred_pos is None else _as_flag(pred_pos, n, "pred_pos")
    has_groups = group_codes is not None
    if group_codes is None:
        n_group, group_codes = 1, np.zeros(n, dtype=np.int8)
    elif n_group is None:
        raise ValueError("n_group is required with group_codes")
    out = np.empty(n, dtype=np.uint8 if 4 * n_group <= 256 else np.int32)
    _kernels._outcome_codes(_as_codes(group_codes, n_group, "group_codes", False), int(n_group), label_pos, pred_pos,
                            out)
    return Outcomes(out, int(n_group), has_groups)


def count_outcomes(facet_codes, n_facet: int, outcomes: Outcomes) -> CountTable:
    """The :func:`count_table` of ``facet_codes`` (not range-checked) and the rows' ``outcomes``."""
    facet_codes = _as_codes(facet_codes, n_facet, "facet_codes", False)
    if facet_codes.shape != outcomes.codes.shape:
        raise ValueError(f"facet_codes has {facet_codes.shape[0]} rows; the outcomes {outcomes.codes.shape[0]}")
    # one chunk: no thread pool (its start-up costs more than counting)
    kernel = _kernels._count_outcomes if facet_codes.shape[0] <= _kernels.CHUNK_ROWS else _kernels._count_outcomes_parallel
    counts = kernel(facet_codes, int(n_facet), outcomes.codes, 4 * outcomes.n_group)
    return CountTable(counts.reshape(int(n_facet), outcomes.n_group, 2, 2), outcomes.has_groups)


def _as_codes(codes, n_codes: int, name: str, check: bool = True) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-d integer array; found {codes.dtype} with shape {codes.shape}")
    if check and codes.size and (codes.min() < -1 or codes.max() >= n_codes):
        raise ValueError(f"{name} must lie in [-1, {n_codes}); found [{codes.min()}, {codes.max()}]")
    if codes.dtype in _NARROW_CODES:  # counted as they are: widening would copy every code
        return codes
    return codes.astype(np.int64, copy=False)


#: Code dtypes the kernels read without widening to int64 (0/1 interval codes are uint8).
_NARROW_CODES = frozenset(map(np.dtype, (np.uint8, np.int8, np.int16, np.int32)))


def _as_flag(flags, n: int, name: str) -> np.ndarray:
    flags = np.asarray(flags)
    if flags.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); found {flags.shape}")
    if flags.dtype != np.bool_ and flags.dtype != np.uint8:
        raise ValueError(f"{name} must be a boolean array; found dtype {flags.dtype}")
    return flags.view(np.uint8) if flags.dtype == np.bool_ else flags
