"""Config -> :class:`~clarify_engine.explain.text.TextSpec`: the one place a text job reads the config."""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd

from clarify_engine.errors import ConfigError

__all__ = ["plan_text"]

log = logging.getLogger("clarify_engine")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    value = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return default if value is None else value


def plan_text(config: Any, dataset: Any, *, max_record_bytes: int | None = None, base_dir: Any = None,
              storage_options: dict | None = None):
    """Resolve ``methods.shap`` with ``text_config`` against the dataset.

    Parameters
    ----------
    config : AnalysisConfig or Mapping
    dataset : Dataset
        ``frame`` and ``features`` (model order).
    max_record_bytes : int, optional
        The model's payload limit (the batched client's ``max_payload_bytes``); records whose
        synthetic rows may exceed it are not explained.
    base_dir, storage_options
        For a baseline given as a file.

    Returns
    -------
    TextSpec

    Raises
    ------
    ConfigError
        No ``text_config``; ``features_to_explain`` given; a bad baseline row.
    DataError
        No feature column is text.
    NotSupportedError
        Unknown language, or one whose tokenizer package is missing.
    """
    from clarify_engine.explain._baseline import baseline_from_config, cluster_baseline
    from clarify_engine.explain.text import TextSpec, detect_text_columns, language_code
    from clarify_engine.explain.text._languages import check_language

    methods = _get(config, "methods", {})
    shap_cfg = _get(methods, "shap")
    text_cfg = _get(shap_cfg, "text_config") if shap_cfg is not None else None
    if text_cfg is None:
        raise ConfigError("methods.shap.text_config", "expected a text_config section, found none")
    if _get(shap_cfg, "features_to_explain") is not None:
        raise ConfigError("methods.shap.features_to_explain",
                          "not supported with text_config (tabular features only); remove features_to_explain")
    language = language_code(_get(text_cfg, "language"))
    check_language(language)
    granularity = str(_get(text_cfg, "granularity")).lower()
    features = tuple(dataset.features)
    if not features:
        raise ConfigError("methods.shap", "the dataset has no model-input features to explain")
    frame = dataset.frame
    text_columns = detect_text_columns(frame, features)
    tab = [f for f in features if f not in text_columns]
    dataset_type = str(_get(config, "dataset_type", "text/csv")).lower()
    baseline = baseline_from_config(shap_cfg, dataset, dataset_type=dataset_type, base_dir=base_dir,
                                    features_path=_get(config, "features"), storage_options=storage_options)
    if baseline is not None:
        weights = np.ones(len(baseline))
        source = "config"
    else:
        # Clarify's documented default for text: empty strings (absent units are dropped); the
        # tabular columns get the computed baseline of a tabular job.
        if tab:
            tab_base, weights = cluster_baseline(frame.loc[:, tab], _get(shap_cfg, "num_clusters"),
                                                 _get(shap_cfg, "seed"))
        else:
            tab_base, weights = pd.DataFrame(index=[0]), np.ones(1)
        baseline = pd.DataFrame({f: ([""] * len(tab_base) if f in text_columns else tab_base[f].tolist())
                                 for f in features}, columns=list(features))
        source = "default"
        log.info("Text SHAP: no baseline given: absent %s units are dropped (empty string, the Developer "
                 "Guide's default)%s", granularity,
                 f"; tabular features {tab} use a computed baseline of {len(tab_base)} rows" if tab else "")
    rows = tuple(tuple(None if (not isinstance(v, str) and pd.isna(v)) else v for v in row)
                 for row in baseline.loc[:, list(features)].itertuples(index=False, name=None))
    return TextSpec(
        granularity=granularity, language=language, features=features, text_columns=text_columns,
        baseline=rows, baseline_weights=tuple(float(w) for w in weights),
        num_samples=_get(shap_cfg, "num_samples"), seed=_get(shap_cfg, "seed"),
        link="logit" if _get(shap_cfg, "use_logit", False) else "identity",
        agg_method=str(_get(shap_cfg, "agg_method", "mean_abs")).lower(),
        max_top_tokens=int(_get(text_cfg, "max_top_tokens", 50)),
        max_record_bytes=max_record_bytes, baseline_source=source)
