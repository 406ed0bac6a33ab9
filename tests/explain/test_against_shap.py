"""Against shap.KernelExplainer(l1_reg=False) with the same baseline and budget, M = 12 sampled."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from clarify_engine.explain._kernel_shap import kernel_shap
from tests.explain import naive

import shap  # noqa: E402 - a test dependency

M = 12
BUDGET = 400  # well below 2^12 - 2: both estimators sample


def model(rows):
    """Interactions of order 2 to 4, so sampling error shows."""
    r = rows
    return (r[:, 0] * r[:, 1] * r[:, 2] + np.sin(r[:, 3] * r[:, 4]) + r[:, 5] ** 2 * r[:, 6]
            + np.tanh(r[:, 7] * r[:, 8] * r[:, 9] * r[:, 10]) + 0.5 * r[:, 11])


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(2024)
    X = rng.normal(size=(8, M))
    B = rng.normal(size=(2, M))
    exact = np.stack([naive.exact_shapley(model, x, B)[0][:, 0] for x in X])  # (n, M)
    return X, B, exact


def test_agrees_with_shap_within_sampling_error_and_is_no_less_accurate(case):
    X, B, exact = case
    ours = kernel_shap(model, X, B, num_samples=BUDGET, seed=7)
    np.random.seed(7)  # shap samples from the global numpy state
    explainer = shap.KernelExplainer(model, B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(explainer.shap_values(X, nsamples=BUDGET, l1_reg=False, silent=True))
    assert theirs.shape == (X.shape[0], M)
    np.testing.assert_allclose(explainer.expected_value, ours.expected_value[0], atol=1e-12)
    ours_v = ours.values[:, :, 0]
    se = ours.standard_errors[:, :, 0]
    # Both estimate the same exact values: their difference is the sampling noise of both.
    # shap's noise is of the order of ours (measured: 1.3-1.9x), so the RMS difference stays
    # within twice sqrt(2) times our RMS standard error; a biased estimator would not.
    rms_diff = np.sqrt(np.mean((ours_v - theirs) ** 2))
    rms_se = np.sqrt(np.mean(se**2))
    assert rms_diff <= 2 * np.sqrt(2) * rms_se, (rms_diff, rms_se)
    # our own standard errors cover our own errors value by value
    assert np.all(np.abs(ours_v - exact) <= 5 * se), np.abs((ours_v - exact) / se).max()
    # and both sum to the same f(x) - E f
    np.testing.assert_allclose(theirs.sum(axis=1), ours_v.sum(axis=1), atol=1e-9)
    err_ours = np.abs(ours_v - exact).mean()
    err_shap = np.abs(theirs - exact).mean()
    assert err_ours <= err_shap, (err_ours, err_shap)
    assert err_ours > 1e-6  # the budget really samples: the comparison is not vacuous


def test_full_budget_matches_shap_exactly_enumerated(case):
    X, B, exact = case
    ours = kernel_shap(model, X[:2], B, num_samples=2**M, seed=0)
    explainer = shap.KernelExplainer(model, B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(explainer.shap_values(X[:2], nsamples=2**M, l1_reg=False, silent=True))
    np.testing.assert_allclose(ours.values[:, :, 0], exact[:2], atol=1e-8)
    np.testing.assert_allclose(theirs, exact[:2], atol=1e-8)
