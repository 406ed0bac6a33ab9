"""Predicted labels and named scores from what the model said (contract §5.3).

Notes
-----
Rules, from the Clarify response-format page and the SDK ``ModelPredictedLabelConfig``
docstring:

1. The response carries a label per record (``predictor.label``): that is the prediction.
2. It carries, per record, a list of candidate labels and a score vector
   (``{"labels": ["cat", "dog"], "probabilities": [0.3, 0.7]}``): the candidate with the
   highest score.
3. Scores only, one per record (binary): ``1 if score > probability_threshold else 0``.
4. Scores only, several per record (multi-class): ``label_headers[argmax(scores)]``, or the
   argmax position when there are no headers. Ties go to the first maximum.

A float label is passed through as it is (the bias code binarises predicted labels with the
dataset's ``label_values_or_threshold``, as it does the true labels).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict.codecs._decode import is_number

__all__ = ["model_scores", "predicted_labels", "score_columns"]


def _headers_array(label_headers: Sequence[object]) -> np.ndarray:
    headers = list(label_headers)
    if all(isinstance(h, int) and not isinstance(h, bool) for h in headers):
        return np.array(headers, dtype=np.int64)
    out = np.empty(len(headers), dtype=object)
    out[:] = headers
    return out


def _check_headers(label_headers: Sequence[object] | None, n_scores: int) -> None:
    if label_headers is None:
        return
    if isinstance(label_headers, (str, bytes)) or not hasattr(label_headers, "__len__"):
        raise ConfigError("predictor.label_headers", f"expected a list of names, found {label_headers!r}")
    if len(label_headers) != n_scores:
        raise ConfigError(
            "predictor.label_headers",
            f"expected {n_scores} name(s), one per score the model returns for a record; found "
            f"{len(label_headers)}: {list(label_headers)!r}",
        )


def _threshold(value: object) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = float("nan")
    if isinstance(value, bool) or threshold != threshold:
        raise ConfigError("probability_threshold", f"expected a number, found {value!r}")
    return threshold


def predicted_labels(
    output: ModelOutput,
    *,
    label_headers: Sequence[object] | None = None,
    probability_threshold: float = 0.5,
) -> np.ndarray:
    """One predicted label per record.

    Parameters
    ----------
    output : ModelOutput
        What the response codec read: ``labels`` of shape (n,) or (n, k) candidate lists,
        ``scores`` of shape (n, k).
    label_headers : sequence, optional
        ``predictor.label_headers``: the label each score position stands for.
    probability_threshold : float, default 0.5
        Top-level ``probability_threshold``: a single score above it predicts 1.

    Returns
    -------
    numpy.ndarray of shape (n,)
        The labels as the model gave them; 0/1 (int64) from a single score; the header (or the
        int64 position) of the highest score.

    Raises
    ------
    ModelError
        No labels and no scores, candidate labels without matching scores.
    ConfigError
        ``label_headers`` whose length is not the number of scores.
    """
    threshold = _threshold(probability_threshold)
    labels, scores = output.labels, output.scores
    if labels is not None and labels.ndim == 1:
        return labels
    if labels is not None:
        if scores is None or scores.shape != labels.shape:
            found = "no scores" if scores is None else f"{scores.shape[1]} scores per record"
            raise ModelError(
                f"the model returned {labels.shape[1]} candidate labels per record and {found}; "
                f"expected one score per candidate (predictor.probability) to pick the label"
            )
        return labels[np.arange(len(labels)), np.argmax(scores, axis=1)]
    if scores is None:
        raise ModelError(
            "the model output has neither labels nor scores; set predictor.label or predictor.probability"
        )
    if scores.shape[1] == 1:
        return (scores[:, 0] > threshold).astype(np.int64)
    positions = np.argmax(scores, axis=1)
    if label_headers is None:
        return positions.astype(np.int64)
    _check_headers(label_headers, scores.shape[1])
    return _headers_array(label_headers)[positions]


def model_scores(output: ModelOutput) -> np.ndarray:
    """The scores to explain, float64 of shape (n, k).

    The SDK writes an explainability ``model_scores`` index/JMESPath to ``predictor.label``
    (contract §9.12), so when the response has no scores, numeric labels are the scores.

    Raises
    ------
    ModelError
        Neither scores nor numeric labels.
    """
    if output.scores is not None:
        return output.scores
    labels = output.labels
    if labels is not None and labels.ndim == 1 and labels.dtype.kind in "iuf":
        return labels.astype(np.float64).reshape(-1, 1)
    if labels is not None and labels.ndim == 1:
        try:
            return np.array([float(v) for v in labels], dtype=np.float64).reshape(-1, 1)
        except (TypeError, ValueError):
            row = next(i for i, v in enumerate(labels) if not is_number(v, booleans=True))  # as float() reads them
            raise ModelError(
                f"the model's output has no scores, and its label for row {row}, {labels[row]!r}, is "
                f"not a number; set predictor.probability to where the scores are in the reply "
                f"(predictor.label is read as the scores only when they are numbers)"
            ) from None
    raise ModelError("the model's output has no scores; set predictor.probability to where they are")


def score_columns(output: ModelOutput, label_headers: Sequence[object] | None = None) -> list[str]:
    """Names of the score positions: the ``label_headers`` as text, else ``label0``, ``label1``, ...

    Raises
    ------
    ConfigError
        ``label_headers`` whose length is not the number of scores.
    ModelError
        No scores (see :func:`model_scores`).
    """
    n_scores = model_scores(output).shape[1]
    if label_headers is None:
        return [f"label{i}" for i in range(n_scores)]
    _check_headers(label_headers, n_scores)
    return [str(h) for h in label_headers]
