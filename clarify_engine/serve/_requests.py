"""Request bodies of ``serve-model``: feature frames, read a chunk of records at a time.

A large request is parsed, predicted and answered in chunks of at most ``chunk_records``
records, so that its cost in memory is the body, one chunk's working set and the reply,
not several copies of the whole body as Python objects (see ``docs/models.md``).

``text/csv``
    One record per line, no header, feature values in the model's order.
``application/jsonlines``
    One JSON value per line: a list of feature values, or an object with one list-valued
    field holding them (``{"features": [...]}``, ``{"Features": [...]}``, any name).
``application/json``
    ``{"instances": [...]}`` or a bare list; each instance a list of feature values, an
    object with one list-valued field (as above), or a ``{feature_name: value}`` object
    (ordered by the model's ``feature_names_in_`` when it has them).
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, Iterator

import numpy as np
import orjson
import pandas as pd

from clarify_engine.predict import InProcessModel

__all__ = ["BadRequest", "CSV", "JSON", "JSONL", "media_type", "parse_request"]

CSV = "text/csv"
JSONL = "application/jsonlines"
JSON = "application/json"
_ALIASES = {
    "text/csv": CSV,
    "application/csv": CSV,
    "application/jsonlines": JSONL,
    "application/x-jsonlines": JSONL,
    "application/jsonl": JSONL,
    "application/json": JSON,
}
#: CSV bodies up to this size are first tried with :func:`numpy.loadtxt` (faster when small).
_LOADTXT_MAX = 64 * 1024
#: JSON Lines bodies are decoded this many bytes (rounded to a line) at a time.
_JSONL_CHUNK_BYTES = 2 * 1024 * 1024


class BadRequest(Exception):
    """The request cannot be read: answered with ``status`` and the message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def media_type(value: str | None) -> str | None:
    """The canonical media type of a ``Content-Type``/``Accept`` value, or None if unsupported."""
    if not value:
        return None
    return _ALIASES.get(value.split(";", 1)[0].strip().lower())


def _loads(data: bytes) -> Any:
    """orjson, or the standard library where orjson refuses (NaN, Infinity literals)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


# -- records to frames ----------------------------------------------------------------------------
def _feature_list(record: Any, where: str) -> Any:
    """A record that is a list, or an object holding its features in its one list-valued field."""
    if isinstance(record, list):
        return record
    if isinstance(record, dict):
        lists = [v for v in record.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        return record
    raise BadRequest(f"{where}: expected a list of feature values or an object, found {type(record).__name__}")


def _records_frame(records: list, where: str, model: InProcessModel, first: int = 0) -> pd.DataFrame:
    """Frame of feature rows from JSON records (all lists, or all name->value objects).

    ``first`` is the number of the first record in the request (for messages).
    """
    if not records:
        raise BadRequest(f"{where}: no records in the request")
    head = _feature_list(records[0], f"{where} record {first}")
    if isinstance(head, list):
        rows = [r if isinstance(r, list) else _feature_list(r, f"{where} record {first + i}") for i, r in enumerate(records)]
        bad = [i for i, r in enumerate(rows) if not isinstance(r, list)]
        if bad:
            raise BadRequest(f"{where} record {first + bad[0]}: expected a list of feature values like record {first}, found an object")
        lengths = [len(r) for r in rows]
        if len(set(lengths)) != 1:
            i = next(i for i, n in enumerate(lengths) if n != lengths[0])
            raise BadRequest(f"{where} record {first + i}: {lengths[i]} feature values, but record {first} has {lengths[0]}")
        return _positional(pd.DataFrame(rows), model)
    if not all(isinstance(r, dict) for r in records):
        i = next(i for i, r in enumerate(records) if not isinstance(r, dict))
        raise BadRequest(f"{where} record {first + i}: expected a {{name: value}} object like record {first}")
    frame = pd.DataFrame.from_records(records)
    if model.feature_names is not None:
        missing = [n for n in model.feature_names if n not in frame.columns]
        if missing:
            raise BadRequest(f"{where}: records lack the model's features {missing}; found keys {list(frame.columns)}")
        frame = frame[model.feature_names]
    return frame


def _positional(frame: pd.DataFrame, model: InProcessModel) -> pd.DataFrame:
    expected = getattr(model.model, "n_features_in_", None)
    if expected is not None and frame.shape[1] != expected:
        raise BadRequest(f"records have {frame.shape[1]} feature values; the model expects {expected}")
    if model.feature_names is not None:
        frame.columns = model.feature_names
    return frame


# -- bodies to chunks of frames ------------------------------------------------------------------
def parse_request(body: bytes, content_type: str, model: InProcessModel, chunk_records: int = 20_000) -> Iterator[pd.DataFrame]:
    """Feature frames of at most about ``chunk_records`` rows each, in request order.

    Parameters
    ----------
    body : bytes
        The request body.
    content_type : str
        One of :data:`CSV`, :data:`JSONL`, :data:`JSON`.
    model : InProcessModel
        Gives the feature names and count the records must match.
    chunk_records : int
        Records per frame, at most (JSON Lines: per ~2 MB of body).

    Yields
    ------
    pandas.DataFrame of shape (n_chunk, n_features)

    Raises
    ------
    BadRequest
        The body does not hold records of the content type (raised while iterating).
    """
    if not body or body.isspace():  # (no body.strip(): it would copy a large body)
        raise BadRequest("empty request body: expected at least one record")
    if content_type == CSV:
        return _csv_chunks(body, model, chunk_records)
    if content_type == JSONL:
        return _jsonl_chunks(body, model)
    return _json_chunks(body, model, chunk_records)


def _csv_chunks(body: bytes, model: InProcessModel, chunk_records: int) -> Iterator[pd.DataFrame]:
    if len(body) <= _LOADTXT_MAX:
        # numpy's C reader has a fraction of pandas' fixed cost on small, all-numeric bodies
        try:
            yield _positional(pd.DataFrame(np.loadtxt(io.BytesIO(body), delimiter=",", ndmin=2)), model)
            return
        except ValueError:
            pass  # text cells, ragged or malformed rows: pandas reads or explains them
    try:
        reader = pd.read_csv(io.BytesIO(body), header=None, skipinitialspace=True, chunksize=chunk_records)
        for frame in reader:
            yield _positional(frame.reset_index(drop=True), model)
    except (ValueError, pd.errors.ParserError) as exc:
        raise BadRequest(f"text/csv body could not be read: {' '.join(str(exc).split())}") from exc


def _jsonl_chunks(body: bytes, model: InProcessModel) -> Iterator[pd.DataFrame]:
    start, first = 0, 0
    while start < len(body):
        end = body.find(b"\n", start + _JSONL_CHUNK_BYTES)
        end = len(body) if end < 0 else end + 1
        lines = [line for line in body[start:end].split(b"\n") if line.strip()]
        if lines:
            try:
                records = _loads(b"[" + b",".join(lines) + b"]")
            except ValueError:
                raise _bad_line(body, start) from None
            yield _records_frame(records, "application/jsonlines", model, first)
            first += len(records)
        start = end


def _bad_line(body: bytes, start: int) -> BadRequest:
    """The error for the first line from ``start`` on that is not JSON (numbered in the body)."""
    number = body.count(b"\n", 0, start)
    for line in body[start:].split(b"\n"):
        number += 1
        if line.strip():
            try:
                _loads(line)
            except ValueError as exc:
                return BadRequest(f"application/jsonlines line {number} is not JSON: {exc}: {line[:100]!r}")
    return BadRequest("application/jsonlines body is not one JSON value per line")


_JSON_HEAD = re.compile(rb'\s*(?:\{\s*"instances"\s*:\s*)?\[\s*\[')
_JSON_TAIL = re.compile(rb'\]\s*\]\s*(\}\s*)?\Z')


def _numeric_pieces(body: bytes) -> list[tuple[int, int]] | None:
    """Byte ranges of record runs when the body is ``[[numbers...], ...]`` (bare or as instances).

    Such a list holds no strings and no objects, so every ``]`` of it closes a record and the
    body can be decoded ~2 MB at a time instead of all at once. None when the body has another
    shape (strings, objects, other keys): it is then decoded whole.
    """
    head = _JSON_HEAD.match(body)
    if head is None:
        return None
    instances = body[:head.end()].count(b"{") == 1
    tail = _JSON_TAIL.search(body, head.end())
    if tail is None or instances != (tail.group(1) is not None):
        return None
    start, stop = head.end() - 1, tail.start() + 1  # from the first record's "[" to the last's "]"
    if body.find(b'"', start, stop) >= 0 or body.find(b"{", start, stop) >= 0:
        return None
    pieces = []
    while start < stop:
        cut = body.find(b"]", min(start + _JSONL_CHUNK_BYTES, stop - 1), stop) + 1
        if cut <= 0 or body.count(b"[", start, cut) != body.count(b"]", start, cut):
            return None  # nested lists: a cut could fall inside a record
        pieces.append((start, cut))
        start = cut
    return pieces


def _json_chunks(body: bytes, model: InProcessModel, chunk_records: int) -> Iterator[pd.DataFrame]:
    pieces = _numeric_pieces(body)
    if pieces is not None:
        first = 0
        for start, stop in pieces:
            try:
                records = _loads(b"[" + body[start:stop].lstrip(b" \t\r\n,") + b"]")
            except ValueError as exc:
                if first:
                    raise BadRequest(f"application/json body is not JSON after record {first - 1}: {exc}") from exc
                break  # not JSON after all: the whole-body decoder below says where
            yield _records_frame(records, "application/json instances", model, first)
            first += len(records)
        else:
            return
    try:
        doc = _loads(body)
    except ValueError as exc:
        raise BadRequest(f"application/json body is not JSON: {exc}") from exc
    del body  # the parsed records replace it
    if isinstance(doc, dict):
        if "instances" not in doc:
            raise BadRequest(f'application/json body: expected {{"instances": [...]}} or a list, found keys {list(doc)[:10]}')
        doc = doc["instances"]
    if not isinstance(doc, list):
        raise BadRequest(f"application/json instances: expected a list, found {type(doc).__name__}")
    if not doc:
        raise BadRequest("application/json instances: no records in the request")
    first = 0
    while doc:
        chunk = doc[:chunk_records]
        del doc[:chunk_records]  # records leave memory chunk by chunk, making room for the reply
        yield _records_frame(chunk, "application/json instances", model, first)
        first += len(chunk)
