"""``application/jsonlines`` and ``application/json`` requests and replies (contract §2.4, §5.2, §5.3).

Templates (SageMaker Python SDK ``ModelConfig``)
-----------------------------------------------
* JSON Lines: ``content_template`` holds ``$features`` exactly once; each record becomes one
  line, ``$features`` replaced by the JSON array of its values
  (``{"data":{"features":$features}}`` → ``{"data":{"features":[1,2,3,4]}}``).
* JSON: ``content_template`` holds exactly one of ``$records`` (a JSON array of every record
  of the request, each rendered with ``record_template``) or ``$record`` (one rendered record:
  one record per request). ``record_template`` holds ``$features`` (JSON array of values)
  and/or ``$feature_names`` (JSON array of names), or one ``$features_kvp``
  (``{"A":0,"B":1}``), or per-feature placeholders ``"${A}"`` — the double quotes belong to
  the placeholder, which becomes the bare JSON value of feature ``A``. ``$feature_names`` may
  also appear in ``content_template``.

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
import re
from typing import Sequence

import jmespath
import jmespath.exceptions
import numpy as np
import orjson

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict._decode import body_text, check_count, label_array, load_json, score_array
from clarify_engine.predict._format import (
    JSON,
    excerpt,
    format_columns,
    format_rows,
    format_rows_bytes,
    format_rows_packed,
)

__all__ = [
    "JSONLinesRequestCodec",
    "JSONLinesResponseCodec",
    "JSONRequestCodec",
    "JSONResponseCodec",
]

#: Placeholders: ``"${name}"`` (quotes included) or a ``$word`` not followed by a name character.
_PLACEHOLDER = re.compile(
    r'"\$\{(?P<name>[^}]*)\}"'
    r"|\$(?P<word>records|record|features_kvp|feature_names|features)(?![A-Za-z0-9_])"
)


def _parse_template(template: str) -> list[str | tuple[str, str]]:
    """``template`` as literal text and ``("word", ...)``/``("name", ...)`` placeholder parts."""
    parts: list[str | tuple[str, str]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(template[position : match.start()])
        if match.group("name") is not None:
            parts.append(("name", match.group("name")))
        else:
            parts.append(("word", match.group("word")))
        position = match.end()
    if position < len(template):
        parts.append(template[position:])
    return parts


def _count(parts, word: str) -> int:
    return sum(1 for p in parts if p == ("word", word))


def _template_text(key: str, template: object) -> str:
    if not isinstance(template, str) or not template.strip():
        raise ConfigError(f"predictor.{key}", f"expected a non-empty template string, found {template!r}")
    return template


class _RecordRenderer:
    """Renders records through a parsed template whose placeholders are record-level.

    ``parts`` items: literal text, ``("features",)``, ``("kvp",)`` or ``("column", j)``. The
    template is compiled once into a :meth:`str.format` pattern whose fields are the cells of a
    record (``{j}``) and the record's joined cells (``{n_features}``), so a record is rendered by
    one C-level call.
    """

    def __init__(self, parts, feature_names: Sequence[str]):
        self.parts = _merge_literals(parts)
        self.n_features = m = len(feature_names)
        kinds = {p[0] for p in self.parts if isinstance(p, tuple)}
        self._needs_columns = bool(kinds & {"kvp", "column"})
        self._needs_joined = "features" in kinds

        def escape(text: str) -> str:
            return text.replace("{", "{{").replace("}", "}}")

        pattern = []
        for part in self.parts:
            if isinstance(part, str):
                pattern.append(escape(part))
            elif part[0] == "features":
                pattern.append("[{%d}]" % m)
            elif part[0] == "kvp":
                keys = [escape(orjson.dumps(str(name)).decode()) for name in feature_names]
                pattern.append("{{" + ",".join(f"{key}:{{{j}}}" for j, key in enumerate(keys)) + "}}")
            else:
                pattern.append("{%d}" % part[1])
        self._pattern = "".join(pattern)
        slots = [i for i, p in enumerate(self.parts) if isinstance(p, tuple)]
        self._affixes = None
        if len(slots) == 1 and self.parts[slots[0]] == ("features",):
            # The common shape, prefix $features suffix: two concatenations per record.
            at = slots[0]
            self._affixes = ("".join(self.parts[:at]) + "[", "]" + "".join(self.parts[at + 1 :]))

    def render_bytes(self, rows) -> list[bytes]:
        """Each record rendered, UTF-8 (the common ``prefix $features suffix`` shape without str)."""
        if self._affixes is not None:
            prefix, suffix = (part.encode() for part in self._affixes)
            return [prefix + r + suffix for r in format_rows_bytes(rows, self.n_features, JSON)]
        return [text.encode() for text in self.render(rows)]

    def render_packed(self, rows, separator: bytes) -> tuple[bytes, np.ndarray] | None:
        """Numeric records of the ``prefix $features suffix`` shape end to end, or None.

        Each record is followed by ``separator``; see :func:`~._format.format_rows_packed`.
        """
        if self._affixes is None:
            return None
        prefix, suffix = (part.encode() for part in self._affixes)
        return format_rows_packed(rows, self.n_features, JSON, prefix=prefix, suffix=suffix, separator=separator)

    def render(self, rows) -> list[str]:
        """Each record rendered, as text."""
        fill = self._pattern.format
        if self._affixes is not None:
            prefix, suffix = self._affixes
            return [prefix + r + suffix for r in format_rows(rows, self.n_features, JSON)]
        if not self._needs_columns:
            joined = format_rows(rows, self.n_features, JSON)
            blanks = [""] * self.n_features
            return [fill(*blanks, r) for r in joined]
        columns = format_columns(rows, self.n_features, JSON)
        if self._needs_joined:
            return [fill(*cells, ",".join(cells)) for cells in zip(*columns)]
        return [fill(*cells) for cells in zip(*columns)]


def _merge_literals(parts):
    merged = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def _record_parts(key: str, template: str, feature_names: Sequence[str], allowed: set[str]):
    """Parts of a record-level template, ``$feature_names`` filled in, others checked."""
    names_json = orjson.dumps([str(n) for n in feature_names]).decode()
    index = {str(name): j for j, name in enumerate(feature_names)}
    out = []
    for part in _parse_template(template):
        if isinstance(part, str):
            out.append(part)
        elif part[0] == "name":
            if "name" not in allowed:
                raise ConfigError(
                    f"predictor.{key}",
                    f'"${{{part[1]}}}" placeholders belong in record_template, found in {template!r}',
                )
            if part[1] not in index:
                raise ConfigError(
                    f"predictor.{key}",
                    f'placeholder "${{{part[1]}}}" names no feature; expected one of {sorted(index)}, '
                    f"found in {template!r}",
                )
            out.append(("column", index[part[1]]))
        elif part[1] == "feature_names":
            out.append(names_json)
        elif part[1] in allowed:
            out.append(("kvp",) if part[1] == "features_kvp" else ("features",))
        else:
            expected = ", ".join("$" + word for word in sorted(allowed - {"name"}) + ["feature_names"])
            raise ConfigError(
                f"predictor.{key}",
                f"placeholder ${part[1]} is not allowed here (expected {expected}), found in {template!r}",
            )
    return out


def _check_json(key: str, text: str, template: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"predictor.{key}",
            f"the template does not give valid JSON once filled in ({exc.msg}): {template!r} "
            f"gives {excerpt(text)}",
        ) from None


class JSONLinesRequestCodec:
    """Encodes records as JSON Lines through ``content_template``.

    Parameters
    ----------
    feature_names : sequence of str
        Features each record carries, in model order.
    content_template : str
        Holds ``$features`` exactly once (and optionally ``$feature_names``).

    Notes
    -----
    ``len(join(pieces)) == sum(map(len, pieces)) + overhead() + len(separator) * (len(pieces) - 1)``.
    """

    content_type = "application/jsonlines"
    max_records = None
    separator = b"\n"

    def __init__(self, feature_names: Sequence[str], content_template: str):
        template = _template_text("content_template", content_template)
        parts = _record_parts("content_template", template, feature_names, {"features"})
        found = sum(1 for p in parts if p == ("features",))
        if found != 1:
            raise ConfigError(
                "predictor.content_template",
                f"a JSON Lines template must hold the placeholder $features exactly once, "
                f"found it {found} times in {template!r}",
            )
        self.feature_names = tuple(feature_names)
        self.content_template = template
        self._renderer = _RecordRenderer(parts, feature_names)
        _check_json("content_template", self._renderer.render([[0] * len(feature_names)])[0], template)

    def __repr__(self) -> str:
        return f"JSONLinesRequestCodec(content_template={self.content_template!r})"

    def encode_records(self, rows) -> list[bytes]:
        """Each record as one JSON line (no line break), UTF-8."""
        return self._renderer.render_bytes(rows)

    def join(self, pieces: Sequence[bytes]) -> bytes:
        """The request body: the lines joined by ``\\n``."""
        return self.separator.join(pieces)

    def encode_packed(self, rows) -> tuple[bytes, np.ndarray] | None:
        """Numeric records as lines end to end, each followed by ``\\n``, and where each starts (or None)."""
        return self._renderer.render_packed(rows, self.separator)

    def wrap(self, records: bytes) -> bytes:
        """The body for lines already joined by the separator: JSON Lines adds nothing."""
        return records

    def overhead(self) -> int:
        """A JSON Lines body adds nothing but the separators (see the class Notes)."""
        return 0


class JSONRequestCodec:
    """Encodes records as one JSON document through ``content_template`` and ``record_template``.

    Parameters
    ----------
    feature_names : sequence of str
        Features each record carries, in model order (also the names used by
        ``$feature_names``, ``$features_kvp`` and ``"${name}"``).
    content_template : str
        Holds exactly one ``$records`` or ``$record``; may hold ``$feature_names``.
    record_template : str
        ``$features`` and/or ``$feature_names``, or one ``$features_kvp``, or ``"${name}"``
        placeholders.

    Notes
    -----
    ``len(join(pieces)) == sum(map(len, pieces)) + overhead() + len(separator) * (len(pieces) - 1)``.
    With ``$record``, :attr:`max_records` is 1 and :meth:`join` takes exactly one piece.
    """

    content_type = "application/json"

    def __init__(self, feature_names: Sequence[str], content_template: str, record_template: str):
        content = _template_text("content_template", content_template)
        record = _template_text("record_template", record_template)
        parts = _parse_template(content)
        many, one = _count(parts, "records"), _count(parts, "record")
        if many + one != 1:
            raise ConfigError(
                "predictor.content_template",
                f"a JSON template must hold exactly one placeholder $records or $record, "
                f"found {many} $records and {one} $record in {content!r}",
            )
        self.max_records = 1 if one else None
        self.separator = b"" if one else b","
        at = next(i for i, p in enumerate(parts) if p in (("word", "records"), ("word", "record")))
        names_json = orjson.dumps([str(n) for n in feature_names]).decode()

        def outer(side) -> str:
            texts = []
            for part in side:
                if isinstance(part, str):
                    texts.append(part)
                elif part == ("word", "feature_names"):
                    texts.append(names_json)
                else:
                    shown = f'"${{{part[1]}}}"' if part[0] == "name" else f"${part[1]}"
                    raise ConfigError(
                        "predictor.content_template",
                        f"{shown} belongs in record_template; content_template takes $records or "
                        f"$record and $feature_names, found {content!r}",
                    )
            return "".join(texts)

        prefix, suffix = outer(parts[:at]), outer(parts[at + 1 :])
        if self.max_records is None:
            prefix, suffix = prefix + "[", "]" + suffix
        self._prefix, self._suffix = prefix.encode(), suffix.encode()

        record_parts = _record_parts(
            "record_template", record, feature_names, {"features", "features_kvp", "name"}
        )
        kvp = sum(1 for p in record_parts if p == ("kvp",))
        if kvp > 1:
            raise ConfigError(
                "predictor.record_template",
                f"$features_kvp may appear only once, found it {kvp} times in {record!r}",
            )
        if not any(isinstance(p, tuple) for p in record_parts) and "$feature_names" not in record:
            raise ConfigError(
                "predictor.record_template",
                f'expected $features, $feature_names, $features_kvp or "${{name}}" placeholders, '
                f"found none in {record!r}",
            )
        self.feature_names = tuple(feature_names)
        self.content_template, self.record_template = content, record
        self._renderer = _RecordRenderer(record_parts, feature_names)
        sample = self._renderer.render([[0] * len(feature_names)])[0]
        _check_json("record_template", sample, record)
        _check_json("content_template", self.join([sample.encode()]).decode(), content)

    def __repr__(self) -> str:
        return (
            f"JSONRequestCodec(content_template={self.content_template!r}, "
            f"record_template={self.record_template!r})"
        )

    def encode_records(self, rows) -> list[bytes]:
        """Each record rendered through ``record_template``, UTF-8."""
        return self._renderer.render_bytes(rows)

    def join(self, pieces: Sequence[bytes]) -> bytes:
        """The request body: the records placed into ``content_template``."""
        if self.max_records == 1 and len(pieces) != 1:
            raise ValueError(
                f"content_template {self.content_template!r} holds $record: one record per request, "
                f"got {len(pieces)}"
            )
        return self._prefix + self.separator.join(pieces) + self._suffix

    def encode_packed(self, rows) -> tuple[bytes, np.ndarray] | None:
        """Numeric records end to end, each followed by the separator, and where each starts (or None)."""
        return self._renderer.render_packed(rows, self.separator)

    def wrap(self, records: bytes) -> bytes:
        """The body for records already joined by the separator: placed into ``content_template``."""
        return self._prefix + records + self._suffix

    def overhead(self) -> int:
        """Bytes of ``content_template`` around the records (brackets of ``$records`` included)."""
        return len(self._prefix) + len(self._suffix)


# --------------------------------------------------------------------------- replies


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


class JSONLinesResponseCodec:
    """Reads JSON Lines replies: one JSON document per record.

    Parameters
    ----------
    label, probability : str or int, optional
        JMESPath expressions evaluated on each line (an int ``i`` means ``[i]``).
    """

    accept_type = "application/jsonlines"

    def __init__(self, *, label: str | int | None = None, probability: str | int | None = None):
        self.label, self.probability = label, probability
        self._label = _expression("label", label, per_element=False)
        self._probability = _expression("probability", probability, per_element=False)
        self._label_where = f"predictor.label {label!r}"
        self._score_where = f"predictor.probability {probability!r}"

    def __repr__(self) -> str:
        return f"JSONLinesResponseCodec(label={self.label!r}, probability={self.probability!r})"

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


class JSONResponseCodec:
    """Reads JSON replies: one document for the whole request.

    Parameters
    ----------
    label, probability : str or int, optional
        JMESPath expressions yielding one item per record (an int ``i`` means ``[*][i]``).
    """

    accept_type = "application/json"

    def __init__(self, *, label: str | int | None = None, probability: str | int | None = None):
        self.label, self.probability = label, probability
        self._label = _expression("label", label, per_element=True)
        self._probability = _expression("probability", probability, per_element=True)
        self._label_where = f"predictor.label {label!r}"
        self._score_where = f"predictor.probability {probability!r}"

    def __repr__(self) -> str:
        return f"JSONResponseCodec(label={self.label!r}, probability={self.probability!r})"

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
