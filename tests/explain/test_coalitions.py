"""The coalition plan: enumeration, paired sampling, weights, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain import budget_note
from clarify_engine.explain._coalitions import (
    coalition_plan,
    default_num_samples,
    determining_budget,
    size_class_mass,
)


def shapley_kernel(m, s):
    return (m - 1) / (math.comb(m, s) * s * (m - s))


@pytest.mark.parametrize("m, expected", [(2, 2), (5, 30), (11, 2046), (12, 2072), (50, 2148)])
def test_default_num_samples(m, expected):
    assert default_num_samples(m) == expected


def test_default_num_samples_refuses_one_feature():
    with pytest.raises(ValueError, match="m=1"):
        default_num_samples(1)


@pytest.mark.parametrize("m", [2, 3, 4, 7, 10])
def test_full_plan_has_every_coalition_with_the_shapley_kernel(m):
    plan = coalition_plan(m, 2**m - 2, seed=0)
    assert plan.exact and plan.masks.shape == (2**m - 2, m)
    assert len({r.tobytes() for r in plan.masks}) == 2**m - 2
    sizes = plan.masks.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= m - 1
    kernel = np.array([shapley_kernel(m, s) for s in sizes])
    np.testing.assert_allclose(plan.weights, kernel / kernel.sum(), rtol=1e-13)
    assert np.all(plan.partner == -2) and np.all(plan.counts == 0)


def test_size_class_mass_pairs_sizes():
    # M = 4: classes {1, 3} (paired) and {2} (middle): masses 2*3/3 = 2 and 3/4
    np.testing.assert_allclose(size_class_mass(4), np.array([2.0, 0.75]) / 2.75)


def test_sampled_plan_enumerates_small_sizes_then_pairs():
    m, budget = 12, 300
    plan = coalition_plan(m, budget, seed=3)
    assert not plan.exact
    assert plan.masks.shape[0] == budget
    head = plan.masks[: plan.n_enumerated].sum(axis=1)
    assert plan.n_enumerated == 2 * m  # sizes 1 and 11 only: size 2 needs 132 > its share
    assert set(head.tolist()) == {1, m - 1}
    tail = plan.masks[plan.n_enumerated:]
    assert set(tail.sum(axis=1).tolist()) <= set(range(2, m - 1))
    # every sampled coalition sits next to its complement, with the same draw count
    for c in range(plan.n_enumerated, budget):
        p = plan.partner[c]
        if p >= 0:
            np.testing.assert_array_equal(plan.masks[p], 1 - plan.masks[c])
            assert plan.counts[p] == plan.counts[c]
    # the sampled block carries exactly the kernel mass of the classes not enumerated
    mass = size_class_mass(m)
    np.testing.assert_allclose(plan.weights[plan.n_enumerated:].sum(), mass[1:].sum() / mass.sum(), rtol=1e-12)


def determines_every_value(masks):
    """The constrained regression over ``masks`` has one solution: [Z; 1] has rank M."""
    m = masks.shape[1]
    return np.linalg.matrix_rank(np.vstack([masks, np.ones((1, m), dtype=np.uint8)]).astype(np.float64)) == m


@settings(max_examples=60, deadline=None)
@given(m=st.integers(2, 14), budget=st.integers(1, 3000), seed=st.integers(0, 2**31))
def test_plan_invariants(m, budget, seed):
    plan = coalition_plan(m, budget, seed)
    c = plan.masks.shape[0]
    assert 1 <= c <= budget or plan.exact
    assert plan.exact == (budget >= 2**m - 2)
    assert len({r.tobytes() for r in plan.masks}) == c  # distinct
    sizes = plan.masks.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= m - 1  # neither empty nor full
    assert np.all(plan.weights > 0)
    np.testing.assert_allclose(plan.weights.sum(), 1.0, rtol=1e-12)
    if budget >= determining_budget(m):
        assert determines_every_value(plan.masks)
    # the same seed gives the same plan at every budget, below 2M too
    again = coalition_plan(m, budget, seed)
    np.testing.assert_array_equal(again.masks, plan.masks)
    np.testing.assert_array_equal(again.weights, plan.weights)
    np.testing.assert_array_equal(again.counts, plan.counts)


@pytest.mark.parametrize("m, budget", [(14, 15), (10, 7), (8, 3)])
def test_same_seed_same_plan_below_two_m_and_different_seeds_differ(m, budget):
    plans = [coalition_plan(m, budget, seed) for seed in (5, 5, 6)]
    assert plans[0].masks.shape[0] == budget
    np.testing.assert_array_equal(plans[0].masks, plans[1].masks)
    np.testing.assert_array_equal(plans[0].weights, plans[1].weights)
    assert not np.array_equal(plans[0].masks, plans[2].masks)


@pytest.mark.parametrize("m, expected", [(2, 1), (3, 3), (4, 5), (14, 25), (70, 137)])
def test_determining_budget(m, expected):
    assert determining_budget(m) == expected


@pytest.mark.parametrize("m", [4, 9, 14])
def test_from_two_m_on_every_single_feature_and_its_complement_is_in_the_plan(m):
    """shap's share rule would sample the first class at random up to 2M / mass[0]; unseeded
    runs at 2M then drew too few independent pairs (8 of 20 at M = 14): never now."""
    budget = 2 * m
    assert budget < 2 * m / size_class_mass(m)[0]  # below shap's enumeration point
    for _ in range(30):
        plan = coalition_plan(m, budget, seed=None)
        assert plan.n_enumerated == 2 * m
        assert set(plan.masks[: 2 * m].sum(axis=1).tolist()) == {1, m - 1}
        assert determines_every_value(plan.masks)
    more = coalition_plan(m, budget + 5, seed=1)
    assert more.n_enumerated == 2 * m and more.masks.shape[0] == budget + 5


@pytest.mark.parametrize("m, budget", [(14, 1), (14, 15), (14, 24), (14, 25), (14, 27), (5, 2), (2, 1)])
def test_below_two_m_the_budget_goes_to_single_features_and_their_complements(m, budget):
    for seed in (0, None):
        plan = coalition_plan(m, budget, seed)
        assert plan.masks.shape[0] == budget and not plan.exact and plan.n_enumerated == 0
        masks = plan.masks
        alone = masks.sum(axis=1) == 1
        pairs = budget // 2
        # pairs first: a feature alone, then every feature but it; an odd budget ends alone
        np.testing.assert_array_equal(masks[0: 2 * pairs: 2], 1 - masks[1: 2 * pairs: 2])
        assert alone[0: 2 * pairs: 2].all() and alone.sum() == pairs + budget % 2
        singles = np.flatnonzero(masks[alone].any(axis=0))
        assert singles.shape[0] == pairs + budget % 2  # distinct features
        np.testing.assert_allclose(plan.weights, 1.0 / budget)
        assert determines_every_value(masks) == (budget >= determining_budget(m))


def test_budget_note_names_the_budget_that_determines_every_value():
    assert budget_note(14, 15) == (
        "num_samples=15 is below the 25 coalitions that determine every value for 14 features; values are a "
        "minimum-norm estimate (features the drawn coalitions cannot tell apart share equally what those "
        "coalitions leave unexplained), they still add up to the model output, and their standard errors are "
        "inf where the coalitions cannot bound the error; set num_samples to at least 25 to determine every value")
    assert budget_note(14, 25) is None and budget_note(14, None) is None
    assert budget_note(4, 4).startswith("num_samples=4 is below the 5 coalitions that determine every value for 4 ")
    assert budget_note(1, 1) is None and budget_note(0, 1) is None
    with pytest.raises(ValueError, match="num_samples must be a positive integer; found 0"):
        budget_note(5, 0)
    with pytest.raises(ValueError, match="n_features must be a non-negative integer; found -1"):
        budget_note(-1, 5)


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_rejects_non_positive_integer_budget(bad):
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        coalition_plan(5, bad, seed=0)


def test_different_seeds_give_different_samples():
    a = coalition_plan(20, 500, seed=1)
    b = coalition_plan(20, 500, seed=2)
    assert not np.array_equal(a.masks, b.masks)
