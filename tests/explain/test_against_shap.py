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
    ours = kernel_shap(model, X, B, num_samples=BUDGET, seed=7, regression_adjusted=True)
    plain = kernel_shap(model, X, B, num_samples=BUDGET, seed=7, regression_adjusted=False)
    np.random.seed(7)  # shap samples from the global numpy state
    explainer = shap.KernelExplainer(model, B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(explainer.shap_values(X, nsamples=BUDGET, l1_reg=False, silent=True))
    assert theirs.shape == (X.shape[0], M)
    np.testing.assert_allclose(explainer.expected_value, ours.expected_value[0], atol=1e-12)
    ours_v = ours.values[:, :, 0]
    se = ours.standard_errors[:, :, 0]
    # Plain Kernel SHAP and shap's estimate the same exact values with noise of the same order
    # (shap's measured at 1.3-1.9x ours), so their RMS difference stays within twice sqrt(2)
    # times the plain estimator's RMS standard error; a biased estimator would not. (The
    # adjusted values' errors are several times smaller than shap's, so this bound is the plain one's.)
    rms_diff = np.sqrt(np.mean((plain.values[:, :, 0] - theirs) ** 2))
    rms_se = np.sqrt(np.mean(plain.standard_errors[:, :, 0] ** 2))
    assert rms_diff <= 2 * np.sqrt(2) * rms_se, (rms_diff, rms_se)
    # the plain estimator's standard errors cover its errors value by value; the adjusted ones
    # are calibrated over the values (RMS of error / SE about 1: 0.95 over 6 seeds of this case,
    # 96 % within 1.96 SE), with tails a little heavier (one value of 96 at 5.1 SE with seed 7)
    plain_z = (plain.values[:, :, 0] - exact) / plain.standard_errors[:, :, 0]
    assert np.all(np.abs(plain_z) <= 5), np.abs(plain_z).max()
    z = (ours_v - exact) / se
    assert np.sqrt(np.mean(z**2)) <= 1.5 and np.mean(np.abs(z) <= 1.96) >= 0.85, (np.sqrt(np.mean(z**2)), z)
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
