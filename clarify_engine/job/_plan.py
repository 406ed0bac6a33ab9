"""The planner: the one reader of the config below the door.

:func:`plan_data` resolves the dataset keys for the loader; :func:`plan` resolves the
config and the loaded dataset into a :class:`~clarify_engine.job._specs.Job`: which methods
run (and why the others do not), and a frozen spec per engine with every default taken
from the config's declarations and every cross-field check made here. Engines never see
the config.
"""

from __future__ import annotations

import logging

from typing import Any, Sequence

from clarify_engine._methods import split
from clarify_engine.config import AnalysisConfig, check_model_source
from clarify_engine.config._sections import PdpConfig, ShapConfig
from clarify_engine.data import DataSpec, Dataset, FacetKey
from clarify_engine.errors import ConfigError, NotSupportedError
from clarify_engine.bias import BiasSpec
from clarify_engine.job._plan_bias import plan_bias
from clarify_engine.job._plan_text import plan_text
from clarify_engine.job._plan_segments import plan_segments
from clarify_engine.job._plan_image import plan_image
from clarify_engine.explain._spec import BaselineSpec, PdpSpec, ShapSpec
from clarify_engine.job._plan_exact import exact_spec
from clarify_engine.job._specs import Job
from clarify_engine.predict._spec import ModelSpec
from clarify_engine.report._spec import ReportSpec

__all__ = ["plan", "plan_data", "resolve_features"]

log = logging.getLogger(__name__)

#: Request format for a remote model when the config has no predictor block (a model
#: server given as ``analyze(model=URL)`` / ``--model URL``), by dataset type: tabular rows
#: travel as CSV, as the SageMaker built-in algorithms take them.
_REQUEST_WITHOUT_PREDICTOR = {"text/csv": "text/csv", "application/x-parquet": "text/csv"}

def plan_data(config: AnalysisConfig) -> DataSpec:
    """The dataset keys of ``config`` for :func:`clarify_engine.data.load_dataset`.

    Raises
    ------
    NotSupportedError
        SageMaker capture data.
    """
    dataset_type = config.dataset_type.lower()
    if dataset_type == "application/x-image":  # a folder, prefix or manifest of images
        return DataSpec(dataset_type=dataset_type, dataset_uri=config.dataset_uri)
    if dataset_type == "application/sagemakercapturejson":
        raise NotSupportedError(
            "dataset_type 'application/sagemakercapturejson' (Model Monitor capture data) is not supported; "
            "the SageMaker SDK rejects it too. Convert the capture to JSON Lines or CSV.")
    return DataSpec(
        dataset_type=dataset_type,
        dataset_uri=config.dataset_uri,
        headers=_tuple(config.headers),
        label=config.label,
        predicted_label=config.predicted_label,
        features=config.features,
        excluded_columns=_tuple(config.excluded_columns),
        joinsource_name_or_index=config.joinsource_name_or_index,
        facet_dataset_uri=config.facet_dataset_uri,
        facet_headers=_tuple(config.facet_headers),
        predicted_label_dataset_uri=config.predicted_label_dataset_uri,
        predicted_label_headers=_tuple(config.predicted_label_headers),
        facet=tuple(FacetKey(f.name_or_index, _tuple(f.value_or_threshold)) for f in config.facet or ()),
        group_variable=config.group_variable,
    )


def _tuple(value: Any) -> tuple | None:
    return None if value is None else tuple(value)


def resolve_features(entries: Sequence[Any], features: Sequence[str], path: str) -> list[int]:
    """Indices into ``features`` of config entries that name a feature or index it.

    Parameters
    ----------
    entries : sequence of str or int
        Names, or 0-based indices into the model-input ``features``.
    features : sequence of str
        The model-input features, in model order.
    path : str
        Config path of the list, for messages (e.g. ``methods.shap.features_to_explain``).

    Returns
    -------
    list of int
        In the order given.

    Raises
    ------
    ConfigError
        An entry that is neither a name nor an int, an unknown name, an index out of
        range, a feature listed twice.
    """
    features = list(features)
    chosen: list[int] = []
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]"
        if isinstance(entry, bool) or not isinstance(entry, (str, int)):
            raise ConfigError(where, f"expected a feature name or index, found {entry!r}")
        if isinstance(entry, str):
            if entry not in features:
                raise ConfigError(where, f"expected one of the model-input features {features}, found {entry!r} "
                                         "(label, predicted label, join key and excluded columns are not model "
                                         "inputs)")
            index = features.index(entry)
        else:
            index = int(entry)
            if not 0 <= index < len(features):
                raise ConfigError(where, f"expected an index into the {len(features)} model-input features "
                                         f"(0..{len(features) - 1}), found {index}")
        if index in chosen:
            raise ConfigError(where, f"feature {features[index]!r} is listed twice")
        chosen.append(index)
    return chosen


def _bias(config: AnalysisConfig, dataset: Dataset, runnable: Sequence[str]) -> tuple[BiasSpec, ...]:
    return tuple(spec for method, spec in plan_bias(config, dataset).items() if method in runnable)


def _shap(config: AnalysisConfig, shap: ShapConfig, dataset: Dataset, kernel_shap_only: bool = False) -> ShapSpec:
    features = tuple(dataset.features)
    if not features:
        raise ConfigError("methods.shap", "the dataset has no model-input features to explain")
    if shap.features_to_explain is None:
        explain = tuple(range(len(features)))
    else:
        explain = tuple(sorted(resolve_features(shap.features_to_explain, features,
                                                "methods.shap.features_to_explain")))
    given = shap.baseline
    baseline = BaselineSpec(given=None if isinstance(given, str) else given,
                            location=given if isinstance(given, str) else None, dataset_type=config.dataset_type.lower(),
                            features_path=config.features, num_clusters=shap.num_clusters)
    return ShapSpec(
        features=features, explain=explain, baseline=baseline, num_samples=shap.num_samples, seed=shap.seed,
        agg_method=shap.agg_method_or_default.lower(),
        link="logit" if shap.use_logit_or_default else "identity",
        save_local=shap.save_local_shap_values_or_default, joinsource=dataset.joinsource,
        exact=exact_spec(config, kernel_shap_only=kernel_shap_only),
        regression_adjusted=shap.regression_adjusted_or_default,
    )


def _pdp(pdp: PdpConfig, dataset: Dataset) -> PdpSpec:
    features = None
    if pdp.features is not None:
        names = list(dataset.features)
        features = tuple(names[j] for j in resolve_features(pdp.features, names, "methods.pdp.features"))
    return PdpSpec(features=features, top_k_features=pdp.top_k_features_or_default,
                   grid_resolution=pdp.grid_resolution)


def _model(config: AnalysisConfig, image_model_type: str | None = None) -> ModelSpec:
    p = config.predictor
    dataset_type = config.dataset_type.lower()
    threshold = config.probability_threshold_or_default
    if p is None:
        content_type = _REQUEST_WITHOUT_PREDICTOR.get(dataset_type)
        return ModelSpec(content_type=content_type, accept_type=content_type, probability_threshold=threshold)
    return ModelSpec(
        endpoint_name=p.endpoint_name, model_name=p.model_name, instance_type=p.instance_type,
        initial_instance_count=p.initial_instance_count, accelerator_type=p.accelerator_type,
        endpoint_name_prefix=p.endpoint_name_prefix_or_default, target_model=p.target_model,
        custom_attributes=p.custom_attributes, content_type=p.content_type_or_default(dataset_type),
        accept_type=p.accept_type_or_default(dataset_type), content_template=p.content_template,
        record_template=p.record_template, label=p.label, probability=p.probability,
        label_headers=_tuple(p.label_headers), probability_threshold=threshold, image_model_type=image_model_type,
    )


def _report(config: AnalysisConfig) -> ReportSpec | None:
    report = config.methods.report
    if report is None:
        return None
    if config.is_time_series:
        log.info("Report not written: Clarify writes no report for time-series jobs (methods.report is ignored)")
        return None
    values = config.label_values_or_threshold
    return ReportSpec(report.name, report.title_or_default, None if values is None else tuple(values))


def plan(config: AnalysisConfig, dataset: Dataset, model: Any = None, *, kernel_shap_only: bool = False) -> Job:
    """Resolve ``config`` and the loaded ``dataset`` into the job's plan.

    Parameters
    ----------
    config : AnalysisConfig
        A validated configuration (:func:`clarify_engine.config.load_config`).
    dataset : Dataset
        The loaded dataset (its resolved column roles name the specs' columns).
    model : object, optional
        The model given to the job instead of the config's ``predictor`` endpoint.
    kernel_shap_only : bool
        Never take an exact SHAP path (``--kernel-shap-only``), whatever ``methods.shap.exact``.

    Returns
    -------
    Job

    Raises
    ------
    NotSupportedError
        Nothing requested can run.
    ConfigError
        Predictions are needed and neither ``model`` nor the config's ``predictor`` names a
        model; ``features_to_explain`` or ``methods.pdp.features`` name no model input.
    """
    if model is None:
        check_model_source(config)
    runnable, not_run = split(config)
    if config.dataset_type.lower() == "application/x-image":  # images: SLIC superpixels, not columns
        image = plan_image(config)
        return Job(runnable=tuple(runnable), not_run=tuple(not_run), image=image, needs_model=True,
                   model=_model(config, image.model_type), report=_report(config))
    bias = _bias(config, dataset, runnable)
    methods = config.methods
    text_job = "shap" in runnable and methods.shap is not None and methods.shap.text_config is not None
    text = plan_text(config, dataset) if text_job else None
    shap = (_shap(config, methods.shap, dataset, kernel_shap_only)
            if "shap" in runnable and methods.shap is not None and not text_job else None)
    pdp = _pdp(methods.pdp, dataset) if "pdp" in runnable and methods.pdp is not None else None
    needs_model = (shap is not None or text is not None or pdp is not None
                   or any(b.stage == "post_training" and b.predicted_label is None for b in bias))
    segments = plan_segments(config, list(map(str, dataset.frame.columns))) if bias else None
    return Job(runnable=tuple(runnable), not_run=tuple(not_run), bias=bias, shap=shap, pdp=pdp,
               model=_model(config) if needs_model else None, needs_model=needs_model, report=_report(config),
               text=text,
               segments=None if segments is None or segments.empty else segments)
