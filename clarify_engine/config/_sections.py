"""The sections of analysis_config.json below the top level, one frozen dataclass each.

Attribute names are the JSON keys; an absent key is ``None``. Clarify's default for
an absent key is exposed as ``<key>_or_default`` (a property, or a method where it
depends on another section). Sources: contract §2.2, §2.4, §2.6; SDK
``ANALYSIS_CONFIG_SCHEMA_V1_0`` (v2.199.0) and config classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from clarify_engine.config import _constants as C
from clarify_engine.config._section import Section, join_path
from clarify_engine.config._spec import ARR, BOOL, INT, JSON_OBJECT, MAP, NULL, NUM, SECTION, STR, declare
from clarify_engine.errors import ConfigError

__all__ = [
    "FacetConfig",
    "SegmentConfig",
    "BiasIntervalsConfig",
    "IntersectionalFacetConfig",
    "TimeSeriesDataConfig",
    "PreTrainingBiasConfig",
    "PostTrainingBiasConfig",
    "TextConfig",
    "ImageDebugConfig",
    "ImageConfig",
    "ShapConfig",
    "PdpConfig",
    "ReportConfig",
    "AsymmetricShapleyValueBaseline",
    "AsymmetricShapleyValueConfig",
    "MethodsConfig",
    "TimeSeriesPredictorConfig",
    "PredictorConfig",
]

_INDEX = INT(minimum=0, maximum=C.MAX_COLUMN_INDEX)
_NAME_OR_INDEX = (STR(), _INDEX)
# Values compared with column values. The SDK schema's ``int`` admits Python bools
# (``True`` is an ``int``), so a boolean facet or label value written by the SDK is valid.
_SCALAR = (NUM(), STR(), BOOL)


# --------------------------------------------------------------------- data sections


@dataclass(frozen=True)
class FacetConfig(Section):
    """One sensitive attribute (an item of ``facet``)."""

    name_or_index: str | int = declare(
        *_NAME_OR_INDEX, required=True,
        doc="Facet column name or 0-based index (into the facet dataset if facet_dataset_uri is set).")
    value_or_threshold: tuple | None = declare(
        ARR(*_SCALAR, min_items=1),
        doc="Values of the sensitive group, or one threshold (exclusive lower bound) for a "
            "numeric facet. Absent: every value is compared with the rest in turn.")


@dataclass(frozen=True)
class SegmentConfig(Section):
    """One segmentation of the data for per-segment bias (an item of ``segment_config``)."""

    config_name: str | None = declare(STR(), doc="Name identifying this segmentation.")
    name_or_index: str | int = declare(
        *_NAME_OR_INDEX, required=True, doc="Column the segments are defined on.")
    segments: tuple = declare(
        ARR(ARR(STR(), INT(minimum=C.MIN_INT64, maximum=C.MAX_INT64), min_items=1), min_items=1), required=True,
        doc="Each inner list is one segment: categorical values, or interval strings such as "
            "\"[1, 4]\" for a continuous column; remaining values form the __default__ segment.")
    display_aliases: tuple | None = declare(
        ARR(STR()),
        doc="Display names, one per segment, optionally one more for the __default__ segment.")

    def _validate(self, path: str) -> None:
        if self.display_aliases is not None:
            n = len(self.segments)
            if len(self.display_aliases) not in (n, n + 1):
                raise ConfigError(
                    join_path(path, "display_aliases"),
                    f"expected {n} or {n + 1} display aliases (one per segment, optionally one "
                    f"more for the __default__ segment), found {len(self.display_aliases)}")


@dataclass(frozen=True)
class BiasIntervalsConfig(Section):
    """Extension (not a Clarify key): bootstrap confidence intervals of the bias metrics."""

    n_boot: int | None = declare(
        INT(minimum=2, maximum=100_000), default=200, doc="Bootstrap replicates.")
    level: float | None = declare(
        NUM(exclusive_minimum=0, maximum=0.999999), default=0.95, doc="Nominal coverage of each interval, in (0, 1).")
    seed: int | None = declare(
        INT(minimum=0, maximum=C.MAX_INT64), default=0, doc="Seed of the replicate draws (same seed, same intervals).")
    weights: str | None = declare(
        STR(enum=("multinomial", "poisson")), default="multinomial",
        doc="Row weights the resampled count tables stand for: multinomial (the classic bootstrap) or Poisson(1).")

    @property
    def n_boot_or_default(self) -> int:
        """``n_boot``, or 200."""
        return 200 if self.n_boot is None else self.n_boot

    @property
    def level_or_default(self) -> float:
        """``level``, or 0.95."""
        return 0.95 if self.level is None else self.level

    @property
    def seed_or_default(self) -> int:
        """``seed``, or 0."""
        return 0 if self.seed is None else self.seed

    @property
    def weights_or_default(self) -> str:
        """``weights``, or ``"multinomial"``."""
        return self.weights or "multinomial"


@dataclass(frozen=True)
class IntersectionalFacetConfig(Section):
    """Extension (not a Clarify key): one facet defined by several columns (an item of ``intersectional_facets``)."""

    name_or_index: tuple = declare(
        ARR(*_NAME_OR_INDEX, min_items=1), required=True,
        doc="Two or more facet columns (names or 0-based indices); every combination of their values is a group.")
    min_group_size: int | None = declare(
        INT(minimum=0, maximum=C.MAX_INT64), default=30,
        doc="Combinations with fewer rows are listed without metrics.")
    name: str | None = declare(STR(min_length=1), doc="Name of the facet in the output; default the columns joined by \"|\".")

    @property
    def min_group_size_or_default(self) -> int:
        """``min_group_size``, or 30."""
        return 30 if self.min_group_size is None else self.min_group_size

    def _validate(self, path: str) -> None:
        if len(self.name_or_index) < 2:
            raise ConfigError(join_path(path, "name_or_index"),
                              f"expected two or more columns, found {list(self.name_or_index)!r}; an intersection "
                              "combines several facet columns (a single column is a facet)")
        if len(set(self.name_or_index)) != len(self.name_or_index):
            raise ConfigError(join_path(path, "name_or_index"),
                              f"expected distinct columns, found {list(self.name_or_index)!r}; list each column once")


@dataclass(frozen=True)
class TimeSeriesDataConfig(Section):
    """Where the time-series fields are (``time_series_data_config``; JSON datasets only)."""

    target_time_series: str | int = declare(
        STR(min_length=1), _INDEX, required=True,
        doc="JMESPath (or index) of the target time series.")
    item_id: str | int = declare(
        STR(min_length=1), _INDEX, required=True, doc="JMESPath (or index) of the item id.")
    timestamp: str | int = declare(
        STR(min_length=1), _INDEX, required=True, doc="JMESPath (or index) of the timestamps.")
    related_time_series: tuple | None = declare(
        ARR(STR(min_length=1), _INDEX, min_items=1),
        doc="JMESPaths (or indices) of related time series.")
    static_covariates: tuple | None = declare(
        ARR(STR(min_length=1), _INDEX, min_items=1),
        doc="JMESPaths (or indices) of static covariates.")
    dataset_format: str | None = declare(
        STR(enum=C.TS_DATASET_FORMATS),
        doc="Layout of the JSON document; required when the fields are JMESPath strings, "
            "not allowed when they are indices.")

    def _validate(self, path: str) -> None:
        kind = type(self.target_time_series)
        for key in ("item_id", "timestamp"):
            if type(getattr(self, key)) is not kind:
                raise ConfigError(
                    join_path(path, key),
                    f"expected {'a string' if kind is str else 'an integer'} like "
                    f"target_time_series, found {getattr(self, key)!r} ({type(getattr(self, key)).__name__})")
        for key in ("related_time_series", "static_covariates"):
            for i, item in enumerate(getattr(self, key) or ()):
                if type(item) is not kind:
                    raise ConfigError(
                        f"{join_path(path, key)}[{i}]",
                        f"expected {'a string' if kind is str else 'an integer'} like "
                        f"target_time_series, found {item!r} ({type(item).__name__})")
        if kind is str and self.dataset_format is None:
            raise ConfigError(
                join_path(path, "dataset_format"),
                f"required when the fields are JMESPath strings; expected one of "
                f"{', '.join(C.TS_DATASET_FORMATS)}")
        if kind is int and self.dataset_format is not None:
            raise ConfigError(
                join_path(path, "dataset_format"),
                "only allowed when the fields are JMESPath strings (JSON data), found integer indices")


# --------------------------------------------------------------------- methods


class _BiasMethods(Section):
    _CATALOGUE = ()

    def resolved_methods(self) -> tuple:
        """Metric names to compute: ``"all"`` expanded, in canonical (sorted) order."""
        if self.methods == "all":
            return self._CATALOGUE
        return tuple(m for m in self._CATALOGUE if m in self.methods)

    def _validate(self, path: str) -> None:
        if isinstance(self.methods, tuple):
            seen = set()
            for i, name in enumerate(self.methods):
                if name in seen:
                    raise ConfigError(
                        f"{join_path(path, 'methods')}[{i}]",
                        f"metric {name!r} is listed twice; list each metric once")
                seen.add(name)


@dataclass(frozen=True)
class PreTrainingBiasConfig(_BiasMethods):
    """``methods.pre_training_bias``: which pre-training bias metrics to compute."""

    _CATALOGUE = C.BIAS_PRETRAINING_METHODS
    methods: str | tuple = declare(
        STR(enum=("all",)), ARR(STR(enum=C.BIAS_PRETRAINING_METHODS), min_items=1), required=True,
        doc="\"all\" or a list of pre-training metric abbreviations.")


@dataclass(frozen=True)
class PostTrainingBiasConfig(_BiasMethods):
    """``methods.post_training_bias``: which post-training bias metrics to compute."""

    _CATALOGUE = C.BIAS_POSTTRAINING_METHODS
    methods: str | tuple = declare(
        STR(enum=("all",)), ARR(STR(enum=C.BIAS_POSTTRAINING_METHODS), min_items=1), required=True,
        doc="\"all\" or a list of post-training metric abbreviations.")


@dataclass(frozen=True)
class TextConfig(Section):
    """``methods.shap.text_config``: explain text columns unit by unit."""

    granularity: str = declare(
        STR(enum=C.TEXT_GRANULARITIES, lower=True), required=True,
        doc="Text unit that is one feature: token, sentence or paragraph.")
    language: str = declare(
        STR(enum=C.TEXT_LANGUAGES, lower=True), required=True,
        doc="Language of the text (name or ISO code; multi-language / xx for mixtures).")
    max_top_tokens: int | None = declare(
        INT(minimum=1, maximum=C.MAX_COUNT), default=50, doc="Number of top text units in the global explanation.")

    @property
    def max_top_tokens_or_default(self) -> int:
        """``max_top_tokens``, or Clarify's default 50."""
        return 50 if self.max_top_tokens is None else self.max_top_tokens


@dataclass(frozen=True)
class ImageDebugConfig(Section):
    """``methods.shap.image_config.debug`` (present in the SDK schema, undocumented)."""

    image_names: tuple | None = declare(ARR(STR()), doc="Only explain these images.")
    class_ids: tuple | None = declare(ARR(_INDEX), doc="Only explain these classes.")
    sample_from: int | None = declare(_INDEX, doc="First image index to explain.")
    sample_to: int | None = declare(_INDEX, doc="Last image index to explain.")

    def _validate(self, path: str) -> None:
        if self.sample_from is not None and self.sample_to is not None and self.sample_from > self.sample_to:
            raise ConfigError(
                join_path(path, "sample_to"),
                f"expected an integer >= sample_from ({self.sample_from}), found {self.sample_to}")


@dataclass(frozen=True)
class ImageConfig(Section):
    """``methods.shap.image_config``: explain images through superpixels."""

    num_segments: int | None = declare(
        INT(minimum=1, maximum=C.MAX_COUNT), default=20, doc="Approximate number of SLIC superpixels.")
    # The SDK schema types it int, SDK ImageConfig float (contract §9 item 7): a JSON
    # number is accepted, since SLIC takes a float compactness.
    segment_compactness: float | None = declare(
        NUM(exclusive_minimum=0), default=5,
        doc="SLIC compactness: higher gives squarer superpixels.")
    feature_extraction_method: str | None = declare(
        STR(enum=("segmentation",)), default="segmentation", doc="How image features are made.")
    # Optional in the SDK schema, always written by SDK ImageConfig (which requires it);
    # the engine cannot guess the task, so it is required here.
    model_type: str = declare(
        STR(enum=C.IMAGE_MODEL_TYPES), required=True, doc="Computer-vision task of the model.")
    max_objects: int | None = declare(
        INT(minimum=1, maximum=C.MAX_COUNT), default=3, doc="Object detection: most detections explained per image.")
    iou_threshold: float | None = declare(
        NUM(minimum=0, maximum=1), default=0.5,
        doc="Object detection: smallest IoU for matching a box to the original detection.")
    context: float | None = declare(
        NUM(minimum=0, maximum=1), default=1.0,
        doc="Object detection: share of the image outside the box kept (0 = box only, 1 = all).")
    debug: ImageDebugConfig | None = declare(SECTION(ImageDebugConfig), doc="Undocumented debugging subset.")

    @property
    def num_segments_or_default(self) -> int:
        """``num_segments``, or Clarify's default 20."""
        return 20 if self.num_segments is None else self.num_segments

    @property
    def segment_compactness_or_default(self) -> float:
        """``segment_compactness``, or Clarify's default 5."""
        return 5 if self.segment_compactness is None else self.segment_compactness

    @property
    def feature_extraction_method_or_default(self) -> str:
        """``feature_extraction_method``, or ``"segmentation"``."""
        return self.feature_extraction_method or "segmentation"

    @property
    def max_objects_or_default(self) -> int:
        """``max_objects``, or Clarify's default 3."""
        return 3 if self.max_objects is None else self.max_objects

    @property
    def iou_threshold_or_default(self) -> float:
        """``iou_threshold``, or Clarify's default 0.5."""
        return 0.5 if self.iou_threshold is None else self.iou_threshold

    @property
    def context_or_default(self) -> float:
        """``context``, or Clarify's default 1.0."""
        return 1.0 if self.context is None else self.context


@dataclass(frozen=True)
class ShapConfig(Section):
    """``methods.shap``: Kernel SHAP explanations."""

    baseline: object = declare(
        STR(min_length=1), ARR(ARR(NUM(), STR(), NULL), JSON_OBJECT, min_items=1), JSON_OBJECT,
        doc="S3 URI of a baseline file, inline baseline rows (lists of feature values, or JSON "
            "objects for JSON Lines), or a JSON object. Absent: computed by clustering.")
    num_clusters: int | None = declare(
        INT(minimum=1, maximum=C.MAX_NUM_CLUSTERS), doc="Baseline size when the baseline is computed by clustering.")
    use_logit: bool | None = declare(
        BOOL, default=False, doc="Apply logit to model outputs; SHAP values are then in log-odds.")
    num_samples: int | None = declare(
        INT(minimum=1, maximum=C.MAX_NUM_SAMPLES), doc="Kernel SHAP coalition samples per record; absent: chosen from the "
                            "feature count.")
    agg_method: str | None = declare(
        STR(enum=C.AGG_METHODS, lower=True), default="mean_abs",
        doc="Aggregation of local values into global ones.")
    save_local_shap_values: bool | None = declare(
        BOOL, default=True, doc="Write per-record SHAP values (explanations_shap/out.csv).")
    text_config: TextConfig | None = declare(SECTION(TextConfig), doc="Text features.")
    image_config: ImageConfig | None = declare(SECTION(ImageConfig), doc="Image features.")
    seed: int | None = declare(
        INT(minimum=0, maximum=C.MAX_SEED), doc="Seed of the coalition sampler and of k-means; absent: not "
                                                "deterministic.")
    features_to_explain: tuple | None = declare(
        ARR(*_NAME_OR_INDEX, min_items=1), doc="Explain only these features (tabular data only).")
    exact: object = declare(
        STR(enum=("auto",)), BOOL, default="auto",
        doc="Extension (not in Clarify): \"auto\" (or true) computes the exact SHAP values without Kernel SHAP "
            "when the model runs in process and an exact path applies (tree ensembles, linear models; the run "
            "manifest says which method ran and why); false always runs Kernel SHAP.")
    regression_adjusted: object = declare(
        STR(enum=("auto",)), BOOL, default="auto",
        doc="Extension (not in Clarify): Kernel SHAP's regression adjustment, a tree surrogate of each record's "
            "game used as control variate (about half the error at equal model calls, no extra model call, CPU "
            "time per record for the fit). \"auto\" uses it when the model is called remotely (an endpoint or "
            "model server), true always, false never (plain Kernel SHAP). The run manifest says whether it ran. "
            "Image jobs: \"auto\" and true adjust with a cubic surrogate of the superpixel game, false does not "
            "(docs/images.md).")

    @property
    def exact_or_default(self) -> str:
        """``"auto"`` (``exact`` absent, ``"auto"`` or true), or ``"off"`` (``exact: false``)."""
        return "off" if self.exact is False else "auto"

    @property
    def regression_adjusted_or_default(self) -> str:
        """``"auto"`` (absent or ``"auto"``), ``"on"`` (true) or ``"off"`` (false)."""
        if self.regression_adjusted is True:
            return "on"
        return "off" if self.regression_adjusted is False else "auto"

    @property
    def use_logit_or_default(self) -> bool:
        """``use_logit``, or ``False``."""
        return bool(self.use_logit)

    @property
    def agg_method_or_default(self) -> str:
        """``agg_method`` (lower case), or ``"mean_abs"``."""
        return self.agg_method or "mean_abs"

    @property
    def save_local_shap_values_or_default(self) -> bool:
        """``save_local_shap_values``, or ``True``.

        Notes
        -----
        The Developer Guide says the default is false; the SDK defaults to ``True`` and
        always writes the key (contract §9 item 1). We follow the SDK.
        """
        return True if self.save_local_shap_values is None else self.save_local_shap_values

    def _validate(self, path: str) -> None:
        if self.baseline is not None and self.num_clusters is not None:
            raise ConfigError(
                join_path(path, "num_clusters"),
                "cannot be given together with baseline: num_clusters sizes a computed "
                "baseline; remove one of the two")
        if self.features_to_explain is not None and (self.text_config or self.image_config):
            raise ConfigError(
                join_path(path, "features_to_explain"),
                "not supported with text_config or image_config (tabular features only); "
                "remove features_to_explain")
        if self.text_config is not None and self.image_config is not None:
            raise ConfigError(
                join_path(path, "image_config"),
                "cannot be given together with text_config; a dataset is either images or tabular/text")


@dataclass(frozen=True)
class PdpConfig(Section):
    """``methods.pdp``: partial dependence plots."""

    grid_resolution: int = declare(
        INT(minimum=1, maximum=C.MAX_GRID_RESOLUTION), required=True, doc="Number of buckets of a numeric feature's range.")
    features: tuple | None = declare(
        ARR(*_NAME_OR_INDEX, min_items=1),
        doc="Features to plot; required when shap is not requested.")
    top_k_features: int | None = declare(
        INT(minimum=1, maximum=C.MAX_COUNT), default=10, doc="Without features: plot the top k features by global SHAP.")

    @property
    def top_k_features_or_default(self) -> int:
        """``top_k_features``, or Clarify's default 10."""
        return 10 if self.top_k_features is None else self.top_k_features


@dataclass(frozen=True)
class ReportConfig(Section):
    """``methods.report``: the notebook/HTML/PDF report."""

    name: str = declare(
        STR(min_length=1, pattern=r"[^/\\]+"), required=True,
        doc="Base name of the report files (<name>.ipynb, .html, .pdf).")
    title: str | None = declare(
        STR(), default="SageMaker AI Analysis Report", doc="Report title.")

    @property
    def title_or_default(self) -> str:
        """``title``, or the Developer Guide's default title."""
        return "SageMaker AI Analysis Report" if self.title is None else self.title


@dataclass(frozen=True)
class AsymmetricShapleyValueBaseline(Section):
    """Inline baseline of asymmetric Shapley values (time series)."""

    target_time_series: str | None = declare(
        STR(enum=C.ASV_BASELINE_FILLS), doc="Fill for the target series: zero or mean.")
    related_time_series: str | None = declare(
        STR(enum=C.ASV_BASELINE_FILLS), doc="Fill for related series: zero or mean.")
    static_covariates: dict | None = declare(
        MAP(ARR(*_SCALAR)), doc="Per item id, one baseline value per static covariate.")


@dataclass(frozen=True)
class AsymmetricShapleyValueConfig(Section):
    """``methods.asymmetric_shapley_value``: time-series explanations."""

    direction: str | None = declare(
        STR(enum=C.ASV_DIRECTIONS), default="chronological", doc="Order in which time steps are added.")
    granularity: str | None = declare(
        STR(enum=C.ASV_GRANULARITIES), default="timewise",
        doc="timewise, or fine_grained (per time step and series).")
    num_samples: int | None = declare(
        INT(minimum=1, maximum=C.MAX_NUM_SAMPLES), doc="Samples; required for, and only allowed with, fine_grained.")
    baseline: object = declare(
        STR(min_length=1), SECTION(AsymmetricShapleyValueBaseline),
        doc="S3 URI of a baseline, or fills per series kind.")

    @property
    def direction_or_default(self) -> str:
        """``direction``, or ``"chronological"``."""
        return self.direction or "chronological"

    @property
    def granularity_or_default(self) -> str:
        """``granularity``, or ``"timewise"``."""
        return self.granularity or "timewise"

    def _validate(self, path: str) -> None:
        fine = self.granularity_or_default == "fine_grained"
        if fine and self.num_samples is None:
            raise ConfigError(join_path(path, "num_samples"), "required when granularity is fine_grained")
        if not fine and self.num_samples is not None:
            raise ConfigError(
                join_path(path, "num_samples"),
                f"only allowed when granularity is fine_grained, found granularity "
                f"{self.granularity_or_default!r}")
        if fine and self.direction_or_default != "chronological":
            raise ConfigError(
                join_path(path, "direction"),
                f"fine_grained granularity only supports direction 'chronological', found "
                f"{self.direction_or_default!r}")


@dataclass(frozen=True)
class MethodsConfig(Section):
    """``methods``: the analyses to run (report alone is not an analysis)."""

    shap: ShapConfig | None = declare(SECTION(ShapConfig), doc="Kernel SHAP.")
    pre_training_bias: PreTrainingBiasConfig | None = declare(
        SECTION(PreTrainingBiasConfig), doc="Pre-training bias metrics.")
    post_training_bias: PostTrainingBiasConfig | None = declare(
        SECTION(PostTrainingBiasConfig), doc="Post-training bias metrics.")
    pdp: PdpConfig | None = declare(SECTION(PdpConfig), doc="Partial dependence plots.")
    report: ReportConfig | None = declare(SECTION(ReportConfig), doc="Report files.")
    asymmetric_shapley_value: AsymmetricShapleyValueConfig | None = declare(
        SECTION(AsymmetricShapleyValueConfig), doc="Asymmetric Shapley values (time series).")

    @property
    def bias_requested(self) -> bool:
        """Whether any bias method is requested."""
        return self.pre_training_bias is not None or self.post_training_bias is not None

    @property
    def explainability_requested(self) -> bool:
        """Whether shap, pdp or asymmetric_shapley_value is requested."""
        return any(x is not None for x in (self.shap, self.pdp, self.asymmetric_shapley_value))


# --------------------------------------------------------------------- predictor


@dataclass(frozen=True)
class TimeSeriesPredictorConfig(Section):
    """``predictor.time_series_predictor_config``."""

    forecast: str = declare(
        STR(min_length=1), required=True, doc="JMESPath of the forecast in the model response.")


@dataclass(frozen=True)
class PredictorConfig(Section):
    """``predictor``: the model to call and how to read its answers."""

    endpoint_name: str | None = declare(
        STR(min_length=1), doc="Existing endpoint to call (wins over model_name).")
    endpoint_name_prefix: str | None = declare(
        STR(pattern=C.ENDPOINT_NAME_PREFIX_PATTERN, max_length=C.ENDPOINT_NAME_PREFIX_MAX_LENGTH),
        default="sm-clarify", doc="Name prefix of the shadow endpoint.")
    model_name: str | None = declare(
        STR(min_length=1), doc="Model to deploy on a shadow endpoint for the job.")
    target_model: str | None = declare(STR(min_length=1), doc="TargetModel for multi-model endpoints.")
    instance_type: str | None = declare(
        STR(min_length=1), doc="Shadow endpoint instance type (with model_name).")
    initial_instance_count: int | None = declare(
        INT(minimum=1, maximum=C.MAX_INSTANCE_COUNT), doc="Shadow endpoint instance count (with model_name).")
    accelerator_type: str | None = declare(
        STR(min_length=1), doc="Elastic Inference accelerator of the shadow endpoint.")
    content_type: str | None = declare(
        STR(enum=C.CONTENT_TYPES, lower=True),
        doc="Request MIME type; default: dataset_type (image/jpeg for images).")
    accept_type: str | None = declare(
        STR(enum=C.ACCEPT_TYPES, lower=True),
        doc="Response MIME type; default: content_type (application/json for object detection).")
    label: str | int | None = declare(
        *_NAME_OR_INDEX, doc="Predicted label in the response: CSV index or JMESPath.")
    probability: str | int | None = declare(
        *_NAME_OR_INDEX, doc="Scores in the response: CSV index or JMESPath.")
    label_headers: tuple | None = declare(
        ARR(STR(), INT(minimum=C.MIN_INT64, maximum=C.MAX_INT64), min_items=1), doc="Names of the score positions (required for images).")
    content_template: str | dict | None = declare(
        STR(min_length=1), MAP(STR()),
        doc="Request template: JSON Lines needs $features; JSON needs $record or $records.")
    record_template: str | None = declare(
        STR(min_length=1), doc="JSON: template of one record ($features, $features_kvp or \"${name}\").")
    custom_attributes: str | None = declare(
        STR(pattern=r"[\x20-\x7e]*", max_length=1024),
        doc="CustomAttributes header (visible US-ASCII, at most 1024 characters).")
    time_series_predictor_config: TimeSeriesPredictorConfig | None = declare(
        SECTION(TimeSeriesPredictorConfig), doc="Time series: where the forecast is.")

    @property
    def endpoint_name_prefix_or_default(self) -> str:
        """``endpoint_name_prefix``, or ``"sm-clarify"``."""
        return self.endpoint_name_prefix or "sm-clarify"

    def content_type_or_default(self, dataset_type: str) -> str:
        """``content_type``, or the dataset type (``image/jpeg`` for image datasets).

        Parquet data has no default request type: the rules require content_type then.
        """
        if self.content_type is not None:
            return self.content_type
        if dataset_type == "application/x-image":
            return "image/jpeg"
        return dataset_type

    def accept_type_or_default(self, dataset_type: str, model_type: str | None = None) -> str:
        """``accept_type``, or ``content_type`` (``application/json`` for object detection)."""
        if self.accept_type is not None:
            return self.accept_type
        if model_type == "OBJECT_DETECTION" or dataset_type == "application/x-image":
            return "application/json"
        return self.content_type_or_default(dataset_type)

    @property
    def has_model(self) -> bool:
        """Whether the predictor names a model to call (endpoint_name or model_name)."""
        return self.endpoint_name is not None or self.model_name is not None

    def _validate(self, path: str) -> None:
        if self.endpoint_name is not None and self.endpoint_name_prefix is not None:
            raise ConfigError(
                join_path(path, "endpoint_name_prefix"),
                "cannot be given with endpoint_name (it names a shadow endpoint created from "
                "model_name); remove one of the two")
        if self.endpoint_name is None and self.model_name is not None:
            for key in ("instance_type", "initial_instance_count"):
                if getattr(self, key) is None:
                    raise ConfigError(
                        join_path(path, key),
                        "required with model_name (to create the shadow endpoint); or give "
                        "endpoint_name to use an existing endpoint")
        if self.model_name is None and self.endpoint_name is None:
            for key in ("instance_type", "initial_instance_count", "accelerator_type", "endpoint_name_prefix"):
                if getattr(self, key) is not None:
                    raise ConfigError(
                        join_path(path, key),
                        "only meaningful with model_name (shadow endpoint), which is missing")
