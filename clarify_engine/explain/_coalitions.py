"""The coalition plan of Kernel SHAP: which feature subsets are evaluated, with which weight.

One plan serves every explained row of a call: the sampler's randomness does not depend on
the row, so the masks, the Shapley-kernel weights and the factorised regression built from
them are shared (see :mod:`clarify_engine.explain._kernel_shap`).

The plan follows shap's ``KernelExplainer`` (Lundberg & Lee 2017; spec
``kernel-shap.md`` §2 steps 2-5), written anew:

1. Kernel mass of subset size ``s`` is proportional to ``(M-1) / (s (M-s))``, summed with
   its complement size ``M-s`` into one *size class* ``s = 1 .. ceil((M-1)/2)``.
2. Size classes are enumerated whole, smallest first (``s`` together with ``M-s``), while the
   remaining budget's share of the remaining mass covers every subset of the class. The first
   class (every single feature and its complement, ``2M`` coalitions) is enumerated whenever
   the budget holds it, whatever its share.
3. A budget below ``2M`` (the first class) is spent on that class alone: for ``budget // 2``
   features drawn at random, the feature alone and its complement, and with an odd budget one
   more feature alone. From ``2M - 3`` on these determine every value
   (:func:`determining_budget`).
4. The rest of the budget is drawn at random: a size class from the leftover mass, a uniform
   subset of that size, and always its complement right after (paired sampling, Covert & Lee
   2021). A repeated subset adds weight to its first copy instead of a new row. Random
   subsets weigh one count each, rescaled so they carry the leftover kernel mass.

Differences from shap: shap does not pair the middle size ``M/2`` (even ``M``); we pair it too,
which keeps every sample antithetic. shap enumerates the first class only when the budget's
share of its mass covers it (``num_samples * mass[0] >= 2M``, about 83 coalitions at M = 14),
and below that draws every size at random; we give the whole budget to the first class up to
``2M`` and enumerate it from there. Other classes are enumerated as shap does. Measured at
M = 14 (``docs/explainability.md``), this divides the error by 1.2 to 4 at budgets 15 to 60.

Any budget of at least 1 gives a plan. Below :func:`determining_budget` some values are not
determined; the regression then takes the minimum-norm solution
(:class:`clarify_engine.explain._kernel_shap._Solver`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


def default_num_samples(m: int) -> int:
    """Coalition budget used when ``num_samples`` is absent: ``min(2*m + 2048, 2**m - 2)``.

    Parameters
    ----------
    m : int
        Number of explained features, ``m >= 2``.

    Notes
    -----
    The formula is shap's ``nsamples="auto"`` and the one SageMaker documents for its online
    explainer (spec ``kernel-shap.md`` §4).
    """
    if m < 2:
        raise ValueError(f"default_num_samples needs at least 2 features; found m={m}")
    if m > 60:
        return 2 * m + 2048
    return min(2 * m + 2048, 2**m - 2)


def determining_budget(m: int) -> int:
    """Smallest ``num_samples`` whose plan determines every SHAP value of ``m`` features.

    ``2*m - 3``: from that budget the plan holds, for ``m - 2`` features, the feature alone and
    every feature but it, plus one more feature alone; with the efficiency constraint these
    have rank ``m`` (the last feature's value is what the others leave of ``f(x) - E f``).
    Below it, at least two features have no coalition of their own and only their sum is
    determined.

    Parameters
    ----------
    m : int
        Number of explained features, ``m >= 2``.
    """
    if m < 2:
        raise ValueError(f"determining_budget needs at least 2 features; found m={m}")
    return 2 * m - 3


@dataclass(frozen=True)
class CoalitionPlan:
    """Coalitions to evaluate, excluding the empty and the full one.

    Attributes
    ----------
    masks : ndarray of uint8, shape (C, M)
        ``masks[c, j] == 1`` when feature ``j`` is present in coalition ``c``. Distinct rows.
    weights : ndarray of float64, shape (C,)
        Regression weight of each coalition; they sum to 1.
    n_enumerated : int
        The first ``n_enumerated`` coalitions come from whole enumerated size classes.
    exact : bool
        True when every one of the ``2**M - 2`` coalitions is in the plan.
    counts : ndarray of float64, shape (C,)
        Times each sampled coalition was drawn (0 for enumerated ones). A draw is one
        (subset, complement) pair, so a coalition and its complement have the same count.
    partner : ndarray of int64, shape (C,)
        Index of the complement of a sampled coalition in the plan, -1 when the budget ran out
        before it was added, -2 for enumerated coalitions.
    """

    masks: np.ndarray
    weights: np.ndarray
    n_enumerated: int
    exact: bool
    counts: np.ndarray
    partner: np.ndarray


def size_class_mass(m: int) -> np.ndarray:
    """Shapley-kernel mass of each size class ``s = 1 .. ceil((m-1)/2)``, normalised to 1.

    Class ``s`` holds the subsets of size ``s`` and, when ``s != m - s``, of size ``m - s``.
    Plain form: ``mass[s-1] = (m-1)/(s*(m-s)) * (2 if s != m-s else 1)``.
    """
    sizes = np.arange(1, (m - 1) // 2 + (m - 1) % 2 + 1, dtype=np.float64)
    mass = (m - 1.0) / (sizes * (m - sizes))
    mass[sizes != m - sizes] *= 2.0
    return mass / mass.sum()


def _class_count(m: int, s: int) -> int:
    """Number of subsets in size class ``s`` (sizes ``s`` and ``m - s``)."""
    return math.comb(m, s) * (1 if 2 * s == m else 2)


def _enumerate_class(m: int, s: int) -> np.ndarray:
    """Every subset of size class ``s``: each subset of size ``s`` followed by its complement."""
    combos = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(m), s)),
                         dtype=np.intp, count=math.comb(m, s) * s).reshape(-1, s)
    masks = np.zeros((combos.shape[0], m), dtype=np.uint8)
    np.put_along_axis(masks, combos, 1, axis=1)
    if 2 * s == m:
        # Middle size: the complement of a subset is another subset of the same list.
        return masks
    out = np.empty((2 * masks.shape[0], m), dtype=np.uint8)
    out[0::2] = masks
    out[1::2] = 1 - masks
    return out


def _full_plan(m: int) -> CoalitionPlan:
    """All ``2**m - 2`` coalitions with their exact Shapley-kernel weights."""
    mass = size_class_mass(m)
    blocks, weights = [], []
    for s in range(1, mass.shape[0] + 1):
        block = _enumerate_class(m, s)
        blocks.append(block)
        weights.append(np.full(block.shape[0], mass[s - 1] / _class_count(m, s)))
    masks = np.concatenate(blocks)
    w = np.concatenate(weights)
    c = masks.shape[0]
    return CoalitionPlan(masks=masks, weights=w / w.sum(), n_enumerated=c, exact=True,
                         counts=np.zeros(c), partner=np.full(c, -2, dtype=np.int64))


def check_plan_args(m: int, num_samples) -> int:
    """``num_samples`` as an int, after checking that a plan can be made: ``m >= 2`` and a
    positive integer budget (``ValueError`` otherwise); shared by every plan builder."""
    if m < 2:
        raise ValueError(f"a coalition plan needs at least 2 features; found M={m}")
    if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer; found {num_samples!r}")
    num_samples = int(num_samples)
    return num_samples


def coalition_plan(m: int, num_samples: int, seed=None) -> CoalitionPlan:
    """Build the coalition plan for ``m`` features and a budget of ``num_samples`` coalitions.

    Parameters
    ----------
    m : int
        Number of explained features, ``m >= 2``.
    num_samples : int
        Coalition budget (evaluations excluding the empty and full coalitions), ``>= 1``. Values
        at or above ``2**m - 2`` enumerate every coalition; values at or above
        :func:`determining_budget` give a plan that determines every value.
    seed : int or None
        Seed of :func:`numpy.random.default_rng` for the random part; None is nondeterministic.

    Returns
    -------
    CoalitionPlan
        At most ``num_samples`` distinct coalitions (fewer when repeated draws exhaust the
        draw limit), never the empty or the full one.

    Raises
    ------
    ValueError
        ``m < 2`` or ``num_samples`` not a positive integer.
    """
    num_samples = check_plan_args(m, num_samples)
    if m <= 62 and num_samples >= 2**m - 2:
        return _full_plan(m)
    if num_samples < 2 * m:
        return _part_of_first_class(m, num_samples, np.random.default_rng(seed))

    mass = size_class_mass(m)
    n_classes = mass.shape[0]
    blocks, weights = [], []
    left = num_samples
    remaining = mass.copy()
    n_full = 0
    for s in range(1, n_classes + 1):
        count = _class_count(m, s)
        # The first class is taken whenever it fits: it determines every value (shap's share
        # rule alone would sample it at random up to num_samples = 2M / mass[0]).
        forced = s == 1 and left >= count
        if not forced and left * remaining[s - 1] / count < 1.0 - 1e-8:
            break
        block = _enumerate_class(m, s)
        blocks.append(block)
        weights.append(np.full(block.shape[0], mass[s - 1] / count))
        left -= count
        n_full += 1
        if remaining[s - 1] < 1.0:
            remaining = remaining / (1.0 - remaining[s - 1])
        remaining[s - 1] = 0.0
    n_enumerated = int(sum(b.shape[0] for b in blocks))

    counts = np.zeros(n_enumerated)
    partner = np.full(n_enumerated, -2, dtype=np.int64)
    if n_full < n_classes and left > 0:
        rng = np.random.default_rng(seed)
        drawn, drawn_counts = _sample_pairs(m, mass[n_full:], n_full, left, rng)
        if drawn.shape[0]:
            blocks.append(drawn)
            weights.append(drawn_counts * (mass[n_full:].sum() / drawn_counts.sum()))
            counts = np.concatenate([counts, drawn_counts])
            partner = np.concatenate([partner, n_enumerated + _complements(drawn)])
    masks = np.concatenate(blocks)
    w = np.concatenate(weights)
    partner[partner < -2] = -1  # sampled coalitions whose complement is missing
    return CoalitionPlan(masks=masks, weights=w / w.sum(), n_enumerated=n_enumerated, exact=False,
                         counts=counts, partner=partner)


def _part_of_first_class(m, budget, rng):
    """``budget < 2m`` coalitions of the first size class: for ``budget // 2`` features drawn at
    random, the feature alone and every feature but it; with an odd budget one more feature
    alone. Each is one draw of the class (count 1, equal weights)."""
    order = rng.permutation(m)
    n_pairs = budget // 2
    masks = np.zeros((budget, m), dtype=np.uint8)
    partner = np.full(budget, -1, dtype=np.int64)
    for q in range(n_pairs):
        masks[2 * q, order[q]] = 1
        masks[2 * q + 1] = 1
        masks[2 * q + 1, order[q]] = 0
        partner[2 * q], partner[2 * q + 1] = 2 * q + 1, 2 * q
    if budget % 2:
        masks[budget - 1, order[n_pairs]] = 1
    return CoalitionPlan(masks=masks, weights=np.full(budget, 1.0 / budget), n_enumerated=0, exact=False,
                         counts=np.ones(budget), partner=partner)


def _complements(masks):
    """Index of each mask's complement among ``masks``, or a negative number when absent."""
    index = {row.tobytes(): i for i, row in enumerate(masks)}
    return np.array([index.get((1 - row).tobytes(), -(1 << 40)) for row in masks], dtype=np.int64)


def _sample_pairs(m, class_mass, first_class, budget, rng):
    """Draw ``budget`` coalitions as (subset, complement) pairs from the size classes left.

    Parameters
    ----------
    m : int
        Number of features.
    class_mass : ndarray, shape (L,)
        Kernel mass of the size classes not enumerated (classes ``first_class+1 ..``).
    first_class : int
        Number of enumerated classes.
    budget : int
        Coalitions still to add (distinct ones count; a repeat adds weight only).
    rng : numpy.random.Generator

    Returns
    -------
    masks : ndarray of uint8, shape (C, m)
    counts : ndarray of float64, shape (C,)
        How many times each mask was drawn.
    """
    p = class_mass / class_mass.sum()
    index = {}
    rows, counts = [], []
    draws_left = 4 * budget + 64  # repeats do not consume budget; bound the draws like shap
    while budget > 0 and draws_left > 0:
        n = min(max(budget, 16), draws_left)
        draws_left -= n
        sizes = first_class + 1 + rng.choice(p.shape[0], size=n, p=p)
        order = np.argsort(rng.random((n, m)), axis=1)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(m)[None, :], axis=1)
        drawn = (ranks < sizes[:, None]).astype(np.uint8)
        for mask in drawn:
            for member in (mask, 1 - mask):
                if budget == 0:
                    break
                key = member.tobytes()
                at = index.get(key)
                if at is None:
                    index[key] = len(rows)
                    rows.append(member)
                    counts.append(1.0)
                    budget -= 1
                else:
                    counts[at] += 1.0
            if budget == 0:
                break
    if not rows:
        return np.zeros((0, m), dtype=np.uint8), np.zeros(0)
    return np.asarray(rows, dtype=np.uint8), np.asarray(counts, dtype=np.float64)


def budget_note(n_features: int, num_samples: int | None) -> str | None:
    """Plain-English note when ``num_samples`` is too small to determine every SHAP value.

    A pure function of the config, meant for validation before any work: the job logs the
    same note and records ``budget_small`` in the run manifest.

    Parameters
    ----------
    n_features : int
        Number of explained features (``features_to_explain``, else every model input).
    num_samples : int or None
        ``methods.shap.num_samples``; None is the default budget, which is never small.

    Returns
    -------
    str or None
        None when the budget determines every value (or fewer than 2 features are explained),
        else what the values are and which budget would determine them.

    Raises
    ------
    ValueError
        ``n_features`` negative, ``num_samples`` not a positive integer.
    """
    if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) or n_features < 0:
        raise ValueError(f"n_features must be a non-negative integer; found {n_features!r}")
    if num_samples is None or n_features < 2:
        return None
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer; found {num_samples!r}")
    needed = determining_budget(int(n_features))
    if num_samples >= needed:
        return None
    return (f"num_samples={int(num_samples)} is below the {needed} coalitions that determine every value for "
            f"{int(n_features)} features; values are a minimum-norm estimate (features the drawn coalitions "
            f"cannot tell apart share equally what those coalitions leave unexplained), they still add up to "
            f"the model output, and their standard errors are inf where the coalitions cannot bound the error; "
            f"set num_samples to at least {needed} to determine every value")
