"""Uniform read access to the dataset keys of an analysis config.

The loader accepts either the typed config object of :mod:`clarify_engine.config`
(attribute names equal the JSON keys, absent keys are ``None``) or the plain
``analysis_config.json`` dict. :class:`DataKeys` copies the keys the loader needs
into one small frozen record, so the rest of the package never cares which one
it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from clarify_engine.errors import ConfigError

__all__ = ["DataKeys", "FacetKey", "data_keys"]

_SCALAR_KEYS = (
    "dataset_type",
    "dataset_uri",
    "label",
    "predicted_label",
    "features",
    "joinsource_name_or_index",
    "facet_dataset_uri",
    "predicted_label_dataset_uri",
    "group_variable",
)
_LIST_KEYS = ("headers", "excluded_columns", "facet_headers", "predicted_label_headers")


@dataclass(frozen=True)
class FacetKey:
    """One entry of the ``facet`` list: a column address and optional values."""

    name_or_index: str | int
    value_or_threshold: tuple | None


@dataclass(frozen=True)
class DataKeys:
    """The dataset-related keys of an analysis config (``None`` when absent)."""

    dataset_type: str | None
    dataset_uri: str | None
    headers: tuple[str, ...] | None
    label: str | int | None
    predicted_label: str | int | None
    features: str | None
    excluded_columns: tuple[str | int, ...] | None
    joinsource_name_or_index: str | int | None
    facet_dataset_uri: str | None
    facet_headers: tuple[str, ...] | None
    predicted_label_dataset_uri: str | None
    predicted_label_headers: tuple[str, ...] | None
    facet: tuple[FacetKey, ...]
    group_variable: str | int | None


def _get(config: Any, key: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(key)
    return getattr(config, key, None)


def _as_tuple(value: Any, key: str) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(key, f"expected a list, found {type(value).__name__} {value!r}")
    return tuple(value)


def _facets(config: Any) -> tuple[FacetKey, ...]:
    raw = _get(config, "facet")
    if raw is None:
        return ()
    if isinstance(raw, (str, bytes, Mapping)) or not hasattr(raw, "__iter__"):
        raise ConfigError("facet", f"expected a list of facet objects, found {raw!r}")
    facets = []
    for i, entry in enumerate(raw):
        name = _get(entry, "name_or_index")
        if name is None:
            raise ConfigError(f"facet[{i}].name_or_index", "expected a column name or index, found nothing")
        values = _as_tuple(_get(entry, "value_or_threshold"), f"facet[{i}].value_or_threshold")
        facets.append(FacetKey(name, values))
    return tuple(facets)


def data_keys(config: Any) -> DataKeys:
    """Read the dataset keys from a config object or a plain dict.

    Parameters
    ----------
    config : Mapping or object
        ``analysis_config.json`` as a dict, or any object exposing its keys as
        attributes (absent keys ``None`` or missing).

    Returns
    -------
    DataKeys
        Lists become tuples; every other value is passed through unchanged.
    """
    if config is None:
        raise ConfigError("", "expected an analysis config, found None")
    values = {key: _get(config, key) for key in _SCALAR_KEYS}
    values.update({key: _as_tuple(_get(config, key), key) for key in _LIST_KEYS})
    return DataKeys(facet=_facets(config), **values)
