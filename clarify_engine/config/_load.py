"""Reading analysis_config.json: from a dict, a path, or JSON text."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from clarify_engine.config._analysis import AnalysisConfig
from clarify_engine.config._spec import FLOAT_MAX, MAX_DEPTH
from clarify_engine.errors import ConfigError

__all__ = ["load_config", "config_folder", "LOAD_ERROR"]

#: First sentence of every error about a config that cannot be read as JSON; the
#: same words the Clarify container reports (contract §1.5).
LOAD_ERROR = "Unable to load analysis configuration as JSON."


#: Longest integer literal read as a number; Python refuses to convert longer ones (4300
#: digits), and anything past 309 digits is refused by the validator anyway.
_MAX_INT_DIGITS = 4000

#: A string token, or a bracket: used to measure nesting without parsing (strings may hold brackets).
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _Refused:
    """A JSON literal the engine refuses, left in place while parsing so its key can be named."""

    def __init__(self, what: str, fix: str):
        self.what = what
        self.fix = fix


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not valid JSON", "write a finite number")


def _integer(text: str):
    digits = len(text.lstrip("-"))
    if digits > _MAX_INT_DIGITS:
        return _Refused(f"an integer of {digits} digits is out of range",
                        f"write a number of magnitude at most {FLOAT_MAX:.1e}")
    return int(text)


def _number(text: str):
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"the number {text[:40]} is out of the range of a 64-bit float",
                        f"write a number of magnitude at most {FLOAT_MAX:.1e}")
    return value


def _check_depth(text: str, origin: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH`, naming where (line, column)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                raise ConfigError("", f"{LOAD_ERROR} {origin}: nested more than {MAX_DEPTH} levels deep at line "
                                      f"{line}, column {column}; an analysis configuration needs far fewer levels")
        elif token in "]}":
            depth -= 1


def _find_refused(value: Any, path: str):
    """``(json path, _Refused)`` of the first refused literal in ``value``, or None."""
    if isinstance(value, _Refused):
        return path, value
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else k, v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub_path, sub in items:
        hit = _find_refused(sub, sub_path)
        if hit is not None:
            return hit
    return None


def _is_json_text(source: object) -> bool:
    return isinstance(source, str) and source.lstrip().startswith(("{", "["))


def config_folder(source: object) -> Path | None:
    """The folder relative paths of a config are taken from: a config file's own folder; None
    for a dict, JSON text or a loaded config (they have no folder)."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not _is_json_text(source)):
        return Path(os.fspath(source)).parent
    return None


def _read_json(source: str | os.PathLike) -> Any:
    text = None
    if _is_json_text(source):
        text, origin = source, "the given JSON text"
    else:
        path = Path(source)
        origin = str(path)
        try:
            raw = path.read_bytes()
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise ConfigError("", f"{LOAD_ERROR} Could not read {origin!r}: {getattr(exc, 'strerror', None) or exc}") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError("", f"{LOAD_ERROR} {origin} is not UTF-8 text ({exc.reason} at byte "
                                  f"{exc.start}).") from exc
    _check_depth(text, origin)
    try:
        data = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_number)
    except (ValueError, RecursionError) as exc:
        raise ConfigError("", f"{LOAD_ERROR} {origin}: {exc}") from exc
    hit = _find_refused(data, "")
    if hit is not None:
        where, refused = hit
        raise ConfigError("", f"{LOAD_ERROR} {origin}: {refused.what} (at {where or 'the top level'}); "
                              f"{refused.fix}")
    return data


def load_config(source: dict | str | os.PathLike) -> AnalysisConfig:
    """Read, validate and type an analysis configuration.

    Parameters
    ----------
    source : dict, str or path-like
        The parsed document, a path to ``analysis_config.json``, or JSON text
        (a string starting with ``{``).

    Returns
    -------
    AnalysisConfig
        Frozen, validated; ``load_config(d).to_dict() == d`` for every valid ``d``.

    Raises
    ------
    ConfigError
        ``Unable to load analysis configuration as JSON. ...`` when the file is
        missing or not JSON; otherwise ``<json path>: <what was expected, what was
        found>`` for the first key at fault (unknown keys included), checked key by
        key first and then by the cross-field rules.
    """
    if isinstance(source, dict):
        data = source
    elif isinstance(source, (str, os.PathLike)):
        data = _read_json(source)
    else:
        raise ConfigError("", f"{LOAD_ERROR} Expected a dict, a path or JSON text, found "
                              f"{type(source).__name__}.")
    return AnalysisConfig.from_dict(data, "")
