"""Models called in this process: scikit-learn-style estimators, xgboost models, callables.

No serialisation happens: the feature frame goes to the model as it is (or as a NumPy array
when the estimator was fitted without feature names), and the answer is shaped into a
:class:`~clarify_engine.predict._base.ModelOutput`.

Score convention (documented here once, used by bias and by the model server)
-----------------------------------------------------------------------------
* Classifier with two classes (``predict_proba`` returns two columns): the single score is the
  probability of the *positive* class, i.e. of ``classes_[1]`` (scikit-learn orders ``classes_``
  ascending, so this is ``1`` for 0/1 labels and ``True`` for booleans). ``scores`` has shape
  ``(n, 1)``. This is what Clarify expects from a binary model ("a single score"): bias applies
  ``probability_threshold`` to it, and SHAP explains it as one output. ``labels`` are
  ``classes_[argmax(proba)]``.
* Classifier with k > 2 classes: ``scores`` is the full ``(n, k)`` probability matrix in
  ``classes_`` order; :attr:`InProcessModel.classes` names the columns (use them as
  ``label_headers``); ``labels`` are ``classes_[argmax]``.
* ``predict`` only: a classifier's (has ``classes_``) 1-D output is labels; a regressor's
  1-D output is one score per record, shape ``(n, 1)``; 2-D output is scores.
* Plain callable: 2-D output is scores; 1-D output of a float dtype is scores, of an
  integer, boolean, string or object dtype is labels. Pass ``output="labels"`` or
  ``output="scores"`` to decide instead of the dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict.transports._model_files import load_model  # re-exported: model files load here

__all__ = ["InProcessModel", "load_model"]

_OUTPUTS = ("auto", "labels", "scores")


def _model_type(model: Any) -> str:
    cls = type(model)
    if cls.__name__ == "function":
        return f"function {getattr(model, '__qualname__', repr(model))}"
    return f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"


class InProcessModel:
    """A model object or callable that answers in this process.

    Parameters
    ----------
    model : object or callable
        An estimator with ``predict_proba`` and/or ``predict`` (scikit-learn, xgboost and
        lightgbm scikit-learn wrappers, pipelines), or a callable taking a
        :class:`pandas.DataFrame` of shape (n_records, n_features) and returning labels of
        shape (n,), or scores of shape (n,) or (n, k).
    output : {"auto", "labels", "scores"}, default "auto"
        How to read a 1-D answer of a plain callable (see the module notes); ignored for
        estimators.

    Attributes
    ----------
    classes : numpy.ndarray or None
        The estimator's ``classes_`` when it has them, else None.
    feature_names : list of str or None
        ``feature_names_in_`` of the estimator: columns are reordered to match it when the
        frame has them all.

    Notes
    -----
    Thread-safe as far as the wrapped model is (scikit-learn and xgboost ``predict*`` are).
    """

    def __init__(self, model: Any, *, output: str = "auto"):
        if output not in _OUTPUTS:
            raise ValueError(f"output: expected one of {_OUTPUTS}, found {output!r}")
        has_proba = callable(getattr(model, "predict_proba", None))
        has_predict = callable(getattr(model, "predict", None))
        if not (has_proba or has_predict or callable(model)):
            raise ModelError(
                f"model of type {_model_type(model)} has neither predict_proba nor predict and is "
                "not callable; pass an estimator or a function of a DataFrame"
            )
        self.model = model
        self.output = output
        self._has_proba = has_proba
        self._has_predict = has_predict
        classes = getattr(model, "classes_", None)
        self.classes = None if classes is None else np.asarray(classes)
        names = getattr(model, "feature_names_in_", None)
        self.feature_names = None if names is None else [str(n) for n in names]
        # Estimators fitted on arrays warn when given a frame: send them arrays.
        self._wants_frame = self.feature_names is not None or not (has_proba or has_predict)

    @property
    def model_type(self) -> str:
        """Module and class of the wrapped model, as error messages name it."""
        return _model_type(self.model)

    def _inputs(self, rows: pd.DataFrame) -> Any:
        if not isinstance(rows, pd.DataFrame):
            rows = pd.DataFrame(rows)
        if self._wants_frame:
            if self.feature_names is not None:
                present = [str(c) for c in rows.columns]
                if present != self.feature_names and set(self.feature_names) <= set(present):
                    rows = rows.set_axis(present, axis=1)[self.feature_names]
            return rows
        return rows.to_numpy()

    def predict(self, rows: pd.DataFrame) -> ModelOutput:
        """Labels and/or scores for each row, in row order.

        Parameters
        ----------
        rows : pandas.DataFrame of shape (n_records, n_features)
            Feature values only.

        Returns
        -------
        ModelOutput
            ``labels`` of shape (n_records,) or None; ``scores`` of shape (n_records, n_scores)
            float64 or None (see the module notes for which).

        Raises
        ------
        ModelError
            The model raised (its type and error are quoted) or answered with the wrong
            number of records or an unusable shape.
        """
        n = len(rows)
        if n == 0:
            return ModelOutput(labels=None, scores=np.empty((0, 1), dtype=np.float64))
        x = self._inputs(rows)
        try:
            if self._has_proba:
                out = self._from_proba(np.asarray(self.model.predict_proba(x)), n)
            elif self._has_predict:
                out = self._from_predict(np.asarray(self.model.predict(x)), n)
            else:
                out = self._from_callable(np.asarray(self.model(x)), n)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(
                f"model of type {self.model_type} failed to predict {n} records: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return out

    def __call__(self, rows: pd.DataFrame) -> ModelOutput:
        return self.predict(rows)

    # -- shaping ------------------------------------------------------------------------
    def _check_rows(self, arr: np.ndarray, n: int, what: str) -> None:
        if arr.ndim not in (1, 2) or arr.shape[0] != n:
            raise ModelError(
                f"model of type {self.model_type}: {what} returned shape {arr.shape} for {n} "
                f"records; expected ({n},) or ({n}, k)"
            )

    def _scores(self, arr: np.ndarray, what: str) -> np.ndarray:
        try:
            scores = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"model of type {self.model_type}: {what} returned values of dtype {arr.dtype} "
                "that are not numbers"
            ) from exc
        return scores.reshape(len(scores), -1)

    def _from_proba(self, proba: np.ndarray, n: int) -> ModelOutput:
        self._check_rows(proba, n, "predict_proba")
        proba = self._scores(proba, "predict_proba")
        argmax = proba.argmax(axis=1)
        labels = self.classes[argmax] if self.classes is not None and len(self.classes) == proba.shape[1] else argmax
        if proba.shape[1] == 2:
            proba = proba[:, 1:].copy()
        return ModelOutput(labels=np.asarray(labels), scores=proba)

    def _from_predict(self, pred: np.ndarray, n: int) -> ModelOutput:
        self._check_rows(pred, n, "predict")
        if pred.ndim == 2 and pred.shape[1] == 1 and self.classes is not None:
            pred = pred[:, 0]
        if pred.ndim == 1 and self.classes is not None:
            return ModelOutput(labels=pred, scores=None)
        return ModelOutput(labels=None, scores=self._scores(pred, "predict"))

    def _from_callable(self, out: np.ndarray, n: int) -> ModelOutput:
        self._check_rows(out, n, "the callable")
        if out.ndim == 2:
            if self.output == "labels" and out.shape[1] == 1:
                return ModelOutput(labels=out[:, 0], scores=None)
            return ModelOutput(labels=None, scores=self._scores(out, "the callable"))
        as_labels = self.output == "labels" or (self.output == "auto" and out.dtype.kind not in "fc")
        if as_labels:
            return ModelOutput(labels=out, scores=None)
        return ModelOutput(labels=None, scores=self._scores(out, "the callable"))
