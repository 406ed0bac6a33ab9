"""Readers for ``application/jsonlines`` and ``application/json`` datasets.

Both turn records into the same table: the feature columns first, then the label
column (when ``label`` is set), then the predicted-label column (when
``predicted_label`` is set) — the order in which the config's ``headers`` name them.

* JSON Lines: every non-blank line is one JSON value; ``features`` (JMESPath) yields its
  1-D feature list, ``label``/``predicted_label`` (JMESPath) one value each.
* JSON: each file is one document; ``features`` yields a 2-D list (row i = record i),
  ``label``/``predicted_label`` a list with one value per record.

Without ``features`` the record (JSON Lines line, or JSON document) must itself be the
feature list (resp. list of lists).

A JMESPath projection (``data[*].features``) leaves out the items where it finds nothing;
the JSON reader evaluates projections item by item instead, so a record without features
or label is an error naming it, never a shorter list that shifts labels against features.

Column names: the first ``n_features`` headers name the features, the next ones the
label and then the predicted label. Names not given are ``column_0``, ``column_1``, ...
for features, ``"label"`` for the label and ``"predicted_label"`` for the predicted label.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import pandas as pd

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.errors import ConfigError, DataError
from clarify_engine.data._readlog import ReadLog
from clarify_engine.data._sources import open_binary
from clarify_engine.data._tabular import HEADER_MISMATCH, default_names

__all__ = ["JsonColumns", "build_frame", "iter_jsonlines_blocks", "read_json_files", "read_jsonlines_files"]

DEFAULT_LABEL = "label"
DEFAULT_PREDICTED_LABEL = "predicted_label"


class JsonColumns:
    """Compiled JMESPath expressions for features, label and predicted label."""

    def __init__(self, features: str | None, label: Any, predicted_label: Any):
        import jmespath

        self.texts = {"features": features, "label": label, "predicted_label": predicted_label}
        self.compiled = {}
        for key, text in self.texts.items():
            if text is None:
                continue
            if not isinstance(text, str):
                raise ConfigError(
                    key, f"expected a JMESPath string for a JSON or JSON Lines dataset, found {text!r}"
                )
            try:
                self.compiled[key] = jmespath.compile(text)
            except jmespath.exceptions.JMESPathError as exc:
                raise ConfigError(key, f"expected a valid JMESPath expression, found {text!r} ({exc})") from exc

        # Plain field chains ("a", "a.b") are looked up directly: same result as JMESPath,
        # a third of the time per line (JMESPath dominated JSON Lines reading).
        self.fields = {key: _field_chain(expr.parsed) for key, expr in self.compiled.items()}

    def search(self, key: str, document: Any) -> Any:
        """Evaluate the expression for ``key`` (the whole document for absent ``features``)."""
        if key not in self.compiled:
            return document
        chain = self.fields[key]
        if chain is None:
            return self.compiled[key].search(document)
        for name in chain:
            if not isinstance(document, dict):
                return None
            document = document.get(name)
        return document

    def search_items(self, key: str, document: Any) -> Any:
        """Like :meth:`search`, but a top-level projection keeps one value per item.

        ``data[*].label`` gives one value per item of ``data``, None where ``label`` finds
        nothing (JMESPath itself would leave that item out and shorten the list).
        """
        if key not in self.compiled or self.compiled[key].parsed.get("type") != "projection":
            return self.search(key, document)
        from jmespath.parser import ParsedResult

        left, right = self.compiled[key].parsed["children"]
        items = ParsedResult(self.texts[key], left).search(document)
        if not isinstance(items, list):
            return None
        per_item = ParsedResult(self.texts[key], right)
        return [None if item is None else per_item.search(item) for item in items]


def _field_chain(node: dict) -> tuple[str, ...] | None:
    """``("a", "b")`` for the JMESPath AST of ``a.b``; None for any other expression."""
    if node.get("type") == "field":
        return (node["value"],)
    if node.get("type") == "subexpression":
        chain = []
        for child in node["children"]:
            part = _field_chain(child)
            if part is None:
                return None
            chain.extend(part)
        return tuple(chain)
    return None


def _names(n_features: int, columns: JsonColumns, headers: Sequence[str] | None, location: str) -> list[str]:
    """Name the features, then the label, then the predicted label (see module notes)."""
    extra_keys = [k for k in ("label", "predicted_label") if k in columns.compiled]
    defaults = {"label": DEFAULT_LABEL, "predicted_label": DEFAULT_PREDICTED_LABEL}
    if headers is None:
        names = default_names(n_features)
    else:
        if not n_features <= len(headers) <= n_features + len(extra_keys):
            expected = (
                str(n_features) if not extra_keys else f"{n_features} to {n_features + len(extra_keys)}"
            )
            raise DataError(
                f"{HEADER_MISMATCH} File {location}: {len(headers)} headers in config, {n_features} features "
                f"per record (expected {expected} headers: features, then label, then predicted label)."
            )
        names = list(headers[:n_features])
    given = list(headers[n_features:]) if headers is not None else []
    for i, key in enumerate(extra_keys):
        names.append(given[i] if i < len(given) else defaults[key])
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise DataError(
            f"Column names {duplicated} are used twice in {location}; name the label and predicted label "
            "with distinct entries at the end of 'headers'."
        )
    return names


def build_frame(features: list, extras: dict[str, list], columns, headers, location) -> pd.DataFrame:
    n_features = len(features[0]) if features else (len(headers) if headers else 0)
    names = _names(n_features, columns, headers, location)
    data = {}
    for j in range(n_features):
        data[names[j]] = pd.Series([row[j] for row in features])
    for name, key in zip(names[n_features:], [k for k in ("label", "predicted_label") if k in extras]):
        data[name] = pd.Series(extras[key])
    return pd.DataFrame(data, columns=names)


def _check_width(row: Any, expected: int | None, location: str, where: str, path: str) -> int:
    if not isinstance(row, list):
        raise DataError(
            f"{location} {where}: features path {path!r} yielded {type(row).__name__} {_short(row)}, "
            "expected a list of feature values."
        )
    if expected is not None and len(row) != expected:
        raise DataError(
            f"{location} {where}: {len(row)} features, but earlier records have {expected}; "
            "every record must have the same number of features."
        )
    return len(row)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def iter_jsonlines_blocks(location, columns: JsonColumns, storage_options, block_rows: int | None = None,
                          *, seekable: bool = True):
    """Records of one JSON Lines file as ``(features, extras)`` blocks of at most ``block_rows``.

    ``features`` is a list of feature lists, ``extras`` maps ``"label"`` / ``"predicted_label"``
    to their values. ``block_rows=None`` gives the whole file as one block. Every line is
    checked as it is read (the errors name the file and line), and every record must have
    the width of the file's first.
    """
    features, extras, width = [], {k: [] for k in ("label", "predicted_label") if k in columns.compiled}, None
    path_text = columns.texts["features"] or "<whole line>"
    with open_binary(location, storage_options, seekable=seekable) as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError as exc:
                raise DataError(f"{location} line {number}: not UTF-8 text ({exc}).") from exc
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{location} line {number}: not valid JSON ({exc.msg} at column {exc.colno}).") from exc
            row = columns.search("features", record)
            if row is None:
                raise DataError(f"{location} line {number}: features path {path_text!r} found nothing in {_short(record)}.")
            width = _check_width(row, width, location, f"line {number}", path_text)
            features.append(row)
            for key in extras:
                value = columns.search(key, record)
                if value is None:
                    raise DataError(
                        f"{location} line {number}: {key} path {columns.texts[key]!r} found nothing in {_short(record)}."
                    )
                extras[key].append(value)
            if block_rows is not None and len(features) >= block_rows:
                yield features, extras
                features, extras = [], {k: [] for k in extras}
    if features or block_rows is None:
        yield features, extras


def _read_jsonlines_file(location, columns: JsonColumns, storage_options):
    return next(iter_jsonlines_blocks(location, columns, storage_options))


def read_jsonlines_files(
    files: Sequence[str], columns: JsonColumns, headers: Sequence[str] | None, storage_options=None,
    log: ReadLog | None = None,
) -> pd.DataFrame:
    """Read JSON Lines files into one frame (features, label, predicted label columns).

    Returns
    -------
    pandas.DataFrame
        Shape ``(n_records, n_features [+1 label] [+1 predicted label])``; each column's
        dtype is what ``pandas.Series`` infers from its values (int64, float64, bool, str, object).
    """
    return _read_files(files, _read_jsonlines_file, columns, headers, storage_options, "JSON Lines records", log)


def _read_files(files, read_file, columns: JsonColumns, headers, storage_options, what: str,
                log: ReadLog | None = None) -> pd.DataFrame:
    """Read each file with ``read_file`` and stack the records in file order.

    Every file must give the same number of features per record (the error names both files).
    """
    features, extras = [], {k: [] for k in ("label", "predicted_label") if k in columns.compiled}
    with Progress("Reading dataset", len(files), "files") as progress:
        for location in files:
            _stop.check()
            rows, file_extras = read_file(location, columns, storage_options)
            if features and rows and len(rows[0]) != len(features[0]):
                raise DataError(
                    f"{location} has {len(rows[0])} features per record, but {files[0]} has "
                    f"{len(features[0])}; every file of a dataset must have the same columns."
                )
            features.extend(rows)
            if log is not None:
                log.read(location, len(rows))
            for key in extras:
                extras[key].extend(file_extras[key])
            progress.update()
    if not features:
        raise DataError(f"Dataset is empty: no {what} in {', '.join(files)}.")
    return build_frame(features, extras, columns, headers, files[0])


def _read_json_file(location, columns: JsonColumns, storage_options):
    with open_binary(location, storage_options) as stream:
        try:
            document = json.loads(stream.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise DataError(f"{location}: not UTF-8 text ({exc}).") from exc
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{location}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})."
            ) from exc
    path_text = columns.texts["features"] or "<whole document>"
    rows = columns.search_items("features", document)
    if not isinstance(rows, list):
        found = "nothing" if rows is None else f"{type(rows).__name__} {_short(rows)}"
        raise DataError(f"{location}: features path {path_text!r} yielded {found}, expected a list of records (2-D list).")
    width = None
    for i, row in enumerate(rows):
        if row is None:
            raise DataError(
                f"{location} record {i}: features path {path_text!r} found nothing; without it the record's "
                f"label would pair with the next record's features. Give record {i} its features, or remove the "
                "whole record."
            )
        width = _check_width(row, width, location, f"record {i}", path_text)
    extras = {}
    for key in ("label", "predicted_label"):
        if key not in columns.compiled:
            continue
        values = columns.search_items(key, document)
        if not isinstance(values, list):
            found = "nothing" if values is None else f"{type(values).__name__} {_short(values)}"
            raise DataError(
                f"{location}: {key} path {columns.texts[key]!r} yielded {found}, expected a list with one value per record."
            )
        if len(values) != len(rows):
            raise DataError(
                f"{location}: {key} path {columns.texts[key]!r} yielded {len(values)} values, but features path "
                f"{path_text!r} yielded {len(rows)} records; the lengths must match."
            )
        if columns.compiled[key].parsed.get("type") == "projection" and None in values:
            i = values.index(None)
            raise DataError(
                f"{location} record {i}: {key} path {columns.texts[key]!r} found nothing; without it the "
                f"{key} values would shift against the features. Give record {i} its {key}, or remove the "
                "whole record."
            )
        extras[key] = values
    return rows, extras


def read_json_files(
    files: Sequence[str], columns: JsonColumns, headers: Sequence[str] | None, storage_options=None,
    log: ReadLog | None = None,
) -> pd.DataFrame:
    """Read ``application/json`` files (one document each) into one frame.

    Returns
    -------
    pandas.DataFrame
        Shape ``(n_records, n_features [+1 label] [+1 predicted label])``; the records of
        several files follow each other in file order.
    """
    return _read_files(files, _read_json_file, columns, headers, storage_options, "records", log)
