"""Predicted labels given as scores: ``probability_threshold`` turns them into 0/1 labels.

Clarify applies the top-level ``probability_threshold`` to a binary model's score (score
above it → 1, else 0). A predicted-label column or dataset that holds such scores (e.g.
XGBoost probabilities passed with ``probability_threshold=0.8``) is converted the same way
before the bias metrics see it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C

__all__ = ["labels_from_scores"]

log = logging.getLogger(__name__)


def _numbers_given(label_values: list) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
               for v in label_values)


def labels_from_scores(series: pd.Series, label_kind: str, label_values: list, threshold: float) -> pd.Series:
    """``series`` as 0/1 labels when it holds scores, else ``series`` unchanged.

    Scores are a float column whose non-missing values all lie in ``[0, 1]``; they are
    converted when the label is categorical and the positive label values are numbers (the
    labels 0 and 1 can then match them). Whole-number floats ``0.0``/``1.0`` are scores too,
    so they become the integers 0/1 (for any threshold in ``[0, 1)``).

    Parameters
    ----------
    series : pandas.Series, shape (n,)
        The predicted-label column.
    label_kind : str
        ``"categorical"`` or ``"continuous"``: the typing of the label column.
    label_values : list
        ``label_values_or_threshold``.
    threshold : float
        ``probability_threshold``.

    Returns
    -------
    pandas.Series
        int64 0/1 (``Int64`` when a score is missing) named like ``series``, or ``series``.
    """
    if label_kind != C.CATEGORICAL or not _numbers_given(label_values) or not pd.api.types.is_float_dtype(series.dtype):
        return series
    scores = series.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(scores)
    if not present.any() or scores[present].min() < 0 or scores[present].max() > 1:
        return series
    labels = (scores > threshold).astype(np.int64)
    log.info("predicted label column %r holds scores between 0 and 1: predicted label = 1 where score > %s "
             "(probability_threshold), else 0", series.name, threshold)
    if present.all():
        return pd.Series(labels, index=series.index, name=series.name)
    return pd.Series(pd.array(np.where(present, labels, 0), dtype="Int64"), index=series.index,
                     name=series.name).mask(~present)
