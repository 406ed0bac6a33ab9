"""Closed vocabularies of analysis_config.json, written as data.

Sources: SageMaker Python SDK ``src/sagemaker/clarify.py`` (v2.199.0 schema
``ANALYSIS_CONFIG_SCHEMA_V1_0`` and config classes; v2.257.6 for time series) and the
contract ``spec/clarify-contract.md`` §2-§3.
"""

from __future__ import annotations

from clarify_engine.bias._registry import POSTTRAINING_METRICS, PRETRAINING_METRICS

__all__ = [
    "BIAS_PRETRAINING_METHODS",
    "BIAS_POSTTRAINING_METHODS",
    "DATASET_TYPES",
    "TABULAR_DATASET_TYPES",
    "CONTENT_TYPES",
    "ACCEPT_TYPES",
    "AGG_METHODS",
    "TEXT_GRANULARITIES",
    "TEXT_LANGUAGES",
    "IMAGE_MODEL_TYPES",
    "TS_DATASET_FORMATS",
    "ASV_DIRECTIONS",
    "ASV_GRANULARITIES",
    "ASV_BASELINE_FILLS",
    "ENDPOINT_NAME_PREFIX_PATTERN",
    "ENDPOINT_NAME_PREFIX_MAX_LENGTH",
    "MAX_COLUMN_INDEX",
    "MIN_INT64",
    "MAX_INT64",
    "MAX_FLOAT",
    "MAX_GRID_RESOLUTION",
    "MAX_NUM_SAMPLES",
    "MAX_NUM_CLUSTERS",
    "MAX_SEED",
    "MAX_COUNT",
    "MAX_INSTANCE_COUNT",
]

#: Pre-training and post-training bias metrics, canonical (sorted) order; ``"all"`` expands
#: to these. They come from the bias catalogue (``bias/_registry.py``, which imports no numpy).
BIAS_PRETRAINING_METHODS = PRETRAINING_METRICS
BIAS_POSTTRAINING_METHODS = POSTTRAINING_METRICS

#: ``dataset_type`` values of the SDK schema (compared lower-cased).
#: ``application/sagemakercapturejson`` is accepted by the schema only (Model Monitor data).
DATASET_TYPES = (
    "text/csv",
    "application/jsonlines",
    "application/json",
    "application/sagemakercapturejson",
    "application/x-parquet",
    "application/x-image",
)

#: Dataset types on which predicted_label / excluded_columns are allowed (SDK DataConfig).
TABULAR_DATASET_TYPES = ("text/csv", "application/jsonlines", "application/json", "application/x-parquet")

#: ``predictor.content_type`` (compared lower-cased). ``image/jpg`` is not in the SDK
#: schema but SDK ModelConfig accepts and writes it (contract §9 item 6): accepted.
CONTENT_TYPES = (
    "text/csv",
    "application/jsonlines",
    "application/json",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "application/x-npy",
)

#: ``predictor.accept_type`` (compared lower-cased).
ACCEPT_TYPES = ("text/csv", "application/jsonlines", "application/json")

#: ``methods.shap.agg_method`` (compared lower-cased).
AGG_METHODS = ("mean_abs", "median", "mean_sq")

#: ``methods.shap.text_config.granularity`` (compared lower-cased).
TEXT_GRANULARITIES = ("token", "sentence", "paragraph")

#: ``methods.shap.text_config.language``: language names and their ISO codes, as the
#: SDK's ``TextConfig._SUPPORTED_LANGUAGES`` lists them (compared lower-cased like the
#: SDK schema does). ``multi-language`` / ``xx`` is for mixed-language text.
TEXT_LANGUAGES = (
    "chinese", "zh", "danish", "da", "dutch", "nl", "english", "en", "french", "fr",
    "german", "de", "greek", "el", "italian", "it", "japanese", "ja", "lithuanian", "lt",
    "multi-language", "xx", "norwegian bokmål", "nb", "polish", "pl", "portuguese", "pt",
    "romanian", "ro", "russian", "ru", "spanish", "es", "afrikaans", "af", "albanian", "sq",
    "arabic", "ar", "armenian", "hy", "basque", "eu", "bengali", "bn", "bulgarian", "bg",
    "catalan", "ca", "croatian", "hr", "czech", "cs", "estonian", "et", "finnish", "fi",
    "gujarati", "gu", "hebrew", "he", "hindi", "hi", "hungarian", "hu", "icelandic", "is",
    "indonesian", "id", "irish", "ga", "kannada", "kn", "kyrgyz", "ky", "latvian", "lv",
    "ligurian", "lij", "luxembourgish", "lb", "macedonian", "mk", "malayalam", "ml",
    "marathi", "mr", "nepali", "ne", "persian", "fa", "sanskrit", "sa", "serbian", "sr",
    "setswana", "tn", "sinhala", "si", "slovak", "sk", "slovenian", "sl", "swedish", "sv",
    "tagalog", "tl", "tamil", "ta", "tatar", "tt", "telugu", "te", "thai", "th",
    "turkish", "tr", "ukrainian", "uk", "urdu", "ur", "vietnamese", "vi", "yoruba", "yo",
)

#: ``methods.shap.image_config.model_type`` (exact case, as SDK ImageConfig checks it).
IMAGE_MODEL_TYPES = ("IMAGE_CLASSIFICATION", "OBJECT_DETECTION")

#: ``time_series_data_config.dataset_format``; ``columns`` is the SDK enum value that the
#: SDK-last schema omits (contract §9 item 8): accepted because the SDK writes it.
TS_DATASET_FORMATS = ("columns", "item_records", "timestamp_records")

#: ``methods.asymmetric_shapley_value.direction``.
ASV_DIRECTIONS = ("chronological", "anti_chronological", "bidirectional")

#: ``methods.asymmetric_shapley_value.granularity``.
ASV_GRANULARITIES = ("timewise", "fine_grained")

#: Fill values of the asymmetric Shapley baseline for target / related time series.
ASV_BASELINE_FILLS = ("zero", "mean")

#: Shadow-endpoint name prefix: letters/digits, single or repeated hyphens between them.
#: The SDK checks ``re.search("^[a-zA-Z0-9](-*[a-zA-Z0-9])", ...)`` (a prefix test that
#: lets "ab_c!" through although CreateEndpoint would refuse it); we match the whole
#: string so such a prefix fails here, before any compute.
ENDPOINT_NAME_PREFIX_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9])*"
ENDPOINT_NAME_PREFIX_MAX_LENGTH = 23

# ----------------------------------------------------------------- numeric bounds
# Every integer key has an upper bound, so that a value no job could use (a 309-digit
# integer, 2^63) is refused by name before any work instead of overflowing later. Numbers
# compared with data must fit a 64-bit float (the engine's number type).

#: Largest column index (``label``, ``facet[].name_or_index``, ...): a 32-bit index.
MAX_COLUMN_INDEX = 2**31 - 1
#: Largest integer compared with column values (``segments``, ``label_headers``): int64.
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1
#: Largest magnitude of a JSON number (the largest finite 64-bit float).
MAX_FLOAT = 1.7976931348623157e308
#: ``methods.pdp.grid_resolution``: buckets of a feature's range; 1000 is already finer than
#: a plot can show, and each bucket costs one model row per record.
MAX_GRID_RESOLUTION = 1000
#: ``methods.shap.num_samples`` and ``asymmetric_shapley_value.num_samples``: coalitions per
#: record (each is crossed with every baseline row and sent to the model).
MAX_NUM_SAMPLES = 1_000_000
#: ``methods.shap.num_clusters``: rows of a computed baseline.
MAX_NUM_CLUSTERS = 10_000
#: Seeds are passed to numpy and scikit-learn, which take 0 .. 2^32 - 1.
MAX_SEED = 2**32 - 1
#: Counts of things shown or explained (top features, top tokens, superpixels, objects).
MAX_COUNT = 100_000
#: ``predictor.initial_instance_count`` of a shadow endpoint.
MAX_INSTANCE_COUNT = 1000
