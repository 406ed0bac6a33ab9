"""What the report knows about a job beyond its output files.

``analysis.json`` holds the bias metric values but not the group sizes and rates behind
them. At the end of a job the data is still at hand, so :class:`BiasContext` carries the
label, facet and predicted-label columns to the report, and :meth:`BiasContext.group_stats`
selects each facet entry's rows exactly as :func:`clarify_engine.bias.bias_report` does
(same typing and binarisation helpers), then counts. When a finished job is re-rendered
(``clarify-engine report``) there is no context and the report says "not available".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C
from clarify_engine.errors import ClarifyError

__all__ = ["BiasContext", "GroupStats"]


@dataclass(frozen=True)
class GroupStats:
    """Sizes and positive rates of the sensitive group ``d`` and the other rows ``a``.

    Rates are fractions in [0, 1], or None when the group is empty (or, for predictions,
    when the job made none).
    """

    n_d: int
    n_a: int
    label_rate_d: float | None
    label_rate_a: float | None
    pred_rate_d: float | None = None
    pred_rate_a: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("n_d", "n_a", "label_rate_d", "label_rate_a", "pred_rate_d", "pred_rate_a")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GroupStats":
        return cls(**{k: data.get(k) for k in ("n_d", "n_a", "label_rate_d", "label_rate_a", "pred_rate_d", "pred_rate_a")})


def _rate(positive: np.ndarray, rows: np.ndarray) -> float | None:
    n = int(rows.sum())
    return None if n == 0 else float(positive[rows].sum()) / n


@dataclass(frozen=True)
class BiasContext:
    """The columns behind the bias metrics of one job.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_rows, k)
        At least the label, facet and (when post-training ran) predicted-label columns.
    label : str
    label_values : tuple
        ``label_values_or_threshold``.
    facets : tuple of (str, tuple or None)
        Facet names and their ``value_or_threshold`` (None: one entry per distinct value).
    predicted_label : str, optional
        Predicted-label column, when predictions were made or given.
    """

    frame: pd.DataFrame = field(repr=False)
    label: str
    label_values: tuple
    facets: tuple
    predicted_label: str | None = None

    def group_stats(self) -> dict[tuple[str, str], GroupStats]:
        """Stats of every facet entry, keyed by ``(facet name, value_or_threshold text)``.

        The key text is the entry's ``value_or_threshold`` in ``analysis.json``.
        """
        label_bin = C.binarise_label(self.frame[self.label], list(self.label_values))
        positive = label_bin.positive.astype(bool)
        predicted = None
        if self.predicted_label is not None and self.predicted_label in self.frame.columns:
            try:
                predicted = C.binarise_predicted(self.frame[self.predicted_label], label_bin,
                                                 list(self.label_values)).astype(bool)
            except ClarifyError:
                predicted = None  # the post-training section carries that failure itself
        stats: dict[tuple[str, str], GroupStats] = {}
        for name, values in self.facets:
            for text, rows in _facet_rows(self.frame[name], list(values) if values else None):
                others = ~rows
                stats[(name, text)] = GroupStats(
                    n_d=int(rows.sum()), n_a=int(others.sum()),
                    label_rate_d=_rate(positive, rows), label_rate_a=_rate(positive, others),
                    pred_rate_d=None if predicted is None else _rate(predicted, rows),
                    pred_rate_a=None if predicted is None else _rate(predicted, others),
                )
        return stats


def _facet_rows(series: pd.Series, values: list | None) -> list[tuple[str, np.ndarray]]:
    """``(value_or_threshold text, sensitive-row mask)`` per entry, as the bias section builds them."""
    what = f"facet {series.name!r}"
    coded = C.code_column(series) if C.is_int(series.dtype) else None
    kind = C.column_kind(series, values, coded)
    if kind == C.CONTINUOUS:
        if not values:
            return []
        t = C.threshold_of(values, what)
        data = C.numeric(series)
        interval = C.interval_for(t, C.column_max(data), what)
        if interval is None:
            return [("", np.zeros(len(data), bool))]
        return [(str(interval), interval.mask(data).astype(bool))]
    coded = coded or C.code_column(series)
    if values:
        hits = C.categorical_hits(series, coded, values, what)
        return [(",".join(map(str, values)), C.rows_of(coded, hits).astype(bool))]
    out = []
    order = list(coded.uniques)
    if coded.nan_position is not None:
        order.insert(coded.nan_position, float("nan"))
    for value in order:
        # a missing value never matches, so its entry has no sensitive row (as in the metrics)
        rows = C.rows_of(coded, C.categorical_hits(series, coded, [value], what)).astype(bool)
        out.append((str(value), rows))
    return out
