"""``text/csv`` replies (contract §5.3).

A reply is one line per record, or — when the request had several records and each has a
single value — one line holding one value per record (``0.6,0.3`` for two records).
``label`` and ``probability`` are column indices; with neither, the whole row is the score
vector.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import orjson

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict.codecs._decode import body_text, check_count, csv_label, label_array, score_array
from clarify_engine.predict.codecs._format import excerpt

__all__ = ["CSVResponseCodec"]


def _split_rows(text: str) -> list[list[str]]:
    """The reply's rows (trailing blank lines dropped), honouring CSV quotes when there are any."""
    text = text.rstrip("\r\n")
    if not text:
        return []
    if '"' in text:
        return list(csv.reader(io.StringIO(text)))
    return [line.rstrip("\r").split(",") if line.rstrip("\r") else [] for line in text.split("\n")]


#: Bytes a reply of plain numbers, one per line, is made of.
_NUMBER_BYTES = b"0123456789.-+eE\n"


def _single_scores(body: bytes, n_records: int) -> np.ndarray | None:
    """The fast path: a reply of one plain number per line and record, as (n, 1) scores.

    The lines are read as one JSON array by a single ``orjson`` call (correctly rounded, like
    ``float``). None when the reply is anything else (several values per line, quotes, blank
    or non-numeric lines, NaN, ``inf``, forms JSON lacks such as ``+1`` or ``.5``, a count that
    is not ``n_records``): the general path then reads it or says what is wrong.
    """
    data = bytes(body).rstrip(b"\n")
    if not data or data.translate(None, _NUMBER_BYTES):
        return None  # empty, or something besides digits, signs, points, exponents, line breaks
    try:
        values = orjson.loads(b"[" + data.replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(values) != n_records:
        return None
    return np.array(values, dtype=np.float64).reshape(n_records, 1)


def _check_index(key: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"predictor.{key}",
            f"a text/csv response is read by column index: expected an int >= 0, found {value!r}",
        )
    return value


class CSVResponseCodec:
    """Reads CSV replies.

    Parameters
    ----------
    label : int, optional
        Column of the predicted label (``predictor.label``).
    probability : int, optional
        Column of the score (``predictor.probability``). With neither ``label`` nor
        ``probability`` the whole row is the score vector.
    """

    accept_type = "text/csv"

    def __init__(self, *, label: int | None = None, probability: int | None = None):
        self.label = _check_index("label", label)
        self.probability = _check_index("probability", probability)

    def __repr__(self) -> str:
        return f"CSVResponseCodec(label={self.label!r}, probability={self.probability!r})"

    def decode(self, body: bytes, n_records: int) -> ModelOutput:
        """Parse a reply to a request of ``n_records`` records."""
        if self.label is None and self.probability in (None, 0):
            scores = _single_scores(body, n_records)
            if scores is not None:
                return ModelOutput(labels=None, scores=scores)
        text = body_text(body, self.accept_type)
        rows = _split_rows(text)
        single_valued = {i for i in (self.label, self.probability) if i is not None} <= {0}
        if len(rows) == 1 and n_records > 1 and len(rows[0]) == n_records and single_valued:
            rows = [[value] for value in rows[0]]
        check_count(len(rows), n_records, text)
        for i, row in enumerate(rows):
            if not row or row == [""]:
                raise ModelError(f"record {i} of the response is an empty line: {excerpt(text)}")
        labels = scores = None
        if self.label is not None:
            column = self._column(rows, self.label, "label", text)
            labels = _csv_labels(column, text)
        if self.probability is not None:
            column = self._column(rows, self.probability, "probability", text)
            scores = score_array(column, f"predictor.probability {self.probability}", text)
        if self.label is None and self.probability is None:
            scores = score_array(rows, _WHOLE_ROW, text)
        return ModelOutput(labels=labels, scores=scores)

    @staticmethod
    def _column(rows: list[list[str]], index: int, key: str, text: str) -> list[str]:
        for i, row in enumerate(rows):
            if index >= len(row):
                raise ModelError(
                    f"predictor.{key} is column {index} but record {i} of the response has "
                    f"{len(row)} values: {excerpt(','.join(row))} (response: {excerpt(text)})"
                )
        return [row[index] for row in rows]


#: Where scores are read from with neither ``label`` nor ``probability``, and what to set instead.
_WHOLE_ROW = (
    "the whole row, as neither predictor.label nor predictor.probability is set; set "
    "predictor.label to the column of the label (e.g. 0) if the model answers labels, and "
    "predictor.probability to the column of the score"
)


def _csv_labels(column: list[str], text: str) -> np.ndarray:
    values = [csv_label(v) for v in column]
    if any(isinstance(v, str) for v in values):
        values = [v.strip() for v in column]  # not all numeric: every label stays text
    return label_array(values, "predictor.label", text)
