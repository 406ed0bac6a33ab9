"""Compute the metrics of one facet entry from its counts, each to a value or an error.

Shared by the frame-level report (:func:`clarify_engine.bias.bias_report`) and the
array-level call (:func:`clarify_engine.bias.bias_metrics`).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

from clarify_engine.bias._registry import METRICS
from clarify_engine.bias._results import MetricResult
from clarify_engine.bias._table import FacetCounts

__all__ = ["evaluate"]


def _result(name: str, compute: Callable[[], float]) -> MetricResult:
    """One metric's value, or an error entry when it cannot be computed (Clarify's MetricError)."""
    description = METRICS[name].description
    try:
        value = compute()
    except Exception as exc:  # noqa: BLE001 - as in Clarify, every metric failure is reported, not raised
        return MetricResult(name, description, None, str(exc))
    return MetricResult(name, description, float(value))


def evaluate(names: Sequence[str], counts: FacetCounts,
             flip_test: Callable[[], float] | None = None) -> tuple[MetricResult, ...]:
    """The metrics ``names`` of one facet entry, in the order given.

    Parameters
    ----------
    names : sequence of str
        Catalogue names (already resolved).
    counts : FacetCounts
        The entry's counts: every metric except FT reads only these.
    flip_test : callable, optional
        Computes FT for this entry (it needs the feature rows); required when ``"FT"`` is in
        ``names``.

    Returns
    -------
    tuple of MetricResult
        A value, or Clarify's message for a metric that cannot be computed; never raises for
        a metric's own failure.
    """
    out = []
    for name in names:
        metric = METRICS[name]
        compute: Callable[[], float]
        if metric.needs_features:
            if flip_test is None:
                raise ValueError(f"{name} needs the feature rows; pass flip_test")
            compute = flip_test
        else:
            compute = partial(metric.fn, counts)
        out.append(_result(name, compute))
    return tuple(out)
