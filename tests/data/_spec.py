"""The loader's input for data-layer tests: the dataset keys of a config as a DataSpec.

The data tests describe datasets with the keys of ``analysis_config.json`` (often without
the methods a whole config needs); this builds the :class:`DataSpec` the planner would.
"""

from __future__ import annotations

from typing import Any, Mapping

from clarify_engine import data
from clarify_engine.data import DataSpec, FacetKey

_LISTS = ("headers", "excluded_columns", "facet_headers", "predicted_label_headers")


def as_spec(keys: Mapping[str, Any] | DataSpec) -> DataSpec:
    if isinstance(keys, DataSpec):
        return keys
    values = {k: v for k, v in keys.items() if k in DataSpec.__dataclass_fields__ and k != "facet"}
    values["dataset_type"] = str(values.get("dataset_type", "")).lower()
    for k in _LISTS:
        if values.get(k) is not None:
            values[k] = tuple(values[k])
    facets = tuple(FacetKey(f["name_or_index"], None if f.get("value_or_threshold") is None
                            else tuple(f["value_or_threshold"])) for f in keys.get("facet") or ())
    return DataSpec(facet=facets, **values)


def load_dataset(keys: Mapping[str, Any] | DataSpec, source: Any = None, **kwargs: Any) -> data.Dataset:
    """``clarify_engine.data.load_dataset`` of the DataSpec of ``keys``."""
    return data.load_dataset(as_spec(keys), source, **kwargs)
