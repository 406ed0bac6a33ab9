"""The interventional TreeSHAP kernel against its plain twin (every coalition enumerated)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain._exact import _tree_values
from clarify_engine.explain._exact_tree import TreeEnsemble
from clarify_engine.explain._treeshap_kernels import shapley_coefficients
from tests.explain import naive

VALUES = [-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]


def random_ensemble(data, n_col, n_out, n_trees):
    """Random trees: splits on any column (repeats on a path included), thresholds from the
    values the rows take (ties with ``x <= t``), random default children for NaN."""
    left, right, feat, thr, dleft, value, roots = [], [], [], [], [], [], []
    depth_max = 0

    def grow(depth):
        nonlocal depth_max
        node = len(left)
        left.append(-1), right.append(-1), feat.append(0), thr.append(0.0), dleft.append(0)
        value.append(np.zeros(n_out))
        if depth < 4 and data.draw(st.booleans()):
            feat[node] = data.draw(st.integers(0, n_col - 1))
            thr[node] = data.draw(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 1.5]))
            dleft[node] = int(data.draw(st.booleans()))
            left[node] = grow(depth + 1)
            right[node] = grow(depth + 1)
        else:
            depth_max = max(depth_max, depth)
            value[node] = np.array(data.draw(st.lists(st.floats(-3, 3), min_size=n_out, max_size=n_out)))
        return node

    for _ in range(n_trees):
        roots.append(grow(0))
    return TreeEnsemble(
        roots=np.array(roots, dtype=np.int64), left=np.array(left, dtype=np.int64),
        right=np.array(right, dtype=np.int64), feature=np.array(feat, dtype=np.int64),
        threshold=np.array(thr), default_left=np.array(dleft, dtype=np.uint8), value=np.array(value),
        intercept=np.zeros(n_out), depth=depth_max, float32=False, output="additive", scale=1.0, family="test")


def test_shapley_coefficients():
    plus, minus = shapley_coefficients(3)
    assert plus[1, 0] == 1.0 and minus[0, 1] == 1.0  # one decided feature takes the whole leaf
    assert plus[1, 1] == 0.5 and minus[1, 1] == 0.5
    assert np.isclose(plus[2, 1], 1 / 6) and np.isclose(minus[2, 1], 1 / 3)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), n_col=st.integers(1, 5), n_out=st.integers(1, 2), n_trees=st.integers(1, 3),
       n=st.integers(1, 3), k=st.integers(1, 3))
def test_kernel_matches_enumeration(data, n_col, n_out, n_trees, n, k):
    ens = random_ensemble(data, n_col, n_out, n_trees)
    X = np.array(data.draw(st.lists(st.sampled_from(VALUES), min_size=n * n_col, max_size=n * n_col))).reshape(n, n_col)
    B = np.array(data.draw(st.lists(st.sampled_from(VALUES), min_size=k * n_col, max_size=k * n_col))).reshape(k, n_col)
    w = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k))) + 0.01
    w /= w.sum()
    explain = np.array(sorted(data.draw(st.sets(st.integers(0, n_col - 1), min_size=1))), dtype=np.int64)
    pos = np.full(n_col, -1, dtype=np.int64)
    pos[explain] = np.arange(explain.shape[0])
    phi, fx, ref, lo, hi = _tree_values(ens, X, B, w, pos, explain.shape[0], 1)
    for i in range(n):
        want, v0, v1 = naive.tree_shap_pair(ens, X[i], B, w, explain)
        np.testing.assert_allclose(phi[i], want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ref[i], v0, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fx[i], v1, rtol=1e-12, atol=1e-12)
        # the bounds hold every hybrid's output
        for kk in range(k):
            for bits in range(2 ** explain.shape[0]):
                row = X[i].copy()
                for j, col in enumerate(explain):
                    if not (bits >> j) & 1:
                        row[col] = B[kk, col]
                out = naive.tree_predict(ens, row[None, :])[0]
                assert np.all(out >= lo[i, kk] - 1e-12) and np.all(out <= hi[i, kk] + 1e-12)


def test_workers_give_the_same_bytes():
    rng = np.random.default_rng(0)
    from sklearn.ensemble import GradientBoostingRegressor

    from clarify_engine.explain._exact_tree import tree_ensemble

    X = rng.normal(size=(300, 6))
    model = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, X[:, 0] * X[:, 1])
    ens = tree_ensemble(model)
    B = X[:5]
    pos = np.arange(6, dtype=np.int64)
    one = _tree_values(ens, X, B, np.full(5, 0.2), pos, 6, 1)
    two = _tree_values(ens, X, B, np.full(5, 0.2), pos, 6, 3)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()
