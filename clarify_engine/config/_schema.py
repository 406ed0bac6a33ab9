"""JSON Schema of analysis_config.json, rendered from the field declarations."""

from __future__ import annotations

from clarify_engine.config._analysis import AnalysisConfig
from clarify_engine.config._spec import section_schema

__all__ = ["json_schema"]

SCHEMA_ID = "https://github.com/clarify-engine/clarify-engine/docs/analysis_config.schema.json"


def json_schema() -> dict:
    """JSON Schema (draft 2020-12) of ``analysis_config.json``.

    Generated from the same declarations the validator applies, so types, enums,
    patterns, ranges and required/unknown keys agree with :func:`load_config`.
    Cross-field rules (see ``docs/config-reference.md``) are not expressed here:
    a document valid against this schema can still fail them. Lower-cased enums
    (``dataset_type``, ``agg_method``, ...) are case-insensitive patterns.

    Returns
    -------
    dict
        The schema; ``docs/analysis_config.schema.json`` is its JSON dump.
    """
    defs: dict = {}
    top = section_schema(AnalysisConfig, defs)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "SageMaker Clarify analysis_config.json",
        **top,
        "$defs": dict(sorted(defs.items())),
    }
    return schema
