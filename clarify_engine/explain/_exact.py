"""Exact SHAP values for in-process tree ensembles and linear models, or why not.

Kernel SHAP explains, for each record ``x``, the game ``v(S) = link(sum_k w_k f(x_S, b_k[~S]))``
over the explained features, with ``f`` the model's scores on the *decoded* rows and ``link``
the identity or, under ``use_logit``, the logit of probabilities clipped to
``[1e-12, 1 - 1e-12]``. With every coalition enumerated its answer is the exact Shapley value
of that game. This module computes the same values without calling the model, when that can be
done exactly:

* ``link = identity`` and scores that are a sum over trees or a linear function (regressors,
  random-forest and extra-trees classifiers): ``v`` is the baseline-weighted mean of an additive
  model, so its Shapley value is the weighted mean over baseline rows of each row's exact
  interventional values (TreeSHAP per tree, :mod:`._treeshap_kernels`; closed form for linear);
* ``link = logit``, scores ``sigmoid(margin)`` (binary boosting with the logistic loss, binary
  logistic regression) and **one** effective baseline row: then ``v(S) = margin(x_S, b[~S])``
  exactly (when no coalition's probability reaches the clip), an additive game again.

Everything else is not computed here, and :func:`choose_exact` says why: probabilities of a
boosted classifier or of a logistic model under ``link = identity`` are a sigmoid or softmax of
a sum, whose Shapley values are not the sums of per-tree (per-feature) values; under ``logit``
with several baseline rows the logit is taken of a *mean* of probabilities, again not
additive. Those go to Kernel SHAP, which is exact itself when its budget covers every
coalition (``M <= 11`` with the default budget).

Before any exact value is computed the read-out model is checked against the model itself: on
the baseline rows, the first explained rows and random hybrids of the two, the scores it
implies must equal the model's own to rounding (``check_tolerance``), else the job falls back
and says so.
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from clarify_engine.explain._exact_linear import LinearModel, linear_model
from clarify_engine.explain._exact_spec import ExactSpec
from clarify_engine.explain._exact_tree import TreeEnsemble, tree_ensemble
from clarify_engine.explain._kernel_shap import LOGIT_EPS, KernelShapResult

__all__ = ["EXACT_LINEAR", "EXACT_TREE", "KERNEL_SHAP", "ExactChoice", "ExactUnavailable", "choose_exact",
           "choose_method", "exact_shap"]

log = logging.getLogger(__name__)

EXACT_TREE, EXACT_LINEAR, KERNEL_SHAP = "exact_tree", "exact_linear", "kernel_shap"

#: Largest log-odds the logit link reproduces: beyond it Kernel SHAP clips the probability.
LOGIT_LIMIT = float(np.log1p(-LOGIT_EPS) - np.log(LOGIT_EPS))

#: Hybrid rows (besides the baseline and the first explained rows) the read-out model is checked on.
CHECK_HYBRIDS = 32
CHECK_RECORDS = 16


class ExactUnavailable(Exception):
    """The exact path does not compute these values exactly; ``str(exc)`` says why (for the manifest)."""


@dataclass(frozen=True)
class ExactChoice:
    """Which SHAP method a job uses, and why.

    Attributes
    ----------
    method : {"exact_tree", "exact_linear", "kernel_shap"}
    reason : str
        For an exact method, what is computed; for ``kernel_shap``, why no exact path applies.
    model : TreeEnsemble or LinearModel or None
        The read-out model (``None`` for ``kernel_shap``).
    columns : tuple of int
        Model input column ``q`` is dataset feature ``columns[q]``.
    link : {"identity", "logit"}
    """

    method: str
    reason: str
    model: Any = None
    columns: tuple = ()
    link: str = "identity"


def _kernel(reason: str) -> ExactChoice:
    return ExactChoice(KERNEL_SHAP, reason)


def _inputs(decode, rows):
    """Model-input float64 rows of coded ``rows`` (through ``decode`` when given)."""
    if decode is None:
        return np.asarray(rows, dtype=np.float64)
    frame = decode(rows)
    try:
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        bad = [str(c) for c in frame.columns if not (pd.api.types.is_numeric_dtype(frame[c].dtype)
                                                     or pd.api.types.is_bool_dtype(frame[c].dtype))]
        raise ExactUnavailable(f"features {bad} are not numeric: the model reads them through its own "
                               "preprocessing, which the exact path does not model") from None


def _model_columns(model, features):
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        missing = [n for n in names if n not in features]
        if missing:
            return None, f"the model expects features {missing} that the dataset does not have"
        if len(names) != len(features):
            return None, f"the model takes {len(names)} features, the dataset has {len(features)}"
        return tuple(features.index(n) for n in names), None
    n_in = getattr(model, "n_features_in_", None)
    if n_in is None and callable(getattr(model, "num_feature", None)):  # a bare lightgbm Booster
        n_in = model.num_feature()
    if n_in is not None and n_in != len(features):
        return None, f"the model takes {n_in} features, the dataset has {len(features)}"
    return tuple(range(len(features))), None


def _raw_margin(model, frame):
    """The model's own margin (before any sigmoid) on a model-input frame: (r, D)."""
    if type(model).__module__.startswith("xgboost."):
        out = model.predict(frame, output_margin=True)
    elif type(model).__module__.startswith("lightgbm."):
        out = model.predict(frame, raw_score=True)
    elif callable(getattr(model, "decision_function", None)):
        out = model.decision_function(frame)
    else:
        out = model.predict(frame)
    out = np.asarray(out, dtype=np.float64)
    return out.reshape(out.shape[0], -1)


def _model_frame(model, rows, names):
    wants_names = getattr(model, "feature_names_in_", None) is not None
    return pd.DataFrame(rows, columns=names) if wants_names else rows


def _check_rows(X, B, seed=0):
    """Baseline rows, the first explained rows and random hybrids of the two (model-input space)."""
    rng = np.random.default_rng(seed)
    xs = X[:CHECK_RECORDS]
    parts = [B, xs]
    if X.shape[0]:
        i = rng.integers(0, X.shape[0], CHECK_HYBRIDS)
        k = rng.integers(0, B.shape[0], CHECK_HYBRIDS)
        keep = rng.random((CHECK_HYBRIDS, X.shape[1])) < 0.5
        parts.append(np.where(keep, X[i], B[k]))
    return np.concatenate(parts)


def _tolerance(read):
    """Absolute tolerance on the margin: rounding of a sum of trees (float32 for xgboost)."""
    if isinstance(read, LinearModel):
        return 1e-9 * (1.0 + np.abs(read.intercept).max(initial=0.0))
    leaf_mag = np.zeros(read.value.shape[1])
    bounds = np.append(read.roots, read.left.shape[0])
    for t in range(read.roots.shape[0]):
        leaf_mag += np.abs(read.value[bounds[t]:bounds[t + 1]]).max(axis=0, initial=0.0)
    eps = 1e-6 if read.family.startswith("xgboost") else 1e-10
    return eps * (1.0 + leaf_mag.max(initial=0.0) + np.abs(read.intercept).max(initial=0.0))


def choose_exact(model: Any, *, features: Sequence[str], link: str, X: np.ndarray, baseline: np.ndarray,
                 weights: np.ndarray | None = None, decode: Callable | None = None) -> ExactChoice:
    """Whether an exact path computes the values Kernel SHAP would, and which.

    Parameters
    ----------
    model : object
        The in-process model (an estimator, or an ``InProcessModel`` wrapping one).
    features : sequence of str
        Dataset features in coding order (the columns of ``X``).
    link : {"identity", "logit"}
    X, baseline : ndarray float64 (n, P), (K, P)
        Coded records and baseline rows, as Kernel SHAP gets them.
    weights : ndarray (K,), optional
        Baseline row weights; None = uniform.
    decode : callable, optional
        The :class:`~clarify_engine.explain._baseline.FeatureCoder` (coded rows -> frame the
        model sees); None when the codes are the model's inputs.

    Returns
    -------
    ExactChoice
        ``kernel_shap`` with a reason whenever the exact path does not apply exactly.
    """
    inner = getattr(model, "model", model) if type(model).__name__ == "InProcessModel" else model
    features = [str(f) for f in features]
    read = tree_ensemble(inner)
    method = EXACT_TREE
    if isinstance(read, str):
        lin = linear_model(inner)
        if isinstance(lin, str):
            if ", not a tree" in read and ", not a linear" in lin:
                family = read[len("is a "):read.index(", not a tree")]
                return _kernel(f"no exact path for this model: it is a {family}, neither a tree ensemble nor a "
                               "linear model the exact path reads")
            return _kernel(f"no exact path for this model: it {read if ', not a tree' not in read else lin}")
        read, method = lin, EXACT_LINEAR
    if read.output == "other":
        return _kernel(f"no exact path: the scores of this {read.family} are not the sum of its "
                       f"{'trees' if method == EXACT_TREE else 'terms'} or a sigmoid of it (e.g. a softmax over "
                       "classes), so they are not additive; Kernel SHAP explains them")
    if link == "identity" and read.output == "sigmoid":
        return _kernel(f"no exact path: the scores of this {read.family} are probabilities, a sigmoid of an additive "
                       "margin, which are not additive; set use_logit to explain the log-odds exactly "
                       "(with one baseline row), or Kernel SHAP explains the probabilities")
    if link == "logit":
        if read.output != "sigmoid":
            return _kernel(f"no exact path: use_logit takes the logit of scores of this {read.family}, which are "
                           "not a sigmoid of an additive margin")
        bw = np.ones(baseline.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
        distinct = np.unique(np.ascontiguousarray(baseline[bw > 0]).view(
            np.dtype((np.void, 8 * baseline.shape[1]))))
        if distinct.shape[0] != 1:
            return _kernel(f"no exact path: with use_logit and {distinct.shape[0]} baseline rows the logit is taken "
                           "of the mean probability over the baseline, which is not additive; with one baseline "
                           "row (num_clusters: 1, or one baseline row) the log-odds are explained exactly")
    columns, why = _model_columns(inner, features)
    if why:
        return _kernel(f"no exact path: {why}")
    try:
        xm = _inputs(decode, X[: CHECK_RECORDS])[:, columns]
        bm = _inputs(decode, baseline)[:, columns]
        scores = _scores_of(model)
        read = _fit_intercept_and_check(inner, read, _check_rows(xm, bm), [features[c] for c in columns], scores)
    except ExactUnavailable as exc:
        return _kernel(f"no exact path: {exc}")
    what = "log-odds" if link == "logit" else "scores"
    how = "interventional TreeSHAP" if method == EXACT_TREE else "the closed form of a linear model"
    return ExactChoice(method, f"exact {what} of this {read.family} by {how} against the baseline rows",
                       read, columns, link)


def choose_method(spec: ExactSpec, predictor: Any, *, features: Sequence[str], link: str, X: np.ndarray,
                  baseline: np.ndarray, weights: np.ndarray | None = None,
                  decode: Callable | None = None) -> ExactChoice:
    """The SHAP method of a job: an exact path when the spec allows it and one applies.

    Parameters
    ----------
    spec : ExactSpec
        Whether exact paths are allowed (``methods.shap.exact``, ``--kernel-shap-only``).
    predictor : object
        The job's predictor: a :class:`~clarify_engine.predict.Predictor` (its ``in_process``
        model, None for an endpoint) or an
        :class:`~clarify_engine.predict.InProcessModel`. Only an in-process model can
        take an exact path.
    features, link, X, baseline, weights, decode
        As for :func:`choose_exact`.

    Returns
    -------
    ExactChoice
        ``kernel_shap`` with the reason when no exact path is taken.
    """
    if not spec.allowed:
        return _kernel(spec.why_not or "exact paths are off")
    in_process = predictor if type(predictor).__name__ == "InProcessModel" else getattr(predictor, "in_process", None)
    if in_process is None:
        what = getattr(predictor, "description", None) or type(predictor).__name__
        return _kernel(f"the model is called through {what}, not in process: only Kernel SHAP explains a model it "
                       "can only call")
    if getattr(in_process, "output", "auto") != "auto":
        return _kernel(f"the in-process model's output is read as {in_process.output!r}: not an estimator's scores")
    return choose_exact(in_process, features=features, link=link, X=X, baseline=baseline, weights=weights,
                        decode=decode)


def _scores_of(model):
    """The job's scores of a model-input frame: the ``InProcessModel``'s own when given one (the
    job's path), else the same convention on a bare estimator (``predict_proba``, a binary
    classifier's positive class only; else ``predict``), (r, D)."""
    if type(model).__name__ == "InProcessModel":
        return lambda frame: model.predict(frame).scores

    def scores(frame):
        x = frame if getattr(model, "feature_names_in_", None) is not None else frame.to_numpy()
        if callable(getattr(model, "predict_proba", None)):
            out = np.asarray(model.predict_proba(x), dtype=np.float64)
            return out[:, 1:] if out.ndim == 2 and out.shape[1] == 2 else out.reshape(len(out), -1)
        if hasattr(model, "classes_"):
            return None  # labels, no scores
        out = np.asarray(model.predict(x), dtype=np.float64)
        return out.reshape(len(out), -1)
    return scores


def _fit_intercept_and_check(model, read, rows, names, scores_fn):
    """The read-out model with the model's constant term, checked against the model on ``rows``
    (``scores_fn(frame)``: the scores the job explains)."""
    frame = _model_frame(model, rows, names)
    try:
        scores = scores_fn(pd.DataFrame(rows, columns=names))
        # additive scores are the margin; a sigmoid's margin is read before the sigmoid (not its
        # logit, which loses digits near 0 and 1)
        raw = scores if read.output == "additive" else _raw_margin(model, frame)
    except Exception as exc:  # the model refuses the rows: Kernel SHAP will report it properly
        raise ExactUnavailable(f"the model failed on the rows checked ({type(exc).__name__}: {exc})") from None
    tol = _tolerance(read)
    if isinstance(read, TreeEnsemble):
        sums = read.margin(rows)
        if raw is None or raw.shape != sums.shape:
            raise ExactUnavailable(f"the model's scores do not have the {sums.shape[1]} columns its trees give")
        gap = raw - sums
        intercept = read.intercept + np.median(gap, axis=0)
        read = dataclasses.replace(read, intercept=intercept)
    margin = read.margin(rows)
    if raw is None or margin.shape != raw.shape or np.abs(margin - raw).max(initial=0.0) > tol:
        worst = float(np.abs(margin - raw).max(initial=0.0)) if raw is not None and margin.shape == raw.shape \
            else float("inf")
        raise ExactUnavailable(f"the {read.family} read from the model differs from its own margin by {worst:.3g} "
                               f"(tolerance {tol:.3g})")
    implied = margin if read.output == "additive" else 1.0 / (1.0 + np.exp(-read.scale * margin))
    if scores is None or scores.shape != implied.shape or \
            np.abs(scores - implied).max(initial=0.0) > tol * max(read.scale, 1.0):
        raise ExactUnavailable(f"the scores of this {read.family} are not the "
                               f"{'sum' if read.output == 'additive' else 'sigmoid of the margin'} the exact path "
                               "assumes")
    return read


def exact_shap(choice: ExactChoice, X: np.ndarray, baseline: np.ndarray, *, weights: np.ndarray | None = None,
               explain: np.ndarray | None = None, decode: Callable | None = None,
               workers: int = 1) -> KernelShapResult:
    """Exact SHAP values of every row of ``X``, in the shapes :func:`kernel_shap` returns.

    Parameters
    ----------
    choice : ExactChoice
        From :func:`choose_exact`, with an exact method.
    X, baseline : ndarray float64 (n, P), (K, P)
        Coded records and baseline rows (dataset feature order).
    weights : ndarray (K,), optional
        Baseline weights; None = uniform.
    explain : ndarray of int (M,), optional
        Dataset columns to attribute; None = every column.
    decode : callable, optional
        As for :func:`choose_exact`.
    workers : int
        Threads over rows (the kernel releases the GIL); results do not depend on it.

    Returns
    -------
    KernelShapResult
        ``standard_errors`` 0, ``exact`` True, ``n_coalitions`` 0 (no coalition is evaluated),
        ``method`` the choice's method.

    Raises
    ------
    ExactUnavailable
        Under ``logit``, a coalition's log-odds reach the clip of Kernel SHAP's link
        (``|log-odds| >= 27.6``): Kernel SHAP would explain clipped values, so these are not them.
    ValueError
        ``choice`` is not an exact method.
    """
    if choice.method not in (EXACT_TREE, EXACT_LINEAR):
        raise ValueError(f"exact_shap needs an exact method; found {choice.method!r} ({choice.reason})")
    cols = np.asarray(choice.columns, dtype=np.int64)
    xm = np.ascontiguousarray(_inputs(decode, X)[:, cols])
    bm = np.ascontiguousarray(_inputs(decode, baseline)[:, cols])
    n_base = bm.shape[0]
    bw = np.full(n_base, 1.0 / n_base) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    explain = np.arange(X.shape[1], dtype=np.int64) if explain is None else np.asarray(explain, dtype=np.int64)
    # explained position of each model input column
    pos_of_dataset = np.full(X.shape[1], -1, dtype=np.int64)
    pos_of_dataset[explain] = np.arange(explain.shape[0])
    pos = pos_of_dataset[cols]
    read = choice.model
    if isinstance(read, TreeEnsemble):
        phi, fx, ref, lo, hi = _tree_values(read, xm, bm, bw, pos, explain.shape[0], workers)
    else:
        phi, fx, ref, lo, hi = _linear_values(read, xm, bm, bw, pos, explain.shape[0], choice.link == "logit")
    fx += read.intercept[None, :]
    ref += read.intercept[None, :]
    scale = read.scale
    expected = bw @ read.margin(bm)
    if choice.link == "logit":
        active = bw > 0
        worst = max(np.abs(lo[:, active]).max(initial=0.0), np.abs(hi[:, active]).max(initial=0.0)) * scale
        if worst >= LOGIT_LIMIT:
            raise ExactUnavailable(f"some coalitions reach log-odds of {worst:.1f}, beyond the {LOGIT_LIMIT:.1f} where "
                                   "use_logit clips probabilities to [1e-12, 1 - 1e-12]")
        phi, fx, ref, expected = phi * scale, fx * scale, ref * scale, expected * scale
    # the dummy axiom, exactly: a feature equal to every baseline row's value gets 0
    xb = xm.view(np.uint64)[:, pos >= 0]
    same = np.ones(xb.shape, dtype=bool)
    for k in np.flatnonzero(bw > 0):
        same &= xb == bm.view(np.uint64)[k, pos >= 0]
    dummy = np.zeros((xm.shape[0], explain.shape[0]), dtype=bool)
    dummy[:, pos[pos >= 0]] = same
    phi[dummy] = 0.0
    return KernelShapResult(values=phi, expected_value=expected, fx=fx, standard_errors=np.zeros_like(phi),
                            n_coalitions=0, exact=True, reference=ref, determined=True, method=choice.method)


def _tree_values(read, xm, bm, bw, pos, m, workers):
    from clarify_engine.explain._treeshap_kernels import _tree_shap, shapley_coefficients

    xm = np.ascontiguousarray(xm.astype(np.float32).astype(np.float64) if read.float32 else xm)
    bm = np.ascontiguousarray(bm.astype(np.float32).astype(np.float64) if read.float32 else bm)
    n, d = xm.shape[0], read.value.shape[1]
    plus, minus = shapley_coefficients(max(read.depth, 1))
    phi = np.zeros((n, m, d))
    fx = np.zeros((n, d))
    ref = np.zeros((n, d))
    lo = np.zeros((n, bm.shape[0], d))
    hi = np.zeros((n, bm.shape[0], d))

    def run(a, b):
        _tree_shap(xm[a:b], bm, bw, pos, read.roots, read.left, read.right, read.feature, read.threshold,
                   read.default_left, read.value, plus, minus, phi[a:b], fx[a:b], ref[a:b], lo[a:b], hi[a:b])

    workers = max(1, int(workers))
    if workers == 1 or n < 2 * workers:
        run(0, n)
    else:
        edges = np.linspace(0, n, workers + 1).astype(int)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, edges[:-1], edges[1:]))
    return phi, fx, ref, lo + read.intercept, hi + read.intercept


def _linear_values(read, xm, bm, bw, pos, m, bounds):
    coef = read.coef  # (D, P)
    mean_b = bw @ bm  # (P,)
    explained = pos >= 0
    phi = np.zeros((xm.shape[0], m, coef.shape[0]))
    diff = xm[:, explained] - mean_b[explained]  # (n, M')
    phi[:, pos[explained], :] = diff[:, :, None] * coef[:, explained].T[None, :, :]
    fx = xm @ coef.T  # (n, D), intercept added by the caller
    hybrid_mean = np.where(explained[None, :], mean_b[None, :], xm)
    ref = hybrid_mean @ coef.T
    # margins over every coalition lie between these (one term per column: x's or b's); only the
    # logit link needs them
    lo = np.zeros((xm.shape[0], bm.shape[0], coef.shape[0]))
    hi = np.zeros_like(lo)
    for k in range(bm.shape[0] if bounds else 0):
        tx = xm[:, None, :] * coef[None, :, :]  # (n, D, P)
        tb = np.where(explained[None, None, :], bm[k][None, None, :] * coef[None, :, :], tx)
        lo[:, k, :] = np.minimum(tx, tb).sum(axis=2) + read.intercept
        hi[:, k, :] = np.maximum(tx, tb).sum(axis=2) + read.intercept
    return phi, fx, ref, lo, hi
