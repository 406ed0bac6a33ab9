"""``application/jsonlines`` and ``application/json`` replies (contract §5.3).

Replies
-------
* JSON Lines: one JSON document per record; ``label``/``probability`` are JMESPath
  expressions evaluated on each line.
* JSON: one document; each expression must yield one item per record
  (``predictions[*].score``) — or, for a one-record request, that record's item.
* With neither expression, the line (JSON Lines) or each element of the top-level array
  (JSON) is the score: a number or a list of numbers.
* An int ``label``/``probability`` (an SDK ``model_scores`` index) picks that position of a
  line's array (JSON Lines) or of each element's array (JSON).
"""

from __future__ import annotations

import json
import operator

import jmespath
import jmespath.exceptions
import orjson

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict.codecs._decode import body_text, check_count, label_array, load_json, score_array
from clarify_engine.predict.codecs._format import excerpt

__all__ = ["JSONLinesResponseCodec", "JSONResponseCodec"]


def _expression(key: str, value: object, per_element: bool):
    """A compiled JMESPath for ``predictor.<key>`` (an int index becomes ``[i]`` / ``[*][i]``)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"predictor.{key}", f"expected an index >= 0 or a JMESPath, found {value}")
        value = f"[*][{value}]" if per_element else f"[{value}]"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"predictor.{key}", f"expected a JMESPath expression, found {value!r}")
    try:
        return jmespath.compile(value)
    except jmespath.exceptions.JMESPathError as exc:
        raise ConfigError(
            f"predictor.{key}", f"{value!r} is not a valid JMESPath expression: {exc}"
        ) from None


def _field_path(expression) -> tuple[str, ...] | None:
    """The keys of a JMESPath made of field names only (``score``, ``a.b.c``), else None."""
    def walk(node):
        if node["type"] == "field":
            return (node["value"],)
        if node["type"] == "subexpression":
            parts = [walk(child) for child in node["children"]]
            if all(p is not None for p in parts):
                return tuple(key for p in parts for key in p)
        return None

    return walk(expression.parsed)


def _follow(doc: object, path: tuple[str, ...]) -> object:
    """What a field-only JMESPath finds in ``doc``: None where a key is missing or a value is
    not an object (as JMESPath itself answers)."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _quote_json(value: object) -> str:
    return excerpt(json.dumps(value, ensure_ascii=False, default=str))


def _outputs(labels_items, score_items, label_where, score_where, text) -> ModelOutput:
    labels = label_array(labels_items, label_where, text) if labels_items is not None else None
    scores = score_array(score_items, score_where, text) if score_items is not None else None
    return ModelOutput(labels=labels, scores=scores)


_WHOLE_HINT = (
    "the whole {what}; set predictor.probability (or predictor.label) to a JMESPath "
    "that picks the score"
)


class _JMESPathReader:
    """What both JSON response codecs hold: the ``label`` and ``probability`` expressions,
    compiled (``per_element``: an int ``i`` means ``[*][i]`` rather than ``[i]``), and how
    messages name them."""

    accept_type: str
    _per_element: bool

    def __init__(self, *, label: str | int | None = None, probability: str | int | None = None):
        self.label, self.probability = label, probability
        self._label = _expression("label", label, per_element=self._per_element)
        self._probability = _expression("probability", probability, per_element=self._per_element)
        self._label_where = f"predictor.label {label!r}"
        self._score_where = f"predictor.probability {probability!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(label={self.label!r}, probability={self.probability!r})"


class JSONLinesResponseCodec(_JMESPathReader):
    """Reads JSON Lines replies: one JSON document per record.

    Parameters
    ----------
    label, probability : str or int, optional
        JMESPath expressions evaluated on each line (an int ``i`` means ``[i]``).
    """

    accept_type = "application/jsonlines"
    _per_element = False

    def decode(self, body: bytes, n_records: int) -> ModelOutput:
        """Parse a reply to a request of ``n_records`` records."""
        text = body_text(body, self.accept_type)
        lines = text.rstrip("\r\n").split("\n")
        try:
            if len(lines) != n_records:
                raise ValueError("blank lines, or a count the general path reports")
            docs = list(map(orjson.loads, lines))  # strict JSON, one C call per line
        except ValueError:  # orjson.JSONDecodeError too: blank lines, NaN/Infinity, errors
            lines = [line for line in text.split("\n") if line.strip()]
            check_count(len(lines), n_records, text)
            docs = [load_json(line, f"line {i} of the response") for i, line in enumerate(lines)]
        if self._label is None and self._probability is None:
            return _outputs(None, docs, None, _WHOLE_HINT.format(what="line"), text)
        labels = self._search(self._label, "label", docs, lines)
        scores = self._search(self._probability, "probability", docs, lines)
        return _outputs(labels, scores, self._label_where, self._score_where, text)

    @staticmethod
    def _search(expression, key: str, docs: list, lines: list[str]):
        if expression is None:
            return None
        path = _field_path(expression)
        if path is not None:
            if len(path) == 1:
                try:  # one key: a C-level lookup per document
                    found = list(map(operator.itemgetter(path[0]), docs))
                except (KeyError, TypeError, IndexError):  # the general path says where
                    found = [None]
            else:
                found = [_follow(doc, path) for doc in docs]
            if None not in found:
                return found
        found = []
        for i, doc in enumerate(docs):
            value = expression.search(doc)
            if value is None:
                raise ModelError(
                    f"`{expression.expression}` (predictor.{key}) found nothing in line {i} of the "
                    f"response: {excerpt(lines[i])}"
                )
            found.append(value)
        return found


class JSONResponseCodec(_JMESPathReader):
    """Reads JSON replies: one document for the whole request.

    Parameters
    ----------
    label, probability : str or int, optional
        JMESPath expressions yielding one item per record (an int ``i`` means ``[*][i]``).
    """

    accept_type = "application/json"
    _per_element = True

    def decode(self, body: bytes, n_records: int) -> ModelOutput:
        """Parse a reply to a request of ``n_records`` records."""
        text = body_text(body, self.accept_type)
        doc = load_json(text, "the response")
        if self._label is None and self._probability is None:
            if isinstance(doc, dict) and n_records > 1:
                raise ModelError(
                    f"the response is a JSON object, not one score per record; set "
                    f"predictor.probability (or predictor.label) to a JMESPath that yields one item "
                    f"per record, e.g. 'predictions[*].score': {excerpt(text)}"
                )
            items = self._per_record(doc, n_records, None, text)
            return _outputs(None, items, None, _WHOLE_HINT.format(what="element"), text)
        labels = scores = None
        if self._label is not None:
            found = self._find(self._label, "label", doc, text)
            labels = self._per_record(found, n_records, self._label, text)
        if self._probability is not None:
            found = self._find(self._probability, "probability", doc, text)
            scores = self._per_record(found, n_records, self._probability, text)
        return _outputs(labels, scores, self._label_where, self._score_where, text)

    @staticmethod
    def _find(expression, key: str, doc, text: str):
        value = expression.search(doc)
        if value is None or value == []:
            raise ModelError(
                f"`{expression.expression}` (predictor.{key}) found nothing in the response: {excerpt(text)}"
            )
        return value

    @staticmethod
    def _per_record(found, n_records: int, expression, text: str) -> list:
        if isinstance(found, list) and len(found) == n_records:
            return found
        if n_records == 1:
            return [found]
        if expression is None:
            count = len(found) if isinstance(found, list) else 1
            raise ModelError(
                f"the model returned {count} records for a request of {n_records}: {excerpt(text)}"
            )
        count = f"{len(found)} items" if isinstance(found, list) else f"a single {type(found).__name__}"
        raise ModelError(
            f"`{expression.expression}` yielded {count} for a request of {n_records} records; "
            f"expected one per record: {_quote_json(found)}"
        )
