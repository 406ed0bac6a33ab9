"""Typed results of the text engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FeatureExplanation", "RecordExplanation", "TextShapResult"]


@dataclass(frozen=True)
class FeatureExplanation:
    """SHAP values of one feature of one record.

    Attributes
    ----------
    name : str
    data_type : {"free_text", "numerical", "categorical"}
    values, standard_errors : ndarray (k, D)
        One row per unit of a text feature (``k`` may be 0 for an empty text), one row for a
        tabular feature; one column per model output.
    units : tuple of str or None
        The unit strings (text features only).
    starts : tuple of int or None
        Character offset of each unit in the record's text (text features only).
    """

    name: str
    data_type: str
    values: np.ndarray
    standard_errors: np.ndarray
    units: tuple | None = None
    starts: tuple | None = None


@dataclass(frozen=True)
class RecordExplanation:
    """One record: its features in model order, or why it was not explained.

    Attributes
    ----------
    row : int
        0-based position of the record in the dataset.
    features : tuple of FeatureExplanation
        Empty when ``error`` is set.
    fx, reference : ndarray (D,)
        ``link(f(x))`` and the value of the empty coalition; the values of the record add up to
        ``fx - reference``.
    exact : bool
        Every coalition of the record's features was evaluated (exact Shapley values).
    n_features : int
        Features of the record's Kernel SHAP problem (tabular features plus its units).
    error : str or None
        Why the record was not explained (the others were).
    """

    row: int
    features: tuple
    fx: np.ndarray
    reference: np.ndarray
    exact: bool
    n_features: int
    error: str | None = None


@dataclass(frozen=True)
class TextShapResult:
    """The text engine's result.

    Attributes
    ----------
    records : tuple of RecordExplanation
        One per dataset record, in input order.
    expected_value : ndarray (D,)
        ``link`` of the model's weighted mean output on the baseline rows (each text column
        replaced by its baseline string).
    data_types : tuple of (str, str)
        Each feature and its data type, model order.
    stats : dict
        Counts for the run manifest (records explained, exact, failed, empty texts, model rows
        and calls, problems by feature count).
    record_ids : tuple or None
        The join key of each record (``join_source_value``), when the job has one.
    spec : TextSpec or None
        The spec the values were computed with (baseline resolved).
    """

    records: tuple
    expected_value: np.ndarray
    data_types: tuple
    stats: dict = field(default_factory=dict)
    record_ids: tuple | None = None
    spec: Any = None

    @property
    def n_outputs(self) -> int:
        """Model outputs ``D``."""
        return int(self.expected_value.shape[0])
