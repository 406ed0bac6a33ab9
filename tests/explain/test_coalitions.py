"""The coalition plan: enumeration, paired sampling, weights, refusals."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain._coalitions import coalition_plan, default_num_samples, size_class_mass


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


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 14), budget=st.integers(1, 3000), seed=st.integers(0, 2**31))
def test_plan_invariants(m, budget, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            plan = coalition_plan(m, budget, seed)
        except ValueError as exc:
            assert f"num_samples={budget}" in str(exc)
            assert budget < m - 1 or "free directions" in str(exc)
            return
    c = plan.masks.shape[0]
    assert c <= max(budget, 1) or plan.exact
    assert len({r.tobytes() for r in plan.masks}) == c  # distinct
    sizes = plan.masks.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= m - 1  # neither empty nor full
    assert np.all(plan.weights > 0)
    np.testing.assert_allclose(plan.weights.sum(), 1.0, rtol=1e-12)
    again = coalition_plan(m, budget, seed) if budget >= 2 * m else plan
    np.testing.assert_array_equal(again.masks, plan.masks)
    np.testing.assert_array_equal(again.weights, plan.weights)


def test_refuses_budget_below_m_minus_one():
    with pytest.raises(ValueError, match=r"num_samples=3 is too small for M=8"):
        coalition_plan(8, 3, seed=0)


def test_warns_far_below_2m():
    with pytest.warns(UserWarning, match=r"num_samples=19 is below 2\*M=20"):
        plan = coalition_plan(10, 19, seed=2)
    assert plan.masks.shape[0] == 19


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_rejects_non_positive_integer_budget(bad):
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        coalition_plan(5, bad, seed=0)


def test_different_seeds_give_different_samples():
    a = coalition_plan(20, 500, seed=1)
    b = coalition_plan(20, 500, seed=2)
    assert not np.array_equal(a.masks, b.masks)


@pytest.mark.filterwarnings("ignore:num_samples=5 is below")
def test_refuses_plans_whose_pairs_do_not_determine_the_values():
    # M=4, budget 5: sizes 1/3 are not enumerated and 2 pairs + 1 give at most 3 of the 4
    # needed ranks with the constraint row: refused with the budget named.
    refused = 0
    for seed in range(20):
        try:
            plan = coalition_plan(4, 5, seed)
        except ValueError as exc:
            assert "num_samples=5" in str(exc) and "M=4" in str(exc)
            refused += 1
            continue
        rank = np.linalg.matrix_rank(np.vstack([plan.masks, np.ones((1, 4))]).astype(float))
        assert rank == 4
    assert refused > 0
