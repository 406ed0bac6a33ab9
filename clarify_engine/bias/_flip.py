"""Flip Test (FT): the one bias metric that needs feature rows, not just counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from clarify_engine.bias._knn import build_tree, query_tree
from clarify_engine.bias._metrics import divide
from clarify_engine.errors import MetricError

#: k of the k-NN; 1 when the advantaged group has at most FT_SMALL_GROUP rows.
FT_NEIGHBORS = 5
FT_SMALL_GROUP = 9
#: From this many advantaged rows on, neighbours come from our numba KD-tree (else scikit-learn).
FAST_MIN_ROWS = 2000
#: Relative gap under which the k-th and (k+1)-th neighbour distances count as tied.
TIE_RTOL = 1e-9
#: Sensitive rows queried at once (bounds the neighbour lists held: rows x (k + 1) x 16 bytes).
VOTE_ROWS = 1 << 20


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """Features as a float64 matrix, shape (n_rows, n_features).

    Raises
    ------
    MetricError
        If a column is neither numeric nor bool (Clarify's message).
    """
    for name in features.columns:
        dtype = features[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(dtype):
            raise MetricError("FlipTest does not support non-numeric columns")
    if features.shape[1] == 0:
        return np.empty((len(features), 0), dtype=np.float64)
    return features.to_numpy(dtype=np.float64, na_value=np.nan)


def FT(features, sensitive: np.ndarray, pred_pos: np.ndarray, n_jobs: int | None = None) -> float:
    """Flip Test (FT)

    A k-NN classifier (k = 5, or 1 when the advantaged group has at most 9 rows; Euclidean
    distance, uniform vote) is fitted on the advantaged rows' features and predicted labels
    and applied to the sensitive rows. FT = (#d rows the model accepts but the k-NN rejects
    − #d rows the model rejects but the k-NN accepts) / n_d.

    Parameters
    ----------
    features : numpy.ndarray, shape (n, n_features), or a callable returning one
        A callable is only called once both groups are known to be non-empty (Clarify
        reports empty groups before non-numeric features).
    sensitive : numpy.ndarray of bool, shape (n,)
    pred_pos : numpy.ndarray of bool, shape (n,)
    n_jobs : int, optional
        Threads for the neighbour queries (the result does not depend on it).

    Notes
    -----
    For large groups the neighbours come from :func:`clarify_engine.bias._knn.kneighbors`
    (exact, parallel); rows whose k-th and (k+1)-th neighbours are tied (where the neighbour
    order would decide) are recomputed with scikit-learn's estimator, so the result is the
    same as scikit-learn's.

    Black, Yeom and Fredrikson, "FlipTest: Fairness Testing via Optimal Transport", FAT* 2020,
    approximated with nearest neighbours as in Clarify. The neighbour index is scikit-learn's
    (``algorithm="auto"``: a KD-tree for low-dimensional data), as in Clarify; with distance
    ties the chosen neighbours depend on the index's traversal order.
    """
    sensitive = np.asarray(sensitive, dtype=bool)
    pred_pos = np.asarray(pred_pos, dtype=bool)
    n_d = int(sensitive.sum())
    n_a = len(sensitive) - n_d
    if n_d == 0:
        raise MetricError("Facet set is empty")
    if n_a == 0:
        raise MetricError("Negated Facet set is empty")
    if callable(features):
        features = features()
    return flip_groups(features[~sensitive], pred_pos[~sensitive], features[sensitive], pred_pos[sensitive], n_jobs)


def flip_groups(x_a: np.ndarray, y_a: np.ndarray, x_d: np.ndarray, y_model: np.ndarray,
                n_jobs: int | None = None) -> float:
    """:func:`FT` from the two groups' rows, each in row order (both non-empty).

    ``x_a``, ``y_a``: the advantaged rows' features and predicted labels; ``x_d``, ``y_model``:
    the sensitive rows'. The streamed FT gathers them chunk by chunk (``bias/_stream.py``).
    """
    from sklearn.neighbors import KNeighborsClassifier

    n_a, n_d = len(x_a), len(x_d)
    k = FT_NEIGHBORS if n_a > FT_SMALL_GROUP else 1
    knn = KNeighborsClassifier(n_neighbors=k, weights="uniform", algorithm="auto", leaf_size=30, p=2, n_jobs=n_jobs)
    fast = n_a >= FAST_MIN_ROWS and x_a.shape[1] > 0 and np.isfinite(x_a).all() and np.isfinite(x_d).all()
    if fast:
        y_knn, tied = _vote(x_a, y_a, x_d, k)
        if tied.any():  # neighbour order decides: ask the same estimator Clarify uses
            y_knn[tied] = knn.fit(x_a, y_a).predict(x_d[tied]).astype(bool)
    else:  # scikit-learn also produces Clarify's messages for missing/infinite/no features
        y_knn = knn.fit(x_a, y_a).predict(x_d).astype(bool)
    flips_pos = int(np.count_nonzero(y_model & ~y_knn))
    flips_neg = int(np.count_nonzero(~y_model & y_knn))
    return float(divide(flips_pos - flips_neg, n_d))


def _vote(x_a, y_a, x_d, k):
    """Majority vote of the k nearest ``a`` rows for each ``d`` row, and where it is tied.

    Returns
    -------
    (votes, tied) : bool arrays of shape (n_d,)
        ``tied`` marks rows whose k-th and (k+1)-th nearest distances are equal within
        :data:`TIE_RTOL`, so the k-neighbour set is not unique.
    """
    m = min(k + 1, len(x_a))
    votes = np.empty(len(x_d), dtype=bool)
    tied = np.zeros(len(x_d), dtype=bool)
    x_a = np.ascontiguousarray(x_a, dtype=np.float64)
    tree = build_tree(x_a)
    for start in range(0, len(x_d), VOTE_ROWS):  # one tree, queries in batches: memory bounded by the batch
        part = slice(start, start + VOTE_ROWS)
        dist, idx = query_tree(x_a, tree, x_d[part], m)
        votes[part] = 2 * y_a[idx[:, :k]].sum(axis=1) > k
        if m > k:
            gap = dist[:, k] - dist[:, k - 1]
            tied[part] = gap <= TIE_RTOL * np.maximum(dist[:, k], np.finfo(float).tiny)
    return votes, tied
