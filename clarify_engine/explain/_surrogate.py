"""Regression-adjusted Kernel SHAP: a tree surrogate of the coalition game as a control variate.

Kernel SHAP with paired sampling is exact for games with at most pairwise interactions; its
error comes from the higher-order part of the game. Following the idea of regression-adjusted
Monte Carlo (Witter, Musco et al. 2025, "Regression-adjusted Monte Carlo estimators for Shapley
values and probabilistic values"), the coalitions already evaluated also train a surrogate
``g`` of the game whose Shapley values are known *exactly*, and Kernel SHAP only estimates what
the surrogate misses::

    phi = exact_shapley(g) + KernelSHAP(v - g)

Both terms come from the same evaluations; no model call is added. Kernel SHAP is linear in the
game, so this equals ``KernelSHAP(v) + (exact_shapley(g) - KernelSHAP(g))``: the surrogate's
own sampling error, measured on the same coalitions, is subtracted from ours. When ``g``
reproduces the game's higher-order structure, the two errors cancel.

The surrogate, per record and output: the additive part is Kernel SHAP's own fit ``z . phi``
(its Shapley values are ``phi``, and Kernel SHAP reproduces it exactly, so it cancels); on its
residuals ``e_c = y_c - z_c . phi`` (0 at the empty and the full coalition, which are added as
training rows) a boosted tree ensemble on the 0/1 coalition vectors
(:mod:`._surrogate_kernels`: least-squares boosting, :data:`N_TREES` complete depth-3 trees,
learning rate 0.1, leaves of at least 5 rows; sequential, so deterministic). Its
exact Shapley values on the game ``g(1_S)`` are interventional TreeSHAP of the record ``1``
against the one baseline row ``0`` (:mod:`._treeshap_kernels`). So, with ``t`` the tree part::

    phi_adjusted = phi + exact_shapley(t) - KernelSHAP(t)
                 = exact_shapley(t) + KernelSHAP(v - t)

Additivity is kept: ``sum exact_shapley(t) = t(1) - t(0)`` and Kernel SHAP's constraint gives
the rest. Standard errors are the sandwich errors of Kernel SHAP on the game ``v - t``
(:class:`._kernel_shap._Solver`), the surrogate held fixed (measured coverage in
``docs/explainability.md``).
"""

from __future__ import annotations

import numpy as np

from clarify_engine.explain._surrogate_kernels import DEPTH, NODES, _boost, _predict
from clarify_engine.explain._treeshap_kernels import _tree_shap, shapley_coefficients

__all__ = ["LEARNING_RATE", "MIN_LEAF", "N_TREES", "TreeSurrogate", "fit_surrogate", "tree_arrays"]

#: Boosting iterations of the surrogate (depth-3 trees, learning rate 0.1, leaves of >= 5 rows).
N_TREES = 300
LEARNING_RATE = 0.1
MIN_LEAF = 5


class TreeSurrogate:
    """A fitted surrogate of one game on ``m`` players: its values and exact Shapley values.

    Attributes
    ----------
    values : ndarray (C,)
        ``t(z_c) - t(0)`` at the coalitions it was given.
    full : float
        ``t(1) - t(0)``.
    shapley : ndarray (m,)
        The exact Shapley values of the game ``S -> t(1_S)``; they sum to ``full``.
    """

    def __init__(self, values: np.ndarray, full: float, shapley: np.ndarray):
        self.values = values
        self.full = full
        self.shapley = shapley


def fit_surrogate(z: np.ndarray, e: np.ndarray, train: np.ndarray | None = None) -> TreeSurrogate:
    """Fit the tree part of the surrogate on residuals ``e`` of the coalitions ``z``.

    Parameters
    ----------
    z : ndarray (C, m)
        The coalitions (0/1), without the empty and the full one.
    e : ndarray float64 (C,)
        Residuals of Kernel SHAP's additive fit at those coalitions (0 at the empty and full
        coalitions, which are added as training rows).
    train : ndarray of bool (C,), optional
        Fit on these coalitions only (and the empty and full ones); None = all.

    Returns
    -------
    TreeSurrogate
        ``values`` at every coalition of ``z``, trained on or not.
    """
    m = z.shape[1]
    z = np.ascontiguousarray(z, dtype=np.uint8)
    fit_rows = z if train is None else z[train]
    fit_e = np.asarray(e, dtype=np.float64) if train is None else np.asarray(e, dtype=np.float64)[train]
    rows = np.concatenate([np.zeros((1, m), np.uint8), fit_rows, np.ones((1, m), np.uint8)])
    target = np.concatenate([[0.0], fit_e, [0.0]])
    feature = np.empty((N_TREES, NODES), dtype=np.int64)
    value = np.empty((N_TREES, NODES))
    pred = np.empty(rows.shape[0])
    _boost(rows, target, N_TREES, LEARNING_RATE, MIN_LEAF, feature, value, pred)
    if train is not None:
        at = np.empty(z.shape[0])
        _predict(z, feature, value, at)
        pred = np.concatenate([pred[:1], at, pred[-1:]])
    roots, left, right, feat, thr, dleft, leaf = tree_arrays(feature, value)
    plus, minus = shapley_coefficients(DEPTH)
    phi = np.zeros((1, m, 1))
    fx, ref = np.zeros((1, 1)), np.zeros((1, 1))
    lo, hi = np.zeros((1, 1, 1)), np.zeros((1, 1, 1))
    _tree_shap(np.ones((1, m)), np.zeros((1, m)), np.ones(1), np.arange(m, dtype=np.int64), roots, left, right, feat,
               thr, dleft, leaf, plus, minus, phi, fx, ref, lo, hi)
    return TreeSurrogate(values=pred[1:-1] - pred[0], full=float(pred[-1] - pred[0]), shapley=phi[0, :, 0])


def tree_arrays(feature: np.ndarray, value: np.ndarray) -> tuple:
    """The boosted trees (``feature``, ``value`` (T, NODES) in the complete layout) as the node
    arrays of :func:`._treeshap_kernels._tree_shap`: ``roots, left, right, feature, threshold,
    default_left, value (N, 1)``; a split on ``z_j`` is ``z_j <= 0.5`` going left."""
    n_trees = feature.shape[0]
    local = np.arange(NODES)
    offset = (np.arange(n_trees) * NODES)[:, None]
    split = feature >= 0
    left = np.where(split, offset + 2 * local[None, :] + 1, -1).reshape(-1).astype(np.int64)
    right = np.where(split, offset + 2 * local[None, :] + 2, -1).reshape(-1).astype(np.int64)
    feat = np.where(split, feature, 0).reshape(-1).astype(np.int64)
    thr = np.full(left.shape[0], 0.5)
    dleft = np.zeros(left.shape[0], dtype=np.uint8)
    leaf = np.where(split, 0.0, value).reshape(-1, 1)
    return offset[:, 0].astype(np.int64), left, right, feat, thr, dleft, np.ascontiguousarray(leaf)
