"""Bias metrics: column binarisation, one-pass count tables and Clarify's metrics.

``bias_section`` computes the analysis.json bias section for a frame; ``count_table`` and
``CountTable`` expose the mergeable counts the metrics are computed from.
"""

from clarify_engine.bias._report import POSTTRAINING_METRICS, PRETRAINING_METRICS, FacetSpec, bias_section
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._table import CountTable, FacetCounts, count_table

__all__ = [
    "POSTTRAINING_METRICS",
    "PRETRAINING_METRICS",
    "BiasSpec",
    "CountTable",
    "FacetCounts",
    "FacetSpec",
    "bias_section",
    "count_table",
]
