"""Numba kernel of interventional TreeSHAP: exact Shapley values of a tree ensemble against
baseline rows.

For one explained row ``x``, one baseline row ``b`` and one tree ``T``, the game is
``v(S) = T(x_S, b_{~S})``: the tree applied to the row that takes ``x``'s values on ``S`` and
``b``'s elsewhere. Walking down the tree, a split on feature ``j`` sends ``x`` and ``b`` either
the same way (the hybrid goes there whatever ``S`` is) or different ways (the hybrid follows
``x`` when ``j`` is in ``S``, ``b`` otherwise). A later split on a feature already decided on the
path follows the side already taken. So every leaf reached is reached exactly by the coalitions
with ``A ⊆ S`` and ``B ∩ S = ∅``, where ``A`` (``a`` features) and ``B`` (``c`` features) are the
features decided for ``x`` and for ``b`` on its path, and ``v`` is a sum over leaves of
``value * [A ⊆ S, B ∩ S = ∅]``. The Shapley value of one such term is, with ``n = a + c``::

    j in A:  value * (a-1)! c! / n!  =  value / (a * C(n, a))
    j in B: -value * a! (c-1)! / n!  = -value / (c * C(n, c))

(Laberge & Pequignot 2022, "Understanding interventional TreeSHAP"; derived here from the
Shapley formula: ``j`` in ``A`` is pivotal for the coalitions holding the rest of ``A`` and none
of ``B``). The leaf with ``c = 0`` is ``v(full) = T(x)``, the one with ``a = 0`` is
``v(empty) = T(b)``; features not explained always follow ``x``.

Rows are tested as the model does: ``x <= threshold`` goes left, a NaN goes to the node's
default child. Callers cast the rows to the model's input precision and rewrite ``x < t`` rules
(xgboost) as ``x <= t'`` beforehand (:mod:`._exact_tree`).

The plain-Python twin is ``tests/explain/naive.py: tree_shap_pair``.
"""

from __future__ import annotations

import math

import numpy as np

from clarify_engine._jit import jit


def shapley_coefficients(depth: int) -> tuple[np.ndarray, np.ndarray]:
    """``plus[a, c] = 1 / (a C(a+c, a))`` and ``minus[a, c] = 1 / (c C(a+c, c))`` for paths of
    ``a + c <= depth`` decided features (0 where ``a`` resp. ``c`` is 0), float64 (depth+1, depth+1)."""
    plus = np.zeros((depth + 1, depth + 1))
    minus = np.zeros((depth + 1, depth + 1))
    for a in range(depth + 1):
        for c in range(depth + 1 - a):
            if a:
                plus[a, c] = 1.0 / (a * math.comb(a + c, a))
            if c:
                minus[a, c] = 1.0 / (c * math.comb(a + c, c))
    return plus, minus


@jit
def _child(node, v, left, right, thr, dleft):
    """The child of ``node`` a row with value ``v`` goes to (NaN: the default child)."""
    if v != v:
        return left[node] if dleft[node] == 1 else right[node]
    return left[node] if v <= thr[node] else right[node]


@jit
def _tree_shap(x, b, bw, pos, roots, left, right, feat, thr, dleft, value, plus, minus,
               phi, fx, ref, lo, hi):
    """Add the interventional SHAP values of rows ``x`` against baseline rows ``b`` to ``phi``.

    Parameters
    ----------
    x, b : float64 (n, P), (K, P)
        Explained rows and baseline rows, model input columns, cast like the model casts them.
    bw : float64 (K,)
        Baseline row weights, summing to 1.
    pos : int64 (P,)
        Explained position of each column, -1 for a column that keeps ``x``'s value.
    roots : int64 (T,)
        Root node of each tree in the node arrays.
    left, right, feat : int64 (N,)
        Children and split column of each node; ``left[node] < 0`` marks a leaf.
    thr : float64 (N,)
        ``x <= thr`` goes left.
    dleft : uint8 (N,)
        1 when a NaN goes left.
    value : float64 (N, D)
        Output of each leaf (every output column; 0 for a column the tree does not feed).
    plus, minus : float64 (L+1, L+1)
        :func:`shapley_coefficients` for the deepest path ``L``.
    phi : float64 (n, M, D), output (added to)
    fx, ref : float64 (n, D), output (added to)
        ``sum_k bw_k T(x)`` and ``sum_k bw_k T(x_unexplained, b_explained)``, summed over trees.
    lo, hi : float64 (n, K, D), output (added to)
        Sums over trees of the smallest and largest leaf value any hybrid of ``x`` and ``b_k``
        reaches: bounds of the ensemble's output over every coalition.
    """
    n, n_col = x.shape
    n_base = b.shape[0]
    n_out = value.shape[1]
    depth = plus.shape[0] - 1
    cap = 2 * depth + 2
    st_node = np.empty(cap, dtype=np.int64)
    st_len = np.empty(cap, dtype=np.int64)  # path length before this entry's decision
    st_feat = np.empty(cap, dtype=np.int64)  # feature decided on entering (-1: none)
    st_side = np.empty(cap, dtype=np.int64)  # 1: follows x, 2: follows b
    path_feat = np.empty(depth + 1, dtype=np.int64)
    path_side = np.empty(depth + 1, dtype=np.int64)
    state = np.zeros(n_col, dtype=np.int64)
    tlo = np.empty(n_out)
    thi = np.empty(n_out)
    for i in range(n):
        for k in range(n_base):
            w = bw[k]
            if w == 0.0:
                continue
            for t in range(roots.shape[0]):
                for d in range(n_out):
                    tlo[d] = np.inf
                    thi[d] = -np.inf
                top = 0
                st_node[0] = roots[t]
                st_len[0] = 0
                st_feat[0] = -1
                st_side[0] = 0
                cur = 0
                n_a = 0
                n_c = 0
                while top >= 0:
                    node = st_node[top]
                    plen = st_len[top]
                    f_new = st_feat[top]
                    s_new = st_side[top]
                    top -= 1
                    while cur > plen:  # unwind the path to this entry's parent
                        cur -= 1
                        state[path_feat[cur]] = 0
                        if path_side[cur] == 1:
                            n_a -= 1
                        else:
                            n_c -= 1
                    if f_new >= 0:
                        path_feat[cur] = f_new
                        path_side[cur] = s_new
                        state[f_new] = s_new
                        if s_new == 1:
                            n_a += 1
                        else:
                            n_c += 1
                        cur += 1
                    while left[node] >= 0:
                        f = feat[node]
                        nx = _child(node, x[i, f], left, right, thr, dleft)
                        if pos[f] < 0 or state[f] == 1:
                            node = nx
                            continue
                        nb = _child(node, b[k, f], left, right, thr, dleft)
                        if state[f] == 2 or nb == nx:
                            node = nb
                            continue
                        # x and b part here: the b side waits on the stack, the x side goes on
                        top += 1
                        st_node[top] = nb
                        st_len[top] = cur
                        st_feat[top] = f
                        st_side[top] = 2
                        path_feat[cur] = f
                        path_side[cur] = 1
                        state[f] = 1
                        n_a += 1
                        cur += 1
                        node = nx
                    for d in range(n_out):
                        v = value[node, d]
                        if v < tlo[d]:
                            tlo[d] = v
                        if v > thi[d]:
                            thi[d] = v
                    if n_c == 0:
                        for d in range(n_out):
                            fx[i, d] += w * value[node, d]
                    if n_a == 0:
                        for d in range(n_out):
                            ref[i, d] += w * value[node, d]
                    if n_a + n_c == 0:
                        continue
                    cp = w * plus[n_a, n_c]
                    cm = w * minus[n_a, n_c]
                    for q in range(cur):
                        j = pos[path_feat[q]]
                        if path_side[q] == 1:
                            for d in range(n_out):
                                phi[i, j, d] += cp * value[node, d]
                        else:
                            for d in range(n_out):
                                phi[i, j, d] -= cm * value[node, d]
                while cur > 0:
                    cur -= 1
                    state[path_feat[cur]] = 0
                n_a = 0
                n_c = 0
                for d in range(n_out):
                    lo[i, k, d] += tlo[d]
                    hi[i, k, d] += thi[d]
