"""Linear and logistic models as a coefficient matrix, for closed-form SHAP.

For ``f(x) = c + W x`` the game ``v(S) = sum_k w_k f(x_S, b_k[~S])`` is additive, so the
interventional Shapley value of explained column ``p`` is ``W[:, p] (x_p - sum_k w_k b_kp)``
(Lundberg & Lee 2017; spec ``kernel-shap.md`` §1).

:func:`linear_model` reads ``coef_`` and ``intercept_`` of scikit-learn's linear models and
says what the scores are in terms of ``c + W x`` (``output``, as in :mod:`._exact_tree`):
``"additive"`` for regressors, ``"sigmoid"`` for a binary logistic classifier (the
positive-class probability is ``sigmoid(c + w x)``), ``"other"`` for a multinomial one (a
softmax).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LinearModel", "linear_model"]

_REGRESSORS = ("LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
               "LassoLars", "LassoLarsCV", "LassoLarsIC", "Lars", "LarsCV", "OrthogonalMatchingPursuit",
               "BayesianRidge", "ARDRegression", "HuberRegressor", "SGDRegressor", "TheilSenRegressor",
               "QuantileRegressor")
_LOGISTIC = ("LogisticRegression", "LogisticRegressionCV")


@dataclass(frozen=True)
class LinearModel:
    """``scores = c + W x`` (``"additive"``) or ``sigmoid(c + w x)`` (``"sigmoid"``).

    Attributes
    ----------
    coef : float64 (D, P)
    intercept : float64 (D,)
    output : {"additive", "sigmoid", "other"}
    family : str
    scale : float
        For ``"sigmoid"``: the score is ``sigmoid(scale * (c + w x))`` (1 for every family read).
    """

    coef: np.ndarray
    intercept: np.ndarray
    output: str
    family: str
    scale: float = 1.0

    def margin(self, rows: np.ndarray) -> np.ndarray:
        """``c + W x`` for model-input rows (r, P): (r, D)."""
        return np.asarray(rows, dtype=np.float64) @ self.coef.T + self.intercept[None, :]


def linear_model(model) -> LinearModel | str:
    """Read ``model`` as a :class:`LinearModel`, or say why not (a reason following "the model ...")."""
    cls = type(model)
    family = f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"
    name = cls.__qualname__
    if not cls.__module__.startswith("sklearn.linear_model"):
        return f"is a {family}, not a linear model the exact path reads"
    if not hasattr(model, "coef_"):
        return "is not fitted"
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercept = np.asarray(model.intercept_, dtype=np.float64).reshape(-1)
    if intercept.shape[0] == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    if name in _REGRESSORS:
        return LinearModel(coef, intercept, "additive", family)
    logistic = name in _LOGISTIC or (name == "SGDClassifier" and getattr(model, "loss", "") == "log_loss")
    if not logistic:
        return f"is a {family}, whose scores are not a linear function of the inputs or a sigmoid of one"
    if coef.shape[0] == 1:
        return LinearModel(coef, intercept, "sigmoid", family)
    return LinearModel(coef, intercept, "other", family)
