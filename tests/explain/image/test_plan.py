"""The image coalition plan: stratified paired sampling without replacement (``_plan.py``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from clarify_engine.explain._coalitions import coalition_plan, size_class_mass
from clarify_engine.explain._kernel_shap import _Solver
from clarify_engine.explain.image._plan import image_plan


def _class_of(masks: np.ndarray, m: int) -> np.ndarray:
    sizes = masks.sum(axis=1)
    return np.minimum(sizes, m - sizes)


@pytest.mark.parametrize("m, budget", [(15, 100), (15, 300), (15, 2088), (12, 1000), (10, 40), (30, 500), (80, 2208)])
def test_sampled_plans_draw_distinct_pairs_equally_over_the_classes_left(m, budget):
    plan = image_plan(m, budget, seed=5)
    masks = plan.masks
    assert masks.shape[0] <= budget and not plan.exact
    assert len({row.tobytes() for row in masks}) == masks.shape[0]  # without replacement
    sizes = masks.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= m - 1
    sampled = np.arange(plan.n_enumerated, masks.shape[0])
    assert (masks[plan.partner[sampled]] == 1 - masks[sampled]).all()  # each with its complement
    assert (plan.partner[: plan.n_enumerated] == -2).all() and (plan.counts[sampled] == 1).all()
    enumerated_classes = set(_class_of(masks[: plan.n_enumerated], m).tolist())
    classes = _class_of(masks[sampled], m)
    per_class = np.bincount(classes, minlength=m // 2 + 1)[max(enumerated_classes) + 1:]
    capacity = np.array([math.comb(m, s) // (2 if 2 * s == m else 1) for s in range(max(enumerated_classes) + 1, m // 2 + 1)])
    # equal pairs (2 coalitions each) per class, a full class's surplus spread over the others
    pairs = per_class // 2
    open_ = pairs < capacity
    assert open_.any() and pairs[open_].max() - pairs[open_].min() <= 1
    mass = size_class_mass(m)
    for s in set(classes.tolist()):  # each drawn class carries its kernel mass, shared equally
        w = plan.weights[sampled][classes == s]
        assert np.allclose(w, w[0])
    total = mass[sorted(enumerated_classes | set(classes.tolist()))[0] - 1:].sum()
    for s in enumerated_classes | set(classes.tolist()):
        assert plan.weights[_class_of(masks, m) == s].sum() == pytest.approx(mass[s - 1] / total)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_another_plan():
    a, b, c = image_plan(15, 500, seed=3), image_plan(15, 500, seed=3), image_plan(15, 500, seed=4)
    assert a.masks.tobytes() == b.masks.tobytes() and a.weights.tobytes() == b.weights.tobytes()
    assert a.masks.tobytes() != c.masks.tobytes()


@pytest.mark.parametrize("m, budget", [(6, 62), (6, 100), (8, 9), (10, 5)])
def test_a_budget_covering_every_coalition_or_below_the_first_class_is_the_tabular_plan(m, budget):
    ours, tabular = image_plan(m, budget, seed=1), coalition_plan(m, budget, seed=1)
    assert ours.masks.tobytes() == tabular.masks.tobytes() and np.array_equal(ours.weights, tabular.weights)
    assert ours.exact == (budget >= 2 ** m - 2)


def _pairwise_game(m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=m), np.triu(rng.normal(size=(m, m)), 1)
    exact = a + (b.sum(axis=0) + b.sum(axis=1)) / 2.0
    return (lambda z: z @ a + np.einsum("ci,ij,cj->c", z, b, z)), exact


@pytest.mark.parametrize("m, budget", [(12, 200), (15, 300)])
def test_paired_draws_give_exact_values_for_games_with_pairwise_interactions(m, budget):
    game, exact = _pairwise_game(m, 7)
    plan = image_plan(m, budget, seed=2)
    y = game(plan.masks.astype(float))[:, None]
    phi, _ = _Solver(plan).solve(y, np.array([game(np.ones((1, m)))[0]]))
    np.testing.assert_allclose(phi[:, 0], exact, atol=1e-9)


def test_fewer_than_two_segments_or_a_bad_budget_is_refused():
    with pytest.raises(ValueError, match="at least 2 features"):
        image_plan(1, 10)
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        image_plan(5, 0)


def test_every_class_drawn_when_the_budget_allows_it():
    plan = image_plan(20, 300, seed=0)
    drawn = set(_class_of(plan.masks, 20).tolist())
    assert drawn == set(range(1, 11))
    assert list(itertools.islice(plan.partner, plan.n_enumerated)) == [-2] * plan.n_enumerated
