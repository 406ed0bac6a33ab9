"""The Kernel SHAP job: from ``methods.shap`` and a dataset to Clarify's outputs.

Reads the config (baseline, ``num_clusters``, ``num_samples``, ``seed``, ``use_logit``,
``agg_method``, ``features_to_explain``), builds or reads the baseline, codes the features
for the Kernel SHAP core, calls the model through the job's predictor, and returns the
``explanations.kernel_shap`` section, the local values (``explanations_shap/out.csv``) and
what this engine adds beyond Clarify (standard errors, baseline weights, counts).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from clarify_engine.errors import ConfigError, ModelError, NotSupportedError
from clarify_engine.explain._aggregate import aggregate, aggregate_standard_error
from clarify_engine.explain._baseline import baseline_from_config, cluster_baseline, encode_features

__all__ = ["SE_SECTION_KEY", "local_columns", "make_predict", "resolve_features_to_explain", "run_shap"]

log = logging.getLogger("clarify_engine")

#: Key, under ``explanations`` in analysis.json, of the standard errors (an extension: the
#: ``kernel_shap`` section itself keeps Clarify's exact shape).
SE_SECTION_KEY = "kernel_shap_standard_errors"


def resolve_features_to_explain(features_to_explain: Sequence[Any] | None, features: Sequence[str]) -> np.ndarray:
    """Column indices (sorted, in feature order) of ``methods.shap.features_to_explain``.

    Parameters
    ----------
    features_to_explain : sequence of str or int, optional
        Names, or 0-based indices into the model-input ``features``. None: every feature.
    features : sequence of str
        The model-input features, in model order.

    Raises
    ------
    ConfigError
        An unknown name, an index out of range, a feature given twice.
    """
    features = list(features)
    if features_to_explain is None:
        return np.arange(len(features), dtype=np.int64)
    chosen: list[int] = []
    for i, entry in enumerate(features_to_explain):
        path = f"methods.shap.features_to_explain[{i}]"
        if isinstance(entry, bool) or not isinstance(entry, (str, int, np.integer)):
            raise ConfigError(path, f"expected a feature name or index, found {entry!r}")
        if isinstance(entry, str):
            if entry not in features:
                raise ConfigError(path, f"expected one of the model-input features {features}, found {entry!r} "
                                        "(label, predicted label, join key and excluded columns cannot be explained)")
            index = features.index(entry)
        else:
            index = int(entry)
            if not 0 <= index < len(features):
                raise ConfigError(path, f"expected an index into the {len(features)} model-input features "
                                        f"(0..{len(features) - 1}), found {index}")
        if index in chosen:
            raise ConfigError(path, f"feature {features[index]!r} is listed twice")
        chosen.append(index)
    return np.array(sorted(chosen), dtype=np.int64)


class _Scores:
    """The ``predict`` callable handed to ``kernel_shap``: codes -> frame -> model -> scores."""

    def __init__(self, predictor, coder):
        self.predictor = predictor
        self.coder = coder
        self.first_output = None
        self.rows_sent = 0
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        from clarify_engine.predict import model_scores

        start = time.perf_counter()
        frame = self.coder(rows)
        output = self.predictor.predict(frame)
        scores = np.asarray(model_scores(output), dtype=np.float64)
        if scores.shape[0] != len(rows):
            raise ModelError(f"the model returned {scores.shape[0]} score rows for {len(rows)} records")
        if self.first_output is None:
            self.first_output = output
        elif scores.shape[1] != model_scores(self.first_output).shape[1]:
            raise ModelError(f"the model returned {scores.shape[1]} scores per record, but "
                             f"{model_scores(self.first_output).shape[1]} in an earlier call")
        self.rows_sent += len(rows)
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return scores


def make_predict(predictor, coder):
    """The ``predict`` callable for :func:`kernel_shap`: float64 codes (r, P) -> scores (r, D).

    It decodes rows with ``coder`` (original dtypes), calls ``predictor.predict`` and reads
    the scores with :func:`clarify_engine.predict.model_scores`.
    """
    return _Scores(predictor, coder)


def local_columns(features: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Column names of out.csv: ``<feature>_<label>``, all features of the first label first."""
    return [f"{feature}_{label}" for label in labels for feature in features]


def _local_frame(values: np.ndarray, features, labels, joinsource: pd.Series | None) -> pd.DataFrame:
    n, m, d = values.shape
    # (n, M, D) -> (n, D, M) -> (n, D*M): label-major column blocks
    flat = np.transpose(values, (0, 2, 1)).reshape(n, d * m)
    frame = pd.DataFrame(flat, columns=local_columns(features, labels))
    if joinsource is not None:
        frame.insert(0, joinsource.name, joinsource.to_numpy())
    return frame


def _json_error(value) -> float | None:
    """A standard error for analysis.json: a float, or None (JSON null) when it is inf or NaN,
    i.e. when the coalitions evaluated cannot bound the error (analysis.json holds no inf)."""
    value = float(value)
    return value if np.isfinite(value) else None


def _shap_config(config):
    shap_cfg = getattr(getattr(config, "methods", None), "shap", None)
    if shap_cfg is None and isinstance(config, Mapping):
        shap_cfg = config.get("methods", {}).get("shap")
    if shap_cfg is None:
        raise ConfigError("methods.shap", "expected a shap section, found none")
    return shap_cfg


def _get(obj, key, default=None):
    value = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return default if value is None else value


def run_shap(config, dataset, predictor, *, workers: int = 1, base_dir=None,
             storage_options: dict | None = None, max_rows_per_call: int = 100_000):
    """Explain every record of ``dataset`` with Kernel SHAP as ``methods.shap`` asks.

    Parameters
    ----------
    config : AnalysisConfig or Mapping
        The analysis config; ``methods.shap`` must be present.
    dataset : Dataset
        The job's dataset; ``dataset.features`` are the model inputs (model order).
    predictor : Predictor
        ``predict(frame) -> ModelOutput`` and ``label_headers`` (names of the scores).
    workers : int, default 1
        Threads of the Kernel SHAP core; results do not depend on it.
    base_dir : str or path-like, optional
        Folder a relative baseline file path is taken from.
    storage_options : dict, optional
        fsspec options for an ``s3://`` baseline.
    max_rows_per_call : int, default 100000
        Synthetic rows per ``predictor.predict`` call.

    Returns
    -------
    section : dict
        ``explanations.kernel_shap``: ``{label: {"global_shap_values": {feature: float},
        "expected_value": float}}``, features in model order, labels ``label0``... or the
        predictor's ``label_headers``.
    local : pandas.DataFrame
        Shape (n, [1 +] D*M): the joinsource column first when configured, then
        ``<feature>_<label>`` columns; one row per record in input order.
    extras : dict
        ``standard_errors`` (DataFrame laid out like ``local``), ``standard_error_section``
        (for ``explanations.kernel_shap_standard_errors``), ``baseline`` (DataFrame),
        ``baseline_weights`` (ndarray), ``manifest`` (dict for ``run_manifest.json``),
        ``result`` (the core's KernelShapResult). The job (``clarify_engine.run``) writes
        ``local``, ``standard_errors`` and ``baseline`` to ``explanations_shap/``.

    Raises
    ------
    NotSupportedError
        ``text_config`` or ``image_config`` (text and image explanations are not implemented).
    ConfigError
        Bad ``features_to_explain``, baseline rows of the wrong width, ``label_headers`` whose
        count is not the number of scores.
    """
    from clarify_engine.explain._coalitions import budget_note, determining_budget
    from clarify_engine.explain._kernel_shap import default_num_samples, kernel_shap
    from clarify_engine.predict import score_columns

    shap_cfg = _shap_config(config)
    if _get(shap_cfg, "text_config") is not None:
        raise NotSupportedError("methods.shap.text_config: explanations of text features (token, sentence, "
                                "paragraph units) are not implemented yet; remove text_config to explain the "
                                "columns as whole tabular features")
    if _get(shap_cfg, "image_config") is not None:
        raise NotSupportedError("methods.shap.image_config: image explanations (superpixels) are not implemented yet")
    dataset_type = str(_get(config, "dataset_type", "text/csv")).lower()
    features = list(dataset.features)
    if not features:
        raise ConfigError("methods.shap", "the dataset has no model-input features to explain")
    records = dataset.frame.loc[:, features]
    explain = resolve_features_to_explain(_get(shap_cfg, "features_to_explain"), features)
    explained = [features[j] for j in explain]
    seed = _get(shap_cfg, "seed")
    agg_method = str(_get(shap_cfg, "agg_method", "mean_abs")).lower()
    link = "logit" if _get(shap_cfg, "use_logit", False) else "identity"

    started = time.perf_counter()
    baseline = baseline_from_config(shap_cfg, dataset, dataset_type=dataset_type, base_dir=base_dir,
                                    features_path=_get(config, "features"), storage_options=storage_options)
    if baseline is not None:
        weights = np.ones(len(baseline))
        baseline_source = "config"
    else:
        baseline, weights = cluster_baseline(records, _get(shap_cfg, "num_clusters"), seed)
        baseline_source = "k-prototypes" if any(
            not pd.api.types.is_numeric_dtype(records[c].dtype) or pd.api.types.is_bool_dtype(records[c].dtype)
            for c in features) else "k-means"
    baseline_seconds = time.perf_counter() - started

    X, coder = encode_features(records, baseline)
    B = coder.encode(baseline, "baseline")
    num_samples = _get(shap_cfg, "num_samples")
    m = len(explain)
    predict = make_predict(predictor, coder)
    budget = num_samples if num_samples is not None else (default_num_samples(m) if m >= 2 else 0)
    # Coalitions per record: the budget (at most 2^M - 2) plus the empty and full ones; each is
    # crossed with every baseline row. Identical synthetic rows are sent once, so this is a bound.
    coalitions = min(budget, 2 ** m - 2) + 2 if m >= 1 else 1
    log.info("Kernel SHAP: %d records, %d of %d features explained, baseline of %d rows (%s), num_samples=%s; "
             "at most %d synthetic rows (%d records x %d coalitions x %d baseline rows) will be sent to the model",
             len(X), m, len(features), len(B), baseline_source,
             num_samples if num_samples is not None else f"auto ({budget})",
             len(X) * coalitions * len(B), len(X), coalitions, len(B))
    note = budget_note(m, num_samples)
    if note is not None:
        log.warning("Kernel SHAP: %s", note)
    started = time.perf_counter()
    result = kernel_shap(predict, X, B, weights=weights, explain=explain, num_samples=num_samples, seed=seed,
                         link=link, max_rows_per_call=max_rows_per_call, workers=workers)
    shap_seconds = time.perf_counter() - started

    d = result.values.shape[2]
    if predict.first_output is not None:
        labels = score_columns(predict.first_output, getattr(predictor, "label_headers", None))
    else:  # no call needed (e.g. every record equals the baseline)
        headers = getattr(predictor, "label_headers", None)
        labels = [str(h) for h in headers] if headers is not None and len(headers) == d else \
            [f"label{i}" for i in range(d)]

    glob = aggregate(result.values, agg_method)  # (M, D)
    glob_se = aggregate_standard_error(result.values, result.standard_errors, agg_method)
    section, se_section = {}, {}
    for k, label in enumerate(labels):
        section[label] = {
            "global_shap_values": {f: float(glob[j, k]) for j, f in enumerate(explained)},
            "expected_value": float(result.expected_value[k]),
        }
        se_section[label] = {
            "global_shap_values": {f: _json_error(glob_se[j, k]) for j, f in enumerate(explained)},
            "mean_local_standard_error": {
                f: _json_error(result.standard_errors[:, j, k].mean()) for j, f in enumerate(explained)},
            "max_local_standard_error": {
                f: _json_error(result.standard_errors[:, j, k].max()) for j, f in enumerate(explained)},
        }

    joinsource = None
    if getattr(dataset, "joinsource", None) is not None:
        joinsource = dataset.frame[dataset.joinsource]
    local = _local_frame(result.values, explained, labels, joinsource)
    standard_errors = _local_frame(result.standard_errors, explained, labels, joinsource)

    manifest = {
        "records": int(len(X)),
        "features_explained": explained,
        "labels": labels,
        "agg_method": agg_method,
        "link": link,
        "seed": seed,
        "num_samples": num_samples if num_samples is not None else (default_num_samples(m) if m >= 2 else None),
        "n_coalitions": int(result.n_coalitions),
        "exact": bool(result.exact),
        "budget_small": note is not None,
        "budget_to_determine_every_value": determining_budget(m) if m >= 2 else 0,
        "values_determined": bool(result.determined),
        "budget_note": note,
        "baseline": {"source": baseline_source, "rows": int(len(baseline)),
                     "weights": [float(w) for w in weights]},
        "model_rows_sent": int(predict.rows_sent),
        "model_calls": int(predict.calls),
        "seconds": {"baseline": round(baseline_seconds, 3), "kernel_shap": round(shap_seconds, 3),
                    "model": round(predict.seconds, 3)},
    }
    log.info("Kernel SHAP: %d distinct synthetic rows sent in %d model calls (%.1f s of %.1f s in the model); "
             "%d coalitions per record%s", predict.rows_sent, predict.calls, predict.seconds, shap_seconds,
             result.n_coalitions, " (every coalition: exact Shapley values)" if result.exact else "")
    extras = {
        "standard_errors": standard_errors,
        "standard_error_section": se_section,
        "baseline": baseline,
        "baseline_weights": np.asarray(weights, dtype=np.float64),
        "manifest": manifest,
        "result": result,
    }
    return section, local, extras
