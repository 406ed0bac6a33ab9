"""The numba KD-tree against brute force, and FT's fast path against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import KNeighborsClassifier

from clarify_engine.bias import _flip
from clarify_engine.bias._knn import build_tree, kneighbors, merge_best, query_tree
from tests.bias import naive


def brute(x, q, k):
    d = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, idx, 1), idx


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400), st.integers(1, 60), st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_kneighbors_distances_equal_brute_force(n, nq, m, k, seed):
    rng = np.random.default_rng(seed)
    x, q = rng.normal(size=(n, m)), rng.normal(size=(nq, m))
    dist, idx = kneighbors(x, q, k)
    want_d, _ = brute(x, q, min(k, n))
    np.testing.assert_allclose(dist[:, : min(k, n)], want_d, rtol=1e-12, atol=1e-12)
    # indices point at rows with exactly those distances
    got = ((q[:, None, :] - x[idx[:, : min(k, n)]]) ** 2).sum(-1)
    np.testing.assert_allclose(got, want_d, rtol=1e-12, atol=1e-12)
    if k > n:
        assert np.isinf(dist[:, n:]).all() and (idx[:, n:] == -1).all()


def test_kneighbors_with_many_duplicates():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(3000, 2)).astype(float)
    q = rng.integers(0, 3, size=(50, 2)).astype(float)
    dist, _ = kneighbors(x, q, 5)
    np.testing.assert_array_equal(dist, brute(x, q, 5)[0])


@pytest.mark.parametrize("integer_features", [False, True])
def test_fast_flip_test_equals_scikit_learn(integer_features, monkeypatch):
    rng = np.random.default_rng(1)
    n = 6000
    x = rng.integers(0, 4, size=(n, 3)).astype(float) if integer_features else rng.normal(size=(n, 3))
    sensitive = rng.random(n) < 0.3
    pred = rng.random(n) < 0.5
    fast = _flip.FT(x, sensitive, pred)
    monkeypatch.setattr(_flip, "FAST_MIN_ROWS", 10**9)
    slow = _flip.FT(x, sensitive, pred)
    assert fast == slow
    knn = KNeighborsClassifier(5).fit(x[~sensitive], pred[~sensitive])
    y_knn = knn.predict(x[sensitive])
    expected = (np.sum(pred[sensitive] & ~y_knn) - np.sum(~pred[sensitive] & y_knn)) / sensitive.sum()
    assert fast == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_merge_best_equals_its_plain_twin(nq, keep, m, seed):
    rng = np.random.default_rng(seed)
    # few distinct distances, so equal distances (kept entries first) are common; inf = empty slot
    best_d = np.sort(rng.choice([0.0, 1.0, 2.0, np.inf], size=(nq, keep)), axis=1)
    dist = np.sort(rng.choice([0.0, 1.0, 2.0, 3.0], size=(nq, m)), axis=1)
    best_y, labels = rng.random((nq, keep)) < 0.5, rng.random((nq, m)) < 0.5
    got_d, got_y = merge_best(best_d, best_y, dist, labels)
    want_d, want_y = naive.merge_best(best_d, best_y, dist, labels)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_y, want_y)


def test_query_tree_reuses_one_tree_for_many_batches():
    rng = np.random.default_rng(5)
    x, q = rng.normal(size=(3000, 3)), rng.normal(size=(500, 3))
    tree = build_tree(x)
    for part in (slice(0, 200), slice(200, 500)):
        dist, idx = query_tree(x, tree, q[part], 6)
        want_d, want_i = kneighbors(x, q[part], 6)
        np.testing.assert_array_equal(dist, want_d)
        np.testing.assert_array_equal(idx, want_i)

def test_kneighbors_large_tree_many_query_blocks_equal_scikit_learn():
    # deep tree (boxes cut from the parent's, then shrunk bottom-up), more queries than blocks,
    # integer dimensions with many ties next to continuous ones
    from sklearn.neighbors import KDTree

    rng = np.random.default_rng(7)
    x = np.column_stack([rng.normal(size=20000), rng.integers(0, 10, 20000), rng.uniform(18, 90, 20000)])
    q = np.column_stack([rng.normal(size=2500), rng.integers(0, 10, 2500), rng.uniform(18, 90, 2500)])
    dist, idx = kneighbors(x, q, 6)
    want, _ = KDTree(x).query(q, k=6)
    np.testing.assert_allclose(np.sqrt(dist), want, rtol=1e-12, atol=0)
    assert (np.diff(dist, axis=1) >= 0).all()  # each row sorted by distance
    np.testing.assert_array_equal(((q[:, None, :] - x[idx]) ** 2).sum(-1), dist)
