"""Global SHAP values: local values aggregated over records (``methods.shap.agg_method``).

Notes
-----
Clarify's definitions (Developer Guide, "Configure an analysis", ``agg_method``):
``mean_abs`` is the mean of absolute local values, ``median`` the median of the (signed)
local values, ``mean_sq`` the mean of squared local values.

Sums are taken in row order (:func:`ordered_sum`), so the streamed job, which adds the local
values of one shard at a time, gives the same bits as a job holding every record.
"""

from __future__ import annotations

import numpy as np

from clarify_engine.errors import ConfigError

__all__ = ["AGG_METHODS", "aggregate", "aggregate_standard_error", "ordered_sum"]

AGG_METHODS = ("mean_abs", "median", "mean_sq")


def _check(method: str) -> str:
    if method not in AGG_METHODS:
        raise ConfigError("methods.shap.agg_method", f"expected one of {', '.join(AGG_METHODS)}, found {method!r}")
    return method


def ordered_sum(values: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Sum over axis 0 in row order: ``((start + v[0]) + v[1]) + ...``, one float addition at a time.

    The order is fixed (never numpy's pairwise summation), so a sum taken shard by shard, each
    shard's sum started from the previous total, has the bits of the sum over all rows at once,
    whatever the shard sizes (the streamed job relies on it, ``docs/scale.md``).

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n, ...)
    start : numpy.ndarray of float64, shape (...), optional
        The running total to continue from (None: the sum starts with ``values[0]``).

    Returns
    -------
    numpy.ndarray of float64, shape (...)
    """
    values = np.asarray(values, dtype=np.float64)
    if start is not None:
        values = np.concatenate([np.asarray(start, dtype=np.float64)[None], values])
    if values.shape[0] == 0:
        return np.zeros(values.shape[1:])
    return np.cumsum(values, axis=0)[-1]  # an accumulation is always sequential


def aggregate(values: np.ndarray, method: str = "mean_abs") -> np.ndarray:
    """Aggregate local SHAP values over records (axis 0).

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n, M, ...)
        Local SHAP values, one row per record.
    method : {"mean_abs", "median", "mean_sq"}

    Returns
    -------
    numpy.ndarray of float64, shape (M, ...)
    """
    _check(method)
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 0:
        raise ValueError("cannot aggregate SHAP values over zero records")
    if method == "mean_abs":
        return ordered_sum(np.abs(values)) / values.shape[0]  # mean_i |phi_i|, summed in row order
    if method == "mean_sq":
        return ordered_sum(np.square(values)) / values.shape[0]  # mean_i phi_i^2
    return np.median(values, axis=0)


def aggregate_standard_error(values: np.ndarray, standard_errors: np.ndarray, method: str = "mean_abs") -> np.ndarray:
    """Standard error of :func:`aggregate` due to Kernel SHAP's sampling (first-order).

    The records are taken as fixed; only the estimator's noise on each local value
    (independent across records) is propagated, by the delta method:
    ``mean_abs``: sqrt(sum_i se_i^2) / n; ``mean_sq``: sqrt(sum_i (2 phi_i se_i)^2) / n;
    ``median``: the standard error of the record(s) at the median (averaged in quadrature
    over the two middle records when n is even).

    Parameters
    ----------
    values, standard_errors : numpy.ndarray of float64, shape (n, M, ...)

    Returns
    -------
    numpy.ndarray of float64, shape (M, ...)
    """
    _check(method)
    values = np.asarray(values, dtype=np.float64)
    se = np.asarray(standard_errors, dtype=np.float64)
    n = values.shape[0]
    if method == "mean_abs":
        return np.sqrt(ordered_sum(np.square(se))) / n
    if method == "mean_sq":
        return np.sqrt(ordered_sum(np.square(2.0 * values * se))) / n
    order = np.argsort(values, axis=0, kind="stable")
    sorted_se = np.take_along_axis(se, order, axis=0)
    if n % 2:
        return sorted_se[n // 2]
    return 0.5 * np.sqrt(sorted_se[n // 2 - 1] ** 2 + sorted_se[n // 2] ** 2)
