"""Clarify's bias section of analysis.json, rendered from a typed :class:`BiasReport`.

The only place the section's dict shape is built::

    {"label": str,
     "facets": {facet: [{"value_or_threshold": str,
                         "metrics": [{"name", "description", "value"[, "error"]}]}]},
     "label_value_or_threshold": str}

A metric that could not be computed has ``"value": None`` and Clarify's ``"error"``;
±inf are the strings ``"Infinity"`` / ``"-Infinity"`` (Clarify's JSON writer).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clarify_engine.bias._results import BiasReport, MetricResult

__all__ = ["bias_json"]


def json_number(value: float) -> float | str:
    """A metric value for analysis.json: ±inf as Clarify writes them (``"Infinity"``)."""
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return float(value)


def _metric(m: MetricResult) -> dict:
    if m.value is None:  # the metric could not be computed: Clarify's message
        return {"name": m.name, "description": m.description, "value": None, "error": m.error}
    return {"name": m.name, "description": m.description, "value": json_number(m.value)}


def bias_json(report: BiasReport) -> dict:
    """analysis.json's ``pre_training_bias_metrics`` / ``post_training_bias_metrics`` of ``report``.

    Parameters
    ----------
    report : clarify_engine.bias.BiasReport

    Returns
    -------
    dict
        ``{"label", "facets", "label_value_or_threshold"}`` in that key order (module
        docstring); JSON-serialisable with ``allow_nan=False`` when no value is NaN.
    """
    facets = {
        f.name: [{"value_or_threshold": e.value_or_threshold, "metrics": [_metric(m) for m in e.metrics]}
                 for e in f.entries]
        for f in report.facets
    }
    return {"label": report.label, "facets": facets, "label_value_or_threshold": report.label_value_or_threshold}
