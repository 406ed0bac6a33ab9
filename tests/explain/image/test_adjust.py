"""Regression-adjusted image SHAP (``explain/image/_adjust.py``): a cubic surrogate of the
superpixel game as control variate, checked against exact Shapley values by enumeration."""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from clarify_engine.config import load_config
from clarify_engine.explain._kernel_shap import _one_blas_thread, _Solver
from clarify_engine.explain.image import ImageSpec, callable_score_fn, explain_image
from clarify_engine.explain.image._adjust import MAX_SEGMENTS, adjustable, solve_adjusted
from clarify_engine.explain.image._plan import image_plan
from clarify_engine.job._plan_image import plan_image
from tests.explain.naive import game_shapley

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"


def smooth_game(m, seed):
    """A small network of the coalition indicators: interactions of every order."""
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 0.6, (6, m))
    v = rng.normal(0, 1, 6)

    def game(z):
        return 1.0 / (1.0 + np.exp(-(np.tanh(z.astype(np.float64) @ c.T - 0.5) @ v)))
    return game


def estimate(game, m, budget, seed, adjust=True):
    plan = image_plan(m, budget, seed)
    solver = _Solver(plan)
    v0 = game(np.zeros((1, m), np.uint8))[0]
    y = (game(plan.masks) - v0)[:, None]
    delta = np.array([game(np.ones((1, m), np.uint8))[0] - v0])
    with _one_blas_thread():  # as the engine runs it (many BLAS threads crawl on a loaded machine)
        if adjust and adjustable(solver, m):
            phi, se, which = solve_adjusted(solver, y, delta)
            return phi[:, 0], se[:, 0], bool(which[0])
        phi, se = solver.solve(y, delta)
    return phi[:, 0], se[:, 0], False


def test_a_game_of_order_three_is_recovered_almost_exactly_where_plain_kernel_shap_errs():
    m, rng = 10, np.random.default_rng(3)
    a, pair = rng.normal(size=m), np.triu(rng.normal(size=(m, m)), 1)
    triples = [tuple(rng.choice(m, 3, replace=False)) for _ in range(6)]
    coef = rng.normal(size=len(triples))

    def game(z):
        z = z.astype(np.float64)
        return z @ a + np.einsum("ci,ij,cj->c", z, pair, z) + sum(
            k * z[:, list(t)].prod(axis=1) for k, t in zip(coef, triples))
    truth = game_shapley(game, m)
    plain, _, _ = estimate(game, m, 400, 0, adjust=False)
    adjusted, _, used = estimate(game, m, 400, 0)
    assert used
    assert np.abs(plain - truth).max() > 1e-2
    assert np.abs(adjusted - truth).max() < 1e-3 * np.abs(plain - truth).max()
    assert adjusted.sum() == pytest.approx(truth.sum(), abs=1e-12)


def test_on_a_smooth_network_the_error_drops_and_the_standard_errors_stay_calibrated():
    m, budget = 11, 500
    plain_sq, adj_sq, z_scores = [], [], []
    for seed in range(8):
        game = smooth_game(m, seed)
        truth = game_shapley(game, m)
        plain, _, _ = estimate(game, m, budget, seed, adjust=False)
        adjusted, se, used = estimate(game, m, budget, seed)
        assert used and adjusted.sum() == pytest.approx(truth.sum(), abs=1e-12)
        plain_sq.append(np.mean((plain - truth) ** 2))
        adj_sq.append(np.mean((adjusted - truth) ** 2))
        z_scores.extend((adjusted - truth) / se)
    ratio = math.sqrt(np.mean(adj_sq) / np.mean(plain_sq))
    assert ratio < 0.7, ratio
    rms_z = math.sqrt(np.mean(np.square(z_scores)))
    assert 0.5 < rms_z < 1.5, rms_z


def test_a_pairwise_game_keeps_plain_kernel_shap_bit_for_bit():
    # the order-3 terms predict nothing Kernel SHAP's fit misses: no adjustment, the same bytes
    m, rng = 10, np.random.default_rng(1)
    pair = np.triu(rng.normal(size=(m, m)), 1)

    def game(z):
        z = z.astype(np.float64)
        return np.einsum("ci,ij,cj->c", z, pair, z)
    plain, plain_se, _ = estimate(game, m, 400, 2, adjust=False)
    adjusted, se, used = estimate(game, m, 400, 2)
    assert not used
    assert plain.tobytes() == adjusted.tobytes() and plain_se.tobytes() == se.tobytes()


@pytest.mark.parametrize("m, budget, why", [
    (10, 100, "fewer coalitions than twice the order-0..2 coefficients (2 x 56)"),
    (10, 1022, "every coalition: exact"),
    (MAX_SEGMENTS + 1, 2 * MAX_SEGMENTS + 2090, "more segments than MAX_SEGMENTS"),
])
def test_small_budgets_exact_plans_and_many_segments_are_not_adjusted(m, budget, why):
    assert not adjustable(_Solver(image_plan(m, budget, 0)), m), why


def square_image():
    rng = np.random.default_rng(0)
    image = np.zeros((48, 48, 3), np.uint8)
    for i, j in itertools.product(range(4), range(4)):
        image[12 * i: 12 * i + 12, 12 * j: 12 * j + 12] = rng.integers(0, 256, 3)
    return image


def network(images):
    """Two class scores from a hidden layer of region means: interactions of every order."""
    x = images.astype(np.float64) / 255.0
    cells = x.reshape(-1, 4, 12, 4, 12, 3).mean(axis=(2, 4)).reshape(len(images), -1)  # (n, 48)
    w = np.random.default_rng(5).normal(0, 0.8, (48, 8))
    h = np.tanh(cells @ w - 1.0)
    score = 1.0 / (1.0 + np.exp(-(h @ np.linspace(-1, 1, 8))))
    return np.stack([score, 1 - score], axis=1)


def test_explain_image_adjusts_by_default_reproducibly_and_exactly_with_every_coalition():
    image, baseline = square_image(), np.full((48, 48, 3), 128, np.uint8)
    base = dict(model_type="IMAGE_CLASSIFICATION", num_segments=12, compactness=10.0, label_headers=("a", "b"),
                seed=4, num_samples=600)
    first = explain_image("x", image, baseline, ImageSpec(**base), callable_score_fn(network, False))
    again = explain_image("x", image, baseline, ImageSpec(**base), callable_score_fn(network, False))
    plain = explain_image("x", image, baseline, ImageSpec(**base, regression_adjusted=False),
                          callable_score_fn(network, False))
    assert 10 <= first.n_segments <= 14 and first.regression_adjusted and not plain.regression_adjusted
    assert first.targets[0].values.tobytes() == again.targets[0].values.tobytes()
    assert first.targets[0].values.tobytes() != plain.targets[0].values.tobytes()
    t = first.targets[0]
    assert t.values.sum() == pytest.approx(t.fx - t.expected_value, abs=1e-12)
    exact = explain_image("x", image, baseline, ImageSpec(**{**base, "num_samples": 2 ** first.n_segments}),
                          callable_score_fn(network, False))
    plain_exact = explain_image("x", image, baseline, ImageSpec(**{**base, "num_samples": 2 ** first.n_segments},
                                                                regression_adjusted=False),
                                callable_score_fn(network, False))
    assert exact.exact and not exact.regression_adjusted
    assert exact.targets[0].values.tobytes() == plain_exact.targets[0].values.tobytes()


def test_methods_shap_regression_adjusted_false_turns_it_off_for_image_jobs():
    config = json.loads((FIXTURES / "sdk_configs" / "22_image_classification.json").read_text())
    assert plan_image(load_config(config)).regression_adjusted
    for setting, expected in ((False, False), (True, True), ("auto", True)):
        edited = copy.deepcopy(config)
        edited["methods"]["shap"]["regression_adjusted"] = setting
        assert plan_image(load_config(edited)).regression_adjusted is expected
