"""Regression-adjusted image SHAP: a cubic surrogate of the superpixel game as control variate.

Kernel SHAP with paired sampling is exact for games whose interactions are at most pairwise
(``docs/images.md``); its whole error comes from the order-3-and-up part of the game. The
coalitions already evaluated also fit a surrogate ``t`` of that part whose Shapley values are
known in closed form, and Kernel SHAP only estimates what ``t`` misses::

    phi = exact_shapley(t) + KernelSHAP(v - t)

Both terms come from the same evaluations; no model call is added (regression-adjusted Monte
Carlo, Witter, Musco et al. 2025, with a surrogate suited to the superpixel game).

The surrogate, per explained output: on the residuals ``e_c = y_c - z_c . phi`` of Kernel SHAP's
own fit (0 at the empty and the full coalition, added as rows), a least-squares fit of a
**3-additive** model of the coalition indicators::

    e(z) ~ a_0 + sum_j a_j z_j + sum_{i<j} a_ij z_i z_j + sum_{i<j<k} a_ijk z_i z_j z_k

with the order-0 to order-2 coefficients **unpenalised** and the order-3 ones ridge-penalised,
the penalty chosen among :data:`RIDGE` (times the mean eigenvalue of the order-3 Gram matrix)
by leave-one-out error (closed form), or no order-3 term at all when none predicts better.
Only the order-3 part ``t(z) = sum a_ijk z_i z_j z_k`` is used: the lower orders cancel
exactly (Kernel SHAP reproduces them, so ``exact_shapley - KernelSHAP`` of them is 0), and
penalising them was measured to leak their error into the order-3 coefficients (many times
worse than plain Kernel SHAP on a smooth network's game). Each ``a_ijk`` is a unanimity game's
coefficient (its Möbius coefficient), shared equally by its three members:
``exact_shapley(t)_j = sum_{T containing j} a_T / 3`` and ``t(1) - t(0) = sum_T a_T``, so
additivity holds exactly.

When: the plan is sampled with standard errors (``_Solver.with_se``), the coalitions number at
least ``2 (1 + M + M(M-1)/2)`` (twice the unpenalised coefficients: below that the pairwise
fit itself is unstable) and ``M <=`` :data:`MAX_SEGMENTS` (``C(M, 3)`` order-3 terms bound the
CPU time). Otherwise, and for an output whose leave-one-out choice is "no order-3 term", the
values are plain Kernel SHAP's, bit for bit.

Standard errors are cross-fitted as in the tabular adjustment (``docs/explainability.md``):
the drawn pairs are dealt in turn into :data:`FOLDS` folds, a surrogate (same penalty) is
fitted without each fold, each fold's coalitions take the residual of the surrogate that did
not see them (enumerated ones the mean of all), and the errors are Kernel SHAP's sandwich
errors on that game.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

__all__ = ["FOLDS", "MAX_SEGMENTS", "RIDGE", "adjustable", "solve_adjusted"]

#: Candidate order-3 ridge penalties, relative to the mean eigenvalue of the order-3 Gram matrix.
RIDGE = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
#: Folds of the cross-fitted standard errors.
FOLDS = 5
#: Most segments adjusted (``C(20, 3) = 1140`` order-3 terms).
MAX_SEGMENTS = 20


def _low_order_count(m: int) -> int:
    return 1 + m + m * (m - 1) // 2


def adjustable(solver, m: int) -> bool:
    """Whether the plan of ``solver`` (over ``m`` segments) is regression-adjusted: sampled with
    standard errors, ``m <= MAX_SEGMENTS`` and at least twice as many coalitions as the
    unpenalised coefficients of the surrogate."""
    return bool(solver.with_se and m <= MAX_SEGMENTS and solver.zk.shape[0] >= 2 * _low_order_count(m))


def _terms(z: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Products of the indicator columns ``z[:, s]`` over each row ``s`` of ``sets``."""
    out = np.ones((z.shape[0], sets.shape[0]))
    for col in range(sets.shape[1]):
        out *= z[:, sets[:, col]]
    return out


@dataclass(frozen=True)
class _Design:
    """The surrogate's least squares on some rows: the order-3 columns with the unpenalised
    orders 0-2 projected out (Frisch-Waugh-Lovell), and their Gram matrix."""

    q_low: np.ndarray  # (n, P1) orthonormal basis of the order-0..2 columns
    cubic: np.ndarray  # (n, P3) order-3 columns, order 0-2 projected out
    gram: np.ndarray  # (P3, P3)
    scale: float  # mean eigenvalue of gram

    @classmethod
    def of(cls, low: np.ndarray, cubic: np.ndarray) -> "_Design | None":
        """From the order-0..2 columns ``low`` and the order-3 columns ``cubic`` of its rows;
        None when the rows do not determine the order-0..2 part."""
        q_low, r_low = np.linalg.qr(low)
        diag = np.abs(np.diag(r_low))
        if diag.min(initial=np.inf) <= 1e-9 * diag.max(initial=0.0):
            return None
        cubic = cubic - q_low @ (q_low.T @ cubic)
        gram = cubic.T @ cubic
        return cls(q_low, cubic, gram, float(np.trace(gram)) / gram.shape[0])

    def coefficients(self, e: np.ndarray, penalty: float) -> np.ndarray:
        """Order-3 coefficients of the fit to ``e`` with ridge ``penalty * scale``."""
        a = self.gram + penalty * self.scale * np.eye(self.gram.shape[0])
        return np.linalg.solve(a, self.cubic.T @ e)

    def choose(self, e: np.ndarray, scored: np.ndarray) -> float | None:
        """The penalty of least leave-one-out error over the rows ``scored``, or None when
        the order-0..2 fit alone (no order-3 term) is as good."""
        vals, vecs = np.linalg.eigh(self.gram)
        e_low = e - self.q_low @ (self.q_low.T @ e)
        lev_low = np.einsum("ij,ij->i", self.q_low, self.q_low)
        proj = self.cubic @ vecs  # (n, P3)
        coef = vecs.T @ (self.cubic.T @ e)

        def loo(resid, lev):
            ok = scored & (lev < 1.0 - 1e-9)
            return float(np.mean((resid[ok] / (1.0 - lev[ok])) ** 2))

        best, choice = loo(e_low, lev_low), None
        for penalty in RIDGE:
            d = 1.0 / (np.clip(vals, 0.0, None) + penalty * self.scale)
            resid = e_low - proj @ (d * coef)
            score = loo(resid, lev_low + (proj * proj) @ d)
            if score < best:
                best, choice = score, penalty
        return choice


def _incidence(m: int, triples: np.ndarray) -> np.ndarray:
    """(m, P3): 1/3 where segment j is in triple T (each member's Shapley share)."""
    inc = np.zeros((m, triples.shape[0]))
    for col in range(3):
        inc[triples[:, col], np.arange(triples.shape[0])] = 1.0 / 3.0
    return inc


def solve_adjusted(solver, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regression-adjusted SHAP values and standard errors (module docstring).

    Parameters
    ----------
    solver : clarify_engine.explain._kernel_shap._Solver
        Of a plan with ``adjustable(solver, m)``.
    y : ndarray (C, R)
        ``link(v(S_c)) - link(v(empty))`` per coalition and output.
    delta : ndarray (R,)

    Returns
    -------
    phi, se : ndarray (M, R)
    adjusted : ndarray of bool (R,)
        Outputs whose values are adjusted (the others are plain Kernel SHAP's).
    """
    phi, se = solver.solve(y, delta)
    z = solver.zk
    c, m = z.shape
    pairs = np.asarray(list(combinations(range(m), 2)), dtype=np.int64).reshape(-1, 2)
    triples = np.asarray(list(combinations(range(m), 3)), dtype=np.int64).reshape(-1, 3)
    rows = np.concatenate([np.zeros((1, m)), z, np.ones((1, m))])  # with the empty and the full
    low = np.concatenate([np.ones((c + 2, 1)), rows, _terms(rows, pairs)], axis=1)
    cubic = _terms(rows, triples)
    design = _Design.of(low, cubic)
    adjusted = np.zeros(y.shape[1], dtype=bool)
    if design is None or triples.shape[0] == 0:
        return phi, se, adjusted
    cubic_at = cubic[1:-1]  # (C, P3) the raw order-3 terms of the coalitions
    share = _incidence(m, triples)
    # fold of each coalition: 0 for enumerated ones, 1..F for the drawn pairs (in turn)
    fold = np.zeros(c, dtype=np.int64)
    order = np.arange(solver.pair_a.shape[0])
    fold[solver.pair_a] = 1 + order % FOLDS
    fold[solver.pair_b[solver.has_b]] = 1 + order[solver.has_b] % FOLDS
    fold_rows = np.concatenate([[0], fold, [0]])
    folds = [_Design.of(low[fold_rows != k], cubic[fold_rows != k]) for k in range(1, FOLDS + 1)]
    scored = np.concatenate([[False], np.ones(c, dtype=bool), [False]])
    y_adj, d_adj = np.array(y, dtype=np.float64), np.array(delta, dtype=np.float64)
    y_se, d_se = np.array(y, dtype=np.float64), np.array(delta, dtype=np.float64)
    exact_t = np.zeros_like(phi)
    for r in range(y.shape[1]):
        e = np.concatenate([[0.0], y[:, r] - z @ phi[:, r], [0.0]])
        penalty = design.choose(e, scored)
        if penalty is None or any(f is None for f in folds):
            continue
        coef = design.coefficients(e, penalty)
        y_adj[:, r] -= cubic_at @ coef
        d_adj[r] -= coef.sum()
        exact_t[:, r] = share @ coef
        others = np.zeros(c)
        for k, part in enumerate(folds, start=1):
            coef_k = part.coefficients(e[fold_rows != k], penalty)
            at = cubic_at @ coef_k
            # a fold's coalitions take the surrogate that did not see them; enumerated ones the mean
            others += np.where(fold == k, at, np.where(fold == 0, at / FOLDS, 0.0))
            d_se[r] -= coef_k.sum() / FOLDS
        y_se[:, r] -= others
        adjusted[r] = True
    if not adjusted.any():
        return phi, se, adjusted
    phi_adj, _ = solver.solve(y_adj, d_adj)
    phi_adj += exact_t
    phi_adj += ((delta - phi_adj.sum(axis=0)) / phi_adj.shape[0])[None, :]  # additivity to rounding
    _, se_adj = solver.solve(y_se, d_se)
    phi[:, adjusted], se[:, adjusted] = phi_adj[:, adjusted], se_adj[:, adjusted]
    return phi, se, adjusted

