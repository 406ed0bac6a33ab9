"""Slow, obviously correct twins of the Kernel SHAP kernels, and exact Shapley values."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np


def virtual_rows(X, B, colfeat, masks, start, stop):
    """Every synthetic row of explained rows ``start:stop``, in ``((i, c), k)`` order: (V, P)."""
    out = []
    for i in range(start, stop):
        for c in range(masks.shape[0]):
            for k in range(B.shape[0]):
                row = B[k].copy()
                for p in range(X.shape[1]):
                    if colfeat[p] < 0 or masks[c, colfeat[p]]:
                        row[p] = X[i, p]
                out.append(row)
    return np.array(out, dtype=np.float64).reshape(-1, X.shape[1])


def dedupe(rows, per_record=None, n_base=1, skip_empty=False):
    """Distinct rows (bitwise) in order of first appearance and the inverse index.

    With ``per_record`` (virtual rows per explained row) rows are compared only within each
    group of ``per_record`` consecutive rows (one explained row). With ``skip_empty`` the first
    ``n_base`` rows of each group (the empty coalition, i.e. the baseline rows) are not kept:
    they and every row of the group identical to one of them get ``-1 - k``, ``k`` the first
    baseline row with those bytes.
    """
    per_record = len(rows) if per_record is None else per_record
    first, inverse = [], []
    for g in range(0, len(rows), max(per_record, 1)):
        seen = {}
        for v in range(g, min(len(rows), g + per_record)):
            key = rows[v].tobytes()
            if key not in seen:
                if skip_empty and v - g < n_base:
                    seen[key] = -1 - (v - g)
                else:
                    seen[key] = len(first)
                    first.append(v)
            inverse.append(seen[key])
    return rows[first].reshape(-1, rows.shape[1]), np.array(inverse, dtype=np.int64)


def reduce_mean(y, inverse, weights, n_coal, n_rows, yb=None):
    """``out[i, c] = sum_k weights[k] * Y[inverse[(i*n_coal + c)*K + k]]``: (n_rows, n_coal, D),
    where ``Y`` is ``y`` followed by ``yb`` read from the end (``Y[-1 - k] = yb[k]``)."""
    k = weights.shape[0]
    ext = y if yb is None else np.concatenate([y, yb[::-1]])
    idx = np.where(inverse < 0, ext.shape[0] + inverse, inverse)
    full = ext[idx].reshape(n_rows, n_coal, k, y.shape[1])
    return np.einsum("icko,k->ico", full, weights)


def link(p, name):
    """identity, or logit of ``p`` clipped to [1e-12, 1 - 1e-12]."""
    if name == "identity":
        return p
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(q / (1 - q))


def exact_shapley(f, x, B, weights=None, explain=None, link_name="identity"):
    """Exact interventional Shapley values of row ``x`` by enumerating all 2^M subsets.

    ``v(S) = link(sum_k w_k f(x_S, b_k[~S]))`` over the explained features; features not in
    ``explain`` keep ``x``'s value. Returns (values (M, D), v(empty) (D,), v(full) (D,)).
    """
    B = np.atleast_2d(B)
    w = np.full(B.shape[0], 1.0 / B.shape[0]) if weights is None else np.asarray(weights) / np.sum(weights)
    explain = np.arange(x.shape[0]) if explain is None else np.asarray(explain)
    m = explain.shape[0]
    value = {}
    for bits in itertools.product((0, 1), repeat=m):
        rows = np.repeat(x[None, :], B.shape[0], axis=0)
        for j, on in enumerate(bits):
            if not on:
                rows[:, explain[j]] = B[:, explain[j]]
        out = np.asarray(f(rows), dtype=np.float64)
        out = out.reshape(B.shape[0], -1)
        value[bits] = link(w @ out, link_name)
    d = value[(0,) * m].shape[0]
    phi = np.zeros((m, d))
    for bits, v in value.items():
        s = sum(bits)
        for j in range(m):
            if bits[j]:
                continue
            with_j = bits[:j] + (1,) + bits[j + 1:]
            phi[j] += factorial(s) * factorial(m - s - 1) / factorial(m) * (value[with_j] - v)
    return phi, value[(0,) * m], value[(1,) * m]


def coalition_values(f, x, B, masks, weights=None):
    """``v(S) = sum_k w_k f(x_S, b_k[~S])`` for each row of ``masks`` (all columns explained): (C, D)."""
    B = np.atleast_2d(B)
    w = np.full(B.shape[0], 1.0 / B.shape[0]) if weights is None else np.asarray(weights) / np.sum(weights)
    out = []
    for mask in masks:
        rows = np.where(mask.astype(bool)[None, :], x[None, :], B)
        out.append(w @ np.asarray(f(rows), dtype=np.float64).reshape(B.shape[0], -1))
    return np.array(out)


def constrained_wls(masks, weights, y, delta, keep):
    """shap's solve, written plainly: features ``keep`` only (the others are 0), the last kept
    feature eliminated with ``phi_last = delta - sum(others)``, weighted least squares by lstsq.
    ``y`` (C,), ``delta`` scalar; returns phi (M,)."""
    z = masks[:, keep].astype(np.float64)
    last = z[:, -1]
    design = z[:, :-1] - last[:, None]
    target = y - last * delta
    sw = np.sqrt(weights)
    head = np.linalg.lstsq(design * sw[:, None], target * sw, rcond=None)[0]
    phi = np.zeros(masks.shape[1])
    phi[keep[:-1]] = head
    phi[keep[-1]] = delta - head.sum()
    return phi


def tree_predict(ens, rows):
    """A :class:`~clarify_engine.explain._exact_tree.TreeEnsemble`'s sum of trees (no intercept)
    on rows (r, P), walking each tree plainly: (r, D)."""
    out = np.zeros((rows.shape[0], ens.value.shape[1]))
    for i in range(rows.shape[0]):
        for root in ens.roots:
            node = int(root)
            while ens.left[node] >= 0:
                v = rows[i, ens.feature[node]]
                go_left = bool(ens.default_left[node]) if np.isnan(v) else v <= ens.threshold[node]
                node = int(ens.left[node] if go_left else ens.right[node])
            out[i] += ens.value[node]
    return out


def tree_shap_pair(ens, x, B, weights=None, explain=None):
    """Interventional SHAP of a tree ensemble by enumerating every coalition (the twin of
    ``_treeshap_kernels._tree_shap``): (values (M, D), v(empty) (D,), v(full) (D,))."""
    return exact_shapley(lambda rows: tree_predict(ens, rows), x, B, weights, explain)


def boost_binary(z, target, n_trees, learning_rate, min_leaf, depth=3):
    """Least-squares boosting of complete depth-``depth`` trees on 0/1 rows, written plainly (the
    twin of ``_surrogate_kernels._boost``): (feature (T, nodes), value (T, nodes), pred (n,))."""
    z = np.asarray(z, dtype=np.int64)
    n, m = z.shape
    n_nodes = 2 ** (depth + 1) - 1
    feature = np.full((n_trees, n_nodes), -1, dtype=np.int64)
    value = np.zeros((n_trees, n_nodes))
    resid = [float(r) for r in target]
    pred = [0.0] * n
    for t in range(n_trees):
        node = [0] * n
        first = 0
        for level in range(depth):
            for q in range(first, first + 2**level):
                members = [i for i in range(n) if node[i] == q]
                count, total = 0.0, 0.0
                for i in members:
                    count += 1.0
                    total += resid[i]
                if count < 2 * min_leaf:
                    continue
                base = total * total / count
                best, pick = base + 1e-12 * (abs(base) + 1.0), -1
                for j in range(m):
                    a, s1 = 0.0, 0.0
                    for i in members:
                        if z[i, j]:
                            a += 1.0
                            s1 += resid[i]
                    b = count - a
                    if a < min_leaf or b < min_leaf:
                        continue
                    s0 = total - s1
                    gain = s1 * s1 / a + s0 * s0 / b
                    if gain > best:
                        best, pick = gain, j
                feature[t, q] = pick
            for i in range(n):
                q = node[i]
                if q >= first and feature[t, q] >= 0:
                    node[i] = 2 * q + 1 + int(z[i, feature[t, q]])
            first += 2**level
        for q in set(node):
            rows = [i for i in range(n) if node[i] == q]
            total = 0.0
            for i in rows:
                total += resid[i]
            value[t, q] = learning_rate * total / len(rows)
        for i in range(n):
            pred[i] += value[t, node[i]]
            resid[i] -= value[t, node[i]]
    return feature, value, np.array(pred)


def game_shapley(game, m):
    """Exact Shapley values of ``game`` (coalition rows (n, m) of 0/1 -> values (n,)) from all
    ``2^m`` coalitions (coalition ``k`` holds player ``j`` when bit ``j`` of ``k`` is set):
    ``phi_j = sum over S without j of |S|! (m - |S| - 1)! / m! (v(S + j) - v(S))``."""
    index = np.arange(2 ** m)
    z = ((index[:, None] >> np.arange(m)[None, :]) & 1).astype(np.uint8)
    v = game(z)
    size = z.sum(axis=1)
    weight = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)])
    phi = np.zeros(m)
    for j in range(m):
        out = z[:, j] == 0
        phi[j] = np.sum(weight[size[out]] * (v[index[out] | (1 << j)] - v[index[out]]))
    return phi
