"""Base of every config section: parse a JSON object by its declarations, and back.

A section is a frozen dataclass whose declared fields (see ``_spec.declare``) are
named exactly like the JSON keys. ``from_dict`` rejects unknown keys, checks
required ones, parses each value with the generic validator, then runs the
section's own ``_validate`` for rules tying several of its fields together.
``to_dict`` writes the keys back in the order they were read (keys set later
follow in declaration order), with the spelling they were written in, so that
``Section.from_dict(d).to_dict() == d`` for every valid ``d``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clarify_engine.config._spec import declared_fields, found, json_kind, parse_value
from clarify_engine.errors import ConfigError

__all__ = ["Section", "join_path"]


def join_path(path: str, key: str) -> str:
    """``join_path("methods", "shap") == "methods.shap"``; ``join_path("", "label") == "label"``."""
    return f"{path}.{key}" if path else key


def _dump(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class Section:
    """Common behaviour of the config sections (not a section itself)."""

    # Key order as read and original spellings of lower-cased enum values: used only
    # by to_dict, ignored by equality.
    _order: tuple = dataclasses.field(default=(), repr=False, compare=False, kw_only=True)
    _spelling: tuple = dataclasses.field(default=(), repr=False, compare=False, kw_only=True)

    @classmethod
    def from_dict(cls, data: Any, path: str = ""):
        """Validate a JSON object and build the section.

        Parameters
        ----------
        data : dict
            The section as parsed from JSON.
        path : str
            JSON path of the section, used in error messages.

        Raises
        ------
        ConfigError
            Naming the path of the first key at fault.
        """
        if json_kind(data) != "object":
            raise ConfigError(path, f"expected a JSON object, found {found(data)}")
        fields = dict(declared_fields(cls))
        for key in data:
            if not isinstance(key, str):
                raise ConfigError(path, f"expected string keys, found key {found(key)}")
            if key not in fields:
                raise ConfigError(
                    join_path(path, key), f"unknown key; expected one of {', '.join(fields)}"
                )
        for name, decl in fields.items():
            if decl["required"] and name not in data:
                raise ConfigError(join_path(path, name), "required key is missing")
        values = {}
        spelling = []
        for key, raw in data.items():
            decl = fields[key]
            value = parse_value(raw, decl["types"], join_path(path, key))
            if isinstance(raw, str) and value != raw:
                spelling.append((key, raw))
            values[key] = value
        section = cls(_order=tuple(data), _spelling=tuple(spelling), **values)
        section._validate(path)
        return section

    def _validate(self, path: str) -> None:
        """Rules tying several fields of this section together (none by default)."""

    def to_dict(self) -> dict:
        """The section as JSON-ready dict: present keys only, in their original order."""
        names = [name for name, _ in declared_fields(type(self))]
        keys = [k for k in self._order if k in names]
        keys += [k for k in names if k not in keys]
        spelled = dict(self._spelling)
        out = {}
        for key in keys:
            value = getattr(self, key)
            if value is None:
                continue
            if key in spelled and spelled[key].lower() == value:
                value = spelled[key]
            out[key] = _dump(value)
        return out

    def present_keys(self) -> tuple:
        """Names of the keys that are set, in output order."""
        return tuple(self.to_dict())
