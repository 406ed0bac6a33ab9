"""SDK-compatible Clarify config classes: each builds one piece of analysis_config.json.

The classes take the arguments of ``sagemaker.clarify`` 2.199.0 (same names, same
defaults, same order) and build the same dictionary, key for key, so that the file
our client writes is byte-identical to the one the SDK writes (contract §2.3, the
fixtures in ``fixtures/sdk_configs``). Their argument checks raise the SDK's
exception types with the SDK's messages (contract §2.5), because user code may
catch them or test for them.

Notes
-----
A value is written only when it is not ``None`` (:func:`_set`), in the order the
SDK writes it; empty lists and ``False`` are written. Getters return deep copies,
so a returned dictionary can be changed without changing the config object.
"""

from __future__ import annotations

import copy
import logging
import re
from abc import ABC, abstractmethod
from enum import Enum
from typing import Any

from clarify_engine.config._constants import TEXT_GRANULARITIES, TEXT_LANGUAGES

__all__ = [
    "BiasConfig",
    "DataConfig",
    "DatasetType",
    "ExplainabilityConfig",
    "ImageConfig",
    "ModelConfig",
    "ModelPredictedLabelConfig",
    "PDPConfig",
    "ProcessingOutputHandler",
    "SHAPConfig",
    "SegmentationConfig",
    "TextConfig",
]

#: The pattern an ``endpoint_name_prefix`` must match at its start (SDK ModelConfig).
ENDPOINT_NAME_PREFIX_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9])"

_DATASET_TYPES = ("text/csv", "application/jsonlines", "application/json",
                  "application/x-parquet", "application/x-image")
_TABULAR_DATASET_TYPES = _DATASET_TYPES[:4]
_ACCEPT_TYPES = ("text/csv", "application/jsonlines", "application/json")
_CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json", "image/jpeg",
                  "image/jpg", "image/png", "application/x-npy")
_AGG_METHODS = ("mean_abs", "median", "mean_sq")
_IMAGE_MODEL_TYPES = ("OBJECT_DETECTION", "IMAGE_CLASSIFICATION")

logger = logging.getLogger(__name__)


def _set(value: Any, key: str, target: dict) -> None:
    """Write ``target[key] = value`` unless ``value`` is ``None`` (the SDK's only omission rule)."""
    if value is not None:
        target[key] = value


class DatasetType(Enum):
    """MIME types of the datasets a Clarify job reads (``dataset_type``)."""

    TEXTCSV = "text/csv"
    JSONLINES = "application/jsonlines"
    JSON = "application/json"
    PARQUET = "application/x-parquet"
    IMAGE = "application/x-image"


class SegmentationConfig:
    """Segments of one column; bias metrics are also computed on each segment.

    Parameters
    ----------
    name_or_index : str or int
        Column the segments are defined on.
    segments : list of list of (str or int)
        One inner list per segment: categorical values, or interval strings such as
        ``"[1, 4]"`` or ``"(2, 5]"`` for a continuous column. The values no segment
        covers form one more segment, ``__default__``.
    config_name : str, optional
        Name of this segmentation in the output.
    display_aliases : list of str, optional
        Display names, one per segment, optionally one more for ``__default__``.

    Raises
    ------
    ValueError
        ``name_or_index`` is None, ``segments`` is not a non-empty list of lists, or
        the number of ``display_aliases`` fits neither count.
    """

    def __init__(self, name_or_index, segments, config_name=None, display_aliases=None):
        if name_or_index is None:
            raise ValueError("`name_or_index` cannot be None")
        if not segments or not isinstance(segments, list) or not all(
                isinstance(segment, list) for segment in segments):
            raise ValueError("`segments` must be a list of lists of values or intervals.")
        if display_aliases is not None and len(display_aliases) not in (len(segments), len(segments) + 1):
            raise ValueError(
                "Number of `display_aliases` must equal the number of segments specified or with "
                "one additional default segment display alias.")
        self.name_or_index = name_or_index
        self.segments = segments
        self.config_name = config_name
        self.display_aliases = display_aliases

    def to_dict(self) -> dict:
        """The ``segment_config`` entry: name_or_index, segments, then the optional keys if truthy."""
        entry = {"name_or_index": self.name_or_index, "segments": self.segments}
        if self.config_name:
            entry["config_name"] = self.config_name
        if self.display_aliases:
            entry["display_aliases"] = self.display_aliases
        return entry


class DataConfig:
    """Where the dataset is, how to read it, and where the results go.

    Parameters
    ----------
    s3_data_input_path : str
        URI (S3, or a local path in local mode) of the dataset object or prefix; it
        becomes the ``dataset`` processing input.
    s3_output_path : str
        Prefix the results are uploaded to (the ``analysis_result`` output).
    s3_analysis_config_output_path : str, optional
        Prefix for ``analysis_config.json``; default ``s3_output_path``.
    label : str or int, optional
        Label column (name or index) or JMESPath (JSON / JSON Lines).
    headers : list of str, optional
        Column names.
    features : str, optional
        JMESPath of the features (JSON Lines; required for JSON).
    dataset_type : str, default "text/csv"
        One of :class:`DatasetType`'s values.
    s3_compression_type : str, default "None"
        ``"None"`` or ``"Gzip"``, for the dataset input.
    joinsource : str or int, optional
        Identifier column, written as ``joinsource_name_or_index``.
    facet_dataset_uri, facet_headers : optional
        A separate CSV dataset holding the facet columns, and its columns.
    predicted_label_dataset_uri, predicted_label_headers : optional
        A separate CSV dataset holding the predicted labels, and its columns.
    predicted_label : str or int, optional
        Predicted-label column or JMESPath (tabular data only).
    excluded_columns : list of (int or str), optional
        Columns not sent to the model (tabular data only).
    segmentation_config : list of SegmentationConfig, optional
        Written as ``segment_config``.

    Raises
    ------
    ValueError
        With the SDK's messages: unknown ``dataset_type``; ``predicted_label`` or
        ``excluded_columns`` with images; facet or predicted-label datasets with
        anything but CSV; JSON without ``features``.

    Notes
    -----
    The dataset input is always ``FullyReplicated``: the container partitions the
    data itself (contract §1.4).
    """

    def __init__(self, s3_data_input_path, s3_output_path, s3_analysis_config_output_path=None,
                 label=None, headers=None, features=None, dataset_type="text/csv",
                 s3_compression_type="None", joinsource=None, facet_dataset_uri=None,
                 facet_headers=None, predicted_label_dataset_uri=None, predicted_label_headers=None,
                 predicted_label=None, excluded_columns=None, segmentation_config=None):
        if dataset_type not in _DATASET_TYPES:
            raise ValueError(f"Invalid dataset_type '{dataset_type}'. Please check the API "
                             "documentation for the supported dataset types.")
        if dataset_type not in _TABULAR_DATASET_TYPES:
            for name, value in (("predicted_label", predicted_label), ("excluded_columns", excluded_columns)):
                if value:
                    raise ValueError(
                        f"The parameter '{name}' is not supported for dataset_type '{dataset_type}'. "
                        "Please check the API documentation for the supported dataset types.")
        if dataset_type != "text/csv":
            for uri, names in ((facet_dataset_uri or facet_headers, "'facet_dataset_uri' and 'facet_headers'"),
                               (predicted_label_dataset_uri or predicted_label_headers,
                                "'predicted_label_dataset_uri' and 'predicted_label_headers'")):
                if uri:
                    raise ValueError(
                        f"The parameters {names} are not supported for dataset_type '{dataset_type}'. "
                        "Please check the API documentation for the supported dataset types.")
        if dataset_type == "application/json" and features is None:
            raise ValueError("features JMESPath is required for application/json dataset_type")
        self.s3_data_input_path = s3_data_input_path
        self.s3_output_path = s3_output_path
        self.s3_analysis_config_output_path = s3_analysis_config_output_path
        self.s3_data_distribution_type = "FullyReplicated"
        self.s3_compression_type = s3_compression_type
        self.label = label
        self.headers = headers
        self.features = features
        self.facet_dataset_uri = facet_dataset_uri
        self.facet_headers = facet_headers
        self.predicted_label_dataset_uri = predicted_label_dataset_uri
        self.predicted_label_headers = predicted_label_headers
        self.predicted_label = predicted_label
        self.excluded_columns = excluded_columns
        self.segmentation_configs = segmentation_config
        self.analysis_config = {"dataset_type": dataset_type}
        for value, key in ((features, "features"), (headers, "headers"), (label, "label"),
                           (joinsource, "joinsource_name_or_index"),
                           (facet_dataset_uri, "facet_dataset_uri"), (facet_headers, "facet_headers"),
                           (predicted_label_dataset_uri, "predicted_label_dataset_uri"),
                           (predicted_label_headers, "predicted_label_headers"),
                           (predicted_label, "predicted_label"), (excluded_columns, "excluded_columns")):
            _set(value, key, self.analysis_config)
        if segmentation_config:
            self.analysis_config["segment_config"] = [item.to_dict() for item in segmentation_config]

    def get_config(self) -> dict:
        """A deep copy of this config's top-level analysis_config keys."""
        return copy.deepcopy(self.analysis_config)


class BiasConfig:
    """The positive label values and the sensitive groups (facets).

    Parameters
    ----------
    label_values_or_threshold : list of (int, float or str)
        Positive label values, or one threshold (exclusive lower bound).
    facet_name : str, int, or list of them
        Facet column(s), by name or index.
    facet_values_or_threshold : list, or list of lists, optional
        Sensitive values (or one threshold) of the facet; with several facets, one
        entry (a list, or None) per facet. None: every value in turn.
    group_name : str or int, optional
        Subgroup column for CDDL / CDDPL, written as ``group_variable``.

    Raises
    ------
    AssertionError
        ``facet_name`` is an empty list.
    ValueError
        Several facets and a different number of value entries.
    """

    def __init__(self, label_values_or_threshold, facet_name, facet_values_or_threshold=None,
                 group_name=None):
        if isinstance(facet_name, list):
            assert len(facet_name) > 0, "Please provide at least one facet"
            if facet_values_or_threshold is not None and len(facet_values_or_threshold) != len(facet_name):
                raise ValueError("The number of facet names doesn't match the number of facet values")
            values = facet_values_or_threshold or [None] * len(facet_name)
            facets = []
            for name, value in zip(facet_name, values):
                facet = {"name_or_index": name}
                _set(value, "value_or_threshold", facet)
                facets.append(facet)
        else:
            facet = {"name_or_index": facet_name}
            _set(facet_values_or_threshold, "value_or_threshold", facet)
            facets = [facet]
        self.analysis_config = {"label_values_or_threshold": label_values_or_threshold, "facet": facets}
        _set(group_name, "group_variable", self.analysis_config)

    def get_config(self) -> dict:
        """A deep copy of ``label_values_or_threshold``, ``facet`` and ``group_variable``."""
        return copy.deepcopy(self.analysis_config)


class ModelConfig:
    """The model to call: a shadow endpoint made from a model, or an existing endpoint.

    Parameters
    ----------
    model_name, instance_count, instance_type : optional
        The model and the shadow endpoint's size; all three, or ``endpoint_name``.
    accept_type : str, optional
        Response MIME type: text/csv, application/jsonlines or application/json.
    content_type : str, optional
        Request MIME type (the accept types, image/jpeg, image/jpg, image/png,
        application/x-npy).
    content_template : str, optional
        Request template; required for JSON Lines (``$features``) and JSON
        (``$record`` or ``$records``).
    record_template : str, optional
        Per-record template for JSON requests.
    custom_attributes, accelerator_type, target_model : str, optional
        Passed through to the predictor section.
    endpoint_name_prefix : str, optional
        Shadow-endpoint name prefix; must match :data:`ENDPOINT_NAME_PREFIX_PATTERN`.
    endpoint_name : str, optional
        An existing endpoint (no shadow endpoint, no prefix).

    Raises
    ------
    AssertionError
        Neither or both of the model triple and ``endpoint_name``; a prefix with
        ``endpoint_name``.
    ValueError
        With the SDK's messages: bad prefix, accept or content type, or template.
    """

    def __init__(self, model_name=None, instance_count=None, instance_type=None, accept_type=None,
                 content_type=None, content_template=None, record_template=None,
                 custom_attributes=None, accelerator_type=None, endpoint_name_prefix=None,
                 target_model=None, endpoint_name=None):
        rule = (all([model_name, instance_count, instance_type]), bool(endpoint_name))
        assert any(rule) and not all(rule)
        if endpoint_name:
            assert not endpoint_name_prefix
        if endpoint_name:
            self.predictor_config = {"endpoint_name": endpoint_name}
        else:
            self.predictor_config = {"model_name": model_name, "instance_type": instance_type,
                                     "initial_instance_count": instance_count}
        if endpoint_name_prefix:
            if re.search(ENDPOINT_NAME_PREFIX_PATTERN, endpoint_name_prefix) is None:
                raise ValueError("Invalid endpoint_name_prefix. Please follow pattern "
                                 "^[a-zA-Z0-9](-*[a-zA-Z0-9]).")
            self.predictor_config["endpoint_name_prefix"] = endpoint_name_prefix
        if accept_type is not None:
            if accept_type not in _ACCEPT_TYPES:
                raise ValueError(f"Invalid accept_type {accept_type}. "
                                 "Please choose text/csv or application/jsonlines.")
            self.predictor_config["accept_type"] = accept_type
        if content_type is not None:
            if content_type not in _CONTENT_TYPES:
                raise ValueError(f"Invalid content_type {content_type}. "
                                 "Please choose text/csv or application/jsonlines.")
            _check_templates(content_type, content_template, record_template)
            self.predictor_config["content_type"] = content_type
        _set(content_template, "content_template", self.predictor_config)
        _set(record_template, "record_template", self.predictor_config)
        _set(custom_attributes, "custom_attributes", self.predictor_config)
        _set(accelerator_type, "accelerator_type", self.predictor_config)
        _set(target_model, "target_model", self.predictor_config)

    def get_predictor_config(self) -> dict:
        """A deep copy of the ``predictor`` section this config contributes."""
        return copy.deepcopy(self.predictor_config)


def _check_templates(content_type: str, content_template, record_template) -> None:
    """The SDK's template checks for JSON Lines and JSON requests (messages as the SDK's)."""
    if content_type == "application/jsonlines":
        if content_template is None:
            raise ValueError(f"content_template field is required for content_type {content_type}")
        if "$features" not in content_template:
            raise ValueError(f"Invalid content_template {content_template}. "
                             "Please include a placeholder $features.")
    elif content_type == "application/json":
        if content_template is None or record_template is None:
            raise ValueError("content_template and record_template are required for content_type "
                             f"{content_type}")
        if "$record" not in content_template:
            raise ValueError(f"Invalid content_template {content_template}. "
                             "Please include either placeholder $records or $record.")


class ModelPredictedLabelConfig:
    """Where the predicted label and the scores are in the model's reply.

    Parameters
    ----------
    label : str or int, optional
        Index (CSV) or JMESPath (JSON) of the predicted label.
    probability : str or int, optional
        Index or JMESPath of the score(s).
    probability_threshold : float, optional
        Scores above it are the positive label (default in the job: 0.5); written at
        the top level of analysis_config.json.
    label_headers : list, optional
        One name per score.

    Raises
    ------
    TypeError
        ``probability_threshold`` cannot be converted with ``float()``.
    """

    def __init__(self, label=None, probability=None, probability_threshold=None, label_headers=None):
        if probability_threshold is not None:
            try:
                float(probability_threshold)
            except ValueError:
                raise TypeError(f"Invalid probability_threshold {probability_threshold}. "
                                "Please choose one that can be cast to float.") from None
        self.label = label
        self.probability = probability
        self.probability_threshold = probability_threshold
        self.label_headers = label_headers
        self.predictor_config = {}
        _set(label, "label", self.predictor_config)
        _set(probability, "probability", self.predictor_config)
        _set(label_headers, "label_headers", self.predictor_config)

    def get_predictor_config(self) -> tuple:
        """``(probability_threshold, deep copy of the predictor keys)``."""
        return self.probability_threshold, copy.deepcopy(self.predictor_config)


class ExplainabilityConfig(ABC):
    """An explainability method: contributes one entry of ``methods``."""

    @abstractmethod
    def get_explainability_config(self) -> dict:
        """``{method_name: method_config}``, a deep copy."""


class PDPConfig(ExplainabilityConfig):
    """Partial dependence plots.

    Parameters
    ----------
    features : list, optional
        Features to plot; required when no :class:`SHAPConfig` is given (otherwise
        the top ``top_k_features`` by SHAP are plotted).
    grid_resolution : int, default 15
        Buckets for numeric features.
    top_k_features : int, default 10
        How many top SHAP features to plot.
    """

    def __init__(self, features=None, grid_resolution=15, top_k_features=10):
        self.pdp_config = {"grid_resolution": grid_resolution, "top_k_features": top_k_features}
        _set(features, "features", self.pdp_config)

    def get_explainability_config(self) -> dict:
        """``{"pdp": {...}}``."""
        return copy.deepcopy({"pdp": self.pdp_config})


class TextConfig:
    """How text features are cut into units for SHAP.

    Parameters
    ----------
    granularity : {"token", "sentence", "paragraph"}
    language : str
        A language name or ISO code from :attr:`_SUPPORTED_LANGUAGES`
        (``"multi-language"`` / ``"xx"`` for mixtures).

    Raises
    ------
    ValueError
        Unknown granularity or language.
    """

    _SUPPORTED_GRANULARITIES = list(TEXT_GRANULARITIES)
    _SUPPORTED_LANGUAGES = list(TEXT_LANGUAGES)

    def __init__(self, granularity, language):
        if granularity not in TextConfig._SUPPORTED_GRANULARITIES:
            raise ValueError(f"Invalid granularity {granularity}. Please choose among "
                             f"{TextConfig._SUPPORTED_GRANULARITIES}")
        if language not in TextConfig._SUPPORTED_LANGUAGES:
            raise ValueError(f"Invalid language {language}. Please choose among "
                             f"{TextConfig._SUPPORTED_LANGUAGES}")
        self.text_config = {"granularity": granularity, "language": language}

    def get_text_config(self) -> dict:
        """A deep copy of the ``text_config`` entry."""
        return copy.deepcopy(self.text_config)


class ImageConfig:
    """Computer-vision SHAP: model type and superpixel segmentation.

    Parameters
    ----------
    model_type : {"IMAGE_CLASSIFICATION", "OBJECT_DETECTION"}
    num_segments : int, optional
        Approximate superpixel count (job default 20).
    feature_extraction_method : str, optional
        Job default ``"segmentation"``.
    segment_compactness : float, optional
        SLIC compactness (job default 5).
    max_objects, iou_threshold, context : optional
        Object detection only (job defaults 3, 0.5, 1.0).

    Raises
    ------
    ValueError
        Unknown ``model_type``.
    """

    def __init__(self, model_type, num_segments=None, feature_extraction_method=None,
                 segment_compactness=None, max_objects=None, iou_threshold=None, context=None):
        if model_type not in _IMAGE_MODEL_TYPES:
            raise ValueError(
                "Clarify SHAP only supports object detection and image classification methods. "
                "Please set model_type to OBJECT_DETECTION or IMAGE_CLASSIFICATION.")
        self.image_config = {"model_type": model_type}
        for value, key in ((num_segments, "num_segments"),
                           (feature_extraction_method, "feature_extraction_method"),
                           (segment_compactness, "segment_compactness"), (max_objects, "max_objects"),
                           (iou_threshold, "iou_threshold"), (context, "context")):
            _set(value, key, self.image_config)

    def get_image_config(self) -> dict:
        """A deep copy of the ``image_config`` entry."""
        return copy.deepcopy(self.image_config)


class SHAPConfig(ExplainabilityConfig):
    """Kernel SHAP.

    Parameters
    ----------
    baseline : str, list or dict, optional
        URI of a baseline file, or the baseline rows inline; None: computed by
        clustering the dataset.
    num_samples : int, optional
        Coalitions per record; None: chosen by the job.
    agg_method : {"mean_abs", "median", "mean_sq"}, optional
        Global aggregation (job default mean_abs).
    use_logit : bool, default False
    save_local_shap_values : bool, default True
    seed : int, optional
    num_clusters : int, optional
        Baseline size when the baseline is computed; not with ``baseline``.
    text_config : TextConfig, optional
    image_config : ImageConfig, optional
    features_to_explain : list, optional
        Tabular only; not with text or image configs.

    Raises
    ------
    ValueError
        With the SDK's messages: bad ``agg_method``; ``baseline`` with
        ``num_clusters``; ``features_to_explain`` with text or images.
    """

    def __init__(self, baseline=None, num_samples=None, agg_method=None, use_logit=False,
                 save_local_shap_values=True, seed=None, num_clusters=None, text_config=None,
                 image_config=None, features_to_explain=None):
        if agg_method is not None and agg_method not in _AGG_METHODS:
            raise ValueError(f"Invalid agg_method {agg_method}. Please choose mean_abs, median, or mean_sq.")
        if num_clusters is not None and baseline is not None:
            raise ValueError("Baseline and num_clusters cannot be provided together. "
                             "Please specify one of the two.")
        self.shap_config = {"use_logit": use_logit, "save_local_shap_values": save_local_shap_values}
        for value, key in ((baseline, "baseline"), (num_samples, "num_samples"),
                           (agg_method, "agg_method"), (seed, "seed"), (num_clusters, "num_clusters")):
            _set(value, key, self.shap_config)
        if text_config:
            self.shap_config["text_config"] = text_config.get_text_config()
            if not save_local_shap_values:
                logger.warning("Text features get no global SHAP aggregation yet; set "
                               "save_local_shap_values=True to keep the local text explanations.")
        if image_config:
            self.shap_config["image_config"] = image_config.get_image_config()
        if features_to_explain is not None and (text_config is not None or image_config is not None):
            raise ValueError("`features_to_explain` is not supported for datasets containing text "
                             "features or images.")
        _set(features_to_explain, "features_to_explain", self.shap_config)

    def get_explainability_config(self) -> dict:
        """``{"shap": {...}}``."""
        return copy.deepcopy({"shap": self.shap_config})


class ProcessingOutputHandler:
    """Chooses the upload mode of the ``analysis_result`` output."""

    class S3UploadMode(Enum):
        """``S3UploadMode`` values of a processing output."""

        CONTINUOUS = "Continuous"
        ENDOFJOB = "EndOfJob"

    @classmethod
    def get_s3_upload_mode(cls, analysis_config: dict) -> str:
        """``"Continuous"`` for image datasets (results stream out as they come), else ``"EndOfJob"``.

        Parameters
        ----------
        analysis_config : dict
            The analysis configuration; only ``dataset_type`` is read.
        """
        if analysis_config["dataset_type"] == DatasetType.IMAGE.value:
            return cls.S3UploadMode.CONTINUOUS.value
        return cls.S3UploadMode.ENDOFJOB.value
