"""Bias metrics as a library: Clarify's metrics, their catalogue, count tables and typed reports.

* :data:`METRICS`: the catalogue (:class:`Metric` rows: name, stage, description, inputs,
  function) from which every list of metric names derives, the config's included;
* the metric functions ``CI``, ``DPL``, ... ``TE`` (of a :class:`FacetCounts`) and ``FT``;
* :func:`bias_metrics`: labels, predictions and a facet mask or facet values → metrics, the
  way fairlearn users call them;
* :func:`bias_report`: a frame and a resolved :class:`BiasSpec` → a typed
  :class:`BiasReport`, whose ``to_clarify_dict()`` is analysis.json's section
  (:func:`bias_section` takes the spec's keyword arguments and returns that dict);
* :func:`count_table`, :class:`CountTable`, :class:`FacetCounts`: the mergeable counts the
  metrics read;
* :class:`MetricError`: a metric that cannot be computed (in the :class:`ClarifyError` tree).

Importing the package is cheap (no numpy): names are imported on first use, so the config
can read the catalogue without the numeric stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clarify_engine._lazy import lazy_exports

if TYPE_CHECKING:
    from clarify_engine.bias._arrays import bias_metrics
    from clarify_engine.bias._flip import FT
    from clarify_engine.bias._metrics import (
        AD, CDDL, CDDPL, CI, DAR, DCA, DCR, DI, DPL, DPPL, DRR, GE, JS, KL, KS, LP, RD, SD, TE, TVD,
    )  # fmt: skip
    from clarify_engine.bias._registry import METRICS, POSTTRAINING_METRICS, PRETRAINING_METRICS, Metric
    from clarify_engine.bias._report import bias_report, bias_section
    from clarify_engine.bias._results import BiasReport, FacetEntry, FacetReport, MetricResult
    from clarify_engine.bias._spec import BiasSpec, FacetSpec
    from clarify_engine.bias._table import CountTable, FacetCounts, count_table
    from clarify_engine.errors import MetricError

_METRIC_FUNCTIONS = (
    "CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD",
    "AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE",
)  # fmt: skip

#: Public names imported on first use, and the module each comes from.
_LAZY = {
    **{name: "clarify_engine.bias._metrics" for name in _METRIC_FUNCTIONS},
    "FT": "clarify_engine.bias._flip",
    "METRICS": "clarify_engine.bias._registry",
    "Metric": "clarify_engine.bias._registry",
    "PRETRAINING_METRICS": "clarify_engine.bias._registry",
    "POSTTRAINING_METRICS": "clarify_engine.bias._registry",
    "bias_metrics": "clarify_engine.bias._arrays",
    "BiasSpec": "clarify_engine.bias._spec",
    "FacetSpec": "clarify_engine.bias._spec",
    "bias_report": "clarify_engine.bias._report",
    "bias_section": "clarify_engine.bias._report",
    "BiasReport": "clarify_engine.bias._results",
    "FacetEntry": "clarify_engine.bias._results",
    "FacetReport": "clarify_engine.bias._results",
    "MetricResult": "clarify_engine.bias._results",
    "CountTable": "clarify_engine.bias._table",
    "FacetCounts": "clarify_engine.bias._table",
    "count_table": "clarify_engine.bias._table",
    "MetricError": "clarify_engine.errors",
}

__all__ = [
    "AD", "BiasReport", "BiasSpec", "CDDL", "CDDPL", "CI", "CountTable", "DAR", "DCA", "DCR", "DI", "DPL", "DPPL",
    "DRR", "FT", "FacetCounts", "FacetEntry", "FacetReport", "FacetSpec", "GE", "JS", "KL", "KS", "LP", "METRICS",
    "Metric", "MetricError", "MetricResult", "POSTTRAINING_METRICS", "PRETRAINING_METRICS", "RD", "SD", "TE",
    "TVD", "bias_metrics", "bias_report", "bias_section", "count_table",
]  # fmt: skip


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
