"""The bias report of a frame: typing → count tables → metrics → a typed :class:`BiasReport`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C
from clarify_engine.bias import _diagnose as W
from clarify_engine.bias._evaluate import evaluate
from clarify_engine.bias._flip import FT, feature_matrix
from clarify_engine.bias._memo import ColumnMemo
from clarify_engine.bias._predicted import labels_from_scores
from clarify_engine.bias._results import BiasReport, FacetEntry, FacetReport
from clarify_engine.bias._spec import BiasSpec, FacetSpec
from clarify_engine.bias._table import Outcomes, count_outcomes, count_table, outcome_codes
from clarify_engine.data._stream import ChunkedDataset
from clarify_engine.errors import DataError
from clarify_engine.report._bias_json import bias_json

__all__ = ["BiasSpec", "FacetSpec", "bias_report", "bias_section", "weighted_report"]

#: FT from the rows a frame of distinct rows stands for: (facet, row positions, sensitive, predicted) -> FT.
FlipRows = Callable[[str, np.ndarray, np.ndarray, np.ndarray], float]


def _require_column(frame: pd.DataFrame, column: str, role: str) -> pd.Series:
    if column not in frame.columns:
        raise DataError(f"{role} column {column!r} is not in the dataset; columns are {list(frame.columns)}")
    return frame[column]


def bias_report(frame: pd.DataFrame | ChunkedDataset, spec: BiasSpec, *, memo: ColumnMemo | None = None) -> BiasReport:
    """Pre- or post-training bias metrics of every facet of a frame, as a typed report.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_rows, n_columns), or ChunkedDataset
        Label, facet, predicted-label and group-variable columns, plus the feature columns
        FT uses (FT reads every column except the facet, label and predicted label). A
        :class:`~clarify_engine.data.ChunkedDataset` is read chunk by chunk with bounded
        memory and gives the same report (:func:`clarify_engine.bias._stream.stream_reports`).
    spec : BiasSpec
        The stage, columns, label values, facets and metric names
        (:meth:`BiasSpec.resolve` builds one from :func:`bias_section`'s arguments). With
        ``column_typing="intent"`` (:func:`~clarify_engine.bias._columns.intent_kind`) rows
        with a missing label or predicted label, and per facet rows with a missing facet
        cell, are excluded and counted in a warning. A ``probability_threshold`` turns a
        predicted-label column of scores in [0, 1] into 0/1 labels (score above it → 1)
        first; without it, scores are typed as smclarify types them (a float column is
        continuous).
    memo : ColumnMemo, optional
        Codings of the frame's columns kept for the job's other reports (the pre- and
        post-training stages read the same label, facets and group variable); used with
        ``column_typing="clarify"`` (intent typing drops different rows per stage).

    Returns
    -------
    BiasReport
        Per facet, per facet value or threshold, the metrics in catalogue order (sorted by
        name), each a value or Clarify's error message. ``report.to_clarify_dict()`` is
        analysis.json's section (:func:`bias_section`).

    Raises
    ------
    DataError
        For what fails the whole report in Clarify: missing columns, a predicted label typed
        differently from the label, no predicted positive, a continuous facet without a
        threshold, values that cannot be converted to the column's type.

    Notes
    -----
    Results Clarify computes silently but that are rarely what was meant (values typed as a
    threshold, empty groups, values that occur in no row, no positive label) are reported
    through :func:`clarify_engine._warnings.warn` (``bias/_diagnose.py``).
    """
    if isinstance(frame, ChunkedDataset):
        from clarify_engine.bias._stream import stream_reports

        return stream_reports(frame, [spec])[0]
    return weighted_report(frame, spec, memo=memo)


def weighted_report(frame: pd.DataFrame, spec: BiasSpec, weights: np.ndarray | None = None,
                    flip_rows: FlipRows | None = None, *, memo: ColumnMemo | None = None) -> BiasReport:
    """:func:`bias_report` of a frame whose row ``i`` stands for ``weights[i]`` rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        As for :func:`bias_report`; with ``weights``, the distinct rows of the role columns
        (``bias/_compress.py``).
    spec : BiasSpec
    weights : numpy.ndarray of int64, shape (n_rows,), optional
        Rows each row stands for (None: one each).
    flip_rows : callable, optional
        Computes FT from the rows the frame stands for (required with ``weights`` when FT
        is asked): ``flip_rows(facet, rows, sensitive, predicted)`` with the frame's row
        positions that take part, whether each is in the sensitive group and its binarised
        predicted label.
    memo : ColumnMemo, optional
        As for :func:`bias_report` (not used with ``weights``).
    """
    # validate (stage, metric names and typing are checked by BiasSpec.resolve / the config)
    label, stage, column_typing = spec.label, spec.stage, spec.column_typing
    post, predicted_label = spec.post_training, spec.predicted_label
    if post and predicted_label is None:
        raise DataError("post-training bias metrics need a predicted label column; predicted_label is None")
    label_series = _require_column(frame, label, "label")
    for facet in spec.facets:
        _require_column(frame, facet.name, "facet")
    if spec.group_variable is not None:
        _require_column(frame, spec.group_variable, "group variable")
    if post:
        _require_column(frame, predicted_label, "predicted label")
    positions = None  # row positions in the given frame, once rows are dropped
    if column_typing == C.INTENT_TYPING:
        frame, positions, weights = _drop_missing(frame, weights, [label, predicted_label] if post else [label],
                                                  f"{stage} bias")
        label_series = C.as_written(frame[label])
    if weights is not None or column_typing != C.CLARIFY_TYPING:
        memo = None
    keep = _Memo(memo)

    # normalise: binarise the label, predicted label and group once for all facets
    label_values = list(spec.label_values)
    label_bin = keep("label", label_series, (label_values, column_typing),
                     lambda: C.binarise_label(label_series, label_values, column_typing, weights))
    _diagnose_label(label_series, label_values, label_bin, column_typing, weights)
    pred_pos = None
    if post:
        pred_series = frame[predicted_label]
        if column_typing == C.INTENT_TYPING:
            pred_series = C.as_written(pred_series)
        if spec.probability_threshold is not None:
            pred_series = labels_from_scores(pred_series, label_bin.kind, label_values, spec.probability_threshold)
        pred_pos = C.binarise_predicted(pred_series, label_bin, label_values, column_typing, label_series, weights)
    group_codes = n_group = None
    if spec.group_variable is not None and len(frame):
        group_series = frame[spec.group_variable]
        coded = keep("group", group_series, (), lambda: C.code_column(group_series))
        n_group = len(coded.uniques) + 1  # last slot: missing group value (code -1)
        group_codes = coded.codes

    # the group, label and predicted-label axes as one code per row, counted against each facet
    outcomes = None if weights is not None else outcome_codes(label_bin.positive, pred_pos, group_codes, n_group)

    entries: dict[str, list[FacetEntry]] = {}  # a facet configured twice: one report, both entries
    for facet in spec.facets:
        rows = _Rows(frame, label_bin.positive, pred_pos, group_codes, positions, weights, outcomes)
        if column_typing == C.INTENT_TYPING:
            rows = _facet_rows(rows, facet.name, stage)
        flip = None
        if flip_rows is not None:
            flip = partial(flip_rows, facet.name, np.arange(len(frame)) if rows.positions is None else rows.positions)
        entries.setdefault(facet.name, []).extend(
            _facet_entries(rows, facet, spec.methods, n_group, drop=[label, predicted_label], typing=column_typing,
                           flip_rows=flip, keep=keep))
    return BiasReport(stage, label, label_bin.text,
                      tuple(FacetReport(name, tuple(found)) for name, found in entries.items()))


def bias_section(frame: pd.DataFrame, **kwargs: Any) -> dict:
    """analysis.json's bias section of a frame: :func:`bias_report` rendered by
    :func:`clarify_engine.report._bias_json.bias_json`.

    Parameters
    ----------
    frame : pandas.DataFrame
        As for :func:`bias_report`.
    **kwargs
        The keyword arguments of :meth:`BiasSpec.resolve`: ``label``, ``label_values``,
        ``facets``, ``stage``, ``methods="all"``, ``predicted_label``, ``group_variable``,
        ``column_typing="clarify"``, ``probability_threshold``.

    Returns
    -------
    dict
        ``{"label", "facets": {name: [{"value_or_threshold", "metrics"}]},
        "label_value_or_threshold"}``; metrics sorted by name, each ``{"name", "description",
        "value"}`` or, when it cannot be computed, with ``"value": None`` and ``"error"``.
        ±inf are the strings ``"Infinity"`` / ``"-Infinity"``.

    Raises
    ------
    DataError, ValueError
        As :func:`bias_report` and :meth:`BiasSpec.resolve`.
    """
    return bias_json(bias_report(frame, BiasSpec.resolve(**kwargs)))


def _drop_missing(frame: pd.DataFrame, weights: np.ndarray | None, columns: list[str],
                  what: str) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """``frame`` without the rows missing a cell in ``columns`` (intent typing), counted in a
    warning; the kept rows' positions in ``frame`` (None when every row is kept) and weights."""
    missing = frame[columns].isna().any(axis=1).to_numpy()
    W.rows_excluded(C.weighted_count(missing, weights), C.weighted_count(None, weights, len(frame)), columns,
                    f"{what}, column(s) {', '.join(map(repr, columns))}")
    if not missing.any():
        return frame, None, weights
    keep = ~missing
    return frame.loc[keep], np.flatnonzero(keep), None if weights is None else weights[keep]


class _Memo:
    """:meth:`ColumnMemo.get`, or a plain call without a memo."""

    def __init__(self, memo: ColumnMemo | None):
        self.memo = memo

    def __call__(self, role: str, series: pd.Series, settings: tuple, make: Callable[[], Any]) -> Any:
        return make() if self.memo is None else self.memo.get(role, series, settings, make)


@dataclass(frozen=True)
class _Rows:
    """The rows one facet's entries count: frame, binarised labels, group codes, and for a frame of
    distinct rows their positions in it and their weights."""

    frame: pd.DataFrame
    label_pos: np.ndarray
    pred_pos: np.ndarray | None
    group_codes: np.ndarray | None
    positions: np.ndarray | None  # None: every row of the frame, in order
    weights: np.ndarray | None
    outcomes: Outcomes | None = None  # without weights

    def take(self, keep: np.ndarray) -> _Rows:
        def cut(array):
            return None if array is None else array[keep]

        positions = np.flatnonzero(keep) if self.positions is None else self.positions[keep]
        return _Rows(self.frame.loc[keep], self.label_pos[keep], cut(self.pred_pos), cut(self.group_codes),
                     positions, cut(self.weights), None if self.outcomes is None else self.outcomes.take(keep))


def _facet_rows(rows: _Rows, facet: str, stage: str) -> _Rows:
    """``rows`` restricted to rows with a facet value (intent typing)."""
    missing = rows.frame[facet].isna().to_numpy()
    W.rows_excluded(C.weighted_count(missing, rows.weights), C.weighted_count(None, rows.weights, len(rows.frame)),
                    [facet], f"{stage} bias, facet {facet!r}")
    if not missing.any():
        return rows
    return rows.take(~missing)


def _diagnose_label(series: pd.Series, values: list, label_bin, typing: str, weights: np.ndarray | None) -> None:
    where = f"label column {series.name!r}"
    W.check_typing(series, values, label_bin.kind, typing, where, "label_values_or_threshold", "positive",
                   label_bin.text, weights)
    if label_bin.coded is not None and len(series):
        coded = label_bin.coded
        W.warn_absent(W.absent_values(series, coded, values), values, coded, where, "label_values_or_threshold")
    W.check_label(str(series.name), label_bin.positive, label_bin.text, where, weights)


def _code_facet(series: pd.Series, spec, typing: str, weights: np.ndarray | None) -> _FacetCoding:
    """Type the facet column and code its rows: one code per distinct value (categorical) or
    in/out of the threshold interval (continuous), and the sensitive codes of each entry."""
    values = list(spec.values) if spec.values else None
    what = f"facet {spec.name!r}"
    coded = C.code_column(series) if C.is_int(series.dtype) else None
    kind = C.typed_kind(series, values, typing, coded, weights)
    if kind == C.CONTINUOUS:
        if not values:
            hint = ""
            if typing == C.CLARIFY_TYPING and C.intent_kind(series, None) == C.CATEGORICAL:
                hint = (f" (the column {C.continuous_reason(series, weights)}; to compare each of its values with the rest, "
                        "set \"column_typing\": \"intent\" at the top level of analysis_config.json)")
            raise DataError(f"{what}: Threshold values must be provided for continuous features; "
                            f"the column is typed continuous, give value_or_threshold=[threshold]{hint}")
        t = C.threshold_of(values, what)
        data = C.numeric(series)
        interval = C.interval_for(t, C.column_max(data), what)
        # uint8 codes 0/1 (outside/inside), counted as they are
        row_codes = np.zeros(len(data), np.uint8) if interval is None else interval.mask(data)
        return _FacetCoding(kind, row_codes, 2, [("" if interval is None else str(interval), np.array([False, True]))])
    coded = coded or C.code_column(series)
    # last slot: missing facet value (code -1)
    return _FacetCoding(kind, coded.codes, len(coded.uniques) + 1, C.sensitive_groups(series, coded, values, what),
                        coded)


@dataclass(frozen=True)
class _FacetCoding:
    """A facet column typed and coded (:func:`_code_facet`)."""

    kind: str
    row_codes: np.ndarray
    n_codes: int
    entries: list  # (value_or_threshold, sensitive codes: bool per facet code)
    coded: C.Coded | None = None


def _facet_entries(rows: _Rows, spec, names, n_group, drop, typing, flip_rows, keep: _Memo) -> list[FacetEntry]:
    """Report entries of one facet: one per value list / threshold, or one per distinct value."""
    frame, label_pos, pred_pos, group_codes, weights = rows.frame, rows.label_pos, rows.pred_pos, rows.group_codes, rows.weights
    series = frame[spec.name]
    if typing == C.INTENT_TYPING:
        series = C.as_written(series)
    values = list(spec.values) if spec.values else None
    where = f"facet column {spec.name!r}"
    facet = keep("facet", series, (values, typing), lambda: _code_facet(series, spec, typing, weights))
    row_codes, n_codes, entries = facet.row_codes, facet.n_codes, facet.entries
    if facet.kind == C.CONTINUOUS:
        W.check_typing(series, values, facet.kind, typing, where, "value_or_threshold", "in the sensitive group",
                       entries[0][0], weights)
    elif values:
        W.warn_absent(W.absent_values(series, facet.coded, values), values, facet.coded, where, "value_or_threshold")
        W.check_missing_facet(series, values, typing, where, weights)
    if rows.outcomes is not None:
        table = count_outcomes(row_codes, n_codes, rows.outcomes)
    else:
        table = count_table(row_codes, n_codes, label_pos, pred_pos, group_codes, n_group, check=False, weights=weights)

    features = _Features(frame, [spec.name, *[c for c in drop if c is not None]])
    out = []
    for text, sensitive_codes in entries:
        counts = table.collapse(sensitive_codes)
        W.check_facet_entry(spec.name, text, counts.n_d, counts.n_a, where)
        flip_test = None
        if pred_pos is not None and flip_rows is not None:
            flip_test = partial(flip_rows, sensitive_codes[row_codes], pred_pos.astype(bool))
        elif pred_pos is not None:
            flip_test = lambda s=sensitive_codes: FT(features.matrix, s[row_codes], pred_pos.astype(bool))  # noqa: E731
        out.append(FacetEntry(text, evaluate(names, counts, flip_test)))
    return out


class _Features:
    """FT's feature matrix (the frame without facet, label and predicted label), built once."""

    def __init__(self, frame: pd.DataFrame, drop: list[str]):
        self._frame = frame
        self._drop = [c for c in dict.fromkeys(drop) if c in frame.columns]
        self._matrix = None

    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = feature_matrix(self._frame.drop(columns=self._drop))
        return self._matrix
