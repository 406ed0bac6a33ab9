"""The regression-adjusted Kernel SHAP estimator: its boosting kernel, the surrogate's exact
Shapley values, and what it does to Kernel SHAP's values and standard errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain._coalitions import coalition_plan
from clarify_engine.explain._kernel_shap import kernel_shap
from clarify_engine.explain._surrogate import fit_surrogate, tree_arrays
from clarify_engine.explain._surrogate_kernels import NODES, _boost
from tests.explain.naive import boost_binary


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 40), m=st.integers(1, 5), n_trees=st.integers(1, 4),
       min_leaf=st.integers(1, 3))
def test_boosting_kernel_matches_plain_twin(data, n, m, n_trees, min_leaf):
    z = np.array(data.draw(st.lists(st.lists(st.integers(0, 1), min_size=m, max_size=m), min_size=n, max_size=n)),
                 dtype=np.uint8)
    target = np.array(data.draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)))
    feature = np.empty((n_trees, NODES), dtype=np.int64)
    value = np.empty((n_trees, NODES))
    pred = np.empty(n)
    _boost(z, target, n_trees, 0.3, min_leaf, feature, value, pred)
    want_f, want_v, want_p = boost_binary(z, target, n_trees, 0.3, min_leaf)
    np.testing.assert_array_equal(feature, want_f)
    np.testing.assert_allclose(value, want_v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pred, want_p, rtol=0, atol=1e-12)


def _walk(feature, value, z):
    """The boosted trees' prediction at one 0/1 row, walking the complete layout."""
    total = 0.0
    for t in range(feature.shape[0]):
        q = 0
        while feature[t, q] >= 0:
            q = 2 * q + 1 + int(z[feature[t, q]])
        total += value[t, q]
    return total


def test_surrogate_shapley_values_are_exact():
    """The surrogate's Shapley values equal the Shapley formula over every coalition of its game
    ``S -> t(1_S)``, and its values at the coalitions are its predictions."""
    m = 6
    rng = np.random.default_rng(0)
    z = coalition_plan(m, 40, seed=1).masks
    e = rng.normal(size=len(z)) + 3.0 * z[:, 0] * z[:, 1] * z[:, 2]
    fit = fit_surrogate(z, e)
    rows = np.concatenate([np.zeros((1, m), np.uint8), z, np.ones((1, m), np.uint8)])
    feature = np.empty((300, NODES), dtype=np.int64)
    value = np.empty((300, NODES))
    _boost(rows, np.concatenate([[0.0], e, [0.0]]), 300, 0.1, 5, feature, value, np.empty(len(rows)))
    game = {s: _walk(feature, value, np.isin(np.arange(m), s).astype(np.uint8))
            for r in range(m + 1) for s in itertools.combinations(range(m), r)}
    want = np.zeros(m)
    for j in range(m):
        others = [k for k in range(m) if k != j]
        for r in range(m):
            for s in itertools.combinations(others, r):
                w = math.factorial(r) * math.factorial(m - r - 1) / math.factorial(m)
                want[j] += w * (game[tuple(sorted(s + (j,)))] - game[s])
    np.testing.assert_allclose(fit.shapley, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.shapley.sum(), fit.full, rtol=0, atol=1e-12)
    got_values = np.array([_walk(feature, value, row) for row in z]) - game[()]
    np.testing.assert_allclose(fit.values, got_values, rtol=0, atol=1e-12)
    roots, left, *_ = tree_arrays(feature, value)
    assert roots.tolist() == [t * NODES for t in range(300)] and left.shape == (300 * NODES,)


def _three_way(rows):
    """A game with interactions up to order 3 (Kernel SHAP with paired sampling is exact below)."""
    return (rows[:, 0] * rows[:, 1] * rows[:, 2] + np.sin(rows[:, 3] * rows[:, 4]) * rows[:, 5]
            + 0.5 * rows[:, 6] * rows[:, 7] * rows[:, 8] + rows[:, 9] + np.tanh(rows[:, 10] * rows[:, 11])
            * rows[:, 1])[:, None]


M = 12


def _setup(n=6):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(n, M))
    B = rng.normal(size=(3, M))
    exact = kernel_shap(_three_way, X, B, num_samples=2**M - 2)
    assert exact.exact
    return X, B, exact.values


def test_adjusted_is_more_accurate_than_plain_kernel_shap():
    """At equal model calls, over seeds: the surrogate removes most of the sampling error that the
    order-3 interactions leave (plain Kernel SHAP is exact for pairwise games)."""
    X, B, exact = _setup()
    plain, adjusted = [], []
    for seed in range(4):
        for adj, out in ((False, plain), (True, adjusted)):
            res = kernel_shap(_three_way, X, B, num_samples=300, seed=seed, regression_adjusted=adj)
            out.append(np.abs(res.values - exact).sum() / np.abs(exact).sum())
    assert np.mean(adjusted) < 0.7 * np.mean(plain), (plain, adjusted)


def test_adjusted_keeps_additivity_seeds_and_exact_plans():
    X, B, _ = _setup(4)
    per_record = 3 * 302  # one record per block, so that two workers pipeline
    res = kernel_shap(_three_way, X, B, num_samples=300, seed=3, max_rows_per_call=per_record,
                      regression_adjusted=True)
    np.testing.assert_allclose(res.values.sum(axis=1), res.fx - res.reference, rtol=0, atol=1e-10)
    again = kernel_shap(_three_way, X, B, num_samples=300, seed=3, workers=2, max_rows_per_call=per_record,
                        regression_adjusted=True)
    assert res.values.tobytes() == again.values.tobytes()
    assert res.standard_errors.tobytes() == again.standard_errors.tobytes()
    # no random part to adjust: an exact plan, and a budget whose draws are fewer than 2M
    for budget in (2**M - 2, 2 * M, 2 * M + 20):
        a = kernel_shap(_three_way, X, B, num_samples=budget, seed=1, regression_adjusted=True)
        b = kernel_shap(_three_way, X, B, num_samples=budget, seed=1, regression_adjusted=False)
        assert a.values.tobytes() == b.values.tobytes()


def test_adjusted_standard_errors_cover_the_error():
    """The sandwich standard errors of the adjusted estimate (the surrogate held fixed) cover its
    true error at about the stated rate across seeds."""
    X, B, exact = _setup(5)
    z = []
    for seed in range(12):
        res = kernel_shap(_three_way, X, B, num_samples=400, seed=seed, regression_adjusted=True)
        assert np.isfinite(res.standard_errors).all()
        z.append(((res.values - exact) / np.maximum(res.standard_errors, 1e-300)).ravel())
    z = np.concatenate(z)
    rms = float(np.sqrt(np.mean(z**2)))
    inside = float(np.mean(np.abs(z) < 1.96))
    assert 0.6 < rms < 1.6 and inside > 0.85, (rms, inside)
