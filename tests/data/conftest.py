"""Fixtures for the dataset-loader tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.helpers import SDK_CONFIGS


def write(path: Path, content: str | bytes, *, gz: bool = False) -> Path:
    """Write ``content`` to ``path`` (creating folders), gzip-compressed when ``gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def sdk_config(number: str) -> dict:
    """The SDK-written analysis config whose file name starts with ``number``."""
    (path,) = SDK_CONFIGS.glob(f"{number}_*.json")
    return json.loads(path.read_text())


@pytest.fixture
def csv_config():
    return {
        "dataset_type": "text/csv",
        "headers": ["Target", "Age", "Gender", "Income"],
        "label": "Target",
        "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}],
    }
