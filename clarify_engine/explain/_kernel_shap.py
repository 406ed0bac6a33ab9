"""Kernel SHAP (Lundberg & Lee 2017) for many rows at once, with standard errors.

The flow of :func:`kernel_shap`:

1. validate, normalise (``num_samples`` "auto", baseline weights, ``explain``);
2. one coalition plan for every row (:mod:`._coalitions`) and one factorisation of the
   constrained weighted least-squares problem it defines (:class:`_Solver`);
3. bit-identical records are explained once (their results are copied at the end);
4. explained rows in blocks sized so that one ``predict`` call gets at most
   ``max_rows_per_call`` synthetic rows: a numba kernel (:mod:`._kernels`) keeps one of each
   set of identical synthetic rows of a record (told apart by their effective absent set, no
   row hashing) and writes those straight into the request buffer (reused from block to block),
   then a second kernel averages the model outputs back per coalition over the baseline;
5. one GEMM per block turns the coalition values of all rows and outputs into SHAP values;
   when the plan has a random part of at least ``2M`` draws, each record's values are then
   regression-adjusted by a tree surrogate of its game (:mod:`._surrogate`,
   :meth:`_Solver.solve_adjusted`), with cross-fitted standard errors.
   With ``workers > 1`` a worker thread builds the next block and finishes the previous one
   while the model predicts the current one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.explain import _kernels
from clarify_engine.explain._coalitions import CoalitionPlan, coalition_plan, default_num_samples
from clarify_engine.explain._surrogate import fit_surrogate

__all__ = ["KernelShapResult", "block_records", "default_num_samples", "kernel_shap"]

#: Probabilities are clipped to ``[LOGIT_EPS, 1 - LOGIT_EPS]`` before the logit link.
LOGIT_EPS = 1e-12

_LINKS = ("identity", "logit")

_CONTROLLER = []  # one ThreadpoolController, built on first use (it scans the loaded libraries)


def _one_blas_thread():
    """Context that limits BLAS to one thread: our matrices are small, and BLAS threads that
    spin on a busy machine cost more than the product (measured: 80 ms per 20x2000 solve)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class KernelShapResult:
    """Kernel SHAP values of ``n`` rows, ``M`` explained features and ``D`` model outputs.

    Attributes
    ----------
    values : ndarray (n, M, D)
        Local SHAP values, features in the order of ``explain``.
    expected_value : ndarray (D,)
        ``link(sum_k w_k f(b_k))``: the link of the model's weighted mean output on the
        baseline. This is Clarify's ``expected_value`` with or without ``explain``.
    fx : ndarray (n, D)
        ``link(f(x))``.
    standard_errors : ndarray (n, M, D)
        Standard error of each value (formula in :class:`_Solver`); 0 when the plan is exact.
    n_coalitions : int
        Distinct coalitions evaluated per row, excluding the empty and the full one.
    exact : bool
        True when every coalition was enumerated (values are then the exact Shapley values).
    reference : ndarray (n, D)
        ``link(v_i(empty))``, the value of the empty coalition for row ``i``: the mean over the
        baseline of ``f`` at ``x_i`` with the explained features taken from the baseline row.
        Additivity is ``values[i].sum(axis=0) == fx[i] - reference[i]``. Without ``explain``
        (all features explained) every row equals ``expected_value``; with ``explain`` the
        features left out keep the record's value, so the reference depends on the row and
        ``fx - expected_value`` also contains their joint effect, ``reference - expected_value``.
    determined : bool
        True when the plan's coalitions determine every value (always from
        ``determining_budget(M)`` on). When False the values are the minimum-norm estimate
        and the standard errors of the undetermined ones are ``inf``.
    method : {"kernel_shap", "exact_tree", "exact_linear"}
        How the values were computed: Kernel SHAP, or an exact path of
        :mod:`clarify_engine.explain._exact` (no model call, standard errors 0).
    regression_adjusted : bool
        Whether the values are regression-adjusted (a tree surrogate of each record's game as
        control variate, :mod:`._surrogate`); False for plain Kernel SHAP, exact plans, small
        budgets and the exact paths.
    """

    values: np.ndarray
    expected_value: np.ndarray
    fx: np.ndarray
    standard_errors: np.ndarray
    n_coalitions: int
    exact: bool
    reference: np.ndarray
    determined: bool = True
    method: str = "kernel_shap"
    regression_adjusted: bool = False


def _apply_link(p, link):
    """``link(p)``: identity, or ``log(p / (1 - p))`` of ``p`` clipped to ``[1e-12, 1 - 1e-12]``."""
    if link == "identity":
        return p
    q = np.clip(p, LOGIT_EPS, 1.0 - LOGIT_EPS)
    return np.log(q) - np.log1p(-q)


#: Folds of the cross-fitted standard errors of the regression-adjusted estimate.
SE_FOLDS = 5


def min_draws(m: int) -> int:
    """Draws of the random part below which standard errors are ``inf`` (``2 * m``)."""
    return 2 * m


def _sum_zero_basis(m):
    """Orthonormal basis (m, m - 1) of the vectors whose entries sum to 0 (Helmert's columns)."""
    basis = np.zeros((m, m - 1))
    for k in range(1, m):
        basis[:k, k - 1] = 1.0
        basis[k, k - 1] = -float(k)
        basis[:, k - 1] /= np.sqrt(k * (k + 1.0))
    return basis


class _Solver:
    """The constrained weighted least squares of Kernel SHAP, factorised once per plan.

    For one row and output, with ``y_c = link(v(S_c)) - link(v(empty))`` over the plan's
    coalitions ``c`` (masks ``z_c``, weights ``w_c``) and ``delta = link(f(x)) - link(v(empty))``::

        minimise  sum_c w_c (y_c - z_c . phi)^2   subject to   sum_j phi_j = delta

    and, among the minimisers, the one of least ``|phi|`` (minimum norm). Writing
    ``phi = delta/M 1 + P u`` with ``P`` (M, M-1) an orthonormal basis of the vectors summing to
    0, the constraint holds for every ``u`` and ``|phi|^2 = delta^2/M + |u|^2``, so the answer is
    ``u = pinv(W^1/2 Z P) W^1/2 (y - delta/M Z 1)`` (pseudo-inverse from the SVD of the R factor
    of a QR, singular values below ``max(C, M) * eps * s_max`` dropped). It depends only on the plan: ``phi = H y + h delta``
    with ``H`` (M, C) and ``h`` (M,), and every row and output is one GEMM ``H @ Y``.

    When the coalitions determine the values (``W^1/2 Z P`` of rank ``M - 1``, always from
    :func:`._coalitions.determining_budget` on) this is the unique constrained least-squares
    solution, the estimator of shap's elimination of the last feature (spec ``kernel-shap.md``
    §2 step 8) without l1 selection, and exactly the Shapley values for a plan holding every
    coalition. Below it the directions the coalitions do not see are set to 0: features the
    coalitions cannot tell apart share equally what the coalitions leave unexplained. Those
    features are ``undetermined`` (the null space of the regression has a component on them).

    Standard errors (paired-draw sandwich, Covert & Lee 2021 §4 in spirit): the random part of
    the plan is ``N`` independent draws, each a (subset, complement) pair ``q`` drawn ``n_q``
    times. Linearising ``phi`` in the draws (first order, the weights held at their values),
    draw ``q`` contributes ``g_q = (H[:, a_q] r_a + H[:, b_q] r_b) / n_q`` where
    ``r = y - Z phi`` are the regression residuals and ``a_q, b_q`` the pair's coalitions, and::

        Var(phi) ~= N / (N - 1) * ( sum_q n_q g_q^2 - (sum_q n_q g_q)^2 / N )

    (elementwise), the sample variance of the per-draw contributions times ``N``. The first sum
    is computed as ``-H[:, E] r[E]`` over the enumerated coalitions ``E`` (the fit's residuals
    satisfy ``H r = 0``: ``H = P pinv(A) W^1/2`` and ``pinv(A) W^1/2 r = u - pinv(A) A u = 0``
    because ``u`` lies in the row space of ``A``), the second as one GEMM over the pairs.
    Enumerated coalitions are not random and add nothing. So the standard errors are 0 when the
    plan is exact, and 0 (to rounding) whenever the residuals cancel within each pair: additive
    models, and with paired sampling also models with only pairwise interactions, whose Kernel
    SHAP estimate is exact. They are ``inf`` where no error bound can be given: for an
    undetermined feature (the coalitions say nothing about part of its value), and for every
    feature when the plan is not exact and its random part has fewer than :func:`min_draws`
    ``= 2M`` draws. With no draw the kernel mass of the classes not enumerated is simply missing
    from the fit, an error no formula sees; with few draws the first-order formula is not
    calibrated: measured at M = 10 and 14 (``docs/explainability.md``), the RMS of
    ``error / standard error`` was 2.5 to 34 below 2M draws, 1.35 to 1.6 at 2M, 1.1 at 4M.

    Parameters
    ----------
    plan : CoalitionPlan
    keep : ndarray of int, optional
        Solve for these features only (the others are fixed at 0); None = every feature.
    parent : _Solver, optional
        The solver of the same plan on every feature. When it determines the values they are
        determined on ``keep`` too: the unique solution is then taken from the KKT system
        ``[[Z^T W Z, 1], [1^T, 0]]``, an (M+1)-square solve, instead of a factorisation of the
        tall ``W^1/2 Z P``, and what does not depend on ``keep`` is shared. One such solver is
        built per set of baseline-equal features.
    """

    def __init__(self, plan: CoalitionPlan, keep=None, parent=None):
        z = plan.masks.astype(np.float64) if parent is None else parent.z
        if keep is not None:
            z = np.ascontiguousarray(z[:, keep])
        else:
            self.z = z
        #: The coalitions over the features solved for (``keep``), (C, M').
        self.zk = z
        self.exact = plan.exact
        determined = parent is not None and not parent.undetermined.any()
        if not (determined and self._kkt(z, plan.weights)):
            self._min_norm(z, plan.weights)
        self._pairs(plan, z, parent)

    def _kkt(self, z, w):
        """``H`` and ``h`` from the KKT system; False when it is singular (then use the SVD)."""
        m = z.shape[1]
        kkt = np.zeros((m + 1, m + 1))
        kkt[:m, :m] = z.T @ (w[:, None] * z)
        kkt[:m, m] = 1.0
        kkt[m, :m] = 1.0
        try:
            inv = np.linalg.inv(kkt)
        except np.linalg.LinAlgError:
            return False
        if not np.all(np.isfinite(inv)):
            return False
        self.h_mat = np.ascontiguousarray(inv[:m, :m] @ (z.T * w[None, :]))  # (M, C)
        self.h_vec = inv[:m, m].copy()
        self.undetermined = np.zeros(m, dtype=bool)
        return True

    def _min_norm(self, z, w):
        """``H``, ``h`` and the undetermined features from the minimum-norm solution."""
        m = z.shape[1]
        sw = np.sqrt(w)
        basis = _sum_zero_basis(m)
        a_mat = (sw[:, None] * z) @ basis  # (C, M-1)
        # A = Q R, R = U S V^T (small), so pinv(A) = V S^-2 V^T A^T on the rank kept: the SVD of
        # the (M-1)-square R instead of the tall A (several times faster, as accurate).
        r_mat = np.linalg.qr(a_mat, mode="r") if a_mat.shape[0] >= a_mat.shape[1] else a_mat
        _, sing, vt = np.linalg.svd(r_mat, full_matrices=True)
        tol = sing.max(initial=0.0) * max(a_mat.shape) * np.finfo(np.float64).eps
        rank = int(np.count_nonzero(sing > tol))
        pinv = (vt[:rank].T / sing[:rank] ** 2) @ (vt[:rank] @ a_mat.T)  # (M-1, C)
        self.h_mat = np.ascontiguousarray(basis @ pinv * sw[None, :])  # (M, C)
        self.h_vec = (1.0 - self.h_mat @ z.sum(axis=1)) / m  # (M,)
        null = basis @ vt[rank:].T  # (M, M-1-rank), orthonormal columns
        #: Features whose value the coalitions do not determine (True = undetermined).
        self.undetermined = np.linalg.norm(null, axis=1) > 1e-8 if null.shape[1] else np.zeros(m, dtype=bool)

    def _pairs(self, plan, z, parent):
        """Everything of the standard errors that does not depend on ``y``: the pairs' coalitions
        (a then b, a missing b replaced by a with a zero coefficient), their masks, and the
        coefficients of ``sum_q n_q g_q`` and ``sum_q n_q g_q^2``. Nothing when no standard error
        is computed (exact plan, or fewer than ``min_draws`` draws)."""
        if parent is None:
            sampled = np.flatnonzero(plan.partner > -2)
            first = sampled[(plan.partner[sampled] < 0) | (plan.partner[sampled] > sampled)]
            self.pair_a = first  # one coalition of each drawn pair
            self.pair_b = plan.partner[first]  # its complement, -1 when missing
            self.pair_n = plan.counts[first]
            self.n_draws = float(self.pair_n.sum())
            self.min_draws = min_draws(plan.masks.shape[1])
            self.has_b = self.pair_b >= 0
            self.pair_rows = np.concatenate([first, np.where(self.has_b, self.pair_b, first)])  # (2Q,)
            # sum_q n_q g_q = H[:, sampled] r[sampled] = -H[:, enumerated] r[enumerated], because
            # the residuals of the fit satisfy H r = 0 (class docstring): the few enumerated
            # coalitions give it at a fraction of the cost.
            self.enum = np.flatnonzero(plan.partner == -2)
        else:
            for name in ("pair_a", "pair_b", "pair_n", "n_draws", "min_draws", "has_b", "pair_rows", "enum"):
                setattr(self, name, getattr(parent, name))
        self.with_se = not self.exact and self.n_draws >= self.min_draws
        if not self.with_se:
            return
        q = self.pair_a.shape[0]
        n = self.pair_n
        h_a = self.h_mat[:, self.pair_a]
        h_b = np.where(self.has_b[None, :], self.h_mat[:, self.pair_rows[q:]], 0.0)
        self.z_pairs = np.ascontiguousarray(z[self.pair_rows])  # (2Q, M)
        self.h_enum = np.ascontiguousarray(self.h_mat[:, self.enum])  # (M, E)
        self.z_enum = np.ascontiguousarray(z[self.enum])  # (E, M)
        self.coef2 = np.ascontiguousarray(
            np.concatenate([h_a * h_a / n, 2.0 * h_a * h_b / n, h_b * h_b / n], axis=1))  # (M, 3Q)

    def solve(self, y, delta):
        """SHAP values and standard errors for many rows and outputs.

        Parameters
        ----------
        y : ndarray (C, R)
            Adjusted coalition values, one column per (row, output).
        delta : ndarray (R,)

        Returns
        -------
        phi, se : ndarray (M, R)
        """
        phi = self.h_mat @ y
        phi += self.h_vec[:, None] * delta[None, :]
        phi += ((delta - phi.sum(axis=0)) / phi.shape[0])[None, :]  # additivity to rounding of delta
        se = self._standard_errors(y, phi)
        se[self.undetermined] = np.inf
        return phi, se

    def solve_adjusted(self, y, delta):
        """:meth:`solve` with a tree surrogate of each game as a control variate
        (:mod:`._surrogate`): ``exact_shapley(t) + KernelSHAP(v - t)``, ``t`` fitted on the
        residuals of Kernel SHAP's additive fit at every coalition. Same arguments and returns
        as :meth:`solve`.

        Standard errors are cross-fitted: the drawn pairs are dealt in turn into
        :data:`SE_FOLDS` folds (the draws are independent, so any fixed split is a random one),
        a surrogate is fitted without each fold (with the enumerated coalitions), each fold's
        coalitions take the residual of the surrogate that did not see them (the enumerated ones
        the mean of all), and the sandwich errors of :meth:`solve` are those of that game. The
        in-sample residuals of the full fit are too small (the fit has seen them): measured, the
        RMS of error / SE was 1.5 with them, 0.5-0.7 with 2 folds (surrogates on half the data
        are weaker than the one used), 0.8-1.0 with 5 (``docs/explainability.md``)."""
        phi, _ = self.solve(y, delta)
        n_col = y.shape[1]
        y_adj = np.array(y, dtype=np.float64, copy=True)
        d_adj = np.array(delta, dtype=np.float64, copy=True)
        y_se = np.array(y, dtype=np.float64, copy=True)
        d_se = np.array(delta, dtype=np.float64, copy=True)
        exact_t = np.zeros_like(phi)
        # fold of each coalition: 0 for enumerated ones, 1..F for the drawn pairs (in turn)
        fold = np.zeros(y.shape[0], dtype=np.int64)
        order = np.arange(self.pair_a.shape[0])
        fold[self.pair_a] = 1 + order % SE_FOLDS
        fold[self.pair_b[self.has_b]] = 1 + order[self.has_b] % SE_FOLDS
        for r in range(n_col):
            e = y[:, r] - self.zk @ phi[:, r]
            fit = fit_surrogate(self.zk, e)
            y_adj[:, r] -= fit.values
            d_adj[r] -= fit.full
            exact_t[:, r] = fit.shapley
            others = np.zeros(y.shape[0])
            for k in range(1, SE_FOLDS + 1):
                out = fit_surrogate(self.zk, e, train=fold != k)
                # a fold's coalitions take the surrogate that did not see them; enumerated ones the mean
                others += np.where(fold == k, out.values, np.where(fold == 0, out.values / SE_FOLDS, 0.0))
                d_se[r] -= out.full / SE_FOLDS
            y_se[:, r] -= others
        phi, _ = self.solve(y_adj, d_adj)
        phi += exact_t
        phi += ((delta - phi.sum(axis=0)) / phi.shape[0])[None, :]  # additivity to rounding of delta
        _, se = self.solve(y_se, d_se)
        return phi, se

    def _standard_errors(self, y, phi):
        """The sandwich standard errors of :meth:`solve` (class docstring), (M, R)."""
        if self.exact:
            return np.zeros_like(phi)
        if not self.with_se:
            return np.full_like(phi, np.inf)
        n_pairs = self.pair_a.shape[0]
        resid = y[self.pair_rows]  # (2Q, R): residuals of the a's, then of the b's
        resid -= self.z_pairs @ phi
        if self.enum.shape[0]:
            r_enum = y[self.enum]
            r_enum -= self.z_enum @ phi
            s1 = -(self.h_enum @ r_enum)  # sum_q n_q g_q
        else:
            s1 = np.zeros_like(phi)
        ra, rb = resid[:n_pairs], resid[n_pairs:]
        sq = np.empty((3 * n_pairs, resid.shape[1]))
        np.multiply(ra, ra, out=sq[:n_pairs])
        np.multiply(ra, rb, out=sq[n_pairs: 2 * n_pairs])
        np.multiply(rb, rb, out=sq[2 * n_pairs:])
        s2 = self.coef2 @ sq  # sum_q n_q g_q^2
        var = (s2 - s1 * s1 / self.n_draws) * (self.n_draws / (self.n_draws - 1.0))
        return np.sqrt(np.clip(var, 0.0, None))


def _check_matrix(name, a):
    """Return ``a`` as a C-contiguous float64 2-D array or raise naming ``name``."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows, columns); found {a.ndim} dimensions")
    if a.dtype != np.float64:
        raise TypeError(f"{name} must be float64 (categorical columns coded as numbers); found {a.dtype}")
    return np.ascontiguousarray(a)


def _check_outputs(out, n_rows, n_out=None):
    """Model outputs as float64 (n_rows, D); a 1-D reply is one output."""
    y = np.asarray(out, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n_rows:
        raise ValueError(
            f"predict must return one score row per input row: sent {n_rows} rows, got an array of "
            f"shape {np.shape(out)}")
    if n_out is not None and y.shape[1] != n_out:
        raise ValueError(
            f"predict returned {y.shape[1]} outputs per row, earlier calls returned {n_out}")
    return y


def _normalise_explain(explain, n_col):
    """``explain`` as int64 column indices, unique, in range; None means every column."""
    if explain is None:
        return np.arange(n_col, dtype=np.int64)
    idx = np.asarray(explain)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ValueError(f"explain must be a 1-D array of column indices; found {explain!r}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_col):
        raise ValueError(f"explain holds column indices outside 0..{n_col - 1}: {idx.tolist()}")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"explain holds repeated column indices: {idx.tolist()}")
    return idx


class _Builder:
    """Reusable buffers that turn a block of explained rows into its distinct synthetic rows.

    ``build(start, stop)`` runs the nogil kernel :func:`._kernels._build_block` and returns
    ``rows`` (U, P), a view of the request buffer, and ``inverse`` (V,), the distinct row of each
    virtual row (``-1 - k`` for baseline row ``k`` when ``skip_empty``). The buffers are reused by
    the next ``build`` of the same builder, so a pipelined caller alternates two builders: one is
    filled while the model reads the other.
    """

    def __init__(self, X, baseline, bplan, skip_empty, max_virtual):
        self.xbits = X.view(np.uint64)
        self.bbits = baseline.view(np.uint64)
        self.plan = bplan
        self.skip_empty = bool(skip_empty)
        n_coal, n_words = bplan.present.shape
        self.per_row = n_coal * baseline.shape[0]
        size = 16
        while size < 2 * self.per_row:
            size *= 2
        self.scratch = _kernels.Scratch(
            keys=np.empty((size, n_words), dtype=np.uint64), kstar=np.empty(size, dtype=np.int64),
            slot_row=np.empty(size, dtype=np.int64), stamp=np.full(size, -1, dtype=np.int64),
            state=np.zeros(1, dtype=np.int64))
        self.arrays = bplan.arrays
        self.inverse = np.empty(max_virtual, dtype=np.int64)
        self.rows = np.empty((max_virtual, X.shape[1]), dtype=np.float64)

    def build(self, start, stop):
        nv = (stop - start) * self.per_row
        inverse = self.inverse[:nv]
        n_unique = _kernels._build_block(self.arrays, self.xbits, self.bbits, self.skip_empty, start, stop,
                                         self.scratch, inverse, self.rows.view(np.uint64))
        return self.rows[:n_unique], inverse


def _dummy_features(X, baseline, cols):
    """(n, M) bool: explained feature ``j`` of record ``i`` is bit-identical to column
    ``cols[j]`` of every baseline row, so it cannot change any synthetic row of the record."""
    xb = X.view(np.uint64)[:, cols]
    bb = baseline.view(np.uint64)[:, cols]
    out = np.ones(xb.shape, dtype=bool)
    for k in range(bb.shape[0]):
        out &= xb == bb[k][None, :]
    return out


def block_records(n_coalitions: int, n_baseline: int, max_rows_per_call: int) -> int:
    """Records per block of :func:`kernel_shap`: as many as keep a block's synthetic rows
    (``(n_coalitions + 2) * n_baseline`` per record: the plan's coalitions, the empty and the
    full one) within ``max_rows_per_call``, at least 1. A caller that shards records (the Dask
    executor) cuts at multiples of it, so that every block, and so every bit, is the same."""
    return max(1, int(max_rows_per_call) // ((n_coalitions + 2) * n_baseline))


def _distinct_records(X):
    """Bit-identical records of ``X`` found once: (first index of each distinct record, inverse),
    or (None, None) when every record is distinct. Distinct records keep their order."""
    if X.shape[0] < 2 or X.shape[1] == 0:
        return None, None
    keys = np.ascontiguousarray(X).view(np.dtype((np.void, 8 * X.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if first.shape[0] == X.shape[0]:
        return None, None
    order = np.argsort(first, kind="stable")  # renumber by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return first[order], rank[inverse.reshape(-1)]


def kernel_shap(predict, X, baseline, *, weights=None, explain=None, num_samples=None, seed=None,
                link="identity", max_rows_per_call=100_000, workers=1,
                regression_adjusted=False) -> KernelShapResult:
    """Kernel SHAP values of every row of ``X`` against a weighted baseline.

    Parameters
    ----------
    predict : callable
        ``predict(rows)`` with ``rows`` float64 (r, P) returns scores (r, D) or (r,).
        Never called twice on the same synthetic row of one record (see Notes).
    X : ndarray float64 (n, P)
        Records to explain, numerically coded.
    baseline : ndarray float64 (K, P)
        Baseline rows, same coding.
    weights : array (K,), optional
        Baseline row weights (e.g. cluster sizes), normalised inside; None = uniform.
    explain : array of int (M,), optional
        Columns to attribute; the others keep the record's value in every synthetic row.
    num_samples : int, optional
        Coalition budget; None = :func:`default_num_samples` ``(M)``. Capped at ``2**M - 2``.
    seed : int, optional
        Seed of the coalition sampler; the same seed gives the same bytes for any ``workers``.
    link : {"identity", "logit"}
        ``logit`` explains ``log(p / (1 - p))`` of the baseline-averaged probabilities,
        clipped to ``[1e-12, 1 - 1e-12]`` (shap's ``link="logit"``, Clarify's ``use_logit``).
    max_rows_per_call : int
        Synthetic rows per ``predict`` call at most (a single row whose synthetic set is larger
        is still sent in calls of at most this size).
    workers : int
        With ``workers > 1`` a second thread builds the next block's synthetic rows (numba,
        GIL released) and turns the previous block's model outputs into SHAP values while
        ``predict`` runs on the current one. Blocks, the rows sent and the
        arithmetic do not depend on it, so results are bit-identical for any value.
    regression_adjusted : bool
        When the plan has a random part of at least ``2M`` draws (so not for exact plans nor
        small budgets), fit a tree surrogate of each record's game on the evaluated coalitions
        and use it as a control variate (:mod:`._surrogate`): no extra model call, about half
        the error at equal model calls on the benchmark's models, and CPU time per record and
        output for the fit (``docs/explainability.md``). False (the default) gives plain Kernel
        SHAP; a job decides with ``methods.shap.regression_adjusted``.

    Returns
    -------
    KernelShapResult

    Notes
    -----
    M == 0 gives empty values; M == 1 gives ``link(f(x)) - link(v(empty))`` (as shap).
    The plan, its weights and the factorised regression are shared by all rows.

    Any ``num_samples >= 1`` runs. Below ``determining_budget(M) = 2M - 3`` the coalitions do
    not determine every value: the values are then the minimum-norm solution of
    the constrained regression (:class:`_Solver`), they still add up to ``fx - reference``, and
    the standard errors of the undetermined ones are ``inf``.

    A feature whose value in a record is bit-identical to its value in every baseline row
    cannot change any synthetic row of that record, so its Shapley value is exactly 0 (the
    dummy axiom). It gets exactly ``0.0`` (standard error 0) and is left out of that record's
    regression, which is solved over the other features (one factorisation per distinct set of
    such features; shap drops these features the same way).

    Rows sent to ``predict`` (identical = bit-identical, so NaN payloads and the sign of zero
    count): within one explained record no synthetic row is sent twice (coalitions that collide
    where the record equals a baseline row, the full coalition once for all baseline rows);
    bit-identical records are explained once; with every column explained the empty coalition's
    rows, which are the baseline rows, are not sent again (nor any row equal to them). Rows of
    different records that happen to coincide are sent once per record.
    """
    X = _check_matrix("X", X)
    baseline = _check_matrix("baseline", baseline)
    n_rows, n_col = X.shape
    n_base = baseline.shape[0]
    if baseline.shape[1] != n_col:
        raise ValueError(f"baseline has {baseline.shape[1]} columns; X has {n_col}")
    if n_base == 0:
        raise ValueError("baseline must have at least one row; found 0")
    if link not in _LINKS:
        raise ValueError(f"link must be one of {_LINKS}; found {link!r}")
    if int(max_rows_per_call) < 1:
        raise ValueError(f"max_rows_per_call must be >= 1; found {max_rows_per_call!r}")
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1; found {workers!r}")
    if weights is None:
        bw = np.full(n_base, 1.0 / n_base)
    else:
        bw = np.asarray(weights, dtype=np.float64).reshape(-1)
        if bw.shape[0] != n_base:
            raise ValueError(f"weights has {bw.shape[0]} entries; baseline has {n_base} rows")
        if not np.all(np.isfinite(bw)) or np.any(bw < 0) or bw.sum() <= 0:
            raise ValueError(f"weights must be finite, non-negative and not all 0; found {bw.tolist()}")
        bw = bw / bw.sum()
    idx = _normalise_explain(explain, n_col)
    m = idx.shape[0]

    fb = _check_outputs(predict(baseline.copy()), n_base)
    n_out = fb.shape[1]
    expected_value = _apply_link(bw @ fb, link)

    if m >= 2:
        budget = default_num_samples(m) if num_samples is None else num_samples
        with _one_blas_thread():
            plan = coalition_plan(m, budget, seed)
            solver = _Solver(plan)
        inner = plan.masks
    else:
        plan, solver, inner = None, None, np.zeros((0, m), dtype=np.uint8)
    # Solvers for records with features equal to every baseline row (dummies), by that set.
    reduced = {}
    n_plan = inner.shape[0]
    masks = np.concatenate([np.zeros((1, m), np.uint8), inner, np.ones((1, m), np.uint8)])
    n_coal = masks.shape[0]
    bplan = _kernels.BlockPlan(masks, baseline, idx)
    all_explained = m == n_col
    # Bit-identical records have identical answers: explain each once, copy at the end.
    first, record_inverse = _distinct_records(X)
    if first is not None:
        X = np.ascontiguousarray(X[first])
        n_rows = X.shape[0]

    dummy = _dummy_features(X, baseline, idx)  # (n, M) bool
    values = np.zeros((n_rows, m, n_out))
    ses = np.zeros((n_rows, m, n_out))
    fx = np.zeros((n_rows, n_out))
    reference = np.zeros((n_rows, n_out))
    per_row = n_coal * n_base
    block = block_records(n_plan, n_base, max_rows_per_call)
    starts = list(range(0, n_rows, block))
    workers = int(workers)
    pipelined = workers > 1 and len(starts) > 1
    builders = [_Builder(X, baseline, bplan, all_explained, min(block, n_rows) * per_row)
                for _ in range(2 if pipelined else 1)]
    pool = ThreadPoolExecutor(1) if pipelined else None

    def finish(start, stop, y, inverse):
        """Coalition values of rows ``start:stop`` from their model outputs, then SHAP values."""
        nb = stop - start
        ey = np.empty((nb, n_coal, n_out))
        _kernels._reduce_mean(y, fb, inverse, bw, n_coal, 0, nb, ey)
        if all_explained:
            ey[:, 0, :] = bw @ fb  # the empty coalition is the baseline itself
        ref = _apply_link(ey[:, 0, :], link)  # (nb, D)
        full = _apply_link(ey[:, -1, :], link)  # (nb, D)
        fx[start:stop] = full
        reference[start:stop] = ref
        if m == 1:
            values[start:stop, 0, :] = np.where(dummy[start:stop], 0.0, full - ref)
        elif m >= 2:
            yadj = _apply_link(ey[:, 1:-1, :], link) - ref[:, None, :]  # (nb, C, D)
            block_dummy = dummy[start:stop]
            if not block_dummy.any():
                groups = [(None, np.arange(nb))]
            else:
                keys, group_of = np.unique(block_dummy, axis=0, return_inverse=True)
                groups = [(keys[g], np.flatnonzero(group_of.reshape(-1) == g)) for g in range(keys.shape[0])]
            for key, rows in groups:
                solve_group(key, rows, start, yadj, full - ref)

    def solve_group(key, rows, start, yadj, delta):
        """SHAP values of block rows ``rows`` (block-local) whose dummy features are ``key``."""
        at = start + rows
        if key is None or not key.any():
            sol, keep = solver, None
        else:
            keep = np.flatnonzero(~key)
            if keep.shape[0] < 2:  # 0 or 1 feature can change the output: no regression
                vals = np.zeros((rows.shape[0], m, n_out))
                if keep.shape[0] == 1:
                    vals[:, keep[0], :] = delta[rows]
                values[at] = vals
                ses[at] = 0.0
                return
            token = key.tobytes()
            sol = reduced.get(token)
            if sol is None:
                with _one_blas_thread():
                    sol = reduced[token] = _Solver(plan, keep, parent=solver)
        nr = rows.shape[0]
        ymat = yadj[rows].transpose(1, 0, 2).reshape(n_plan, nr * n_out)  # (C, nr*D)
        with _one_blas_thread():
            solve = sol.solve_adjusted if regression_adjusted and sol.with_se else sol.solve
            phi, se = solve(ymat, delta[rows].reshape(nr * n_out))  # (M', nr*D)
        mk = phi.shape[0]
        phi = phi.reshape(mk, nr, n_out).transpose(1, 0, 2)
        se = se.reshape(mk, nr, n_out).transpose(1, 0, 2)
        if keep is None:
            values[at], ses[at] = phi, se
        else:
            vals = np.zeros((nr, m, n_out))
            errs = np.zeros((nr, m, n_out))
            vals[:, keep, :], errs[:, keep, :] = phi, se
            values[at], ses[at] = vals, errs

    # Pipelined, one worker thread runs, in this order: build(0), build(1), finish(0), build(2),
    # finish(1), ... while this thread calls the model. FIFO order keeps a builder's buffers alive
    # until its block is finished (build(b + 2) reuses the buffers of block b).
    finishing = []
    progress = Progress("SHAP", n_rows, "records")  # one update per block, not per row
    try:
        pending = pool.submit(builders[0].build, 0, min(n_rows, block)) if pipelined else None
        for b_no, start in enumerate(starts):
            _stop.check()
            stop = min(n_rows, start + block)
            if pipelined:
                rows, inverse = pending.result()
                if b_no + 1 < len(starts):  # build the next block while the model runs
                    nxt = starts[b_no + 1]
                    pending = pool.submit(builders[(b_no + 1) % 2].build, nxt, min(n_rows, nxt + block))
            else:
                rows, inverse = builders[0].build(start, stop)
            n_unique = rows.shape[0]
            y = np.empty((n_unique, n_out))
            for lo in range(0, n_unique, int(max_rows_per_call)):
                hi = min(n_unique, lo + int(max_rows_per_call))
                y[lo:hi] = _check_outputs(predict(rows[lo:hi]), hi - lo, n_out)
            if pipelined:
                finishing.append(pool.submit(finish, start, stop, y, inverse))
            else:
                finish(start, stop, y, inverse)
            progress.update(stop - start)
        for fut in finishing:
            fut.result()
        progress.close()
    finally:
        progress.close(finished=False)
        if pool is not None:
            pool.shutdown()
    if record_inverse is not None:
        values, ses = values[record_inverse], ses[record_inverse]
        fx, reference = fx[record_inverse], reference[record_inverse]
    return KernelShapResult(values=values, expected_value=expected_value, fx=fx, standard_errors=ses,
                            n_coalitions=n_plan, exact=bool(plan is None or plan.exact),
                            reference=reference,
                            determined=bool(solver is None or not solver.undetermined.any()),
                            regression_adjusted=bool(regression_adjusted and solver is not None and solver.with_se))
