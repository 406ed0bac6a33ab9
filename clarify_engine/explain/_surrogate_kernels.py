"""Numba kernel of the surrogate of :mod:`._surrogate`: least-squares boosting of complete trees
on 0/1 coalition vectors.

Every tree has depth :data:`DEPTH` in a complete layout (node ``n`` has children ``2n + 1``,
taken when the split feature is 0, and ``2n + 2``, when it is 1; ``2**(DEPTH+1) - 1`` nodes per
tree). A node is split on the feature of largest gain ``s1^2/n1 + s0^2/n0`` (``s``, ``n``: the
residual sum and count of its rows with the feature 1 and 0), the smallest feature index on
ties, among features leaving at least ``min_leaf`` rows on each side; a node with no such feature
(or no gain over not splitting) stays a leaf. A leaf's value is ``learning_rate`` times the mean
residual of its rows; residuals are updated after each tree (squared loss, no regularisation).
Everything is sequential in a fixed order: same inputs, same bytes.

The plain-Python twin is ``tests/explain/naive.py: boost_binary``.
"""

from __future__ import annotations

import numpy as np

from clarify_engine._jit import jit

#: Depth of every tree.
DEPTH = 3
#: Nodes per tree in the complete layout.
NODES = 2 ** (DEPTH + 1) - 1


@jit
def _boost(z, target, n_trees, learning_rate, min_leaf, feature, value, pred):
    """Fit ``n_trees`` trees on rows ``z`` (uint8 (n, m)) and ``target`` (n,).

    Parameters
    ----------
    feature : int64 (n_trees, NODES), output
        Split feature of each node, -1 for a leaf (and for nodes below a leaf, never reached).
    value : float64 (n_trees, NODES), output
        Leaf values (0 at split nodes).
    pred : float64 (n,), output
        The ensemble's predictions at the rows.
    """
    n, m = z.shape
    resid = target.copy()
    node = np.empty(n, dtype=np.int64)
    n1 = np.empty((NODES, m))
    s1 = np.empty((NODES, m))
    cnt = np.empty(NODES)
    tot = np.empty(NODES)
    for i in range(n):
        pred[i] = 0.0
    for t in range(n_trees):
        for q in range(NODES):
            feature[t, q] = -1
            value[t, q] = 0.0
        for i in range(n):
            node[i] = 0
        first = 0
        for level in range(DEPTH):
            width = 1 << level
            for q in range(first, first + width):
                cnt[q] = 0.0
                tot[q] = 0.0
                for j in range(m):
                    n1[q, j] = 0.0
                    s1[q, j] = 0.0
            for i in range(n):
                q = node[i]
                if q < first:  # its node stopped splitting at an earlier level
                    continue
                r = resid[i]
                cnt[q] += 1.0
                tot[q] += r
                for j in range(m):
                    if z[i, j]:
                        n1[q, j] += 1.0
                        s1[q, j] += r
            for q in range(first, first + width):
                if cnt[q] < 2 * min_leaf:
                    continue
                base = tot[q] * tot[q] / cnt[q]
                best = base + 1e-12 * (abs(base) + 1.0)
                pick = -1
                for j in range(m):
                    a = n1[q, j]
                    b = cnt[q] - a
                    if a < min_leaf or b < min_leaf:
                        continue
                    s0 = tot[q] - s1[q, j]
                    gain = s1[q, j] * s1[q, j] / a + s0 * s0 / b
                    if gain > best:
                        best = gain
                        pick = j
                feature[t, q] = pick
            for i in range(n):
                q = node[i]
                if q >= first and feature[t, q] >= 0:
                    node[i] = 2 * q + 1 + z[i, feature[t, q]]
            first += width
        # leaves: every row's final node
        for q in range(NODES):
            cnt[q] = 0.0
            tot[q] = 0.0
        for i in range(n):
            cnt[node[i]] += 1.0
            tot[node[i]] += resid[i]
        for q in range(NODES):
            if cnt[q] > 0.0:
                value[t, q] = learning_rate * tot[q] / cnt[q]
        for i in range(n):
            v = value[t, node[i]]
            pred[i] += v
            resid[i] -= v


@jit
def _predict(z, feature, value, out):
    """The boosted trees' predictions at rows ``z`` (uint8 (n, m)) into ``out`` (n,)."""
    for i in range(z.shape[0]):
        total = 0.0
        for t in range(feature.shape[0]):
            q = 0
            while feature[t, q] >= 0:
                q = 2 * q + 1 + z[i, feature[t, q]]
            total += value[t, q]
        out[i] = total
