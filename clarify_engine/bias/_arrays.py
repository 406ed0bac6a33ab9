"""Bias metrics of arrays: labels, predictions and a facet mask or facet values → metrics.

The call fairlearn users expect (``metric(y_true, y_pred, sensitive_features=...)``), computed
by the same count kernel and metric functions as the analysis.json path.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C
from clarify_engine.bias._evaluate import evaluate
from clarify_engine.bias._flip import FT, feature_matrix
from clarify_engine.bias._registry import FEATURES, GROUP, LABEL, METRICS, PREDICTED_LABEL, resolve_methods
from clarify_engine.bias._results import FacetEntry, FacetReport
from clarify_engine.bias._table import count_table

__all__ = ["bias_metrics"]

#: The argument that provides each input a metric needs.
_ARGUMENT = {LABEL: "y_true", PREDICTED_LABEL: "y_pred", GROUP: "group", FEATURES: "features"}


def _column(values: Any, n: int | None, argument: str) -> pd.Series:
    """``values`` as a Series of ``n`` rows (its own index dropped)."""
    if isinstance(values, pd.Series):
        series = values.reset_index(drop=True)
    else:
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"{argument} must be one-dimensional, one value per row; found shape {array.shape}")
        series = pd.Series(array)
    if n is not None and len(series) != n:
        raise ValueError(f"{argument} has {len(series)} rows and sensitive has {n}; give one value per row to each")
    return series


def _positives(series: pd.Series, positive: list) -> np.ndarray:
    """Rows of ``series`` equal to one of the positive labels (missing values are negative)."""
    return series.isin(positive).to_numpy(dtype=bool, na_value=False)


def _selected(metrics: str | Sequence[str] | None, given: set[str]) -> tuple[str, ...]:
    """Names of the metrics to compute: those asked for, or every one whose inputs were given."""
    if metrics is None:
        return tuple(name for name, m in METRICS.items() if set(m.needs) <= given)
    names = resolve_methods(metrics, METRICS, argument="metrics")
    for name in names:
        missing = [_ARGUMENT[need] for need in METRICS[name].needs if need not in given]
        if missing:
            raise ValueError(f"metrics: {name} needs {' and '.join(missing)}; pass "
                             f"{', '.join(f'{a}=...' for a in missing)} or leave {name} out")
    return names


def _feature_rows(features: Any, n: int) -> np.ndarray | Any:
    """FT's feature matrix, or a callable raising Clarify's FT error for non-numeric columns."""
    if isinstance(features, pd.DataFrame):
        frame = features.reset_index(drop=True)
        if len(frame) != n:
            raise ValueError(f"features has {len(frame)} rows and sensitive has {n}; give one row per record")
        return lambda: feature_matrix(frame)
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise ValueError(f"features must have shape ({n}, n_features), one row per record; found {matrix.shape}")
    return matrix


def bias_metrics(
    y_true: Any = None,
    y_pred: Any = None,
    *,
    sensitive: Any,
    sensitive_values: Iterable | None = None,
    positive_label: Any = 1,
    group: Any = None,
    features: Any = None,
    metrics: str | Sequence[str] | None = None,
    name: str = "sensitive",
) -> FacetReport:
    """Clarify's bias metrics of labels and predictions for one sensitive attribute.

    Parameters
    ----------
    y_true : array-like, shape (n,), optional
        Observed labels (pre-training metrics and most post-training ones).
    y_pred : array-like, shape (n,), optional
        Predicted labels (post-training metrics).
    sensitive : array-like, shape (n,)
        A boolean mask (True = the sensitive group ``d``), or the facet's values. Compare a
        continuous facet with its threshold first (``age > 40``).
    sensitive_values : iterable, optional
        With facet values: the values that form the sensitive group (one entry). Without
        (and for values that are not a mask): one entry per distinct value against the rest,
        in order of first appearance, as Clarify reports a facet without
        ``value_or_threshold``.
    positive_label : scalar or list, default 1
        The label value(s) that count as positive in ``y_true`` and ``y_pred`` (``1`` also
        matches ``True``); missing labels are negative.
    group : array-like, shape (n,), optional
        Group variable of CDDL and CDDPL (missing values belong to no group).
    features : array-like or pandas.DataFrame, shape (n, n_features), optional
        Numeric feature rows of FT.
    metrics : list of str or "all", optional
        Catalogue names (:data:`clarify_engine.bias.METRICS`). By default, every metric whose
        inputs are given.
    name : str
        The facet's name in the result.

    Returns
    -------
    FacetReport
        One :class:`FacetEntry` per sensitive group; ``result["DPPL"]`` reads a metric when
        there is one entry, ``result.entry("F")["DI"]`` otherwise. A metric that cannot be
        computed (an empty group, ...) holds Clarify's message and raises
        :class:`~clarify_engine.errors.MetricError` when read.

    Raises
    ------
    ValueError
        For arrays of different lengths, an unknown metric name, a metric whose input is not
        given, or a ``positive_label`` that occurs in neither ``y_true`` nor ``y_pred``.

    Examples
    --------
    >>> from clarify_engine.bias import bias_metrics
    >>> r = bias_metrics([1, 0, 1, 1], [1, 0, 0, 1], sensitive=[True, True, False, False], metrics=["DPPL", "DI"])
    >>> r["DPPL"], r["DI"]
    (0.0, 1.0)
    """
    facet = _column(sensitive, None, "sensitive")
    n = len(facet)
    positive = list(positive_label) if isinstance(positive_label, (list, tuple, set)) else [positive_label]
    given = {need for need, value in ((LABEL, y_true), (PREDICTED_LABEL, y_pred), (GROUP, group),
                                      (FEATURES, features)) if value is not None}
    names = _selected(metrics, given)

    label_pos = np.zeros(n, dtype=bool)
    pred_pos = None
    if y_true is not None:
        label_pos = _positives(_column(y_true, n, "y_true"), positive)
    if y_pred is not None:
        pred_pos = _positives(_column(y_pred, n, "y_pred"), positive)
    if n and not label_pos.any() and (pred_pos is None or not pred_pos.any()):
        shown = [] if y_true is None else _column(y_true, n, "y_true").drop_duplicates().tolist()[:10]
        raise ValueError(f"positive_label={positive_label!r} occurs in neither y_true nor y_pred "
                         f"(y_true's values include {shown!r}); pass the positive label value(s)")
    group_codes = n_group = None
    if group is not None:
        coded = C.code_column(_column(group, n, "group"))
        group_codes, n_group = coded.codes, len(coded.uniques) + 1

    if pd.api.types.is_bool_dtype(facet.dtype) and not facet.isna().any() and sensitive_values is None:
        row_codes, n_codes = facet.to_numpy(dtype=np.int64), 2
        groups = [("True", np.array([False, True]))]
    else:
        coded = C.code_column(facet)
        row_codes, n_codes = coded.codes, len(coded.uniques) + 1
        values = None if sensitive_values is None else list(sensitive_values)
        groups = C.sensitive_groups(facet, coded, values, "sensitive")
    table = count_table(row_codes, n_codes, label_pos, pred_pos, group_codes, n_group, check=False)

    rows = None if features is None else _feature_rows(features, n)
    entries = []
    for text, sensitive_codes in groups:
        flip_test = None
        if rows is not None and pred_pos is not None:
            flip_test = lambda s=sensitive_codes: FT(rows, s[row_codes], pred_pos)  # noqa: E731
        entries.append(FacetEntry(text, evaluate(names, table.collapse(sensitive_codes), flip_test)))
    return FacetReport(name, tuple(entries))
