"""Bias metrics of many row groups (segments) from one pass of the count kernel.

The rows are typed and binarised once, as :func:`clarify_engine.bias.bias_section` types them
for the whole dataset; every row carries a key (its segment atom, see
:mod:`clarify_engine.bias._segments`), and the key becomes one more grouping axis of the
count table: the kernel's group code is ``key * n_group + group``. A group of keys (a
segment) is then the sum of its keys' slabs, and every count metric reads that sum. Only the
Flip Test, which needs feature rows, reads the segment's rows.

Results are typed (:class:`BiasResult`); :mod:`clarify_engine.report._segments_json` renders
them in the shape of Clarify's bias section.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C
from clarify_engine.bias._registry import METRICS, resolve_methods as _resolve, stage_metrics
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._flip import FT, feature_matrix
from clarify_engine.bias._predicted import labels_from_scores
from clarify_engine.bias._table import CountTable, FacetCounts, count_table
from clarify_engine.errors import DataError

__all__ = ["BiasResult", "FacetEntry", "MetricValue", "count_metric", "describe", "grouped_bias",
           "grouped_bias_stages", "metric_entry", "resolve_methods"]

log = logging.getLogger(__name__)

#: Error of every metric of an empty segment.
EMPTY_SEGMENT = "Segment is empty"


@dataclass(frozen=True)
class MetricValue:
    """One metric of one facet entry: a value, or the reason it has none.

    ``interval`` is the bootstrap confidence interval when one was computed.
    """

    name: str
    description: str
    value: float | None
    error: str | None = None
    interval: object | None = None


@dataclass(frozen=True)
class FacetEntry:
    """Metrics of one facet value (or threshold) against the rest.

    ``counts`` are the collapsed count tables the metrics were computed from (None when the
    group had no row); bootstrap intervals resample them.
    """

    value_or_threshold: str
    metrics: tuple[MetricValue, ...]
    counts: FacetCounts | None = None

    @classmethod
    def failed(cls, value_or_threshold: str, methods, error: str) -> "FacetEntry":
        """An entry whose every metric of ``methods`` has no value, for the same ``error``."""
        return cls(value_or_threshold, tuple(MetricValue(n, describe(n), None, error) for n in methods))


@dataclass(frozen=True)
class BiasResult:
    """A bias section: label, its positive values, and the entries of every facet in order."""

    label: str
    label_value_or_threshold: str
    facets: tuple[tuple[str, tuple[FacetEntry, ...]], ...]
    stage: str = "pre_training"


def resolve_methods(stage: str, methods) -> tuple[str, ...]:
    """The metric names ``methods`` (``"all"`` or a list) selects for ``stage``, in catalogue order.

    Raises
    ------
    ValueError
        Unknown stage or metric name.
    """
    return _resolve(methods, stage_metrics(stage), kind=stage)


def describe(name: str) -> str:
    """Clarify's description of metric ``name``."""
    return METRICS[name].description


def metric_entry(name: str, compute) -> MetricValue:
    """Run ``compute``; a metric that cannot be computed gives an entry with its error (as Clarify)."""
    description = describe(name)
    try:
        value = compute()
    except Exception as exc:  # noqa: BLE001 - every metric failure is reported, not raised
        return MetricValue(name, description, None, str(exc))
    return MetricValue(name, description, float(value))


def count_metric(name: str):
    """The function computing metric ``name`` from a :class:`FacetCounts` (not FT)."""
    return METRICS[name].fn


# ------------------------------------------------------------------ row preparation


@dataclass(frozen=True)
class _Rows:
    """The stage's rows typed once: binarised label / prediction, group codes, kept rows."""

    frame: pd.DataFrame
    label_text: str
    label_pos: np.ndarray
    pred_pos: np.ndarray | None
    group_codes: np.ndarray | None  # missing group → n_group - 1
    n_group: int
    keep: np.ndarray | None  # rows of the input frame kept (intent typing), None = all


def _prepare(frame: pd.DataFrame, req: BiasSpec) -> _Rows:
    """Type the label, prediction and group variable as ``bias_section`` does for the whole frame."""
    post = req.stage == "post_training"
    for column, role in [(req.label, "label"), *[(f.name, "facet") for f in req.facets],
                         (req.group_variable, "group variable"), (req.predicted_label if post else None,
                                                                   "predicted label")]:
        if column is not None and column not in frame.columns:
            raise DataError(f"{role} column {column!r} is not in the dataset; columns are {list(frame.columns)}")
    if post and req.predicted_label is None:
        raise DataError("post-training bias metrics need a predicted label column; predicted_label is None")
    keep = None
    label_series = frame[req.label]
    if req.column_typing == C.INTENT_TYPING:
        missing = frame[[req.label, req.predicted_label] if post else [req.label]].isna().any(axis=1).to_numpy()
        if missing.any():
            keep = ~missing
            frame = frame.loc[keep]
        label_series = C.as_written(frame[req.label])
    label_values = list(req.label_values)
    label_bin = C.binarise_label(label_series, label_values, req.column_typing)
    pred_pos = None
    if post:
        pred_series = frame[req.predicted_label]
        if req.column_typing == C.INTENT_TYPING:
            pred_series = C.as_written(pred_series)
        if req.probability_threshold is not None:
            pred_series = labels_from_scores(pred_series, label_bin.kind, label_values, req.probability_threshold)
        pred_pos = C.binarise_predicted(pred_series, label_bin, label_values, req.column_typing, label_series)
    group_codes, n_group = None, 1
    if req.group_variable is not None and len(frame):
        coded = C.code_column(frame[req.group_variable])
        n_group = len(coded.uniques) + 1
        group_codes = np.where(coded.codes < 0, n_group - 1, coded.codes)
    return _Rows(frame, label_bin.text, label_bin.positive, pred_pos, group_codes, n_group, keep)


@dataclass(frozen=True)
class _FacetCoding:
    """One facet's rows coded, and its entries as (text, sensitive facet codes)."""

    row_codes: np.ndarray
    n_codes: int
    entries: tuple[tuple[str, np.ndarray], ...]
    one_vs_rest: bool
    missing_entry: int | None = None  # one-vs-rest: index of the missing value's entry


def _code_facet(series: pd.Series, spec, typing: str) -> _FacetCoding:
    """Facet codes and entries on the whole frame, exactly as ``bias_section`` builds them."""
    if typing == C.INTENT_TYPING:
        series = C.as_written(series)
    values = list(spec.values) if spec.values else None
    what = f"facet {spec.name!r}"
    coded = C.code_column(series) if C.is_int(series.dtype) else None
    kind = C.typed_kind(series, values, typing, coded)
    if kind == C.CONTINUOUS:
        if not values:
            raise DataError(f"{what}: Threshold values must be provided for continuous features; "
                            "the column is typed continuous, give value_or_threshold=[threshold]")
        t = C.threshold_of(values, what)
        data = C.numeric(series)
        interval = C.interval_for(t, C.column_max(data), what)
        codes = (np.zeros(len(data), np.uint8) if interval is None else interval.mask(data)).astype(np.int64)
        return _FacetCoding(codes, 2, (("" if interval is None else str(interval), np.array([False, True])),), False)
    coded = coded or C.code_column(series)
    n_codes = len(coded.uniques) + 1  # last slot: missing facet value
    codes = np.where(coded.codes < 0, n_codes - 1, coded.codes)
    if values:
        hits = C.categorical_hits(series, coded, values, what)
        return _FacetCoding(codes, n_codes, ((",".join(map(str, values)), np.append(hits, False)),), False)
    order = list(coded.uniques)
    if coded.nan_position is not None:
        order.insert(coded.nan_position, float("nan"))
    entries = []
    for value in order:
        hits = C.categorical_hits(series, coded, [value], what)
        entries.append((str(value), np.append(hits, False)))
    return _FacetCoding(codes, n_codes, tuple(entries), True, coded.nan_position)


# ------------------------------------------------------------------ the grouped run


def grouped_bias(frame: pd.DataFrame, req: BiasSpec, keys: np.ndarray, n_keys: int,
                 groups: list[np.ndarray]) -> list[BiasResult]:
    """Bias sections of several row groups of ``frame`` from one count pass per facet.

    Parameters
    ----------
    frame : pandas.DataFrame
    req : BiasSpec
    keys : numpy.ndarray of int, shape (n_rows,)
        Key of every row in ``[0, n_keys)``.
    n_keys : int
    groups : list of numpy.ndarray of bool, shape (n_keys,)
        Each output group is the union of the keys marked True.

    Returns
    -------
    list of BiasResult
        One per group, in order. Entries of a one-vs-rest facet are the facet values that
        occur in the group, in the whole frame's order; every metric of a group without a row
        carries the error ``"Segment is empty"``.

    Notes
    -----
    Typing, binarisation and facet values are resolved on the whole frame (so every group is
    measured against the same positive label and sensitive values, and entries keep the same
    ``value_or_threshold`` text in every group).
    """
    return grouped_bias_stages(frame, [req], keys, n_keys, groups)[0]


def _shareable(reqs: list[BiasSpec]) -> bool:
    """Whether the stages count the same rows (pre-training metrics ignore the predicted-label axis)."""
    first = reqs[0]
    same = all((r.label, r.label_values, r.facets, r.group_variable, r.column_typing, r.probability_threshold)
               == (first.label, first.label_values, first.facets, first.group_variable, first.column_typing,
                   first.probability_threshold) for r in reqs)
    # intent typing drops rows missing a predicted label from the post-training stage only
    return same and first.column_typing == C.CLARIFY_TYPING and len({r.stage for r in reqs}) == len(reqs)


def grouped_bias_stages(frame: pd.DataFrame, reqs: list[BiasSpec], keys: np.ndarray, n_keys: int,
                        groups: list[np.ndarray]) -> list[list[BiasResult]]:
    """:func:`grouped_bias` of several stages; one result list per request.

    When the stages share label, facets and group variable (Clarify typing), the rows are typed
    and counted once for all of them: the table counts the predicted label, which the
    pre-training metrics sum over.
    """
    if len(reqs) > 1 and not _shareable(reqs):
        return [grouped_bias_stages(frame, [r], keys, n_keys, groups)[0] for r in reqs]
    counting = next((r for r in reqs if r.stage == "post_training"), reqs[0])
    rows = _prepare(frame, counting)
    keys = np.asarray(keys, dtype=np.int64)
    if rows.keep is not None:
        keys = keys[rows.keep]
    groups = [np.asarray(g, dtype=bool) for g in groups]
    results: list[list[list]] = [[[] for _ in groups] for _ in reqs]
    for spec in counting.facets:
        f_keys, label_pos, pred_pos, group_codes, sub = keys, rows.label_pos, rows.pred_pos, rows.group_codes, rows.frame
        if counting.column_typing == C.INTENT_TYPING:
            present = ~sub[spec.name].isna().to_numpy()
            if not present.all():
                f_keys, label_pos, sub = f_keys[present], label_pos[present], sub.loc[present]
                pred_pos = None if pred_pos is None else pred_pos[present]
                group_codes = None if group_codes is None else group_codes[present]
        coding = _code_facet(sub[spec.name], spec, counting.column_typing)
        combined = f_keys * rows.n_group + (0 if group_codes is None else group_codes)
        table = count_table(coding.row_codes, coding.n_codes, label_pos, pred_pos,
                            combined, n_keys * rows.n_group, check=False)
        by_key = table.counts.reshape(coding.n_codes, n_keys, rows.n_group, 2, 2)
        features = None
        if any("FT" in r.methods for r in reqs):
            features = _LazyFeatures(sub, [spec.name, counting.label, counting.predicted_label])
        for j, sel in enumerate(groups):
            t = CountTable(by_key[:, sel].sum(axis=1), rows.group_codes is not None)
            row_sel = None if features is None else sel[f_keys]
            for r, req in enumerate(reqs):
                results[r][j].append((spec.name, _entries(t, coding, req, features, row_sel, pred_pos)))
    return [[BiasResult(req.label, rows.label_text, tuple(fr), req.stage) for fr in per_req]
            for req, per_req in zip(reqs, results)]


def _entries(t: CountTable, coding: _FacetCoding, req: BiasSpec, features, row_sel, pred_pos
             ) -> tuple[FacetEntry, ...]:
    empty = t.n_rows == 0
    present = t.counts.sum(axis=(1, 2, 3)) > 0
    out = []
    for code, (text, sensitive) in enumerate(coding.entries):
        # one-vs-rest entries follow the codes (the missing value sits at its first appearance)
        if coding.one_vs_rest and not empty and not present[_entry_code(coding, code)]:
            continue  # the value does not occur in this group
        if empty:
            out.append(FacetEntry.failed(text, req.methods, EMPTY_SEGMENT))
            continue
        counts = t.collapse(sensitive)
        metrics = []
        for name in req.methods:
            if name == "FT":
                compute = lambda s=sensitive: FT(  # noqa: E731
                    lambda: features.matrix()[row_sel], s[coding.row_codes][row_sel], pred_pos[row_sel].astype(bool))
            else:
                compute = lambda f=count_metric(name): f(counts)  # noqa: E731
            metrics.append(metric_entry(name, compute))
        out.append(FacetEntry(text, tuple(metrics), counts))
    return tuple(out)


def _entry_code(coding: _FacetCoding, index: int) -> int:
    """Facet code of one-vs-rest entry ``index`` (the missing value's entry → the last code)."""
    missing_at = coding.missing_entry
    if missing_at is None or index < missing_at:
        return index
    return coding.n_codes - 1 if index == missing_at else index - 1


class _LazyFeatures:
    """FT's feature matrix (the frame without facet, label and predicted label), built once."""

    def __init__(self, frame: pd.DataFrame, drop: list):
        self._frame = frame
        self._drop = [c for c in dict.fromkeys(drop) if c is not None and c in frame.columns]
        self._matrix = None

    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = feature_matrix(self._frame.drop(columns=self._drop))
        return self._matrix
