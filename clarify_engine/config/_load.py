"""Reading analysis_config.json: from a dict, a path, or JSON text."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from clarify_engine.config._analysis import AnalysisConfig
from clarify_engine.errors import ConfigError

__all__ = ["load_config", "LOAD_ERROR"]

#: First sentence of every error about a config that cannot be read as JSON; the
#: same words the Clarify container reports (contract §1.5).
LOAD_ERROR = "Unable to load analysis configuration as JSON."


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _read_json(source: str | os.PathLike) -> Any:
    text = None
    if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
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
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ConfigError("", f"{LOAD_ERROR} {origin}: {exc}") from exc


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
