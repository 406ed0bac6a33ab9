"""Choose the request and response codec for a predictor's ``content_type`` / ``accept_type``.

The codecs themselves live in :mod:`~clarify_engine.predict._csv_codec` and
:mod:`~clarify_engine.predict._json_codec`; value formatting in
:mod:`~clarify_engine.predict._format`.
"""

from __future__ import annotations

from typing import Sequence

from clarify_engine.errors import ConfigError, NotSupportedError
from clarify_engine.predict._base import RequestCodec, ResponseCodec
from clarify_engine.predict._csv_codec import CSVRequestCodec, CSVResponseCodec
from clarify_engine.predict._json_codec import (
    JSONLinesRequestCodec,
    JSONLinesResponseCodec,
    JSONRequestCodec,
    JSONResponseCodec,
)

__all__ = [
    "ACCEPT_TYPES",
    "CONTENT_TYPES",
    "CSVRequestCodec",
    "CSVResponseCodec",
    "JSONLinesRequestCodec",
    "JSONLinesResponseCodec",
    "JSONRequestCodec",
    "JSONResponseCodec",
    "request_codec",
    "response_codec",
]


_NOT_YET = ("image/jpeg", "image/jpg", "image/png", "application/x-npy")

#: Request formats this client recognises (the analysis-config schema's list; the job planner
#: validates the config against it first, these checks serve library callers).
CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json", *_NOT_YET)
#: Reply formats this client reads.
ACCEPT_TYPES = ("text/csv", "application/jsonlines", "application/json")


def _media_type(key: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` without parameters (``; charset=...``) and lower-cased, checked against ``allowed``."""
    if not isinstance(value, str):
        raise ConfigError(f"predictor.{key}", f"expected one of {list(allowed)}, found {value!r}")
    media = value.split(";", 1)[0].strip().lower()
    if media not in allowed:
        raise ConfigError(f"predictor.{key}", f"expected one of {list(allowed)}, found {value!r}")
    return media


def request_codec(
    content_type: str,
    *,
    feature_names: Sequence[str],
    content_template: str | None = None,
    record_template: str | None = None,
) -> RequestCodec:
    """The codec that writes request bodies of ``content_type``.

    Parameters
    ----------
    content_type : str
        ``predictor.content_type`` (``text/csv``, ``application/jsonlines``, ``application/json``).
    feature_names : sequence of str
        The features sent to the model, in model order.
    content_template, record_template : str, optional
        ``predictor.content_template`` (required for JSON Lines and JSON) and
        ``predictor.record_template`` (required for JSON).

    Returns
    -------
    RequestCodec

    Raises
    ------
    ConfigError
        Unknown content type, missing or malformed template (the message names the key).
    NotSupportedError
        Image and ``application/x-npy`` requests (computer-vision models), not built yet.
    """
    media = _media_type("content_type", content_type, CONTENT_TYPES)
    names = list(feature_names)
    if not names:
        raise ConfigError("predictor", "no feature columns are left to send to the model")
    if media in _NOT_YET:
        raise NotSupportedError(
            f"predictor.content_type {content_type!r}: image and NumPy requests (computer-vision "
            f"models) are not supported yet; tabular models take text/csv, application/jsonlines "
            f"or application/json"
        )
    if media == "text/csv":
        return CSVRequestCodec(names)
    if media == "application/jsonlines":
        if content_template is None:
            raise ConfigError(
                "predictor.content_template",
                "required for content_type application/jsonlines (e.g. '{\"features\":$features}'), "
                "found none",
            )
        return JSONLinesRequestCodec(names, content_template)
    templates = (("content_template", content_template), ("record_template", record_template))
    missing = [key for key, value in templates if value is None]
    if missing:
        raise ConfigError(
            f"predictor.{missing[0]}",
            "content_template and record_template are required for content_type application/json "
            f"(e.g. '$records' and '$features_kvp'), found no {' and no '.join(missing)}",
        )
    return JSONRequestCodec(names, content_template, record_template)


def response_codec(
    accept_type: str,
    *,
    label: str | int | None = None,
    probability: str | int | None = None,
) -> ResponseCodec:
    """The codec that reads reply bodies of ``accept_type``.

    Parameters
    ----------
    accept_type : str
        ``predictor.accept_type`` (defaults to the content type; the caller resolves that).
    label, probability : int or str, optional
        ``predictor.label`` / ``predictor.probability``: a column index for CSV, a JMESPath for
        JSON Lines and JSON. With neither, the reply is read as scores.

    Returns
    -------
    ResponseCodec

    Raises
    ------
    ConfigError
        Unknown accept type, a JMESPath for CSV, an invalid JMESPath.
    """
    media = _media_type("accept_type", accept_type, ACCEPT_TYPES)
    if media == "text/csv":
        return CSVResponseCodec(label=label, probability=probability)
    if media == "application/jsonlines":
        return JSONLinesResponseCodec(label=label, probability=probability)
    return JSONResponseCodec(label=label, probability=probability)
