"""Clarify's shapes for explanations: the one place typed SHAP and PDP results become
``analysis.json`` sections, ``explanations_shap/`` tables and run-manifest entries.

Shapes (contract §6.1-§6.3): ``explanations.kernel_shap`` is ``{label: {"global_shap_values":
{feature: float}, "expected_value": float}}``; ``explanations.pdp`` is a list of
``{"feature_name", "data_type", "feature_values", "data_distribution", "model_predictions",
"label_headers"}`` (or ``{"feature_name", "data_type", "error"}``). The standard errors go
under the extension key :data:`SE_SECTION_KEY`, beside Clarify's section.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from clarify_engine.explain._aggregate import ordered_sum

__all__ = ["SE_SECTION_KEY", "local_columns", "local_frame", "pdp_entries", "pdp_manifest", "shap_local_frame", "shap_manifest",
           "shap_section", "shap_standard_error_frame", "shap_standard_error_section"]

#: Key, under ``explanations`` in analysis.json, of the standard errors (an extension: the
#: ``kernel_shap`` section itself keeps Clarify's exact shape).
SE_SECTION_KEY = "kernel_shap_standard_errors"


def local_columns(features: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Column names of out.csv: ``<feature>_<label>``, all features of the first label first."""
    return [f"{feature}_{label}" for label in labels for feature in features]


def local_frame(values: np.ndarray, features, labels, record_ids: pd.Series | None) -> pd.DataFrame:
    """Local values (n, M, D) as the rows of ``out.csv``, the join key first when there is one."""
    n, m, d = values.shape
    # (n, M, D) -> (n, D, M) -> (n, D*M): label-major column blocks
    flat = np.transpose(values, (0, 2, 1)).reshape(n, d * m)
    frame = pd.DataFrame(flat, columns=local_columns(features, labels))
    if record_ids is not None:
        frame.insert(0, record_ids.name, record_ids.to_numpy())
    return frame


def shap_local_frame(result) -> pd.DataFrame:
    """``explanations_shap/out.csv``: shape (n, [1 +] D*M), the join key first when there is one."""
    return local_frame(result.values, result.features, result.labels, result.record_ids)


def shap_standard_error_frame(result) -> pd.DataFrame:
    """``explanations_shap/out_standard_errors.csv``: laid out as :func:`shap_local_frame`."""
    return local_frame(result.standard_errors, result.features, result.labels, result.record_ids)


def _json_error(value) -> float | None:
    """A standard error for analysis.json: a float, or None (JSON null) when it is inf or NaN,
    i.e. when the coalitions evaluated cannot bound the error (analysis.json holds no inf)."""
    value = float(value)
    return value if np.isfinite(value) else None


def shap_section(result) -> dict[str, Any]:
    """``explanations.kernel_shap``, features in model order."""
    return {label: {"global_shap_values": {f: float(result.global_values[j, k]) for j, f in enumerate(result.features)},
                    "expected_value": float(result.expected_value[k])}
            for k, label in enumerate(result.labels)}


def shap_standard_error_section(result) -> dict[str, Any]:
    """``explanations.kernel_shap_standard_errors`` (extension): global and local standard errors.

    ``result`` is a :class:`~clarify_engine.explain.ShapResult` (the local standard errors are
    summarised here, summed in row order) or a streamed summary with ``mean_local_standard_error``
    and ``max_local_standard_error`` arrays of shape (M, D).
    """
    if hasattr(result, "mean_local_standard_error"):
        mean, most = result.mean_local_standard_error, result.max_local_standard_error
    else:
        se = result.standard_errors
        mean = ordered_sum(se) / se.shape[0]
        most = se.max(axis=0)
    features = result.features
    return {label: {
        "global_shap_values": {f: _json_error(result.global_standard_errors[j, k]) for j, f in enumerate(features)},
        "mean_local_standard_error": {f: _json_error(mean[j, k]) for j, f in enumerate(features)},
        "max_local_standard_error": {f: _json_error(most[j, k]) for j, f in enumerate(features)},
    } for k, label in enumerate(result.labels)}


def shap_manifest(result, calls) -> dict[str, Any]:
    """The run manifest's ``kernel_shap`` entry; ``calls`` counts the model calls of the stage."""
    core = result.core
    return {
        "records": int(result.records),
        "features_explained": list(result.features),
        "labels": list(result.labels),
        "agg_method": result.agg_method,
        "link": result.link,
        "seed": result.seed,
        "num_samples": result.num_samples,
        "method": core.method,
        "method_reason": result.method_reason,
        "n_coalitions": int(core.n_coalitions),
        "exact": bool(core.exact),
        "regression_adjusted": bool(core.regression_adjusted),
        "budget_small": result.budget_note is not None,
        "budget_to_determine_every_value": result.budget_to_determine_every_value,
        "values_determined": bool(core.determined),
        "budget_note": result.budget_note,
        "baseline": {"source": result.baseline_source, "rows": int(len(result.baseline)),
                     "weights": [float(w) for w in result.baseline_weights]},
        "model_rows_sent": int(calls.rows),
        "model_calls": int(calls.calls),
        "seconds": {**result.seconds, "model": round(calls.seconds, 3)},
    }


def pdp_entries(result) -> list[dict[str, Any]]:
    """``explanations.pdp``: one entry per feature, in the order chosen."""
    entries = []
    for curve in result.curves:
        if curve.error is not None:
            entries.append({"feature_name": curve.feature, "data_type": curve.data_type, "error": curve.error})
            continue
        entries.append({
            "feature_name": curve.feature,
            "data_type": curve.data_type,
            "feature_values": list(curve.values),
            "data_distribution": list(curve.distribution),
            "model_predictions": [[float(v) for v in row] for row in curve.predictions],
            "label_headers": list(result.labels),
        })
    return entries


def pdp_manifest(result, calls) -> dict[str, Any]:
    """The run manifest's ``pdp`` entry; ``calls`` counts the model calls of the stage."""
    return {
        "features": result.features,
        "selection": result.selection,
        "records": result.records,
        "grid_resolution": result.grid_resolution,
        "per_feature": {
            curve.feature: ({"data_type": curve.data_type, "grid_size": len(curve.values),
                             "missing_values": curve.missing} if curve.error is None else
                            {"data_type": curve.data_type, "error": curve.error})
            for curve in result.curves
        },
        "labels": None if result.labels is None else list(result.labels),
        "model_rows_sent": int(calls.rows),
        "model_calls": int(calls.calls),
        "max_rows_per_call": result.max_rows_per_call,
        "seconds": {"total": result.seconds, "model": round(calls.seconds, 3)},
    }
