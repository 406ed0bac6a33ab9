"""analysis_config.json: every key typed and validated, with clear errors, before compute.

>>> from clarify_engine.config import load_config
>>> cfg = load_config({"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1],
...                    "facet": [{"name_or_index": "sex"}],
...                    "methods": {"pre_training_bias": {"methods": "all"}}})
>>> cfg.methods.pre_training_bias.resolved_methods()[:3]
('CDDL', 'CI', 'DPL')
"""

from clarify_engine.config._analysis import AnalysisConfig
from clarify_engine.config._constants import BIAS_POSTTRAINING_METHODS, BIAS_PRETRAINING_METHODS
from clarify_engine.config._load import config_folder, load_config
from clarify_engine.config._rules import check_model_source
from clarify_engine.config._schema import json_schema
from clarify_engine.config._sections import (
    AsymmetricShapleyValueBaseline,
    AsymmetricShapleyValueConfig,
    BiasIntervalsConfig,
    FacetConfig,
    ImageConfig,
    ImageDebugConfig,
    IntersectionalFacetConfig,
    MethodsConfig,
    PdpConfig,
    PostTrainingBiasConfig,
    PredictorConfig,
    PreTrainingBiasConfig,
    ReportConfig,
    SegmentConfig,
    ShapConfig,
    TextConfig,
    TimeSeriesDataConfig,
    TimeSeriesPredictorConfig,
)

__all__ = [
    "AnalysisConfig",
    "AsymmetricShapleyValueBaseline",
    "AsymmetricShapleyValueConfig",
    "BiasIntervalsConfig",
    "BIAS_POSTTRAINING_METHODS",
    "BIAS_PRETRAINING_METHODS",
    "FacetConfig",
    "check_model_source",
    "ImageConfig",
    "ImageDebugConfig",
    "IntersectionalFacetConfig",
    "MethodsConfig",
    "PdpConfig",
    "PostTrainingBiasConfig",
    "PreTrainingBiasConfig",
    "PredictorConfig",
    "ReportConfig",
    "SegmentConfig",
    "ShapConfig",
    "TextConfig",
    "TimeSeriesDataConfig",
    "TimeSeriesPredictorConfig",
    "config_folder",
    "json_schema",
    "load_config",
]
