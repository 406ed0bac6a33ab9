"""Exact k-nearest-neighbour search for the Flip Test: a KD-tree built and queried by numba.

The tree is a balanced binary tree in implicit (heap) layout, like scikit-learn's: node ``i``
covers ``perm[start[i]:end[i]]`` and has children ``2i + 1`` and ``2i + 2``; each internal
node splits its points at the median of the dimension with the widest spread. Queries run in
parallel (one output row per query, so threads never share a cell) and keep the ``k``
nearest points in a small max-heap, visiting the nearer child first and pruning nodes whose
bounding box is farther than the current k-th distance.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from clarify_engine._jit import jit

LEAF_SIZE = 30


@jit
def _select(perm, lo, hi, nth, x, dim):
    """Reorder ``perm[lo:hi]`` so ``perm[nth]`` holds the point of rank ``nth`` along ``dim``,
    smaller-or-equal ones before it and greater-or-equal ones after (3-way quickselect)."""
    while hi - lo > 1:
        a, b, c = x[perm[lo], dim], x[perm[(lo + hi) // 2], dim], x[perm[hi - 1], dim]
        pivot = max(min(a, b), min(max(a, b), c))  # median of three
        lt, i, gt = lo, lo, hi
        while i < gt:
            v = x[perm[i], dim]
            if v < pivot:
                perm[lt], perm[i] = perm[i], perm[lt]
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                perm[gt], perm[i] = perm[i], perm[gt]
            else:
                i += 1
        if nth < lt:
            hi = lt
        elif nth >= gt:
            lo = gt
        else:
            return


@jit
def _build(x, leaf_size):
    """KD-tree over the rows of ``x`` (n, m): ``(perm, start, end, lower, upper)``.

    Each node splits at the median of the dimension where its box is widest. The boxes used to
    choose are the parent's cut at the split (a superset of the node's points, known without
    reading them); once every node is split, each leaf's box is shrunk to its points and each
    inner node's to its children's, bottom-up, so every point is read once for the boxes
    instead of once per level. Any box holding a node's points gives exact neighbours; tight
    ones prune more.
    """
    n, m = x.shape
    levels = 1
    while (n >> levels) >= leaf_size and levels < 40:
        levels += 1
    n_nodes = (1 << levels) - 1
    perm = np.arange(n)
    start = np.zeros(n_nodes, np.int64)
    end = np.zeros(n_nodes, np.int64)
    lower = np.full((n_nodes, m), np.inf)
    upper = np.full((n_nodes, m), -np.inf)
    end[0] = n
    for p in range(n):
        for j in range(m):
            v = x[p, j]
            lower[0, j] = min(lower[0, j], v)
            upper[0, j] = max(upper[0, j], v)
    first_leaf = (1 << (levels - 1)) - 1
    for node in range(first_leaf):
        s, e = start[node], end[node]
        dim, spread = 0, -1.0
        for j in range(m):
            if upper[node, j] - lower[node, j] > spread:
                dim, spread = j, upper[node, j] - lower[node, j]
        mid = (s + e) // 2
        left, right = 2 * node + 1, 2 * node + 2
        start[left], end[left] = s, mid
        start[right], end[right] = mid, e
        lower[left], upper[left] = lower[node], upper[node]
        lower[right], upper[right] = lower[node], upper[node]
        if e > s:  # left: values <= the median's, right: >= it
            _select(perm, s, e, mid, x, dim)
            upper[left, dim] = lower[right, dim] = x[perm[mid], dim]
    for node in range(first_leaf, n_nodes):  # tight leaf boxes (an empty leaf: inf/-inf, never visited)
        for j in range(m):
            lo_v, hi_v = np.inf, -np.inf
            for p in range(start[node], end[node]):
                v = x[perm[p], j]
                lo_v = min(lo_v, v)
                hi_v = max(hi_v, v)
            lower[node, j], upper[node, j] = lo_v, hi_v
    for node in range(first_leaf - 1, -1, -1):  # inner boxes: the union of the children's
        for j in range(m):
            lower[node, j] = min(lower[2 * node + 1, j], lower[2 * node + 2, j])
            upper[node, j] = max(upper[2 * node + 1, j], upper[2 * node + 2, j])
    return perm, start, end, lower, upper, first_leaf


@jit
def _box_dist(q, lower, upper, node):
    d = 0.0
    for j in range(q.shape[0]):
        if q[j] < lower[node, j]:
            t = lower[node, j] - q[j]
            d += t * t
        elif q[j] > upper[node, j]:
            t = q[j] - upper[node, j]
            d += t * t
    return d


@jit
def _heap_push(dist, ind, d, i):
    """Replace the root of the max-heap ``dist`` (size k) by ``(d, i)`` and sift down."""
    k = dist.shape[0]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= k:
            break
        if child + 1 < k and dist[child + 1] > dist[child]:
            child += 1
        if dist[child] <= d:
            break
        dist[pos], ind[pos] = dist[child], ind[child]
        pos = child
    dist[pos], ind[pos] = d, i


@jit(parallel=True)
def _query(x, tree, queries, k):
    """Squared distances and indices of the ``k`` nearest rows of ``x`` for every query,
    sorted by distance; shapes (n_queries, k)."""
    perm, start, end, lower, upper, first_leaf = tree
    nq, m = queries.shape
    # the rows in tree order: a leaf's points are then contiguous in memory, not one cache miss each
    xs = np.empty((perm.shape[0], m))
    for p in prange(perm.shape[0]):
        for j in range(m):
            xs[p, j] = x[perm[p], j]
    out_d = np.empty((nq, k))
    out_i = np.empty((nq, k), np.int64)
    max_depth = 64
    # queries in blocks, each with its own buffers: no allocation per query
    n_blocks = min(nq, 1024)
    for b in prange(n_blocks):
        dist = np.empty(k)
        ind = np.empty(k, np.int64)
        stack = np.empty(max_depth * 2, np.int64)
        stack_d = np.empty(max_depth * 2)
        for qi in range(b * nq // n_blocks, (b + 1) * nq // n_blocks):
            q = queries[qi]
            dist[:] = np.inf
            ind[:] = -1
            stack[0], stack_d[0] = 0, _box_dist(q, lower, upper, 0)
            top = 1
            while top > 0:
                top -= 1
                node, bound = stack[top], stack_d[top]
                if bound > dist[0]:
                    continue
                if node >= first_leaf:
                    for p in range(start[node], end[node]):
                        d = 0.0
                        for j in range(m):
                            t = xs[p, j] - q[j]
                            d += t * t
                        if d < dist[0]:
                            _heap_push(dist, ind, d, perm[p])
                else:
                    left, right = 2 * node + 1, 2 * node + 2
                    dl, dr = _box_dist(q, lower, upper, left), _box_dist(q, lower, upper, right)
                    if dl <= dr:  # push the farther first so the nearer is visited first
                        stack[top], stack_d[top] = right, dr
                        stack[top + 1], stack_d[top + 1] = left, dl
                    else:
                        stack[top], stack_d[top] = left, dl
                        stack[top + 1], stack_d[top + 1] = right, dr
                    top += 2
            for j in range(k):  # insertion sort of the heap into the output row, by distance
                d, i = dist[j], ind[j]
                a = j
                while a > 0 and out_d[qi, a - 1] > d:
                    out_d[qi, a], out_i[qi, a] = out_d[qi, a - 1], out_i[qi, a - 1]
                    a -= 1
                out_d[qi, a], out_i[qi, a] = d, i
    return out_d, out_i


@jit(parallel=True)
def _leaf_of(tree, queries):
    """The leaf each query falls in, descending to the nearer child's box (the left on a tie)."""
    _, _, _, lower, upper, first_leaf = tree
    out = np.empty(queries.shape[0], np.int64)
    for qi in prange(queries.shape[0]):
        q = queries[qi]
        node = 0
        while node < first_leaf:
            left = 2 * node + 1
            node = left if _box_dist(q, lower, upper, left) <= _box_dist(q, lower, upper, left + 1) else left + 1
        out[qi] = node
    return out


def kneighbors(x: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``x`` (n, m) for each row of ``queries`` (n_q, m).

    Returns
    -------
    (dist2, index) : arrays of shape (n_q, k)
        Squared Euclidean distances (ascending) and row indices into ``x``. With fewer than
        ``k`` rows in ``x`` the missing neighbours have distance inf and index -1.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    tree = _build(x, LEAF_SIZE)
    # visit the queries leaf by leaf of the tree: neighbouring queries walk the same tree paths,
    # which keeps them in cache (about 4x faster than input order; cheaper than a tree of the queries)
    order = np.argsort(_leaf_of(tree, queries), kind="stable")
    dist, ind = _query(x, tree, queries[order], k)
    out_d, out_i = np.empty_like(dist), np.empty_like(ind)
    out_d[order], out_i[order] = dist, ind
    return out_d, out_i


def build_tree(x: np.ndarray) -> tuple:
    """A KD-tree over the rows of ``x`` (n, m), to query many times with :func:`query_tree`."""
    return _build(np.ascontiguousarray(x, dtype=np.float64), LEAF_SIZE)


def query_tree(x: np.ndarray, tree: tuple, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kneighbors` against a tree :func:`build_tree` made of ``x`` (the same ``x``, unchanged)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    order = _build(queries, LEAF_SIZE)[0]  # spatial order of the queries, as in kneighbors
    dist, ind = _query(x, tree, queries[order], k)
    out_d, out_i = np.empty_like(dist), np.empty_like(ind)
    out_d[order], out_i[order] = dist, ind
    return out_d, out_i


@jit(parallel=True)
def _merge_best(best_d, best_y, dist, labels):
    """Each row's ``keep`` smallest of two ascending lists: the kept ``(best_d, best_y)`` and the
    new candidates ``(dist, labels)``; among equal distances the kept entries come first.

    Returns new ``(best_d, best_y)`` arrays of the shape of ``best_d``. Plain form: a stable sort
    of the concatenated row by distance, cut at ``keep``.
    """
    nq, keep = best_d.shape
    m = dist.shape[1]
    out_d = np.empty_like(best_d)
    out_y = np.empty_like(best_y)
    for r in prange(nq):
        i = 0
        j = 0
        for s in range(keep):
            if i < keep and (j >= m or best_d[r, i] <= dist[r, j]):
                out_d[r, s] = best_d[r, i]
                out_y[r, s] = best_y[r, i]
                i += 1
            else:
                out_d[r, s] = dist[r, j]
                out_y[r, s] = labels[r, j]
                j += 1
    return out_d, out_y


def merge_best(best_d: np.ndarray, best_y: np.ndarray, dist: np.ndarray,
               labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``keep = best_d.shape[1]`` nearest of each query from its kept list and new candidates.

    Parameters
    ----------
    best_d, best_y : arrays of shape (n_q, keep)
        Kept distances (ascending per row; ``inf`` for empty slots) and their neighbours' labels.
    dist, labels : arrays of shape (n_q, m)
        New candidates, ascending per row (as :func:`query_tree` gives them).

    Returns
    -------
    (best_d, best_y) : arrays of shape (n_q, keep)
        Ascending; among equal distances the entries kept before come first.
    """
    return _merge_best(np.ascontiguousarray(best_d, dtype=np.float64), np.ascontiguousarray(best_y, dtype=np.bool_),
                       np.ascontiguousarray(dist, dtype=np.float64), np.ascontiguousarray(labels, dtype=np.bool_))
