"""Field declarations and the one generic validator that applies them.

Every key of ``analysis_config.json`` is declared once, as data: a tuple of
alternative :class:`Type` values (read "or"), each with its own constraints
(enum, regex, ranges, item types, nested section). Three consumers read the same
declarations:

* :func:`parse_value` validates and converts a JSON value (this module);
* :func:`type_schema` renders JSON Schema (draft 2020-12) for ``json_schema()``;
* :func:`describe` renders the human text used both in error messages
  (``expected <describe>, found <value> (<python type>)``) and in the reference doc.

Cross-field rules are not declared here; they are explicit checks in ``_rules.py``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from clarify_engine.errors import ConfigError

__all__ = [
    "Type",
    "STR",
    "INT",
    "NUM",
    "BOOL",
    "NULL",
    "ARR",
    "MAP",
    "JSON_OBJECT",
    "SECTION",
    "declare",
    "declared_fields",
    "parse_value",
    "describe",
    "found",
    "type_schema",
    "json_kind",
]


@dataclass(frozen=True)
class Type:
    """One JSON type a field may take, with its constraints.

    Parameters
    ----------
    kind : str
        ``"string"``, ``"integer"``, ``"number"`` (integers are numbers too),
        ``"boolean"``, ``"array"``, ``"map"`` (object with free string keys and
        declared values), ``"object"`` (any JSON object) or ``"section"`` (object
        with declared keys, parsed into a dataclass).
    enum : tuple of str, optional
        Allowed string values.
    lower : bool
        Compare the value lower-cased against ``enum`` (as the SDK schema's
        ``Use(str.lower)`` does); the attribute then holds the lower-cased value.
    pattern : str, optional
        Regex the whole string must match (``re.fullmatch``).
    min_length, max_length : int, optional
        String length bounds.
    minimum, exclusive_minimum, maximum : float, optional
        Numeric bounds.
    items : tuple of Type, optional
        Alternatives for every item of an array.
    min_items : int, optional
        Smallest array length.
    values : tuple of Type, optional
        Alternatives for every value of a map.
    section : type, optional
        Section dataclass for ``kind="section"``.
    """

    kind: str
    enum: tuple | None = None
    lower: bool = False
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    items: tuple | None = None
    min_items: int | None = None
    values: tuple | None = None
    section: type | None = None


def STR(**kw) -> Type:
    """A string (constraints as keyword arguments of :class:`Type`)."""
    return Type("string", **kw)


def INT(**kw) -> Type:
    """An integer (``bool`` is not accepted)."""
    return Type("integer", **kw)


def NUM(**kw) -> Type:
    """A finite number, integer or float (``bool`` is not accepted)."""
    return Type("number", **kw)


BOOL = Type("boolean")
NULL = Type("null")
JSON_OBJECT = Type("object")


def ARR(*items: Type, min_items: int | None = None) -> Type:
    """An array whose items each match one of ``items``."""
    return Type("array", items=tuple(items), min_items=min_items)


def MAP(*values: Type) -> Type:
    """An object with free string keys whose values each match one of ``values``."""
    return Type("map", values=tuple(values))


def SECTION(cls: type) -> Type:
    """An object with declared keys, parsed into the dataclass ``cls``."""
    return Type("section", section=cls)


def declare(*alternatives: Type, required: bool = False, doc: str = "", default: Any = None):
    """Declare one config key as a dataclass field.

    Parameters
    ----------
    *alternatives : Type
        Types the value may take (any one of them).
    required : bool
        The key must be present in its section.
    doc : str
        One-line meaning, rendered in the reference doc and the JSON Schema.
    default : object, optional
        Clarify's default when the key is absent, for documentation only: the
        attribute is ``None`` when absent, defaults come from ``*_or_default``.
    """
    meta = {"types": tuple(alternatives), "required": required, "doc": doc, "default": default}
    return dataclasses.field(default=None, metadata={"clarify": meta})


def declared_fields(cls: type) -> list[tuple[str, dict]]:
    """``(name, declaration)`` for every declared key of a section, in declaration order."""
    return [(f.name, f.metadata["clarify"]) for f in dataclasses.fields(cls) if "clarify" in f.metadata]


# --------------------------------------------------------------------- describing


def json_kind(value: Any) -> str:
    """JSON type name of a Python value: boolean, integer, number, string, null, array, object."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unsupported"


#: Largest magnitude of a JSON number: the largest finite 64-bit float.
FLOAT_MAX = 1.7976931348623157e308
#: Deepest nesting of a JSON value (free-form objects) or document (JSON text).
MAX_DEPTH = 100


def _digits(value: int) -> int:
    """Decimal digits of ``abs(value)``, without converting it to text (Python refuses
    ``str()`` of integers of more than 4300 digits)."""
    n = abs(value)
    estimate = max(1, int(n.bit_length() * 0.30102999566398120))  # log10(2)
    return estimate + (n >= 10**estimate)


def found(value: Any) -> str:
    """Render a found value for an error message: ``"five" (str)``, ``null``, ``[1, 2] (list)``.

    Integers too long to show are described by their length: ``an integer of 310 digits (int)``.
    """
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool) and _digits(value) > 40:
        sign = "a negative integer" if value < 0 else "an integer"
        return f"{sign} of {_digits(value)} digits (int)"
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _describe_one(t: Type) -> str:
    if t.kind == "string":
        if t.enum is not None:
            shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in t.enum)
            return f"one of {shown}" + (" (case-insensitive)" if t.lower else "")
        text = "a string"
        bits = []
        if t.pattern is not None:
            bits.append(f"matching {t.pattern}")
        if t.min_length is not None and t.min_length > 1:
            bits.append(f"of at least {t.min_length} characters")
        elif t.min_length == 1:
            bits.append("non-empty")
        if t.max_length is not None:
            bits.append(f"of at most {t.max_length} characters")
        if "non-empty" in bits:
            bits.remove("non-empty")
            text = "a non-empty string"
        return " ".join([text, *bits])
    if t.kind in ("integer", "number"):
        text = "an integer" if t.kind == "integer" else "a number"
        if t.minimum is not None and t.maximum is not None:
            return f"{text} in [{_fmt_num(t.minimum)}, {_fmt_num(t.maximum)}]"
        if t.exclusive_minimum is not None and t.maximum is not None:
            return f"{text} in ({_fmt_num(t.exclusive_minimum)}, {_fmt_num(t.maximum)}]"
        if t.minimum is not None:
            return f"{text} >= {_fmt_num(t.minimum)}"
        if t.exclusive_minimum is not None:
            return f"{text} > {_fmt_num(t.exclusive_minimum)}"
        if t.maximum is not None:
            return f"{text} <= {_fmt_num(t.maximum)}"
        return text
    if t.kind == "boolean":
        return "a boolean"
    if t.kind == "null":
        return "null"
    if t.kind == "array":
        size = "non-empty " if t.min_items == 1 else ""
        if t.min_items and t.min_items > 1:
            size = f"at least {t.min_items}-item "
        return f"a {size}list of ({describe(t.items)})"
    if t.kind == "map":
        return f"an object whose values are each ({describe(t.values)})"
    if t.kind == "object":
        return "a JSON object"
    if t.kind == "section":
        keys = ", ".join(name for name, _ in declared_fields(t.section))
        return f"an object with keys {{{keys}}}"
    raise AssertionError(f"unknown kind {t.kind!r}")  # pragma: no cover - declarations are static


def describe(alternatives: tuple) -> str:
    """Human text for a tuple of alternatives, e.g. ``a string or an integer``."""
    return " or ".join(_describe_one(t) for t in alternatives)


# --------------------------------------------------------------------- validating


def _kind_accepts(t: Type, kind: str) -> bool:
    if t.kind in ("map", "object", "section"):
        return kind == "object"
    if t.kind == "number":
        return kind in ("integer", "number")
    return t.kind == kind


def _fail(path: str, alternatives: tuple, value: Any) -> ConfigError:
    return ConfigError(path, f"expected {describe(alternatives)}, found {found(value)}")


def _check_plain_json(value: Any, path: str, depth: int = 0) -> Any:
    """Deep-copy an arbitrary JSON value, rejecting what JSON cannot hold."""
    kind = json_kind(value)
    if depth > MAX_DEPTH:
        raise ConfigError(path, f"expected JSON nested at most {MAX_DEPTH} levels deep, found deeper nesting")
    if kind == "object":
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"expected string keys in a JSON object, found key {found(k)}")
            out[k] = _check_plain_json(v, f"{path}.{k}", depth + 1)
        return out
    if kind == "array":
        return [_check_plain_json(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if kind == "number" and not math.isfinite(value):
        raise ConfigError(path, f"expected a finite number, found {found(value)}")
    if kind == "integer" and abs(value) > FLOAT_MAX:
        raise ConfigError(path, f"expected a number of magnitude at most {FLOAT_MAX:.1e} (a 64-bit float), "
                                f"found {found(value)}")
    if kind == "unsupported":
        raise ConfigError(path, f"expected a JSON value, found {found(value)}")
    return value


def _check_constraints(t: Type, value: Any, path: str, alternatives: tuple) -> Any:
    """Apply the constraints of the matched alternative ``t``; return the converted value."""
    if t.kind == "string":
        probe = value.lower() if t.lower else value
        if t.enum is not None and probe not in t.enum:
            raise _fail(path, alternatives, value)
        if t.pattern is not None and re.fullmatch(t.pattern, value) is None:
            raise _fail(path, alternatives, value)
        if t.min_length is not None and len(value) < t.min_length:
            raise _fail(path, alternatives, value)
        if t.max_length is not None and len(value) > t.max_length:
            raise _fail(path, alternatives, value)
        return probe
    if t.kind in ("integer", "number"):
        # Integers are compared exactly (math.isfinite would overflow on a 309-digit one);
        # a number must also fit the 64-bit float the engine computes with.
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(path, alternatives, value)
        if t.kind == "number" and abs(value) > FLOAT_MAX:
            raise ConfigError(path, f"expected {_describe_one(t)} of magnitude at most {FLOAT_MAX:.1e} "
                                    f"(a 64-bit float), found {found(value)}")
        if t.minimum is not None and value < t.minimum:
            raise _fail(path, alternatives, value)
        if t.exclusive_minimum is not None and value <= t.exclusive_minimum:
            raise _fail(path, alternatives, value)
        if t.maximum is not None and value > t.maximum:
            raise _fail(path, alternatives, value)
        return value
    if t.kind in ("boolean", "null"):
        return value
    if t.kind == "array":
        if t.min_items is not None and len(value) < t.min_items:
            raise _fail(path, alternatives, value)
        return tuple(parse_value(v, t.items, f"{path}[{i}]") for i, v in enumerate(value))
    if t.kind == "map":
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"expected string keys, found key {found(k)}")
            out[k] = parse_value(v, t.values, f"{path}.{k}")
        return out
    if t.kind == "object":
        return _check_plain_json(value, path)
    if t.kind == "section":
        return t.section.from_dict(value, path)
    raise AssertionError(f"unknown kind {t.kind!r}")  # pragma: no cover


def parse_value(value: Any, alternatives: tuple, path: str) -> Any:
    """Validate ``value`` against declared alternatives and convert it.

    Arrays become tuples, sections become their dataclass, lower-cased enums
    become lower case; everything else is returned as is (JSON objects deep-copied).

    Raises
    ------
    ConfigError
        ``<path>: expected <what the declaration allows>, found <value> (<type>)``.
    """
    kind = json_kind(value)
    candidates = [t for t in alternatives if _kind_accepts(t, kind)]
    if not candidates:
        raise _fail(path, alternatives, value)
    first_error = None
    for t in candidates:
        try:
            return _check_constraints(t, value, path, alternatives)
        except ConfigError as exc:
            if first_error is None:
                first_error = exc
    raise first_error


# --------------------------------------------------------------------- JSON Schema


def _case_insensitive_pattern(values: tuple) -> str:
    def one(word: str) -> str:
        out = []
        for ch in word:
            if ch.lower() != ch.upper():
                out.append(f"[{ch.lower()}{ch.upper()}]")
            else:
                out.append(re.escape(ch).replace("\\ ", " ").replace("\\-", "-"))
        return "".join(out)

    return "^(" + "|".join(one(v) for v in values) + ")$"


def _one_schema(t: Type, defs: dict) -> dict:
    if t.kind == "string":
        s: dict = {"type": "string"}
        if t.enum is not None:
            if t.lower:
                s["pattern"] = _case_insensitive_pattern(t.enum)
                s["examples"] = list(t.enum)
            else:
                s["enum"] = list(t.enum)
        if t.pattern is not None:
            s["pattern"] = f"^(?:{t.pattern})$"
        if t.min_length is not None:
            s["minLength"] = t.min_length
        if t.max_length is not None:
            s["maxLength"] = t.max_length
        return s
    if t.kind in ("integer", "number"):
        s = {"type": t.kind}
        if t.minimum is not None:
            s["minimum"] = t.minimum
        elif t.kind == "number" and t.exclusive_minimum is None:
            s["minimum"] = -FLOAT_MAX
        if t.exclusive_minimum is not None:
            s["exclusiveMinimum"] = t.exclusive_minimum
        if t.maximum is not None:
            s["maximum"] = t.maximum
        elif t.kind == "number":
            s["maximum"] = FLOAT_MAX
        return s
    if t.kind in ("boolean", "null"):
        return {"type": t.kind}
    if t.kind == "array":
        s = {"type": "array", "items": type_schema(t.items, defs)}
        if t.min_items is not None:
            s["minItems"] = t.min_items
        return s
    if t.kind == "map":
        return {"type": "object", "additionalProperties": type_schema(t.values, defs)}
    if t.kind == "object":
        return {"type": "object"}
    if t.kind == "section":
        name = t.section.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            defs[name] = section_schema(t.section, defs)
        return {"$ref": f"#/$defs/{name}"}
    raise AssertionError(f"unknown kind {t.kind!r}")  # pragma: no cover


def type_schema(alternatives: tuple, defs: dict) -> dict:
    """JSON Schema of a tuple of alternatives (``anyOf`` when there are several)."""
    parts = [_one_schema(t, defs) for t in alternatives]
    return parts[0] if len(parts) == 1 else {"anyOf": parts}


def section_schema(cls: type, defs: dict) -> dict:
    """JSON Schema object for a section dataclass (strict: no additional properties)."""
    props = {}
    required = []
    for name, decl in declared_fields(cls):
        s = dict(type_schema(decl["types"], defs))
        if decl["doc"]:
            s["description"] = decl["doc"]
        if decl["default"] is not None:
            s["default"] = decl["default"]
        props[name] = s
        if decl["required"]:
            required.append(name)
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    doc = (cls.__doc__ or "").strip().splitlines()
    if doc:
        out["description"] = doc[0]
    return out
