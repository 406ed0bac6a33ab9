"""Pieces every response codec shares: body text, record-count checks, label and score arrays.

Every failure is a :class:`~clarify_engine.errors.ModelError` that quotes the part of the
reply at fault (cut to about 200 characters) and says what was expected.
"""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import orjson

from clarify_engine.errors import ModelError
from clarify_engine.predict.codecs._format import excerpt
from clarify_engine._numbers import is_number  # the one test; exported as predict.is_number

__all__ = ["body_text", "check_count", "is_number", "label_array", "load_json", "score_array"]


def body_text(body: bytes, accept_type: str) -> str:
    """The reply as text (UTF-8, an optional byte-order mark dropped)."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(
            f"the {accept_type} response is not UTF-8 text ({exc.reason} at byte {exc.start}): "
            f"{excerpt(repr(bytes(body)))}"
        ) from exc
    return text[1:] if text.startswith("\ufeff") else text


def check_count(found: int, n_records: int, text: str, what: str = "records") -> None:
    """Raise unless the reply holds one item per record of the request."""
    if found != n_records:
        raise ModelError(
            f"the model returned {found} {what} for a request of {n_records}: {excerpt(text)}"
        )


def load_json(text: str, where: str) -> object:
    """Parse one JSON document (strict JSON first; Python's NaN/Infinity literals accepted too)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{where} is not valid JSON ({exc.msg} at character {exc.pos}): {excerpt(text)}"
        ) from exc


def _parse_number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a score")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"{type(value).__name__} is not a number")


def score_array(items: Sequence[object], where: str, text: str) -> np.ndarray:
    """Per-record scores (a number, or a list of numbers) as a float64 (n_records, n_scores) array.

    Parameters
    ----------
    items : sequence
        One item per record: a number, a numeric string, or a list of those.
    where : str
        What the items were read from, for messages (e.g. ``"predictor.probability 'score'"``).
    text : str
        The reply, quoted in messages.
    """
    if items and "true" not in text and "false" not in text:
        # Fast path: numpy parses numbers and numeric strings in one call; anything it
        # rejects (ragged rows, text, booleans — kept off this path by the text check,
        # since numpy would take them as 1/0) falls through to the checks below.
        try:
            fast = np.array(items, dtype=np.float64)
        except (ValueError, TypeError):
            fast = None
        if fast is not None and fast.ndim in (1, 2) and len(fast) == len(items):
            fast = fast.reshape(len(items), -1)
            if fast.shape[1] and not np.isnan(fast).any():
                return fast
    rows: list[list[float]] = []
    width = None
    for i, item in enumerate(items):
        values = item if isinstance(item, list) else [item]
        try:
            row = [_parse_number(v) for v in values]
        except (ValueError, TypeError):
            bad = next(v for v in values if not is_number(v))
            shown = repr(bad) if isinstance(bad, str) else json.dumps(bad, ensure_ascii=False)
            raise ModelError(
                f"non-numeric score {excerpt(shown)} "
                f"in record {i} ({where}); expected a number or a list of numbers{_score_fix(where)}: "
                f"{excerpt(text)}"
            ) from None
        if not row:
            raise ModelError(f"record {i} has no scores ({where}): {excerpt(text)}")
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise ModelError(
                f"record {i} has {len(row)} scores but record 0 has {width} ({where}): {excerpt(text)}"
            )
        if any(v != v for v in row):
            raise ModelError(f"score NaN in record {i} ({where}): {excerpt(text)}")
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(rows), width or 0)


def _score_fix(where: str) -> str:
    """The config keys to change when the scores read from ``where`` are not numbers."""
    if where.startswith("predictor.probability"):
        return ("; point predictor.probability at the score the model returns (and predictor.label at "
                "its label, if the text is one)")
    return ""


def _scalar_label_array(values: list) -> np.ndarray:
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return np.array(values, dtype=bool)
    if kinds <= {int} and all(-(2**63) <= v < 2**63 for v in values):
        return np.array(values, dtype=np.int64)
    if kinds <= {int, float}:
        return np.array(values, dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def label_array(items: Sequence[object], where: str, text: str) -> np.ndarray:
    """Per-record labels as an array: shape (n,) for one label per record, (n, k) for candidate lists.

    int labels become int64, numbers float64, anything else an object array of the values as
    they were. A per-record list of labels (the candidates a score vector ranks) gives a 2-D
    array; every record must then list the same number of candidates.
    """
    items = list(items)
    lists = [isinstance(v, list) for v in items]
    for i, value in enumerate(items):
        values = value if lists[i] else [value]
        for v in values:
            if not isinstance(v, (str, int, float, bool)):
                raise ModelError(
                    f"label {excerpt(json.dumps(v, ensure_ascii=False))} in record {i} ({where}) is not "
                    f"a string or a number: {excerpt(text)}"
                )
    if not any(lists):
        return _scalar_label_array(items)
    if not all(lists):
        i = lists.index(not lists[0])
        raise ModelError(
            f"record {i} has {'a list of labels' if lists[i] else 'a single label'} but record 0 has "
            f"{'a list of labels' if lists[0] else 'a single label'} ({where}): {excerpt(text)}"
        )
    width = len(items[0]) if items else 0
    for i, value in enumerate(items):
        if len(value) != width:
            raise ModelError(
                f"record {i} lists {len(value)} labels but record 0 lists {width} ({where}): {excerpt(text)}"
            )
    flat = _scalar_label_array([v for value in items for v in value])
    return flat.reshape(len(items), width)


def csv_label(text: str) -> object:
    """A CSV label field as int when it looks like one, float when it looks like a number, else str."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
