"""Closed vocabularies of analysis_config.json, written as data.

Sources: SageMaker Python SDK ``src/sagemaker/clarify.py`` (v2.199.0 schema
``ANALYSIS_CONFIG_SCHEMA_V1_0`` and config classes; v2.257.6 for time series) and the
contract ``spec/clarify-contract.md`` §2-§3.
"""

from __future__ import annotations

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
]

#: Pre-training bias metrics, canonical (sorted) order; ``"all"`` expands to these.
BIAS_PRETRAINING_METHODS = ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")

#: Post-training bias metrics, canonical (sorted) order; ``"all"`` expands to these.
BIAS_POSTTRAINING_METHODS = (
    "AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE",
)

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
