"""``application/jsonlines`` and ``application/json`` requests (contract §2.4, §5.2).

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
"""

from __future__ import annotations

import json
import re
from typing import Sequence

import numpy as np
import orjson

from clarify_engine.errors import ConfigError
from clarify_engine.predict.codecs._format import (
    JSON,
    excerpt,
    format_columns,
    format_rows,
    format_rows_bytes,
    format_rows_packed,
)

__all__ = ["JSONLinesRequestCodec", "JSONRequestCodec"]

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
