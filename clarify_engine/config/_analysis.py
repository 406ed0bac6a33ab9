"""The top level of analysis_config.json (contract §2.1)."""

from __future__ import annotations

from dataclasses import dataclass

from clarify_engine.config import _constants as C
from clarify_engine.config._section import Section
from clarify_engine.config._sections import (
    BiasIntervalsConfig,
    FacetConfig,
    IntersectionalFacetConfig,
    MethodsConfig,
    PredictorConfig,
    SegmentConfig,
    TimeSeriesDataConfig,
)
from clarify_engine.config._spec import ARR, BOOL, INT, NUM, SECTION, STR, declare

__all__ = ["AnalysisConfig"]

_NAME_OR_INDEX = (STR(), INT(minimum=0, maximum=C.MAX_COLUMN_INDEX))


@dataclass(frozen=True)
class AnalysisConfig(Section):
    """A validated ``analysis_config.json``.

    Build it with :func:`clarify_engine.config.load_config`. Attribute names are the
    JSON keys; an absent key is ``None``; ``to_dict()`` gives back the document,
    key for key, in the same order. Clarify defaults are ``*_or_default`` properties.
    """

    version: str | None = declare(STR(enum=("1.0",)), default="1.0", doc="Config format version.")
    dataset_type: str = declare(
        STR(enum=C.DATASET_TYPES, lower=True), required=True, doc="Format of the dataset.")
    dataset_uri: str | None = declare(
        STR(min_length=1), doc="Dataset S3 URI or prefix; overrides the dataset processing input.")
    headers: tuple | None = declare(
        ARR(STR()), doc="Column names (JSON/JSON Lines: features, then label, then predicted label).")
    label: str | int | None = declare(
        *_NAME_OR_INDEX, doc="Label column name or index (CSV/Parquet), or JMESPath (JSON/JSON Lines).")
    predicted_label: str | int | None = declare(
        *_NAME_OR_INDEX, doc="Predicted-label column, addressed like label; then no model calls for bias.")
    features: str | None = declare(
        STR(min_length=1), doc="JMESPath of the features (JSON Lines, JSON: required for JSON).")
    label_values_or_threshold: tuple | None = declare(
        ARR(NUM(), STR(), BOOL, min_items=1),
        doc="Positive label values, or one threshold (exclusive lower bound) for a numeric label.")
    # The SDK schema says float, but SDK ModelPredictedLabelConfig accepts anything that
    # float() takes and writes it unchanged, so a JSON integer is accepted too.
    probability_threshold: float | None = declare(
        NUM(), default=0.5, doc="Score above which a prediction is positive (object detection: "
                                "smallest score kept).")
    segment_config: tuple | None = declare(
        ARR(SECTION(SegmentConfig), min_items=1), doc="Segments to compute bias metrics on.")
    facet: tuple | None = declare(
        ARR(SECTION(FacetConfig), min_items=1), doc="Sensitive attributes.")
    facet_dataset_uri: str | None = declare(
        STR(min_length=1), doc="CSV only: separate dataset holding the facet columns.")
    facet_headers: tuple | None = declare(ARR(STR()), doc="Columns of the facet dataset.")
    predicted_label_dataset_uri: str | None = declare(
        STR(min_length=1), doc="CSV only: separate dataset holding the predicted labels.")
    predicted_label_headers: tuple | None = declare(
        ARR(STR()), doc="Columns of the predicted-label dataset.")
    excluded_columns: tuple | None = declare(
        ARR(*_NAME_OR_INDEX), doc="Columns not sent to the model (tabular only; the SDK writes [] too).")
    joinsource_name_or_index: str | int | None = declare(
        *_NAME_OR_INDEX, doc="Identifier column joining the main, facet and predicted-label datasets.")
    group_variable: str | int | None = declare(
        *_NAME_OR_INDEX, doc="Subgroup column for CDDL / CDDPL.")
    time_series_data_config: TimeSeriesDataConfig | None = declare(
        SECTION(TimeSeriesDataConfig), doc="Time-series field locations (application/json only).")
    methods: MethodsConfig = declare(SECTION(MethodsConfig), required=True, doc="Analyses to run.")
    predictor: PredictorConfig | None = declare(
        SECTION(PredictorConfig), doc="Model to call, and how to read its answers.")
    column_typing: str | None = declare(
        STR(enum=("clarify", "intent")), default="clarify",
        doc="Extension (not a Clarify key): how bias metrics type the label, predicted-label and facet "
            "columns. \"clarify\": by dtype, as Clarify (a missing cell or 1.0/0.0 floats make a column "
            "continuous, so one given value is a threshold). \"intent\": given values of a whole-number "
            "column stay values, rows with a missing cell are excluded and counted. See docs/bias-metrics.md.")

    bias_confidence_intervals: BiasIntervalsConfig | None = declare(
        SECTION(BiasIntervalsConfig),
        doc="Extension (not a Clarify key): bootstrap confidence intervals for every bias metric computed from "
            "counts (all but FT), written under the analysis.json key bias_confidence_intervals. "
            "See docs/segments.md.")
    intersectional_facets: tuple | None = declare(
        ARR(SECTION(IntersectionalFacetConfig), min_items=1),
        doc="Extension (not a Clarify key): facets defined by several columns, each combination of values "
            "compared with the rest, written under intersectional_bias_metrics. See docs/segments.md.")

    @property
    def version_or_default(self) -> str:
        """``version``, or ``"1.0"`` (the only version)."""
        return self.version or "1.0"

    @property
    def probability_threshold_or_default(self) -> float:
        """``probability_threshold``, or Clarify's default 0.5."""
        return 0.5 if self.probability_threshold is None else self.probability_threshold

    @property
    def column_typing_or_default(self) -> str:
        """``column_typing``, or ``"clarify"`` (Clarify's typing)."""
        return self.column_typing or "clarify"

    @property
    def is_time_series(self) -> bool:
        """Whether this is a time-series analysis (``time_series_data_config`` present)."""
        return self.time_series_data_config is not None

    @property
    def predictions_in_data(self) -> bool:
        """Whether predicted labels come with the data (no model call needed for bias)."""
        return self.predicted_label is not None or self.predicted_label_dataset_uri is not None

    def _validate(self, path: str) -> None:
        from clarify_engine.config._rules import check_cross_field_rules

        check_cross_field_rules(self)
