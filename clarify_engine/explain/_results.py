"""Typed results of the explainers: what Kernel SHAP and partial dependence computed.

The writers (``clarify_engine.report``) render them as Clarify's ``analysis.json``
sections, ``explanations_shap/`` tables and the run manifest; PDP ranks its features from
a :class:`ShapResult` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clarify_engine.explain._kernel_shap import KernelShapResult

__all__ = ["PdpCurve", "PdpResult", "ShapResult", "ShapSummary", "feature_ranking"]


@dataclass(frozen=True)
class ShapSummary:
    """What every SHAP stage result carries, in memory or streamed: the global values and what
    they were computed from (the fields :class:`ShapResult` documents). ``core`` is the Kernel
    SHAP result, or a streamed stage's summary of its shards."""

    features: tuple[str, ...]
    labels: tuple[str, ...]
    core: Any
    global_values: np.ndarray
    global_standard_errors: np.ndarray
    agg_method: str
    link: str
    seed: int | None
    num_samples: int | None
    budget_note: str | None
    budget_to_determine_every_value: int
    baseline: pd.DataFrame
    baseline_weights: np.ndarray
    baseline_source: str

    @property
    def expected_value(self) -> np.ndarray:
        """Clarify's ``expected_value`` per label, shape (D,)."""
        return self.core.expected_value

    def ranking(self, among: list[str]) -> dict[str, float]:
        """Each feature of ``among`` that was explained, scored by the sum over labels of
        ``|global SHAP value|`` (non-finite values are left out)."""
        return feature_ranking(self.features, self.global_values, among)


@dataclass(frozen=True)
class ShapResult(ShapSummary):
    """Kernel SHAP values of every record, with what they were computed from.

    Attributes
    ----------
    features : tuple of str
        The explained features, in model order (``M`` of them).
    labels : tuple of str
        The model outputs explained (``D``): ``label_headers``, the reply's names, or
        ``label0``...
    core : KernelShapResult
        Local values and standard errors (n, M, D), expected value (D,), coalitions.
    global_values, global_standard_errors : ndarray (M, D)
        Aggregated with ``agg_method``.
    agg_method : str
    link : {"identity", "logit"}
    seed : int or None
    num_samples : int or None
        The coalition budget used (the default for ``M`` when the config gives none).
    budget_note : str or None
        Why a small budget cannot determine every value, when it cannot.
    budget_to_determine_every_value : int
    baseline : pandas.DataFrame
        The baseline rows (original dtypes), shape (K, P).
    baseline_weights : ndarray (K,)
    baseline_source : {"config", "file", "k-means", "k-prototypes"}
    record_ids : pandas.Series or None
        The joinsource column of the records, written first in the local values.
    seconds : dict
        ``{"baseline", "kernel_shap"}`` wall-clock seconds.
    method_reason : str or None
        Why ``core.method`` was chosen: what an exact path computed, or why Kernel SHAP ran
        instead of one (None when no exact path was considered: no in-process model).
    """

    core: KernelShapResult
    record_ids: pd.Series | None = None
    seconds: dict = field(default_factory=dict)
    method_reason: str | None = None

    @property
    def values(self) -> np.ndarray:
        """Local SHAP values, shape (n, M, D)."""
        return self.core.values

    @property
    def standard_errors(self) -> np.ndarray:
        """Standard error of each local value, shape (n, M, D)."""
        return self.core.standard_errors

    @property
    def records(self) -> int:
        """Records explained."""
        return int(self.core.values.shape[0])


def feature_ranking(features, global_values: np.ndarray, among: list[str]) -> dict[str, float]:
    """:meth:`ShapResult.ranking` from the explained ``features`` and their global values (M, D)."""
    scores: dict[str, float] = {}
    for j, name in enumerate(features):
        if name not in among:
            continue
        values = global_values[j]
        finite = values[np.isfinite(values)]
        if len(finite):
            scores[name] = float(np.abs(finite).sum())
    return scores


@dataclass(frozen=True)
class PdpCurve:
    """The partial dependence of the model on one feature, or why it has none.

    Attributes
    ----------
    feature : str
    data_type : {"numerical", "categorical"}
    values : list
        Grid values (g of them).
    distribution : list of float
        Share of the records in each grid bin (g values).
    predictions : ndarray (D, g) or None
        Mean model score per label and grid value.
    individual : ndarray (n, D, g) or None
        Per-record scores (ICE curves), when asked for.
    missing : int
        Records whose value of the feature is missing.
    error : str or None
        Why no curve was computed.
    """

    feature: str
    data_type: str
    values: list = field(default_factory=list)
    distribution: list = field(default_factory=list)
    predictions: np.ndarray | None = None
    individual: np.ndarray | None = None
    missing: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PdpResult:
    """Partial dependence of every chosen feature.

    Attributes
    ----------
    curves : tuple of PdpCurve
        In the order chosen.
    labels : tuple of str or None
        The model outputs (None when no model call was made).
    selection : dict
        How the features were chosen (listed, or top-k by SHAP with their scores).
    records : int
    grid_resolution : int
    max_rows_per_call : int
    seconds : float
    """

    curves: tuple[PdpCurve, ...]
    labels: tuple[str, ...] | None
    selection: dict[str, Any]
    records: int
    grid_resolution: int
    max_rows_per_call: int
    seconds: float = 0.0

    @property
    def features(self) -> list[str]:
        return [c.feature for c in self.curves]
