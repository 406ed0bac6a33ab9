"""Config -> :class:`~clarify_engine.explain.text.TextSpec`: the one place a text job reads the config.

The planner resolves settings only; the baseline rows (given, read from a file, or computed)
are the text engine's work when the job runs (``explain/text/_baseline.py``).
"""

from __future__ import annotations

from typing import Any

from clarify_engine.config._constants import TEXT_LANGUAGES
from clarify_engine.errors import ConfigError, NotSupportedError

__all__ = ["LANGUAGE_CODES", "language_code", "plan_text"]

#: Clarify's language names and codes (lower case) -> spaCy language code (the constants list
#: them in (name, code) pairs; every code is spaCy's).
LANGUAGE_CODES: dict[str, str] = {}
for _name, _code in zip(TEXT_LANGUAGES[0::2], TEXT_LANGUAGES[1::2]):
    LANGUAGE_CODES[_name] = _code
    LANGUAGE_CODES[_code] = _code


def language_code(language: str) -> str:
    """spaCy code of a ``text_config.language`` value (name or code, any case).

    Raises
    ------
    NotSupportedError
        A language Clarify does not list (the config schema refuses it first).
    """
    code = LANGUAGE_CODES.get(str(language).strip().lower())
    if code is None:
        raise NotSupportedError(
            f"methods.shap.text_config.language: {language!r} is not a language Clarify supports; "
            f"use one of the names or ISO codes of the Developer Guide (e.g. english / en, "
            f"multi-language / xx for mixed text)")
    return code


def plan_text(config: Any, dataset: Any, *, max_record_bytes: int | None = None):
    """Resolve ``methods.shap`` with ``text_config`` against the loaded dataset.

    Parameters
    ----------
    config : AnalysisConfig
    dataset : Dataset
        ``frame`` (its text columns are found by :func:`clarify_engine.explain.text.detect_text_columns`),
        ``features`` (model order) and ``joinsource``.
    max_record_bytes : int, optional
        The model's payload limit (the job runner sets it for a remote model); records whose
        synthetic rows may exceed it are not explained.

    Returns
    -------
    TextSpec
        With ``baseline_spec``: where the baseline comes from (given rows, a file, or the
        default); the text engine reads it when the job runs
        (:func:`clarify_engine.explain.text.resolve_baseline`).

    Raises
    ------
    ConfigError
        No ``text_config``; ``features_to_explain`` given.
    DataError
        No feature column is text.
    NotSupportedError
        Unknown language, or one whose tokenizer package is missing.
    """
    from clarify_engine.explain._spec import BaselineSpec
    from clarify_engine.explain.text import TextSpec, detect_text_columns
    from clarify_engine.explain.text._languages import check_language

    shap_cfg = config.methods.shap if config.methods is not None else None
    text_cfg = None if shap_cfg is None else shap_cfg.text_config
    if shap_cfg is None or text_cfg is None:
        raise ConfigError("methods.shap.text_config", "expected a text_config section, found none")
    if shap_cfg.features_to_explain is not None:
        raise ConfigError("methods.shap.features_to_explain",
                          "not supported with text_config (tabular features only); remove features_to_explain")
    language = language_code(text_cfg.language)
    check_language(language)
    features = tuple(dataset.features)
    if not features:
        raise ConfigError("methods.shap", "the dataset has no model-input features to explain")
    text_columns = detect_text_columns(dataset.frame, features)
    given = shap_cfg.baseline
    baseline = BaselineSpec(given=None if isinstance(given, str) else given,
                            location=given if isinstance(given, str) else None,
                            dataset_type=config.dataset_type.lower(), features_path=config.features,
                            num_clusters=shap_cfg.num_clusters)
    source = "default" if baseline.source == "clustering" else baseline.source
    return TextSpec(
        granularity=text_cfg.granularity.lower(), language=language, features=features, text_columns=text_columns,
        baseline=(), baseline_weights=(), num_samples=shap_cfg.num_samples, seed=shap_cfg.seed,
        link="logit" if shap_cfg.use_logit_or_default else "identity",
        agg_method=shap_cfg.agg_method_or_default.lower(), max_top_tokens=text_cfg.max_top_tokens_or_default,
        max_record_bytes=max_record_bytes, baseline_source=source, baseline_spec=baseline,
        save_local=shap_cfg.save_local_shap_values_or_default, joinsource=dataset.joinsource)
