"""Kernel SHAP over a job's records: baseline, feature coding, the core, aggregation.

Takes a :class:`~clarify_engine.explain._spec.ShapSpec` (resolved by the job planner) and a
score function, and returns a typed :class:`~clarify_engine.explain._results.ShapResult`;
``clarify_engine.report`` renders it as Clarify's sections and files.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from clarify_engine._column_types import baseline_is_categorical
from clarify_engine.explain._aggregate import aggregate, aggregate_standard_error
from clarify_engine.explain._baseline import cluster_baseline, encode_features, given_baseline
from clarify_engine.explain._coalitions import budget_note, determining_budget
from clarify_engine.explain._exact import KERNEL_SHAP, ExactUnavailable, choose_method, exact_shap
from clarify_engine.explain._kernel_shap import KernelShapResult, default_num_samples, kernel_shap
from clarify_engine.explain._results import ShapResult
from clarify_engine.explain._scoring import Scorer, as_scorer
from clarify_engine.explain._spec import ShapSpec

__all__ = ["run_shap"]

log = logging.getLogger(__name__)


def _is_categorical_frame(records: pd.DataFrame) -> bool:
    return any(baseline_is_categorical(records[c]) for c in records.columns)


def run_shap(records: pd.DataFrame, spec: ShapSpec, scorer: Scorer, *, workers: int = 1, base_dir: Any = None,
             storage_options: dict | None = None, record_ids: pd.Series | None = None,
             max_rows_per_call: int = 100_000, model: Any = None,
             kernel: Callable[..., KernelShapResult] | None = None) -> ShapResult:
    """Explain every record with Kernel SHAP as ``spec`` says (or exactly, when it can).

    Parameters
    ----------
    records : pandas.DataFrame, shape (n, P)
        The model inputs, columns ``spec.features`` (model order); their dtypes type a
        given baseline.
    spec : ShapSpec
        Features explained, baseline, budget, seed, link, aggregation.
    scorer : Scorer or callable
        ``scorer(frame (r, P)) -> ndarray (r, D)``; its ``labels(D)`` name the outputs.
    workers : int, default 1
        Threads of the Kernel SHAP core; results do not depend on it.
    base_dir : str or path-like, optional
        Folder a relative baseline file path is taken from.
    storage_options : dict, optional
        fsspec options for an ``s3://`` baseline.
    record_ids : pandas.Series, optional
        The joinsource column of the records (written first in the local values).
    max_rows_per_call : int, default 100000
        Synthetic rows per ``scorer`` call.
    model : Predictor or InProcessModel, optional
        The job's predictor. When it is an in-process model and ``spec.exact`` allows it, an
        exact path (:mod:`clarify_engine.explain._exact`) replaces Kernel SHAP where it
        computes the same values; the result's ``core.method`` and ``method_reason`` say which
        ran and why. It also decides ``spec.regression_adjusted="auto"``: on for a remote
        model, off for an in-process one or none.
    kernel : callable, optional
        Runs the Kernel SHAP core instead of :func:`kernel_shap` in this process:
        ``kernel(X, baseline, coder, *, weights, explain, num_samples, seed, link,
        max_rows_per_call, regression_adjusted) -> KernelShapResult``, ``coder`` turning coded rows back into model
        inputs (the Dask executor, :mod:`clarify_engine.cluster`, runs it in shards on workers).

    Returns
    -------
    ShapResult

    Raises
    ------
    ConfigError
        Baseline rows of the wrong width or with values of the wrong kind.
    DataError
        A baseline file that cannot be read.
    ModelError
        The model's answers are not one score row per record, or change width.
    """
    scorer = as_scorer(scorer)
    features = list(spec.features)
    records = records.loc[:, features]
    explain = np.asarray(spec.explain, dtype=np.int64)
    explained = spec.explained

    started = time.perf_counter()
    baseline = given_baseline(spec.baseline, features, records, base_dir=base_dir, storage_options=storage_options)
    if baseline is not None:
        weights = np.ones(len(baseline))
        source = spec.baseline.source
    else:
        baseline, weights = cluster_baseline(records, spec.baseline.num_clusters, spec.seed)
        source = "k-prototypes" if _is_categorical_frame(records) else "k-means"
    baseline_seconds = time.perf_counter() - started

    m = len(explain)
    default_budget = default_num_samples(m) if m >= 2 else None
    started = time.perf_counter()
    core, reason, note = explain_records(records, baseline, weights, spec, scorer, source=source, model=model,
                                         workers=workers, max_rows_per_call=max_rows_per_call, kernel=kernel)
    shap_seconds = time.perf_counter() - started
    if core.method == KERNEL_SHAP:
        log.info("Kernel SHAP: %d coalitions per record%s, in %.1f s", core.n_coalitions,
                 " (every coalition: exact Shapley values)" if core.exact else "", shap_seconds)

    return ShapResult(
        features=tuple(explained),
        labels=tuple(scorer.labels(core.values.shape[2])),
        core=core,
        global_values=aggregate(core.values, spec.agg_method),
        global_standard_errors=aggregate_standard_error(core.values, core.standard_errors, spec.agg_method),
        agg_method=spec.agg_method,
        link=spec.link,
        seed=spec.seed,
        num_samples=spec.num_samples if spec.num_samples is not None else default_budget,
        budget_note=note,
        budget_to_determine_every_value=determining_budget(m) if m >= 2 else 0,
        baseline=baseline,
        baseline_weights=np.asarray(weights, dtype=np.float64),
        baseline_source=source,
        record_ids=record_ids,
        seconds={"baseline": round(baseline_seconds, 3), "kernel_shap": round(shap_seconds, 3)},
        method_reason=reason,
    )


def explain_records(records: pd.DataFrame, baseline: pd.DataFrame, weights: np.ndarray, spec: ShapSpec,
                    scorer: Scorer, *, source: str, model: Any = None, workers: int = 1,
                    max_rows_per_call: int = 100_000, kernel: Callable[..., KernelShapResult] | None = None,
                    announce: bool = True) -> tuple[KernelShapResult, str | None, str | None]:
    """The local values of ``records`` (feature columns, model order) against ``baseline``.

    The part of :func:`run_shap` after the baseline: codes the records and the baseline, then
    runs an exact path when one applies, else Kernel SHAP. The streamed job calls it once per
    shard of records (``clarify_engine.explain._stream``).

    Returns
    -------
    core : KernelShapResult
    reason : str or None
        Why this method ran (None when no exact path was considered).
    note : str or None
        The small-budget note of Kernel SHAP.
    """
    explain = np.asarray(spec.explain, dtype=np.int64)
    X, coder = encode_features(records, baseline)
    B = coder.encode(baseline, "baseline")
    m = len(explain)
    default_budget = default_num_samples(m) if m >= 2 else None
    core, reason, note = None, None, None
    if model is not None and m >= 1:
        core, reason = _exact_or_reason(model, spec, X, B, weights, explain, coder, workers)
    if core is None:
        if announce:
            note = _announce_kernel_shap(spec, m, len(spec.features), X, B, source, default_budget)
        else:
            note = budget_note(m, spec.num_samples)
        adjusted = _regression_adjusted(spec.regression_adjusted, model)
        if kernel is not None:
            core = kernel(X, B, coder, weights=weights, explain=explain, num_samples=spec.num_samples,
                          seed=spec.seed, link=spec.link, max_rows_per_call=max_rows_per_call,
                          regression_adjusted=adjusted)
        else:
            def predict(rows: np.ndarray) -> np.ndarray:
                return scorer(coder(rows))

            core = kernel_shap(predict, X, B, weights=weights, explain=explain, num_samples=spec.num_samples,
                               seed=spec.seed, link=spec.link, max_rows_per_call=max_rows_per_call, workers=workers,
                               regression_adjusted=adjusted)
    return core, reason, note


def _announce_kernel_shap(spec, m, n_features, X, B, source, default_budget):
    """Log what Kernel SHAP will send to the model; the small-budget note (or None)."""
    budget = spec.num_samples if spec.num_samples is not None else (default_budget or 0)
    # Coalitions per record: the budget (at most 2^M - 2) plus the empty and full ones; each is
    # crossed with every baseline row. Identical synthetic rows are sent once, so this is a bound.
    coalitions = min(budget, 2 ** m - 2) + 2 if m >= 1 else 1
    log.info("Kernel SHAP: %d records, %d of %d features explained, baseline of %d rows (%s), num_samples=%s; "
             "at most %d synthetic rows (%d records x %d coalitions x %d baseline rows) will be sent to the model",
             len(X), m, n_features, len(B), source,
             spec.num_samples if spec.num_samples is not None else f"auto ({budget})",
             len(X) * coalitions * len(B), len(X), coalitions, len(B))
    note = budget_note(m, spec.num_samples)
    if note is not None:
        log.warning("Kernel SHAP: %s", note)
    return note


def _regression_adjusted(setting: str, model: Any) -> bool:
    """Whether Kernel SHAP fits its surrogate control variate: ``"on"``, ``"off"``, or for
    ``"auto"`` when the model is called remotely (not an in-process model), where the fits cost
    less than the model calls they save."""
    if setting != "auto":
        return setting == "on"
    in_process = model if type(model).__name__ == "InProcessModel" else getattr(model, "in_process", None)
    return model is not None and in_process is None


def _exact_or_reason(model, spec, X, B, weights, explain, coder, workers):
    """Exact values when an exact path applies: (KernelShapResult, what it computed), else
    (None, why Kernel SHAP runs)."""
    choice = choose_method(spec.exact, model, features=spec.features, link=spec.link, X=X, baseline=B,
                           weights=weights, decode=coder)
    if choice.method == KERNEL_SHAP:
        log.info("SHAP method: Kernel SHAP (%s)", choice.reason)
        return None, choice.reason
    try:
        core = exact_shap(choice, X, B, weights=weights, explain=explain, decode=coder, workers=workers)
    except ExactUnavailable as exc:
        reason = f"no exact path: {exc}"
        log.info("SHAP method: Kernel SHAP (%s)", reason)
        return None, reason
    log.info("SHAP method: %s (%s); no model call on synthetic rows, standard errors 0", choice.method, choice.reason)
    return core, choice.reason
