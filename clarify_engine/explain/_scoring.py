"""What the explainers call: a model as a score function of feature frames.

The explainers never see the model client. The job hands them a :class:`Scorer` that
counts calls and names the outputs (``clarify_engine.job``'s meter); library users pass any
callable, which :func:`as_scorer` adapts.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd

from clarify_engine.errors import ModelError

__all__ = ["Scorer", "as_scorer", "check_scores"]


@runtime_checkable
class Scorer(Protocol):
    """``scorer(frame) -> ndarray (r, D)``: the model's scores of each row, and their names."""

    def __call__(self, frame: pd.DataFrame) -> np.ndarray: ...

    def labels(self, width: int) -> list[str]:
        """Names of the ``width`` scores (``label0``... when the model names none)."""
        ...


def check_scores(scores: np.ndarray, records: int, width: int | None) -> int:
    """The width of ``scores``, a (records, D) array, when it answers ``records`` rows with the
    ``width`` scores per record an earlier call gave (None: the first call); else ModelError."""
    if scores.ndim != 2 or scores.shape[0] != records:
        raise ModelError(f"the model returned {scores.shape[0] if scores.ndim else 0} score rows for "
                         f"{records} records")
    if width is not None and scores.shape[1] != width:
        raise ModelError(f"the model returned {scores.shape[1]} scores per record, but {width} in an earlier call")
    return scores.shape[1]


class _Function:
    """A plain score function with fixed or default output names; checks every answer."""

    def __init__(self, fn: Callable[[pd.DataFrame], np.ndarray], names: Sequence[str] | None):
        self._fn = fn
        self._names = None if names is None else [str(n) for n in names]
        self._width: int | None = None

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        scores = np.asarray(self._fn(frame), dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[:, None]
        self._width = check_scores(scores, len(frame), self._width)
        return scores

    def labels(self, width: int) -> list[str]:
        if self._names is not None and len(self._names) == width:
            return list(self._names)
        return [f"label{i}" for i in range(width)]


def as_scorer(model: Callable[[pd.DataFrame], np.ndarray] | Scorer, labels: Sequence[str] | None = None) -> Scorer:
    """A :class:`Scorer` from a function of a feature frame returning (r,) or (r, D) scores.

    Parameters
    ----------
    model : callable or Scorer
        ``model(frame) -> array``; e.g. ``estimator.predict_proba`` for a pandas-aware
        estimator. A Scorer is returned as it is.
    labels : sequence of str, optional
        Names of the D scores (default ``label0``...).
    """
    if isinstance(model, Scorer) and labels is None:
        return model
    return _Function(model, labels)
