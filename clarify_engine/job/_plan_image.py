"""``analysis_config.json`` -> :class:`ImageSpec`: every value an image SHAP job uses, resolved once.

The only place the image engine reads the config. Requests that make no sense for images are
refused here, before any image is read or the model is called.
"""

from __future__ import annotations

from clarify_engine._methods import requested
from clarify_engine.errors import ConfigError
from clarify_engine.explain.image._spec import IMAGE_DATASET_TYPE, ImageSpec

__all__ = ["plan_image"]


def _refuse(config) -> None:
    """Every request that makes no sense with image data, as a ConfigError naming the key."""
    for name in requested(config):
        if name not in ("shap",):
            raise ConfigError(f"methods.{name}",
                              "not supported for dataset_type application/x-image (images have no label "
                              "or facet columns); remove it and keep methods.shap with image_config")
    shap = config.methods.shap
    if shap is None or shap.image_config is None:
        raise ConfigError("methods.shap.image_config",
                          "required for dataset_type application/x-image: add "
                          "{\"model_type\": \"IMAGE_CLASSIFICATION\"} or {\"model_type\": \"OBJECT_DETECTION\"}")
    for key in ("excluded_columns", "predicted_label", "predicted_label_dataset_uri", "label", "facet"):
        if getattr(config, key, None) is not None:
            raise ConfigError(key, f"not supported for dataset_type application/x-image (an image dataset has "
                                   f"no columns); remove {key}")
    if shap.features_to_explain is not None:
        raise ConfigError("methods.shap.features_to_explain",
                          "not supported with image_config (every superpixel is explained); remove it")
    if shap.baseline is not None and not isinstance(shap.baseline, str):
        raise ConfigError("methods.shap.baseline",
                          "for images, the location (S3 URI or path) of one baseline image; found "
                          f"{type(shap.baseline).__name__}: give an image location or leave it out for white noise")
    if shap.num_clusters is not None:
        raise ConfigError("methods.shap.num_clusters",
                          "not supported with image_config (the baseline is an image or white noise); remove it")
    p = config.predictor
    if p is None or not p.label_headers:
        raise ConfigError("predictor.label_headers",
                          "required for computer-vision models: list the class names by class id, "
                          "e.g. [\"cat\", \"dog\"]")


def plan_image(config) -> ImageSpec:
    """The :class:`ImageSpec` of an image SHAP job.

    Parameters
    ----------
    config : AnalysisConfig
        With ``dataset_type`` ``application/x-image``.

    Returns
    -------
    ImageSpec

    Raises
    ------
    ConfigError
        Bias methods, ``excluded_columns``, a predicted label, ``features_to_explain`` or
        ``num_clusters`` with image data; no ``image_config``; no ``predictor.label_headers``;
        a ``debug.class_ids`` entry outside ``label_headers``.
    """
    if config.dataset_type != IMAGE_DATASET_TYPE:
        raise ConfigError("dataset_type", f"expected {IMAGE_DATASET_TYPE!r} for image explanations, "
                                          f"found {config.dataset_type!r}")
    _refuse(config)
    shap = config.methods.shap
    ic = shap.image_config
    p = config.predictor
    labels = tuple(str(h) for h in p.label_headers)
    debug = ic.debug
    class_ids = tuple(int(c) for c in debug.class_ids) if debug is not None and debug.class_ids else None
    if class_ids is not None:
        bad = [c for c in class_ids if c >= len(labels)]
        if bad:
            raise ConfigError("methods.shap.image_config.debug.class_ids",
                              f"class ids {bad} are outside predictor.label_headers (ids 0 to {len(labels) - 1}); "
                              "list class ids that label_headers names")
    return ImageSpec(
        model_type=ic.model_type,
        num_segments=ic.num_segments_or_default,
        compactness=float(ic.segment_compactness_or_default),
        num_samples=shap.num_samples,
        seed=shap.seed,
        use_logit=shap.use_logit_or_default,
        baseline=shap.baseline,
        label_headers=labels,
        probability_threshold=float(config.probability_threshold_or_default),
        max_objects=ic.max_objects_or_default,
        iou_threshold=float(ic.iou_threshold_or_default),
        context=float(ic.context_or_default),
        class_ids=class_ids,
        image_names=tuple(debug.image_names) if debug is not None and debug.image_names else None,
        sample_from=debug.sample_from if debug is not None else None,
        sample_to=debug.sample_to if debug is not None else None,
        save_local_values=shap.save_local_shap_values_or_default,
        # image models are always called per masked image: "auto" adjusts (docs/images.md)
        regression_adjusted=shap.regression_adjusted_or_default != "off",
    )
