"""Named test records and small builders shared by the config tests."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable

from tests.helpers import SDK_CONFIGS, sdk_config_files

FIXTURES = SDK_CONFIGS
FIXTURE_FILES = sdk_config_files()


@dataclass(frozen=True)
class Expect:
    """A valid input and a check of the typed result (``output(cfg)`` must equal ``expected``)."""

    input: dict
    output: Callable[[Any], Any]
    expected: Any
    id: str


@dataclass(frozen=True)
class ExpectFail:
    """An invalid input, the error type, its JSON path and a message fragment."""

    input: dict
    error: type
    path: str
    message: str
    id: str


def fixture(name_prefix: str) -> dict:
    """The parsed SDK fixture whose file name starts with ``name_prefix``."""
    (path,) = [p for p in FIXTURE_FILES if p.name.startswith(name_prefix)]
    return json.loads(path.read_text())


def edit(base: dict, **changes) -> dict:
    """Deep copy of ``base`` with dotted-path changes; a value of ``DROP`` removes the key."""
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        keys = dotted.split("__")
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {}) if not k.isdigit() else node[int(k)]
        last = keys[-1]
        if value is DROP:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return out


DROP = object()

#: The smallest bias config (pre-training, CSV with headers).
BIAS = {
    "dataset_type": "text/csv",
    "headers": ["y", "age", "sex"],
    "label": "y",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex"}],
    "methods": {"pre_training_bias": {"methods": "all"}},
}

#: The smallest explainability config (CSV, existing endpoint).
SHAP = {
    "dataset_type": "text/csv",
    "headers": ["y", "age", "sex"],
    "label": "y",
    "methods": {"shap": {}},
    "predictor": {"endpoint_name": "my-endpoint"},
}

#: A time-series explainability config (SDK-last shape).
TS = {
    "dataset_type": "application/json",
    "headers": ["id", "time", "target", "rts1", "scv1"],
    "time_series_data_config": {
        "target_time_series": "[].target",
        "item_id": "[].id",
        "timestamp": "[].time",
        "related_time_series": ["[].rts1"],
        "static_covariates": ["[].scv1"],
        "dataset_format": "item_records",
    },
    "methods": {"asymmetric_shapley_value": {"direction": "chronological", "granularity": "timewise"}},
    "predictor": {
        "endpoint_name": "ts-endpoint",
        "content_type": "application/json",
        "content_template": "{\"instances\": $records}",
        "record_template": "{\"target\": $target_time_series}",
        "time_series_predictor_config": {"forecast": "predictions[*].mean"},
    },
}
