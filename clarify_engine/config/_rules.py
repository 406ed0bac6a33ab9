"""Rules that tie several keys of analysis_config.json together.

They run once every key has passed its own declaration (``_spec``), in the order
below; the first broken rule raises :class:`ConfigError` naming the key to change.
Sources: contract §2.1-§2.6 and the SDK's config classes (SDK-side ``ValueError``s,
contract §2.5). Where the SDK and the Developer Guide disagree, what the SDK writes
is accepted (contract §9).
"""

from __future__ import annotations

from clarify_engine.config import _constants as C
from clarify_engine.errors import ConfigError

__all__ = ["check_cross_field_rules", "RULES"]


def _methods(cfg) -> None:
    """At least one analysis method (report alone computes nothing)."""
    m = cfg.methods
    if not (m.bias_requested or m.explainability_requested):
        raise ConfigError(
            "methods",
            "expected at least one analysis method (pre_training_bias, post_training_bias, shap, "
            "pdp or asymmetric_shapley_value), found "
            + (", ".join(m.present_keys()) or "none"))


def _dataset_type_keys(cfg) -> None:
    """Keys that only some dataset types support (SDK DataConfig)."""
    dt = cfg.dataset_type
    if dt == "application/json" and cfg.features is None and not cfg.is_time_series:
        raise ConfigError(
            "features",
            "required for dataset_type application/json: give the JMESPath that yields the "
            "2-D list of feature values")
    if dt != "text/csv":
        for key in ("facet_dataset_uri", "facet_headers", "predicted_label_dataset_uri",
                    "predicted_label_headers"):
            if getattr(cfg, key) is not None:
                raise ConfigError(key, f"only supported for dataset_type text/csv, found {dt!r}")
    if dt == "application/x-image":
        for key in ("pre_training_bias", "post_training_bias"):
            if getattr(cfg.methods, key, None) is not None:
                raise ConfigError(f"methods.{key}",
                                  "not supported for dataset_type application/x-image (images have no label or "
                                  "facet columns); remove it and keep methods.shap with image_config")
    if dt not in C.TABULAR_DATASET_TYPES:
        for key in ("predicted_label", "excluded_columns"):
            if getattr(cfg, key) is not None:
                raise ConfigError(key, f"not supported for dataset_type {dt!r} (tabular data only)")
    if cfg.facet_headers is not None and cfg.facet_dataset_uri is None:
        raise ConfigError("facet_headers", "only meaningful with facet_dataset_uri, which is missing")
    if cfg.predicted_label_headers is not None and cfg.predicted_label_dataset_uri is None:
        raise ConfigError(
            "predicted_label_headers", "only meaningful with predicted_label_dataset_uri, which is missing")


def _unique_headers(cfg) -> None:
    """Column names must be unique, or columns could not be addressed by name."""
    for key in ("headers", "facet_headers", "predicted_label_headers"):
        seen = set()
        for i, name in enumerate(getattr(cfg, key) or ()):
            if name in seen:
                raise ConfigError(f"{key}[{i}]", f"column name {name!r} appears twice; names must be unique")
            seen.add(name)


def _columns_in_headers(cfg) -> None:
    """CSV/Parquet with headers: columns named by string must be among the headers."""
    if cfg.dataset_type not in ("text/csv", "application/x-parquet") or cfg.headers is None:
        return
    headers = set(cfg.headers)

    def need(path: str, name, where=headers, where_key="headers") -> None:
        if isinstance(name, str) and name not in where:
            raise ConfigError(path, f"column {name!r} is not in {where_key}; expected one of "
                                    f"{', '.join(map(repr, sorted(where)))}")

    need("label", cfg.label)
    if cfg.predicted_label_dataset_uri is None:
        need("predicted_label", cfg.predicted_label)
    elif cfg.predicted_label_headers is not None:
        need("predicted_label", cfg.predicted_label, set(cfg.predicted_label_headers), "predicted_label_headers")
    facet_cols = headers | set(cfg.facet_headers or ())
    for i, facet in enumerate(cfg.facet or ()):
        if cfg.facet_dataset_uri is None or cfg.facet_headers is not None:
            need(f"facet[{i}].name_or_index", facet.name_or_index, facet_cols,
                 "headers" if cfg.facet_dataset_uri is None else "headers or facet_headers")
    need("group_variable", cfg.group_variable, facet_cols, "headers")
    need("joinsource_name_or_index", cfg.joinsource_name_or_index)
    for i, col in enumerate(cfg.excluded_columns or ()):
        need(f"excluded_columns[{i}]", col)
    shap = cfg.methods.shap
    if shap is not None:
        for i, col in enumerate(shap.features_to_explain or ()):
            need(f"methods.shap.features_to_explain[{i}]", col)
    for i, col in enumerate(getattr(cfg.methods.pdp, "features", None) or ()):
        need(f"methods.pdp.features[{i}]", col)


def _bias(cfg) -> None:
    """Bias methods need a label, its positive values and at least one facet.

    ``label`` is needed by every bias method: pre-training metrics compare label
    distributions, and post-training metrics compare predicted with true labels
    (smclarify builds every report from a label column). The SDK's DataConfig lets
    ``label`` be absent only when the data holds no label, i.e. explainability-only
    jobs. ``label_values_or_threshold`` (the positive outcome) and ``facet`` are
    needed to binarise label and facet; time series take no bias methods at all.
    """
    m = cfg.methods
    if not m.bias_requested:
        return
    which = "pre_training_bias" if m.pre_training_bias is not None else "post_training_bias"
    if cfg.is_time_series:
        raise ConfigError(f"methods.{which}", "bias methods are not supported for time series "
                                              "(time_series_data_config is set)")
    for key in ("label", "label_values_or_threshold", "facet"):
        if getattr(cfg, key) is None:
            raise ConfigError(key, f"required by methods.{which}")


def check_model_source(cfg) -> None:
    """Predictions come from a model unless the data holds them.

    Not one of :data:`RULES`: a config is complete without a ``predictor`` when the
    caller supplies the model another way (``analyze(..., model=...)``, ``--model``).
    The job runner calls this when no model was supplied, before any compute.
    """
    m = cfg.methods
    reasons = [k for k in ("shap", "pdp", "asymmetric_shapley_value") if getattr(m, k) is not None]
    if m.post_training_bias is not None and not cfg.predictions_in_data:
        reasons.insert(0, "post_training_bias")
    if not reasons:
        return
    if cfg.predictor is None:
        hint = ("; or give predicted_label / predicted_label_dataset_uri"
                if reasons == ["post_training_bias"] else "")
        raise ConfigError(
            "predictor",
            f"required by methods.{reasons[0]}: give endpoint_name, or model_name with "
            f"instance_type and initial_instance_count{hint}")
    if not cfg.predictor.has_model:
        raise ConfigError(
            "predictor.endpoint_name",
            f"methods.{reasons[0]} needs a model: give endpoint_name, or model_name with "
            "instance_type and initial_instance_count")


def _predictor(cfg) -> None:
    """Request/response formats and templates (SDK ModelConfig)."""
    p = cfg.predictor
    if p is None:
        return
    dt = cfg.dataset_type
    if dt == "application/x-parquet" and p.content_type is None and p.has_model:
        raise ConfigError("predictor.content_type", "required when dataset_type is application/x-parquet")
    content_type = p.content_type_or_default(dt)
    template = p.content_template
    if content_type == "application/jsonlines" and p.has_model:
        if template is None:
            raise ConfigError("predictor.content_template",
                              "required for content_type application/jsonlines; e.g. "
                              '"{\\"features\\":$features}"')
        if isinstance(template, str) and "$features" not in template:
            raise ConfigError("predictor.content_template",
                              f"expected a template with the placeholder $features, found {template!r}")
    if content_type == "application/json" and p.has_model and not cfg.is_time_series:
        for key in ("content_template", "record_template"):
            if getattr(p, key) is None:
                raise ConfigError(f"predictor.{key}", "required for content_type application/json")
        if isinstance(template, str) and "$record" not in template:
            raise ConfigError("predictor.content_template",
                              f"expected a template with the placeholder $records or $record, "
                              f"found {template!r}")
    if p.record_template is not None and content_type != "application/json":
        raise ConfigError("predictor.record_template",
                          f"only used with content_type application/json, found {content_type!r}")
    if dt == "application/x-image" and p.has_model and p.label_headers is None and cfg.methods.shap:
        raise ConfigError("predictor.label_headers",
                          "required for computer-vision models (names of the score positions)")


def _explainability(cfg) -> None:
    """SHAP / PDP options that depend on the dataset or on each other."""
    m = cfg.methods
    if m.pdp is not None and m.pdp.features is None and m.shap is None:
        raise ConfigError("methods.pdp.features",
                          "required when methods.shap is not requested (otherwise the top-k "
                          "features by SHAP are plotted)")
    shap = m.shap
    if shap is None:
        return
    if shap.image_config is not None and cfg.dataset_type != "application/x-image":
        raise ConfigError("methods.shap.image_config",
                          f"only for dataset_type application/x-image, found {cfg.dataset_type!r}")
    if shap.text_config is not None and cfg.dataset_type == "application/x-image":
        raise ConfigError("methods.shap.text_config", "not supported for dataset_type application/x-image")
    if shap.features_to_explain is not None and cfg.dataset_type not in C.TABULAR_DATASET_TYPES:
        raise ConfigError("methods.shap.features_to_explain",
                          f"tabular datasets only, found dataset_type {cfg.dataset_type!r}")


def _time_series(cfg) -> None:
    """Time-series keys go together, with application/json data only (contract §2.6)."""
    ts = cfg.time_series_data_config
    m = cfg.methods
    p = cfg.predictor
    if ts is None:
        if m.asymmetric_shapley_value is not None:
            raise ConfigError("methods.asymmetric_shapley_value",
                              "only for time series: time_series_data_config is missing")
        if p is not None and p.time_series_predictor_config is not None:
            raise ConfigError("predictor.time_series_predictor_config",
                              "only for time series: time_series_data_config is missing")
        return
    if cfg.dataset_type != "application/json":
        raise ConfigError("time_series_data_config",
                          f"only supported for dataset_type application/json, found {cfg.dataset_type!r}")
    for key in ("shap", "pdp"):
        if getattr(m, key) is not None:
            raise ConfigError(f"methods.{key}",
                              "not supported for time series; use methods.asymmetric_shapley_value")
    if cfg.excluded_columns is not None:
        raise ConfigError("excluded_columns", "not supported for time series")
    if p is not None and p.has_model:
        if p.time_series_predictor_config is None:
            raise ConfigError("predictor.time_series_predictor_config",
                              "required for time series: give forecast, the JMESPath of the forecast")
        if p.content_type is not None and p.content_type != "application/json":
            raise ConfigError("predictor.content_type",
                              f"time series models take application/json, found {p.content_type!r}")
    asv = m.asymmetric_shapley_value
    baseline = getattr(asv, "baseline", None)
    if baseline is not None and not isinstance(baseline, str) and baseline.static_covariates is not None:
        n = len(ts.static_covariates or ())
        for item, values in baseline.static_covariates.items():
            if len(values) != n:
                raise ConfigError(
                    f"methods.asymmetric_shapley_value.baseline.static_covariates.{item}",
                    f"expected {n} values (one per time_series_data_config.static_covariates entry), "
                    f"found {len(values)}")


#: The cross-field rules, in the order they are checked.
RULES = (
    _methods,
    _dataset_type_keys,
    _unique_headers,
    _time_series,
    _bias,
    _predictor,
    _explainability,
    _columns_in_headers,
)


def check_cross_field_rules(cfg) -> None:
    """Apply every rule of :data:`RULES` to a config whose keys are individually valid.

    Raises
    ------
    ConfigError
        From the first rule broken, naming the key to change.
    """
    for rule in RULES:
        rule(cfg)
